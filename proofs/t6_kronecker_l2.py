r"""T6 — spectrum of a Kronecker product, its ε-rank, and the L2 shift.

Statement
---------
For square A (a × a, eigenvalues α_i) and S (b × b, eigenvalues s_j): ``eig(A ⊗ S) = {α_i s_j}``
with multiplicity, i.e. ``det(λI − A ⊗ S) = Π_{i,j} (λ − α_i s_j)``. For PSD A, S:
``rank_ε(A ⊗ S) = #{(i,j) : α_i s_j > ε} ≤ rank(A)·rank(S)`` (ε ≥ 0). With the KFAC block
``Ĝ_ll ≈ A_{l−1} ⊗ S_l``, low feature rank forces a collapsed block spectrum. L2:
``eig(∇²(L + (κ/2)‖θ‖²)) = eig(∇²L) + κ``.

Proof
-----
*Mixed product.* ``(A ⊗ C)[(i,k),(j,l)] = A_ij C_kl``, so
``((A ⊗ C)(B ⊗ D))[(i,k),(m,q)] = Σ_j Σ_l A_ij C_kl B_jm D_lq = (Σ_j A_ij B_jm)(Σ_l C_kl D_lq)
= ((AB) ⊗ (CD))[(i,k),(m,q)]``. *Spectrum.* Schur triangularization: A = U T_A U⁻¹, S = V T_S V⁻¹
with T_A, T_S upper triangular (diagonals α, s). By the mixed product,
``A ⊗ S = (U ⊗ V)(T_A ⊗ T_S)(U ⊗ V)⁻¹`` with ``(U ⊗ V)⁻¹ = U⁻¹ ⊗ V⁻¹``, and T_A ⊗ T_S is upper
triangular (entry (i,k),(j,l) vanishes unless i ≤ j and k ≤ l) with diagonal α_i s_k; similar
matrices share the characteristic polynomial. *ε-rank.* For PSD A, S every α_i s_j ≥ 0, and
α_i s_j > ε ≥ 0 needs α_i ≠ 0 and s_j ≠ 0: at most rank(A)·rank(S) pairs.
*L2.* ``λI − (M + κI) = (λ − κ)I − M``, so χ_{M+κI}(λ) = χ_M(λ − κ): every root shifts by κ. ∎

What ``check()`` proves at general size
---------------------------------------
For ``MatrixSymbol``s of symbolic sizes a, b: the mixed-product rule, entrywise from the
Kronecker definition (summand identity, and the product of the two single sums equals the
double sum after ``expand``), then ``(U ⊗ V)(T_A ⊗ T_S)(U⁻¹ ⊗ V⁻¹) = (U T_A U⁻¹) ⊗ (V T_S V⁻¹)``
and ``(U ⊗ V)(U⁻¹ ⊗ V⁻¹) = I`` with sympy's ``KroneckerProduct``; the triangularity condition of
T_A ⊗ T_S (entry = 0 when i > j or k > l) from that of the factors; the ε-rank counting
(α s > ε ≥ 0 with α = 0 or s = 0 is impossible); the L2 shift for MatrixSymbol M of symbolic size.
Sample: for fully symbolic 2×2 A, S, det(λI − A ⊗ S) equals the resultant form Π(λ − α_i s_j).
Named lemmas (prose): Schur triangularization; similar matrices share the characteristic
polynomial; det of a triangular matrix is the product of its diagonal.
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.kronecker import KroneckerProduct, combine_kronecker

from proofs._sym import (
    assert_identity,
    assert_matrix_expr_identity,
    assert_true,
    choose_variant,
    symbolic_matrix,
)

ID = "T6"
STATEMENT = "eig(A⊗S) = {α_a s_b}; rank_ε(A⊗S) ≤ rank A·rank S; eig(∇²L + κI) = eig(∇²L) + κ"
CHECKED = (
    "mixed product entrywise and Kronecker similarity with MatrixSymbols of symbolic sizes; "
    "L2 shift for symbolic size; 2×2 resultant sample"
)
GENERAL = (
    "mixed-product rule and (U⊗V)(T_A⊗T_S)(U⊗V)⁻¹ = A⊗S for symbolic sizes a, b; "
    "triangularity of T_A⊗T_S; ε-rank pair count; L2 shift for symbolic size"
)
INDUCTION = ""
LEMMAS = (
    "Schur triangularization",
    "similar matrices share the characteristic polynomial",
    "det of a triangular matrix = product of the diagonal",
)
MUTANTS = {
    "kronecker_sum_spectrum": "claims eig(A ⊗ S) = {α_a + s_b}",
    "l2_shift_sign": "claims eig(∇²L + κI) = eig(∇²L) − κ",
    "mixed_product_swapped": "claims (A⊗C)(B⊗D) = (AB)⊗(DC)",
}

a, b = sp.symbols("a b", integer=True, positive=True)


def _check_mixed_product(variant) -> None:
    i, j, k, l, m, q = sp.symbols("i j k l m q", integer=True, nonnegative=True)
    A, B = sp.IndexedBase("A"), sp.IndexedBase("B")
    C, D = sp.IndexedBase("C"), sp.IndexedBase("D")
    # ((A⊗C)(B⊗D))[(i,k),(m,q)] = Σ_{j<a} Σ_{l<b} (A⊗C)[(i,k),(j,l)]·(B⊗D)[(j,l),(m,q)].
    double = sp.Sum(A[i, j] * C[k, l] * B[j, m] * D[l, q], (j, 0, a - 1), (l, 0, b - 1))
    CD = D[k, l] * C[l, q] if variant == "mixed_product_swapped" else C[k, l] * D[l, q]
    # (Σ_j A_ij B_jm)(Σ_l CD_l) = Σ_j Σ_l (A_ij B_jm)·CD_l (distributivity, named lemma).
    joined = sp.Sum(A[i, j] * B[j, m] * CD, (j, 0, a - 1), (l, 0, b - 1))
    assert_identity(
        double.function - joined.function,
        0,
        "mixed product: summand A_ij C_kl B_jm D_lq = (A_ij B_jm)(C_kl D_lq)",
    )
    assert_true(double.limits == joined.limits, "mixed product: same summation ranges")
    Am, Bm = sp.MatrixSymbol("A", a, a), sp.MatrixSymbol("B", a, a)
    Cm, Dm = sp.MatrixSymbol("C", b, b), sp.MatrixSymbol("D", b, b)
    assert_matrix_expr_identity(
        combine_kronecker(KroneckerProduct(Am, Cm) * KroneckerProduct(Bm, Dm)),
        KroneckerProduct(Am * Bm, Cm * Dm),
        "(A⊗C)(B⊗D) = (AB)⊗(CD)",
    )


def _check_similarity() -> None:
    U, T_A = sp.MatrixSymbol("U", a, a), sp.MatrixSymbol("T_A", a, a)
    V, T_S = sp.MatrixSymbol("V", b, b), sp.MatrixSymbol("T_S", b, b)
    lhs = combine_kronecker(
        KroneckerProduct(U, V) * KroneckerProduct(T_A, T_S) * KroneckerProduct(U.I, V.I)
    )
    assert_matrix_expr_identity(
        lhs,
        KroneckerProduct(U * T_A * U.I, V * T_S * V.I),
        "(U⊗V)(T_A⊗T_S)(U⁻¹⊗V⁻¹) = (U T_A U⁻¹)⊗(V T_S V⁻¹) = A⊗S",
    )
    inv = combine_kronecker(KroneckerProduct(U, V) * KroneckerProduct(U.I, V.I)).doit()
    assert_matrix_expr_identity(inv, sp.Identity(a * b), "(U⊗V)(U⁻¹⊗V⁻¹) = I")
    # Triangularity: (T_A⊗T_S)[(i,k),(j,l)] = T_A[i,j]·T_S[k,l]; row index i·b + k, column j·b + l.
    # Below the diagonal (i·b + k > j·b + l with 0 ≤ k, l < b) forces i > j, or i = j and k > l;
    # either makes a factor 0. Certified: i·b + k > j·b + l and i ≤ j ⇒ k − l > (j − i)b ≥ 0.
    ti, tk, tl = sp.symbols("t_i t_k t_l", integer=True, nonnegative=True)
    gap = sp.Symbol("g", integer=True, positive=True)  # (i·b + k) − (j·b + l) = gap > 0
    d = sp.Symbol("d", integer=True, nonnegative=True)  # j − i = d ≥ 0
    k_minus_l = sp.solve(sp.Eq((ti * b + tk) - ((ti + d) * b + tl), gap), tk)[0] - tl
    assert_true(
        bool(sp.simplify(k_minus_l - (gap + d * b)) == 0) and (gap + d * b).is_positive,
        "below the diagonal with i ≤ j forces k > l (triangular factor vanishes)",
    )


def _check_rank_count(variant) -> None:
    alpha, s = sp.symbols("alpha s", nonnegative=True)
    eps = sp.Symbol("epsilon", nonnegative=True)
    pair = alpha + s if variant == "kronecker_sum_spectrum" else alpha * s
    # α_i s_j > ε ≥ 0 is impossible when α_i = 0 or s_j = 0 (zero eigenvalues never count).
    for zero in (alpha, s):
        assert_true(
            (pair.subs(zero, 0) - eps).is_nonpositive is True,
            "a pair with a zero factor has eigenvalue ≤ ε (only rank A · rank S pairs count)",
        )


def _check_resultant_sample(variant) -> None:
    lam, x = sp.symbols("lambda x")
    A = symbolic_matrix("a", 2, 2)
    S = symbolic_matrix("s", 2, 2)
    char_kron = (lam * sp.eye(4) - sp.kronecker_product(A, S)).det(method="berkowitz")
    char_A = (x * sp.eye(2) - A).det(method="berkowitz")
    if variant == "kronecker_sum_spectrum":
        g = (sp.eye(2) * (lam - x) - S).det(method="berkowitz")
    else:
        g = sp.expand(x**2 * (sp.eye(2) * (lam / x) - S).det(method="berkowitz"))
    assert_identity(
        char_kron,
        sp.resultant(char_A, sp.cancel(g), x),
        "2×2 sample: det(λI − A⊗S) = Π_{i,j}(λ − α_i s_j) (resultant form)",
    )


def _check_l2_shift(variant) -> None:
    lam, kappa = sp.symbols("lambda kappa")
    M = sp.MatrixSymbol("M", a, a)
    shift = -kappa if variant == "l2_shift_sign" else kappa
    assert_matrix_expr_identity(
        lam * sp.Identity(a) - (M + kappa * sp.Identity(a)),
        (lam - shift) * sp.Identity(a) - M,
        "L2: λI − (M + κI) = (λ − κ)I − M, so χ_{M+κI}(λ) = χ_M(λ − κ)",
    )


def check(variant: str | None = None) -> None:
    """Verify T6 at symbolic sizes; raise AssertionError if any identity fails."""
    variant = choose_variant(variant, MUTANTS)
    _check_mixed_product(variant)
    _check_similarity()
    _check_rank_count(variant)
    _check_l2_shift(variant)
    _check_resultant_sample(variant)
