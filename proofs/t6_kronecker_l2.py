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
For symbolic sizes a, b: the mixed-product rule, entrywise from the Kronecker definition, as a
double sum that factorizes by distributivity (``_sym.assert_double_sum_factorizes``: same ranges,
separated indices, summand = product); the eigenpair step (A⊗S)(u⊗v) = (Au)⊗(Sv) = αs·(u⊗v)
the same way (the claimed eigenvalue, e.g. α·s², must match); then
``(U ⊗ V)(T_A ⊗ T_S)(U⁻¹ ⊗ V⁻¹) = (U T_A U⁻¹) ⊗ (V T_S V⁻¹)`` and ``(U ⊗ V)(U⁻¹ ⊗ V⁻¹) = I`` by
applying that proved rule with an own rewriter (sympy's ``combine_kronecker`` implements the rule
under test and is not used); the diagonal of T_A ⊗ T_S is α_i s_k; an exact instance (A, S
non-symmetric, eigenvalues {2, 3}, {1, 4}) compares eig of the explicit 4 × 4 product; the
triangularity condition of
T_A ⊗ T_S (entry = 0 when i > j or k > l) from that of the factors; the ε-rank counting
(α s > ε ≥ 0 with α = 0 or s = 0 is impossible); the L2 shift for MatrixSymbol M of symbolic size.
Sample: for fully symbolic 2×2 A, S, det(λI − A ⊗ S) equals the resultant form Π(λ − α_i s_j).
Named lemmas (prose): Schur triangularization; similar matrices share the characteristic
polynomial; det of a triangular matrix is the product of its diagonal.
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.kronecker import KroneckerProduct

from proofs._sym import (
    assert_double_sum_factorizes,
    assert_identity,
    assert_matrix_expr_identity,
    assert_nonneg_certificate,
    assert_true,
    choose_variant,
    fmt,
    symbolic_matrix,
)

ID = "T6"
CHECKED = (
    "mixed product entrywise, eigenpairs and Kronecker similarity at symbolic sizes; "
    "exact 2×2 ⊗ 2×2 instance; "
    "L2 shift for symbolic size; 2×2 resultant sample"
)
GENERAL = (
    "mixed-product rule by distributivity (entrywise, symbolic sizes a, b); (A⊗S)(u⊗v) = "
    "αs·(u⊗v) for eigenpairs (symbolic sizes); (U⊗V)(T_A⊗T_S)(U⊗V)⁻¹ = A⊗S with the proved "
    "rule (not sympy's combine_kronecker); triangularity and diagonal α_i s_k of T_A⊗T_S; "
    "ε-rank pair count; L2 shift for symbolic size; exact instance with distinct eigenvalues"
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
    "pair_s_squared": "claims eig(A ⊗ S) = {α_a s_b²}",
}

a, b = sp.symbols("a b", integer=True, positive=True)


def l2_shift(kappa, variant=None):
    """eig(∇²(L + κ/2‖θ‖²)) = eig(∇²L) + shift."""
    return -kappa if variant == "l2_shift_sign" else kappa


def claimed_pair(alpha, s, variant=None):
    """The claimed eigenvalue of A ⊗ S for the pair (α_a, s_b)."""
    if variant == "kronecker_sum_spectrum":
        return alpha + s
    if variant == "pair_s_squared":
        return alpha * s**2
    return alpha * s


def mixed_product(expr):
    """Rewrite every adjacent pair (A⊗C)(B⊗D) inside a matrix product as (AB)⊗(CD): exactly
    the rule proved entrywise in ``_check_mixed_product`` (not sympy's combine_kronecker)."""
    if not isinstance(expr, sp.MatMul):
        return expr
    out = []
    for factor in expr.args:
        if (out and isinstance(factor, KroneckerProduct) and isinstance(out[-1], KroneckerProduct)
                and len(factor.args) == len(out[-1].args) == 2):
            (A, C), (B, D) = out[-1].args, factor.args
            out[-1] = KroneckerProduct(A * B, C * D)
        else:
            out.append(factor)
    return out[0] if len(out) == 1 else sp.MatMul(*out)


