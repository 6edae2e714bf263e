r"""T1 — Gram–GGN spectral identity.

Statement
---------
Let ``A = n^{-1/2} H^{1/2} J`` (N × p, N = nk) with ``H^{1/2}`` the symmetric PSD square root of
the block-diagonal output Hessian. Then the GGN ``Ĝ = (1/n) JᵀHJ = AᵀA`` (p × p) and the
loss-weighted Gram ``G = (1/n) H^{1/2} K H^{1/2} = AAᵀ`` (N × N, K = JJᵀ) have the same nonzero
eigenvalues with the same multiplicities:

    λ^p · det(λI_N − AAᵀ) = λ^N · det(λI_p − AᵀA)          (★)

(i.e. ``det(λI_p − AᵀA) = λ^{p−N} det(λI_N − AAᵀ)``). Hence ``rank_ε(Ĝ) = rank_ε(G)`` for every
ε > 0, and the GGN spectrum of a p-parameter network costs an N × N eigenproblem.

Proof
-----
``Ĝ = AᵀA`` because ``(H^{1/2})ᵀH^{1/2} = H``, and ``G = AAᵀ`` because ``K = JJᵀ``. For (★) take
``M = [[λI_N, A], [Aᵀ, I_p]]`` and its two Schur factorizations (λ ≠ 0):

    M = [[I_N, A], [0, I_p]] · [[λI_N − AAᵀ, 0], [0, I_p]] · [[I_N, 0], [Aᵀ, I_p]]
    M = [[I_N, 0], [Aᵀ/λ, I_p]] · [[λI_N, 0], [0, I_p − AᵀA/λ]] · [[I_N, A/λ], [0, I_p]].

Determinants are multiplicative and a block-triangular matrix has determinant det(top-left) ·
det(bottom-right), so det M = det(λI_N − AAᵀ) = λ^N det(I_p − AᵀA/λ); with
I_p − AᵀA/λ = λ^{-1}(λI_p − AᵀA) and det(cX) = c^p det X this is (★) for λ ≠ 0, hence as a
polynomial identity. The characteristic polynomials differ by a power of λ, so every nonzero root
has the same multiplicity. Both matrices are PSD, so rank_ε (ε > 0) sees only nonzero eigenvalues. ∎

What ``check()`` proves at general size
---------------------------------------
Both factorizations for ``MatrixSymbol`` A of symbolic shape N × p, multiplied out with
``BlockMatrix``/``block_collapse`` and compared block by block; the triangular factors'
off-diagonal blocks are zero matrices (so the block-triangular determinant lemma applies) and
their diagonal blocks are identities; the homogeneity step I_p − AᵀA/λ = λ^{-1}(λI_p − AᵀA) as a
matrix identity and det(cX) = c^p det X by sympy's ``det`` on a symbolic-size expression; then
(★) from the two expressions of det M. ``AᵀA = JᵀHJ/n`` for MatrixSymbols S = Sᵀ (N × N) and J
(N × p) with H = S². Also expanded entrywise for fully symbolic A of shapes 2×3, 3×2 (a sample).
Named lemmas (prose): multiplicativity of det; determinant of a block-triangular matrix;
a polynomial identity on λ ≠ 0 holds for all λ.
"""

from __future__ import annotations

import sympy as sp

from proofs._sym import (
    assert_identity,
    assert_matrix_expr_identity,
    assert_true,
    choose_variant,
    fmt,
    symbolic_matrix,
)

ID = "T1"
CHECKED = (
    "two Schur factorizations of [[λI_N, A], [Aᵀ, I_p]] with MatrixSymbol A (symbolic N, p); "
    "AᵀA = JᵀHJ/n; entrywise sample 2×3, 3×2"
)
GENERAL = (
    "both Schur factorizations and the determinant identity (★) for A of symbolic shape "
    "N × p; Ĝ = AᵀA = JᵀHJ/n for symbolic N, p"
)
INDUCTION = ""
LEMMAS = (
    "multiplicativity of det",
    "determinant of a block-triangular matrix",
    "polynomial identity on λ ≠ 0 extends to all λ",
)
MUTANTS = {
    "exponent_off_by_one": "claims λ^p det(λI−AAᵀ) = λ^{N+1} det(λI−AᵀA)",
    "gram_scaled": "claims the same nonzero spectrum for AᵀA and 2·AAᵀ (wrong constant)",
    "ggn_without_sqrt_square": "claims AᵀA = JᵀSJ/n (H^{1/2} instead of H)",
    "schur_complement_sign": "uses λI_N + AAᵀ as the Schur complement of I_p",
}

N, p = sp.symbols("N p", integer=True, positive=True)


def claimed_star(lam, chi_N, chi_p, variant=None):
    """(★) as (lhs, rhs): λ^p χ_N(λ) = λ^N χ_p(λ), χ_N = det(λI_N − AAᵀ), χ_p = det(λI_p − AᵀA)."""
    power = N + 1 if variant == "exponent_off_by_one" else N
    return lam**p * chi_N, lam**power * chi_p


def claimed_ggn(J, H, S, n, variant=None):
    """Ĝ = AᵀA for A = n^{-1/2} H^{1/2} J (S = H^{1/2})."""
    return J.T * S * J / n if variant == "ggn_without_sqrt_square" else J.T * H * J / n


def _block_triangular_det(B: sp.BlockMatrix) -> sp.Expr:
    """det of a 2 × 2 block-triangular BlockMatrix = det(top-left)·det(bottom-right) (named
    lemma); refuses a matrix whose off-diagonal blocks are both nonzero."""
    upper_zero = B.blocks[1, 0].is_ZeroMatrix
    lower_zero = B.blocks[0, 1].is_ZeroMatrix
    assert_true(bool(upper_zero or lower_zero), "factor is block triangular")
    return (sp.det(B.blocks[0, 0]) * sp.det(B.blocks[1, 1])).doit()


