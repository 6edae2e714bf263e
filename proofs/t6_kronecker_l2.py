r"""T6 — spectrum of a Kronecker product, its ε-rank, and the L2 shift.

Statement
---------
For square A (eigenvalues α_a) and S (eigenvalues s_b): ``eig(A ⊗ S) = {α_a s_b}`` with
multiplicity, i.e. ``det(λI − A ⊗ S) = Π_{a,b} (λ − α_a s_b)``. For PSD A, S:
``rank_ε(A ⊗ S) = #{(a,b) : α_a s_b > ε} ≤ rank(A)·rank(S)`` (ε ≥ 0). With the KFAC block
``Ĝ_ll ≈ A_{l−1} ⊗ S_l``, low feature rank forces a collapsed block spectrum. L2:
``eig(∇²(L + (κ/2)‖θ‖²)) = eig(∇²L) + κ``.

Proof
-----
Let ``f = χ_A`` (monic, roots α_a) and ``g_λ(x) = Π_b (λ − x s_b) = x^{m} χ_S(λ/x)`` (m = dim S),
a polynomial in x whose coefficients are those of χ_S. The resultant satisfies
``Res_x(f, g_λ) = Π_a g_λ(α_a) = Π_{a,b}(λ − α_a s_b)``. On the other hand, if A = PΛ_AP^{-1} is
diagonalizable (a dense set) and S = QΛ_SQ^{-1}, then by the mixed-product rule
``A ⊗ S = (P ⊗ Q)(Λ_A ⊗ Λ_S)(P ⊗ Q)^{-1}``, whose characteristic polynomial is
``Π_{a,b}(λ − α_a s_b)``; both sides are polynomials in the entries, so equality extends to all
A, S by density. For PSD A, S all α_a s_b ≥ 0, so rank_ε counts α_a s_b > ε; such a pair needs
α_a ≠ 0 and s_b ≠ 0, of which there are at most rank(A)·rank(S). L2 adds κI to the Hessian:
``det(λI − (M + κI)) = χ_M(λ − κ)``, a shift of every root by κ. ∎

What ``check()`` verifies symbolically
--------------------------------------
For fully symbolic (not necessarily symmetric or diagonalizable) 2×2 A and 2×2 S (8 symbols):
``det(λI − A ⊗ S)`` (Berkowitz) equals ``Res_x(χ_A(x), x²χ_S(λ/x))`` — which is
``Π_{a,b}(λ − α_a s_b)`` by the resultant's product formula; the mixed-product rule
``(A B) ⊗ (C D) = (A ⊗ C)(B ⊗ D)`` for symbolic 2×2 matrices; the diagonal case
``det(λI − diag(α) ⊗ diag(s)) = Π(λ − α_a s_b)``; and for symbolic symmetric 3×3 M,
``det(λI − (M + κI)) = χ_M(λ − κ)``. The rank count is the one-line argument above (prose).
"""

from __future__ import annotations

import sympy as sp

from proofs._sym import assert_identity, assert_matrix_identity, choose_variant, symbolic_matrix

ID = "T6"
STATEMENT = "eig(A⊗S) = {α_a s_b}; rank_ε(A⊗S) ≤ rank A·rank S; eig(∇²L + κI) = eig(∇²L) + κ"
CHECKED = "det(λI−A⊗S) = Res_x(χ_A, x²χ_S(λ/x)) for symbolic 2×2 A, S; mixed product; L2 shift"
MUTANTS = {
    "kronecker_sum_spectrum": "claims eig(A ⊗ S) = {α_a + s_b}",
    "l2_shift_sign": "claims eig(∇²L + κI) = eig(∇²L) − κ",
}


def claimed_pair_polynomial(S: sp.Matrix, x: sp.Symbol, lam: sp.Symbol,
                            variant: str | None = None) -> sp.Expr:
    """g_λ(x) = Π_b (λ − x s_b) = x^m χ_S(λ/x) (mutant: Π_b (λ − x − s_b) = χ_S(λ − x))."""
    m = S.rows
    if variant == "kronecker_sum_spectrum":
        return (sp.eye(m) * (lam - x) - S).det(method="berkowitz")
    return sp.expand(x**m * (sp.eye(m) * (lam / x) - S).det(method="berkowitz"))


def check(variant: str | None = None) -> None:
    """Verify T6 symbolically; raise AssertionError if any identity fails."""
    variant = choose_variant(variant, MUTANTS)
    lam, x, kappa = sp.symbols("lambda x kappa")
    A = symbolic_matrix("a", 2, 2)
    S = symbolic_matrix("s", 2, 2)
    kron = sp.kronecker_product(A, S)
    char_kron = (lam * sp.eye(4) - kron).det(method="berkowitz")
    char_A = (x * sp.eye(2) - A).det(method="berkowitz")
    pairs = sp.resultant(char_A, sp.cancel(claimed_pair_polynomial(S, x, lam, variant)), x)
    assert_identity(char_kron, pairs, "det(λI − A⊗S) = Π_{a,b}(λ − α_a s_b) (resultant form)")

    B, C, D = (symbolic_matrix(name, 2, 2) for name in "bcd")
    assert_matrix_identity(sp.kronecker_product(A * B, C * D),
                           sp.kronecker_product(A, C) * sp.kronecker_product(B, D),
                           "mixed product (AB)⊗(CD) = (A⊗C)(B⊗D)")

    alpha = sp.symbols("alpha1:3")
    sv = sp.symbols("sv1:3")
    diag_kron = sp.kronecker_product(sp.diag(*alpha), sp.diag(*sv))
    if variant == "kronecker_sum_spectrum":
        product = sp.Mul(*[lam - a - b for a in alpha for b in sv])
    else:
        product = sp.Mul(*[lam - a * b for a in alpha for b in sv])
    assert_identity((lam * sp.eye(4) - diag_kron).det(), product,
                    "diagonal case: det(λI − diag(α)⊗diag(s)) = Π(λ − α_a s_b)")

    M = symbolic_matrix("m", 3, 3, symmetric=True)
    shift = -kappa if variant == "l2_shift_sign" else kappa
    char_M = (lam * sp.eye(3) - M).det(method="berkowitz")
    assert_identity((lam * sp.eye(3) - (M + kappa * sp.eye(3))).det(method="berkowitz"),
                    char_M.subs(lam, lam - shift), "L2: det(λI − (M + κI)) = χ_M(λ − κ)")