def _check_mixed_product(variant) -> None:
    """((A⊗C)(B⊗D))[(i,k),(m,q)] = Σ_j Σ_l (A⊗C)[(i,k),(j,l)](B⊗D)[(j,l),(m,q)] with the
    definition (X⊗Y)[(i,k),(j,l)] = X_ij Y_kl, factorized by distributivity into (AB)_im (CD)_kq."""
    i, j, k, l, m, q = sp.symbols("i j k l m q", integer=True, nonnegative=True)
    A, B = sp.IndexedBase("A"), sp.IndexedBase("B")
    C, D = sp.IndexedBase("C"), sp.IndexedBase("D")

    def kron(X, Y, row, col):  # (X⊗Y)[(row₁,row₂),(col₁,col₂)]
        return X[row[0], col[0]] * Y[row[1], col[1]]

    double = sp.Sum(kron(A, C, (i, k), (j, l)) * kron(B, D, (j, l), (m, q)),
                    (j, 0, a - 1), (l, 0, b - 1))
    CD = sp.Sum(D[k, l] * C[l, q] if variant == "mixed_product_swapped" else C[k, l] * D[l, q],
                (l, 0, b - 1))
    assert_double_sum_factorizes(double, sp.Sum(A[i, j] * B[j, m], (j, 0, a - 1)), CD,
                                 "mixed product: ((A⊗C)(B⊗D))[(i,k),(m,q)] = (AB)_im (CD)_kq")


def _check_eigenpairs(variant) -> None:
    """Symbolic sizes: if Au = αu and Sv = sv then (A⊗S)(u⊗v) = claimed_pair(α, s)·(u⊗v):
    entry (i,k) = Σ_j Σ_l A_ij S_kl u_j v_l = (Σ_j A_ij u_j)(Σ_l S_kl v_l) = (αu_i)(sv_k)."""
    i, j, k, l = sp.symbols("i j k l", integer=True, nonnegative=True)
    A, S, u, v = (sp.IndexedBase(x) for x in ("A", "S", "u", "v"))
    alpha, s = sp.symbols("alpha s")
    Au, Sv = sp.Sum(A[i, j] * u[j], (j, 0, a - 1)), sp.Sum(S[k, l] * v[l], (l, 0, b - 1))
    entry = sp.Sum(A[i, j] * S[k, l] * u[j] * v[l], (j, 0, a - 1), (l, 0, b - 1))
    assert_double_sum_factorizes(entry, Au, Sv, "((A⊗S)(u⊗v))_(i,k) = (Au)_i (Sv)_k")
    value = (Au * Sv).xreplace({Au: alpha * u[i], Sv: s * v[k]})  # the eigen-hypotheses
    assert_identity(value, claimed_pair(alpha, s, variant) * u[i] * v[k],
                    "(A⊗S)(u⊗v) = (claimed eigenvalue)·(u⊗v)")


