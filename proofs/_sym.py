"""Shared sympy helpers for the proof checks: rational identities (``assert_identity``), the
factorization of a double index sum by distributivity (``assert_double_sum_factorizes``), the
telescoping lemma proved by induction (``check_telescoping_lemma``) and a matrix-product
rewriter (``matmul_replace_adjacent``). Sign facts are decided by the solver
(``proofs._smt``), never read off a symbol's declared assumptions.

A failed fact raises ``AssertionError`` whose message says which fact failed, so a check is
"passed" exactly when it returns without raising.
"""

from __future__ import annotations

import sympy as sp

from proofs._render import render
from proofs._statement import is_zero


def assert_identity(lhs, rhs, what: str) -> None:
    """Assert the rational identity ``lhs == rhs`` (expanded and cancelled)."""
    if not is_zero(sp.sympify(lhs) - sp.sympify(rhs)):
        raise AssertionError(f"identity fails: {what}")


def assert_double_sum_factorizes(double, left, right, what: str) -> None:
    """Assert Σ_{x∈X} Σ_{y∈Y} f(x, y) = (Σ_{x∈X} g(x))(Σ_{y∈Y} h(y)) by distributivity: the
    single sums' ranges must be the double sum's ranges (after renaming their indices), g must
    not involve y, h not x, and f = g·h identically."""
    (x, lo_x, hi_x), (y, lo_y, hi_y) = double.limits
    (x1, lo1, hi1), = left.limits
    (y1, lo2, hi2), = right.limits
    g, h = left.function.xreplace({x1: x}), right.function.xreplace({y1: y})
    lo1, hi1, lo2, hi2 = (e.xreplace({x1: x, y1: y}) for e in (lo1, hi1, lo2, hi2))
    if not (is_zero(lo1 - lo_x) and is_zero(hi1 - hi_x) and is_zero(lo2 - lo_y)
            and is_zero(hi2 - hi_y)):
        raise AssertionError(f"summation ranges differ: {what}")
    if y in g.free_symbols or x in h.free_symbols:
        raise AssertionError(f"a factor depends on the other index: {what}")
    if not is_zero(double.function - g * h):
        raise AssertionError(f"summand is not the product of the factors: {what}")


def telescoping_summand(a, b, M, i):
    """The i-th term a^i b^{M−1−i} of S_M(a, b) = Σ_{i<M} a^i b^{M−1−i}."""
    return a**i * b ** (M - 1 - i)


def telescoping_claim(a, b, M):
    """The telescoping lemma's conclusion (a − b)·S_M = a^M − b^M, S_M = Σ_{i<M} a^i b^{M−1−i},
    as a sympy relation (rendered in the report)."""
    i = sp.Symbol("i", integer=True)
    return sp.Eq((a - b) * sp.Sum(telescoping_summand(a, b, M, i), (i, 0, M - 1)),
                 a**M - b**M, evaluate=False)


def check_telescoping_lemma(report=None, variant_factor=1) -> None:
    """Prove (a − b)·S_M = a^M − b^M, S_M = Σ_{i<M} a^i b^{M−1−i}, for every integer M ≥ 1 by
    induction on M (a, b arbitrary: real, or elements of any commutative ring).

    Base M = 1: S_1 = a⁰b⁰ = 1. Recursion: the i = 0 term of S_{M+1} is b^M and its term i = j + 1
    (j = 0..M−1) is a·(j-th term of S_M), so S_{M+1} = a·S_M + b^M. Step:
    (a − b)S_{M+1} = a·(a − b)S_M + (a − b)b^M = a(a^M − b^M) + (a − b)b^M = a^{M+1} − b^{M+1}.
    All three are checked by sympy with a, b, j, M and P_M = (a − b)S_M (the induction
    hypothesis' value) symbolic. ``variant_factor`` ≠ 1 is a false recursion
    S_{M+1} = c·a·S_M + b^M (for tests). With a ``report`` the induction is recorded in it.
    """
    a, b = sp.symbols("a b")
    M = sp.Symbol("M", integer=True, positive=True)
    j = sp.Symbol("j", integer=True, nonnegative=True)
    assert_identity(
        (a - b) * telescoping_summand(a, b, 1, 0), a - b, "telescoping lemma, base case"
    )
    assert_identity(telescoping_summand(a, b, M + 1, 0), b**M,
                    "telescoping lemma, first term of the longer sum")
    assert_identity(
        sp.powsimp(telescoping_summand(a, b, M + 1, j + 1) - a * telescoping_summand(a, b, M, j)),
        0,
        "telescoping lemma, shifted terms of the longer sum",
    )
    # (a − b)S_{M+1} = c·a·[(a − b)S_M] + (a − b)b^M, then the hypothesis (a − b)S_M = a^M − b^M
    # (substituted for the bracket, no division, so a = b is included).
    hyp = sp.Symbol("P_M")  # stands for (a − b)S_M
    claim = telescoping_claim(a, b, M)
    step = variant_factor * a * hyp + (a - b) * b**M
    following = telescoping_claim(a, b, M + 1)
    assert_identity(step.subs(hyp, claim.rhs), following.rhs, "telescoping lemma, induction step")
    if report is not None:
        report.inductions.append(f"telescoping lemma {render(claim)} (on {render(M)}, from 1)")


def matmul_replace_adjacent(expr, pattern: tuple, replacement):
    """Replace every run of consecutive factors equal to ``pattern`` inside each matrix product
    of ``expr`` by ``replacement`` (e.g. (Q, Qᵀ) → I to use QQᵀ = I), then ``doit``."""

    def rewrite(node):
        if isinstance(node, sp.MatMul):
            args = [rewrite(a) for a in node.args]
            out, i, size = [], 0, len(pattern)
            while i < len(args):
                if tuple(args[i : i + size]) == tuple(pattern):
                    out.append(replacement)
                    i += size
                else:
                    out.append(args[i])
                    i += 1
            return sp.MatMul(*out).doit()
        if node.args and isinstance(node, sp.MatrixExpr):
            return node.func(*[rewrite(a) for a in node.args])
        return node

    return rewrite(sp.sympify(expr).doit())
