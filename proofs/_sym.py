"""Shared sympy helpers for the proof checks.

Every check in ``proofs/`` reduces a statement to one of three kinds of fact:

1. a polynomial / rational identity ``lhs == rhs`` (verified by ``cancel(expand(lhs − rhs)) == 0``);
2. a nonnegativity claim ``target ≥ 0`` certified by an explicit decomposition
   ``target = Σ_t coeff_t · Π(nonnegative atoms) · base_t²`` (verified term by term: the
   coefficient is a nonnegative number, every atom is on the declared list of quantities known to
   be ≥ 0 under the hypotheses, and the sum is identical to the target);
3. a sign fact sympy's assumption system decides (``expr.is_nonnegative is True``).

A failed fact raises ``AssertionError`` whose message says which fact failed, so a check is
"passed" exactly when it returns without raising.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import sympy as sp


def choose_variant(variant: str | None, mutants: Mapping[str, str]) -> str | None:
    """Validate a check's ``variant`` argument: None (the true statement) or a known mutant name."""
    if variant is not None and variant not in mutants:
        raise ValueError(
            f"variant must be None or one of {sorted(mutants)}, got {variant!r}"
        )
    return variant


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
            raise AssertionError(f"certificate coefficient {coeff} is not a number ≥ 0: {what}")
        for atom in atoms:
            if not any(sp.expand(sp.sympify(atom) - a) == 0 for a in allowed):
                raise AssertionError(f"certificate atom {atom} is not known to be ≥ 0: {what}")
        total += coeff * sp.Mul(*atoms) * sp.sympify(base) ** 2
    subs = dict(substitutions or {})
    lhs = sp.sympify(target).subs(subs)
    rhs = total.subs(subs)
    if not is_zero(lhs - rhs):
        raise AssertionError(f"certificate does not sum to the target: {what}")


def symbolic_matrix(name: str, rows: int, cols: int, symmetric: bool = False) -> sp.Matrix:
    """A matrix of fresh real symbols ``name_ij`` (``name_ij = name_ji`` if symmetric)."""

    def entry(i: int, j: int) -> sp.Symbol:
        if symmetric and j < i:
            i, j = j, i
        return sp.Symbol(f"{name}_{i}{j}", real=True)

    return sp.Matrix(rows, cols, lambda i, j: entry(i, j))
