r"""T1 — Gram–GGN spectral identity.

Statement
---------
Let ``A = n^{-1/2} H^{1/2} J`` (N × p, N = nk) with ``H^{1/2}`` the symmetric PSD square root of
the block-diagonal output Hessian. Then the GGN ``Ĝ = (1/n) JᵀHJ = AᵀA`` (p × p) and the
loss-weighted Gram ``G = (1/n) H^{1/2} K H^{1/2} = AAᵀ`` (N × N, K = JJᵀ) have the same nonzero
eigenvalues with the same multiplicities. Equivalently, as polynomials in λ,

    λ^N · det(λI_p − AᵀA) = λ^p · det(λI_N − AAᵀ)          (★)

(for p ≥ N: ``det(λI_p − AᵀA) = λ^{p−N} det(λI_N − AAᵀ)``). Hence ``rank_ε(Ĝ) = rank_ε(G)`` for
every ε > 0, and the GGN spectrum of a p-parameter network costs an N × N eigenproblem.

Proof
-----
``Ĝ = AᵀA`` because ``(H^{1/2})ᵀH^{1/2} = H`` (symmetric square root), and ``G = AAᵀ`` because
``K = JJᵀ``. For (★) use the block matrices

    M = [[λI_N, A], [Aᵀ, I_p]].

Eliminating the lower-right block (Schur complement w.r.t. I_p) gives
``det M = det(I_p) · det(λI_N − AAᵀ)``; eliminating the upper-left block (λ ≠ 0) gives
``det M = λ^N det(I_p − AᵀA/λ) = λ^{N−p} det(λI_p − AᵀA)``. Equating and multiplying by λ^p gives
(★) for λ ≠ 0, hence as a polynomial identity. The characteristic polynomials therefore differ
only by a power of λ, so every nonzero root has the same multiplicity on both sides. Both
matrices are PSD, so ``rank_ε`` (the count of eigenvalues with ``|λ| > ε``) only sees nonzero
eigenvalues when ε > 0 and agrees.

What ``check()`` verifies symbolically
--------------------------------------
(★) for a fully symbolic A of shapes 2×3, 3×2 and 1×3 (every entry its own symbol), by expanding
both sides; and ``(H^{1/2}J)ᵀ(H^{1/2}J) = JᵀHJ`` for a symbolic symmetric 2×2 square root S
(``H = S²``) and symbolic 2×3 J. General N, p rest on the block-determinant proof above.
"""

from __future__ import annotations

import sympy as sp

from proofs._sym import assert_identity, assert_matrix_identity, choose_variant, symbolic_matrix

ID = "T1"
STATEMENT = "nonzero eig(AᵀA) = nonzero eig(AAᵀ): λ^N det(λI−AᵀA) = λ^p det(λI−AAᵀ)"
CHECKED = "char-poly identity for symbolic A (2×3, 3×2, 1×3); AᵀA = JᵀHJ/n with H = S²"
MUTANTS = {
    "exponent_off_by_one": "claims λ^{N+1} det(λI−AᵀA) = λ^p det(λI−AAᵀ)",
    "gram_scaled": "claims the same nonzero spectrum for AᵀA and 2·AAᵀ (wrong constant)",
    "ggn_without_sqrt_square": "claims AᵀA = JᵀSJ/n (H^{1/2} instead of H)",
}

SHAPES = ((2, 3), (3, 2), (1, 3))


def charpoly_identity_sides(A: sp.Matrix, lam: sp.Symbol, variant: str | None = None):
    """Both sides of (★): (λ^N det(λI_p − AᵀA), λ^p det(λI_N − AAᵀ)) for the given variant."""
    N, p = A.shape
    gram = A * A.T
    if variant == "gram_scaled":
        gram = 2 * gram
    power_left = N + 1 if variant == "exponent_off_by_one" else N
    lhs = lam**power_left * (lam * sp.eye(p) - A.T * A).det(method="berkowitz")
    rhs = lam**p * (lam * sp.eye(N) - gram).det(method="berkowitz")
    return lhs, rhs


def check(variant: str | None = None, shapes=SHAPES) -> None:
    """Verify T1 symbolically; raise AssertionError if any identity fails."""
    variant = choose_variant(variant, MUTANTS)
    lam = sp.Symbol("lambda")
    for N, p in shapes:
        A = symbolic_matrix("a", N, p)
        lhs, rhs = charpoly_identity_sides(A, lam, variant)
        assert_identity(lhs, rhs, f"λ^N det(λI−AᵀA) = λ^p det(λI−AAᵀ) for symbolic {N}×{p} A")
    # Ĝ = AᵀA: A = n^{-1/2} S J with S = Sᵀ and H = S².
    n = sp.Symbol("n", positive=True)
    S = symbolic_matrix("s", 2, 2, symmetric=True)
    J = symbolic_matrix("j", 2, 3)
    A = S * J / sp.sqrt(n)
    H = S if variant == "ggn_without_sqrt_square" else S * S
    assert_matrix_identity(A.T * A, J.T * H * J / n, "AᵀA = JᵀHJ/n for H^{1/2} = S symmetric")