def _check_similarity(variant) -> None:
    U, T_A = sp.MatrixSymbol("U", a, a), sp.MatrixSymbol("T_A", a, a)
    V, T_S = sp.MatrixSymbol("V", b, b), sp.MatrixSymbol("T_S", b, b)
    lhs = mixed_product(mixed_product(sp.MatMul(
        KroneckerProduct(U, V), KroneckerProduct(T_A, T_S), KroneckerProduct(U.I, V.I))))
    assert_matrix_expr_identity(
        lhs,
        KroneckerProduct(U * T_A * U.I, V * T_S * V.I),
        "(U⊗V)(T_A⊗T_S)(U⁻¹⊗V⁻¹) = (U T_A U⁻¹)⊗(V T_S V⁻¹) = A⊗S (mixed product twice)",
    )
    inv = mixed_product(sp.MatMul(KroneckerProduct(U, V), KroneckerProduct(U.I, V.I))).doit()
    assert_matrix_expr_identity(inv, sp.Identity(a * b), "(U⊗V)(U⁻¹⊗V⁻¹) = I")
    # Triangularity: (T_A⊗T_S)[(i,k),(j,l)] = T_A[i,j]·T_S[k,l]; row index i·b + k, column j·b + l.
    # Below the diagonal (i·b + k > j·b + l with 0 ≤ k, l < b) forces i > j, or i = j and k > l;
    # either makes a factor 0. Certified: i·b + k > j·b + l and i ≤ j ⇒ k − l > (j − i)b ≥ 0.
    ti, tk, tl = sp.symbols("t_i t_k t_l", integer=True, nonnegative=True)
    gap = sp.Symbol("g", integer=True, positive=True)  # (i·b + k) − (j·b + l) = gap > 0
    d = sp.Symbol("d", integer=True, nonnegative=True)  # j − i = d ≥ 0
    k_minus_l = sp.solve(sp.Eq((ti * b + tk) - ((ti + d) * b + tl), gap), tk)[0] - tl
    # k − l − gap = (j − i)·b ≥ 0 (hypotheses j − i = d ≥ 0, b ≥ 1), so k − l ≥ gap > 0
    assert_nonneg_certificate(k_minus_l - gap, [(1, [d, b], 1)], [d, b],
                              "below the diagonal with i ≤ j forces k − l ≥ gap > 0 (factor is 0)")
    # Diagonal of T_A ⊗ T_S: entry (i,k),(i,k) = T_A[i,i]·T_S[k,k] = α_i s_k (Kronecker definition)
    TA, TS = sp.IndexedBase("T_A"), sp.IndexedBase("T_S")
    i, k = sp.symbols("i k", integer=True, nonnegative=True)
    alpha, s_ = sp.IndexedBase("alpha"), sp.IndexedBase("s")
    diag_entry = (TA[i, i] * TS[k, k]).xreplace({TA[i, i]: alpha[i], TS[k, k]: s_[k]})
    assert_identity(diag_entry, claimed_pair(alpha[i], s_[k], variant),
                    "diagonal of T_A⊗T_S at (i,k) = claimed eigenvalue of the pair")


def _check_exact_instance(variant) -> None:
    """Non-symmetric A, S with distinct eigenvalues {2, 3} and {1, 4}: the spectrum of the
    explicit 4 × 4 Kronecker product, with multiplicity, equals the claimed pair values."""
    A = sp.Matrix([[2, 1], [0, 3]])
    S = sp.Matrix([[1, 0], [1, 4]])
    got = sorted(sp.kronecker_product(A, S).eigenvals(multiple=True))
    want = sorted(claimed_pair(al, sv, variant) for al in (2, 3) for sv in (1, 4))
    assert_true(got == want, f"exact instance: eig(A⊗S) = {got} equals claimed {want}")


def _check_rank_count(variant) -> None:
    alpha, s = sp.symbols("alpha s", nonnegative=True)
    pair = claimed_pair(alpha, s, variant)
    # α_i s_j > ε ≥ 0 is impossible when α_i = 0 or s_j = 0 (zero eigenvalues never count):
    # the pair's eigenvalue is then exactly 0.
    for zero in (alpha, s):
        assert_identity(pair.subs(zero, 0), 0,
                        "a pair with a zero factor has eigenvalue 0 ≤ ε "
                        "(at most rank A·rank S pairs count)")


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
    shift = l2_shift(kappa, variant)
    assert_matrix_expr_identity(
        lam * sp.Identity(a) - (M + kappa * sp.Identity(a)),
        (lam - shift) * sp.Identity(a) - M,
        "L2: λI − (M + κI) = (λ − κ)I − M, so χ_{M+κI}(λ) = χ_M(λ − κ)",
    )


def check(variant: str | None = None) -> None:
    """Verify T6 at symbolic sizes; raise AssertionError if any identity fails."""
    variant = choose_variant(variant, MUTANTS)
    _check_mixed_product(variant)
    _check_eigenpairs(variant)
    _check_similarity(variant)
    _check_exact_instance(variant)
    _check_rank_count(variant)
    _check_l2_shift(variant)
    _check_resultant_sample(variant)


def statement(variant: str | None = None) -> str:
    """The printed statement, generated from the claims the check verifies."""
    al, sb, kappa, lam = sp.symbols("alpha_a s_b kappa lambda")
    return (f"eig(A⊗S) = {{{fmt(claimed_pair(al, sb, variant))}}} with multiplicity; "
            f"rank_ε(A⊗S) = #{{(a,b): {fmt(claimed_pair(al, sb, variant))} > ε}} ≤ rank A·rank S "
            f"(A, S ≽ 0); eig(∇²L + κI) = {{{fmt(lam + l2_shift(kappa, variant))}: λ ∈ eig(∇²L)}}")


STATEMENT = statement()
