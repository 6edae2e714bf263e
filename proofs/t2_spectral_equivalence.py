r"""T2 — spectral-equivalence bracket between the loss-weighted Gram G and the plain Gram K.

Statement
---------
Let ``K = JJᵀ`` (N × N, N = nk), ``G = (1/n) H^{1/2} K H^{1/2}`` with H PSD, and let P be an
orthogonal projector with ``H = PHP`` and ``aP ≼ H ≼ bP`` (0 < a ≤ b). Then for every i
(eigenvalues in decreasing order)

    (a/n) λ_i(PKP) ≤ λ_i(G) ≤ (b/n) λ_i(PKP),

hence ``rank_{nε/a}(PKP) ≤ rank_ε(G) ≤ rank_{nε/b}(PKP)`` for every ε > 0.
Special cases: mse (H = I): a = b = 1, P = I and ``G = K/n`` exactly. ce: by lemma T2a,
P = blockdiag(I_k − 𝟙𝟙ᵀ/k), a = min_{i,c} p_ic, b = min(max_{i,c} p_ic, ½). ce at uniform
predictions (p_i = 𝟙/k): ``H_i = P_k/k`` so ``G = PKP/(nk)`` exactly.

Proof
-----
*Step 1 (move to parameter space).* ``H = PHP`` and H ≽ 0 imply ``H^{1/2} = PH^{1/2}P`` (the
square root is a polynomial in H, and range(H) ⊆ range(P)). So ``nG = (H^{1/2}J)(H^{1/2}J)ᵀ`` and,
by T1, its nonzero eigenvalues (with multiplicity) are those of ``(H^{1/2}J)ᵀ(H^{1/2}J) = JᵀHJ``.
Likewise ``PKP = (PJ)(PJ)ᵀ`` has the nonzero eigenvalues of ``JᵀPJ`` (P = PᵀP).
*Step 2 (congruence).* For every θ: ``θᵀJᵀ(H − aP)Jθ = (Jθ)ᵀ(H − aP)(Jθ) ≥ 0``, and likewise for
``bP − H``; so ``a·JᵀPJ ≼ JᵀHJ ≼ b·JᵀPJ``.
*Step 3 (Weyl monotonicity).* If X ≼ Y then λ_i(X) ≤ λ_i(Y) for all i (Courant–Fischer:
λ_i(X) = max_{dim V = i} min_{v∈V, ‖v‖=1} vᵀXv ≤ the same with Y). Apply to Step 2; all the
matrices are PSD, so padding with zeros (T1) keeps the i-th eigenvalues aligned, giving the
bracket for nG versus PKP. *Ranks:* λ_i(PKP) > nε/a ⇒ λ_i(G) ≥ (a/n)λ_i(PKP) > ε, and
λ_i(G) > ε ⇒ λ_i(PKP) ≥ (n/b)λ_i(G) > nε/b.
*Special cases.* mse: H = I. Uniform ce: ``diag(𝟙/k) − 𝟙𝟙ᵀ/k² = P_k/k`` whose PSD root is
``P_k/√k`` (P_k is a projector), so ``nG = PKP/k``. ∎

What ``check()`` verifies symbolically
--------------------------------------
(i) mse: ``G = K/n`` for symbolic K (N = 3). (ii) uniform ce, k = 2, 3 (n = 1) and n = 2, k = 2:
``H_i = P_k/k``, ``(P_k/√k)² = H_i`` and ``G = PKP/(nk)`` entrywise for symbolic symmetric K.
(iii) Step 1 for symbolic symmetric S = H^{1/2} (2×2) and J (2×3): the characteristic
polynomials of ``S JJᵀ S`` and ``JᵀS²J`` agree up to the power of λ (T1), and
``θᵀJᵀ(H − aP)Jθ = (Jθ)ᵀ(H − aP)(Jθ)``. (iv) The whole bracket end to end for binary ce, n = 1,
symbolic p = (s, 1 − s) (s ≤ ½ by relabelling) and symbolic K: G's nonzero eigenvalue is
``2s(1 − s) · vᵀKv`` with ``vᵀKv`` the nonzero eigenvalue of PKP (char polys compared), and
``s ≤ 2s(1 − s) ≤ ½`` by explicit nonnegative certificates. Step 3 (Courant–Fischer) and sizes
beyond these rest on the prose proof.
"""

from __future__ import annotations

import sympy as sp

from proofs._sym import (
    assert_identity,
    assert_matrix_identity,
    assert_nonneg_certificate,
    choose_variant,
    symbolic_matrix,
)

ID = "T2"
STATEMENT = "aP ≼ H ≼ bP ⇒ (a/n)λ_i(PKP) ≤ λ_i(G) ≤ (b/n)λ_i(PKP); mse G = K/n; uniform ce PKP/(nk)"
CHECKED = "mse & uniform-ce exact forms; T1 reduction; binary-ce bracket end to end (char polys)"
MUTANTS = {
    "mse_missing_1_over_n": "claims G = K for mse",
    "uniform_missing_1_over_k": "claims G = PKP/n at uniform ce predictions",
    "binary_ratio_halved": "claims G's nonzero eigenvalue is s(1 − s)·vᵀKv for binary ce",
}