def schur_factors(A, lam, variant: str | None = None):
    """The two factorizations (lists of three BlockMatrices) of M = [[λI_N, A], [Aᵀ, I_p]]."""
    I_N, I_p = sp.Identity(N), sp.Identity(p)
    Z_Np, Z_pN = sp.ZeroMatrix(N, p), sp.ZeroMatrix(p, N)
    gram = 2 * A * A.T if variant == "gram_scaled" else A * A.T
    complement = lam * I_N + gram if variant == "schur_complement_sign" else lam * I_N - gram
    first = [
        sp.BlockMatrix([[I_N, A], [Z_pN, I_p]]),
        sp.BlockMatrix([[complement, Z_Np], [Z_pN, I_p]]),
        sp.BlockMatrix([[I_N, Z_Np], [A.T, I_p]]),
    ]
    second = [
        sp.BlockMatrix([[I_N, Z_Np], [A.T / lam, I_p]]),
        sp.BlockMatrix([[lam * I_N, Z_Np], [Z_pN, I_p - A.T * A / lam]]),
        sp.BlockMatrix([[I_N, A / lam], [Z_pN, I_p]]),
    ]
    return first, second, complement


def check(variant: str | None = None) -> None:
    """Verify T1 at symbolic size; raise AssertionError if any identity fails."""
    variant = choose_variant(variant, MUTANTS)
    lam = sp.Symbol("lambda", nonzero=True)
    A = sp.MatrixSymbol("A", N, p)
    M = sp.BlockMatrix([[lam * sp.Identity(N), A], [A.T, sp.Identity(p)]])
    first, second, complement = schur_factors(A, lam, variant)
    for name, factors in (("first", first), ("second", second)):
        product = sp.block_collapse(factors[0] * factors[1] * factors[2])
        assert_matrix_expr_identity(product, M, f"{name} Schur factorization of M")
    det_first = sp.Mul(*[_block_triangular_det(F) for F in first])
    det_second = sp.Mul(*[_block_triangular_det(F) for F in second])
    assert_identity(det_first - sp.det(complement), 0, "det M = det(λI_N − AAᵀ) (first)")
    # homogeneity: I_p − AᵀA/λ = λ^{-1}(λI_p − AᵀA), and det(cX) = c^p det X (sympy's det).
    inner = lam * sp.Identity(p) - A.T * A
    assert_matrix_expr_identity(
        sp.Identity(p) - A.T * A / lam, inner / lam, "I_p − AᵀA/λ = (λI_p − AᵀA)/λ"
    )
    det_second = det_second.subs(sp.det(sp.Identity(p) - A.T * A / lam), sp.det(inner / lam))
    assert_identity(
        det_second,
        lam**N * sp.det(inner) / lam**p,
        "det M = λ^N det(I_p − AᵀA/λ) = λ^{N−p} det(λI_p − AᵀA) (second)",
    )
    chi_G, chi_Ghat = sp.det(lam * sp.Identity(N) - A * A.T), sp.det(inner)
    # (★): equate the two expressions of det M and multiply by λ^p.
    star_lhs, star_rhs = claimed_star(lam, chi_G, chi_Ghat, variant)
    assert_identity(
        (lam**p * det_first - lam**p * det_second).subs(sp.det(complement), chi_G),
        star_lhs - star_rhs,
        "(★) λ^p det(λI_N − AAᵀ) = λ^N det(λI_p − AᵀA)",
    )
    # Ĝ = AᵀA: A = n^{-1/2} S J with S = Sᵀ and H = S².
    n = sp.Symbol("n", positive=True)
    S, H = sp.MatrixSymbol("S", N, N), sp.MatrixSymbol("H", N, N)
    J = sp.MatrixSymbol("J", N, p)
    An = S * J / sp.sqrt(n)
    gram_param = (An.T * An).xreplace({S.T: S}).doit()
    claimed = claimed_ggn(J, H, S, n, variant)
    assert_matrix_expr_identity(gram_param.xreplace({S**2: H}), claimed, "AᵀA = JᵀHJ/n (H = S²)")
    # sample: entrywise expansion at fixed sizes (not needed for the proof).
    for rows, cols in ((2, 3), (3, 2)):
        Ae = symbolic_matrix("a", rows, cols)
        gram_e = (2 if variant == "gram_scaled" else 1) * Ae * Ae.T
        lhs = lam**cols * (lam * sp.eye(rows) - gram_e).det(method="berkowitz")
        pw = rows + 1 if variant == "exponent_off_by_one" else rows
        rhs = lam**pw * (lam * sp.eye(cols) - Ae.T * Ae).det(method="berkowitz")
        assert_identity(lhs, rhs, f"(★) expanded for symbolic {rows}×{cols} A")


def statement(variant: str | None = None) -> str:
    """The printed statement, generated from the claims the check verifies."""
    lam = sp.Symbol("lambda")
    chi_N, chi_p = sp.symbols("det(λI_N−AAᵀ) det(λI_p−AᵀA)")
    lhs, rhs = claimed_star(lam, chi_N, chi_p, variant)
    J, H, S = sp.MatrixSymbol("J", N, p), sp.MatrixSymbol("H", N, N), sp.MatrixSymbol("S", N, N)
    return (f"nonzero eig(AᵀA) = nonzero eig(AAᵀ): {fmt(lhs)} = {fmt(rhs)}; "
            f"Ĝ = AᵀA = {fmt(claimed_ggn(J, H, S, sp.Symbol('n'), variant))} "
            "(A = n^(-1/2)H^(1/2)J)")


STATEMENT = statement()
