"""Shared sympy helpers for the proof checks.

Every check in ``proofs/`` reduces a statement to one of three kinds of fact:

1. a polynomial / rational identity ``lhs == rhs`` (verified by ``cancel(expand(lhs − rhs)) == 0``);
2. a nonnegativity claim ``target ≥ 0`` certified by an explicit decomposition
   ``target = Σ_t coeff_t · Π(nonnegative atoms) · base_t²`` (verified term by term: the
   coefficient is a nonnegative number, every atom is on the declared list of quantities known to
   be ≥ 0 under the hypotheses, and the sum is identical to the target);
3. a factorization by distributivity of a double index sum (``assert_double_sum_factorizes``).

Nonnegativity is never read off a symbol's declared assumptions: a symbol declared ≥ 0 makes any
such query pass, so every sign fact is a certificate over the hypotheses' slack quantities.

A failed fact raises ``AssertionError`` whose message says which fact failed, so a check is
"passed" exactly when it returns without raising.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import sympy as sp

from proofs._render import render


def is_zero(expr) -> bool:
    """True iff the rational expression ``expr`` is identically zero."""
    expanded = sp.expand(sp.sympify(expr))
    return expanded == 0 or sp.cancel(expanded) == 0


def assert_identity(lhs, rhs, what: str) -> None:
    """Assert the rational identity ``lhs == rhs`` (expanded and cancelled)."""
    if not is_zero(sp.sympify(lhs) - sp.sympify(rhs)):
        raise AssertionError(f"identity fails: {what}")


def assert_matrix_identity(A: sp.Matrix, B: sp.Matrix, what: str) -> None:
    """Assert ``A == B`` entry by entry as rational identities (shapes must agree)."""
    if A.shape != B.shape:
        raise AssertionError(f"shape mismatch {A.shape} vs {B.shape}: {what}")
    for i in range(A.rows):
        for j in range(A.cols):
            if not is_zero(A[i, j] - B[i, j]):
                raise AssertionError(f"identity fails at entry ({i}, {j}): {what}")


def assert_true(fact, what: str) -> None:
    """Assert that sympy decides ``fact`` (a Boolean / assumption query result) to be True."""
    if fact is not True and fact != sp.true:
        raise AssertionError(f"sympy cannot confirm: {what} (got {fact!r})")


def assert_nonneg_certificate(
    target,
    terms: Iterable[tuple[object, Sequence[object], object]],
    nonneg_atoms: Iterable[object],
    what: str,
    substitutions: Mapping[sp.Symbol, object] | None = None,
) -> None:
    """Certify ``target ≥ 0`` by ``target = Σ coeff · Π atoms · base²``.

    ``terms``: tuples ``(coeff, atoms, base)``; ``coeff`` must be a nonnegative number, each atom
    an element of ``nonneg_atoms`` (quantities the hypotheses make ≥ 0), ``base`` any real
    expression (its square is ≥ 0). ``substitutions`` (e.g. ``p_k → 1 − Σ_{c<k} p_c`` or
    ``x_k → −Σ_{c<k} x_c``) encode equality constraints and are applied to both sides before the
    identity is checked.
    """
    allowed = [sp.sympify(a) for a in nonneg_atoms]
    total = sp.Integer(0)
    for coeff, atoms, base in terms:
        coeff = sp.sympify(coeff)
        if not (coeff.is_number and coeff.is_nonnegative):
            raise AssertionError(f"certificate coefficient {coeff} is not a nonnegative number: "
                                 f"{what}")
        for atom in atoms:
            if not _is_allowed_atom(sp.sympify(atom), allowed):
                raise AssertionError(f"certificate atom {atom} is not a listed nonnegative "
                                     f"quantity: {what}")
        total += coeff * sp.Mul(*atoms) * sp.sympify(base) ** 2
    subs = dict(substitutions or {})
    lhs = sp.sympify(target).subs(subs)
    rhs = total.subs(subs)
    if not is_zero(lhs - rhs):
        raise AssertionError(f"certificate does not sum to the target: {what}")


def _is_allowed_atom(atom, allowed) -> bool:
    """``atom`` is a listed nonnegative quantity, or a power of one with an exponent that sympy
    knows to be a nonnegative integer (a power of a number ≥ 0 is ≥ 0)."""
    if any(sp.expand(atom - a) == 0 for a in allowed):
        return True
    if isinstance(atom, sp.Pow) and atom.exp.is_integer and atom.exp.is_nonnegative:
        return any(sp.expand(atom.base - a) == 0 for a in allowed)
    return False


def symbolic_matrix(name: str, rows: int, cols: int, symmetric: bool = False) -> sp.Matrix:
    """A matrix of fresh real symbols ``name_ij`` (``name_ij = name_ji`` if symmetric)."""

    def entry(i: int, j: int) -> sp.Symbol:
        if symmetric and j < i:
            i, j = j, i
        return sp.Symbol(f"{name}_{i}{j}", real=True)

    return sp.Matrix(rows, cols, lambda i, j: entry(i, j))


def assert_matrix_expr_identity(lhs, rhs, what: str) -> None:
    """Assert ``lhs == rhs`` for matrix expressions of symbolic size (MatrixSymbol, Identity,
    BlockMatrix, KroneckerProduct …): the difference, after ``block_collapse``/``doit``/``expand``,
    must be a zero matrix (for block matrices: every block)."""
    diff = sp.block_collapse(sp.sympify(lhs) - sp.sympify(rhs))
    if isinstance(diff, sp.BlockMatrix):
        blocks = list(diff.blocks)
    else:
        blocks = [diff]
    for block in blocks:
        simplified = sp.expand(block.doit()).doit()
        if not (simplified == 0 or getattr(simplified, "is_ZeroMatrix", False)):
            raise AssertionError(f"matrix identity fails ({simplified}): {what}")


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