def centering(k: int) -> sp.Matrix:
    """P_k = I_k − 𝟙𝟙ᵀ/k."""
    return sp.eye(k) - sp.ones(k, k) / k


def claimed_uniform_gram(K: sp.Matrix, n: int, k: int, variant: str | None) -> sp.Matrix:
    """The closed form claimed for G at uniform ce predictions: PKP/(nk)."""
    P = sp.diag(*[centering(k)] * n)
    scale = n if variant == "uniform_missing_1_over_k" else n * k
    return P * K * P / scale


def _check_mse(variant: str | None) -> None:
    n = sp.Symbol("n", positive=True)
    K = symbolic_matrix("K", 3, 3, symmetric=True)
    H_sqrt = sp.eye(3)  # mse: H_i = I_k, so H^{1/2} = I
    G = H_sqrt * K * H_sqrt / n
    claimed = K if variant == "mse_missing_1_over_n" else K / n
    assert_matrix_identity(G, claimed, "mse: G = K/n")


def _check_uniform_ce(variant: str | None) -> None:
    for n, k in ((1, 2), (1, 3), (2, 2)):
        p = sp.ones(k, 1) / k
        H_i = sp.diag(*p) - p * p.T
        P_k = centering(k)
        assert_matrix_identity(H_i, P_k / k, f"uniform ce: H_i = P_k/k (k={k})")
        root = P_k / sp.sqrt(k)
        assert_matrix_identity(root * root, H_i, f"(P_k/√k)² = H_i (k={k})")
        assert_matrix_identity(root, root.T, f"P_k/√k symmetric (k={k})")
        H_sqrt = sp.diag(*[root] * n)
        K = symbolic_matrix("K", n * k, n * k, symmetric=True)
        G = H_sqrt * K * H_sqrt / n
        assert_matrix_identity(G, claimed_uniform_gram(K, n, k, variant),
                               f"uniform ce: G = PKP/(nk) (n={n}, k={k})")


def _check_reduction() -> None:
    lam = sp.Symbol("lambda")
    S = symbolic_matrix("s", 2, 2, symmetric=True)
    J = symbolic_matrix("j", 2, 3)
    nG = S * J * J.T * S
    param_side = J.T * S * S * J
    assert_identity(lam**2 * (lam * sp.eye(3) - param_side).det(method="berkowitz"),
                    lam**3 * (lam * sp.eye(2) - nG).det(method="berkowitz"),
                    "Step 1: char polys of S JJᵀ S and JᵀS²J agree up to λ powers")
    a = sp.Symbol("a", positive=True)
    theta = sp.Matrix(sp.symbols("t1:4", real=True))
    P = centering(2)
    H = S * S
    assert_identity((theta.T * J.T * (H - a * P) * J * theta)[0, 0],
                    ((J * theta).T * (H - a * P) * (J * theta))[0, 0],
                    "Step 2: congruence θᵀJᵀ(H − aP)Jθ = (Jθ)ᵀ(H − aP)(Jθ)")


def _check_binary_bracket(variant: str | None) -> None:
    lam = sp.Symbol("lambda")
    s = sp.Symbol("s", positive=True)  # p = (s, 1 − s), relabelled so that s = p_min ≤ ½
    p = sp.Matrix([s, 1 - s])
    H = sp.diag(*p) - p * p.T
    v = sp.Matrix([1, -1]) / sp.sqrt(2)
    r = 2 * s * (1 - s)
    H_sqrt = sp.sqrt(r) * v * v.T
    assert_matrix_identity(H_sqrt * H_sqrt, H, "binary ce: (√(2s(1−s)) vvᵀ)² = H")
    K = symbolic_matrix("K", 2, 2, symmetric=True)
    G = H_sqrt * K * H_sqrt  # n = 1
    PKP = centering(2) * K * centering(2)
    vKv = (v.T * K * v)[0, 0]
    claimed_ratio = r / 2 if variant == "binary_ratio_halved" else r
    assert_identity((lam * sp.eye(2) - G).det(), lam * (lam - claimed_ratio * vKv),
                    "binary ce: char poly of G = λ(λ − 2s(1−s)·vᵀKv)")
    assert_identity((lam * sp.eye(2) - PKP).det(), lam * (lam - vKv),
                    "binary ce: char poly of PKP = λ(λ − vᵀKv)")
    # a = p_min = s ≤ ratio ≤ b = min(p_max, ½) = ½ (p_max ≥ ½ when k = 2).
    half_minus_s = sp.Rational(1, 2) - s
    assert_nonneg_certificate(r - s, [(2, [s, half_minus_s], 1)], [s, half_minus_s],
                              "binary ce: 2s(1−s) − p_min ≥ 0")
    assert_nonneg_certificate(sp.Rational(1, 2) - r, [(sp.Rational(1, 2), [], 1 - 2 * s)], [],
                              "binary ce: ½ − 2s(1−s) ≥ 0")


def check(variant: str | None = None) -> None:
    """Verify T2 symbolically; raise AssertionError if any fact fails."""
    variant = choose_variant(variant, MUTANTS)
    _check_mse(variant)
    _check_uniform_ce(variant)
    _check_reduction()
    _check_binary_bracket(variant)
