r"""T2 — spectral-equivalence bracket between the loss-weighted Gram G and the plain Gram K.

Statement
---------
Let ``K = JJᵀ`` (N × N, N = nk, J: N × p), ``G = (1/n) H^{1/2} K H^{1/2}`` with H ≽ 0, and let P
be an orthogonal projector with ``H = PHP`` and ``aP ≼ H ≼ bP`` (0 < a ≤ b). Then for every i
(eigenvalues in decreasing order)

    (a/n) λ_i(PKP) ≤ λ_i(G) ≤ (b/n) λ_i(PKP),

hence ``rank_{nε/a}(PKP) ≤ rank_ε(G) ≤ rank_{nε/b}(PKP)`` for every ε > 0.
mse (H = I): a = b = 1, P = I and ``G = K/n`` exactly. ce: by lemma T2a (any k),
P = blockdiag(I_k − 𝟙𝟙ᵀ/k), a = min_{i,c} p_ic, b = min(max_{i,c} p_ic, ½). ce at uniform
predictions (p_i = 𝟙/k): ``H_i = P_k/k`` so ``G = PKP/(nk)`` exactly.

Proof
-----
*Step 1 (to parameter space).* With R = H^{1/2} (symmetric, R² = H): nG = RJJᵀR = (RJ)(RJ)ᵀ and,
by T1, its nonzero eigenvalues (with multiplicity) are those of (RJ)ᵀ(RJ) = JᵀHJ. Likewise
PKP = (PJ)(PJ)ᵀ has the nonzero eigenvalues of (PJ)ᵀ(PJ) = JᵀPJ (Pᵀ = P = P²).
*Step 2 (congruence).* JᵀHJ − a·JᵀPJ = Jᵀ(H − aP)J and θᵀJᵀ(H − aP)Jθ = (Jθ)ᵀ(H − aP)(Jθ) ≥ 0
for every θ; likewise b·JᵀPJ − JᵀHJ = Jᵀ(bP − H)J ≽ 0. So a·JᵀPJ ≼ JᵀHJ ≼ b·JᵀPJ.
*Step 3 (Courant–Fischer).* X ≼ Y ⇒ λ_i(X) ≤ λ_i(Y) for all i, and λ_i(cX) = cλ_i(X) for c ≥ 0.
All matrices are PSD, so by T1 the i-th eigenvalues of nG and JᵀHJ (and of PKP and JᵀPJ) agree
for i ≤ min(N, p) and are 0 beyond. Hence a·λ_i(PKP) ≤ λ_i(nG) ≤ b·λ_i(PKP).
*Ranks:* λ_i(G) − ε = (λ_i(G) − (a/n)λ_i(PKP)) + (a/n)(λ_i(PKP) − nε/a) > 0 when
λ_i(PKP) > nε/a; λ_i(PKP) − nε/b = (n/b)(λ_i(G) − ε) + (n/b)((b/n)λ_i(PKP) − λ_i(G)) > 0 when
λ_i(G) > ε.
*Special cases.* mse: R = I. Uniform ce: diag(𝟙/k) − 𝟙𝟙ᵀ/k² = P_k/k, P_k² = P_k because
(𝟙𝟙ᵀ)² = k·𝟙𝟙ᵀ, so (P_k/√k)² = H_i and nG = PKP/k. ∎

What ``check()`` proves at general size
---------------------------------------
Steps 1–2 with MatrixSymbols J (N × p), R, H, P (N × N), θ (p × 1) of symbolic N, p, using only
Rᵀ = R, R² = H, Pᵀ = P, P² = P. The claimed constants (c_lo, c_hi) are certified from the
hypotheses at the operator level: H − c_lo·P and c_hi·P − H must equal nonnegative combinations
of the PSD atoms H − aP, bP − H and PᵀP (so c_lo = b, "λ_i(G) ≥ (b/n)λ_i(PKP)", is rejected: it
leaves (a − b)P). Step 3 (Courant–Fischer, cited) turns the certified order into μ − c_lo·ν ≥ 0
and c_hi·ν − μ ≥ 0; the bracket and both rank inclusions are certificates over these. Exact
instance P = diag(1, 1, 0), H = diag(1, 3, 0), J = [I; 0] (eigenvalues (3, 1) vs (1, 1)). mse with
MatrixSymbol K. Uniform ce for symbolic
k with ``OneMatrix`` (𝟙𝟙ᵀ)² = k𝟙𝟙ᵀ: H_i = P_k/k, P_k² = P_k, (P_k/√k)² = H_i, G = PKP/(nk). The ce
constants a = p_min, b = min(p_max, ½) for symbolic k through T2a's certificates and sharpness
witnesses (so a = 2·p_min·p_max is rejected: p = (.01, .01, .98)). Binary ce end to end
(k = 2, n = 1, symbolic K and p) as an exact instance.
Named lemmas (prose): Courant–Fischer min–max (Weyl monotonicity) and positive homogeneity of
eigenvalues; T1 (proved in t1); existence of the PSD square root R = H^{1/2}.
"""

from __future__ import annotations

import sympy as sp

from proofs import t2a_softmax_hessian as t2a
from proofs._sym import (
    assert_identity,
    assert_matrix_expr_identity,
    assert_matrix_identity,
    assert_nonneg_certificate,
    assert_true,
    choose_variant,
    fmt,
    symbolic_matrix,
)

ID = "T2"
CHECKED = (
    "Loewner sandwich with MatrixSymbols (symbolic N, p); operator-level certificate of the "
    "bracket constants; bracket & rank certificates; "
    "uniform ce for symbolic k; ce constants via T2a (symbolic k)"
)
GENERAL = (
    "Step 1 (nG ~ JᵀHJ, PKP ~ JᵀPJ) and the congruence for symbolic N, p; the bracket's "
    "constants certified at the operator level (H − c·P, c·P − H as nonnegative combinations "
    "of H − aP, bP − H, PᵀP); bracket and rank inclusions from them; mse G = K/n; uniform ce "
    "G = PKP/(nk) for symbolic k, n; ce constants a = p_min, b = min(p_max, ½) for symbolic k; "
    "exact instance: P = diag(1,1,0), H = diag(1,3,0)"
)
INDUCTION = ""
LEMMAS = (
    "Courant–Fischer min–max / Weyl monotonicity (X ≼ Y ⇒ λ_i(X) ≤ λ_i(Y))",
    "T1 (nonzero spectra of AAᵀ and AᵀA)",
    "existence of the PSD square root H^{1/2}",
)
MUTANTS = {
    "mse_missing_1_over_n": "claims G = K for mse",
    "uniform_missing_1_over_k": "claims G = PKP/n at uniform ce predictions",
    "binary_ratio_halved": "claims G's nonzero eigenvalue is s(1 − s)·vᵀKv for binary ce",
    "ce_lower_2_pmin_pmax": "claims the ce lower constant a = 2·p_min·p_max",
    "reduction_without_square": "claims (RJ)ᵀ(RJ) = JᵀRJ (R = H^{1/2} in place of H)",
    "rank_threshold_times_a": "claims rank_{nεa}(PKP) ≤ rank_ε(G) (threshold nε·a, not nε/a)",
    "uniform_projector_not_idempotent": "uses (𝟙𝟙ᵀ)² = 𝟙𝟙ᵀ (forgets the factor k)",
    "bracket_lower_b": "claims λ_i(G) ≥ (b/n)·λ_i(PKP) (lower constant b in place of a)",
}

N, p, k, n = sp.symbols("N p k n", integer=True, positive=True)


def _reduce(expr, rules_T: dict, rules_pow: dict):
    """Apply symmetry (Xᵀ → X) then power rules (X² → …) to a matrix expression."""
    return expr.xreplace(rules_T).doit().xreplace(rules_pow)


def _check_general_steps(variant) -> None:
    J = sp.MatrixSymbol("J", N, p)
    R, H, P, K = (sp.MatrixSymbol(s, N, N) for s in ("R", "H", "P", "K"))
    theta = sp.MatrixSymbol("theta", p, 1)
    a, b = sp.symbols("a b", positive=True)
    assert_matrix_expr_identity(
        R * (J * J.T) * R,
        _reduce((R * J) * (R * J).T, {R.T: R}, {}),
        "Step 1: nG = R JJᵀ R = (RJ)(RJ)ᵀ",
    )
    square = {} if variant == "reduction_without_square" else {R**2: H}
    claimed = J.T * R * J if variant == "reduction_without_square" else J.T * H * J
    assert_matrix_expr_identity(
        _reduce((R * J).T * (R * J), {R.T: R}, square),
        claimed,
        "Step 1: (RJ)ᵀ(RJ) = JᵀHJ (Rᵀ = R, R² = H)",
    )
    assert_matrix_expr_identity(
        _reduce((P * J) * (P * J).T, {P.T: P}, {}),
        P * (J * J.T) * P,
        "Step 1: PKP = (PJ)(PJ)ᵀ (Pᵀ = P)",
    )
    assert_matrix_expr_identity(
        _reduce((P * J).T * (P * J), {P.T: P}, {P**2: P}),
        J.T * P * J,
        "Step 1: (PJ)ᵀ(PJ) = JᵀPJ (Pᵀ = P = P²)",
    )
    assert_matrix_expr_identity(
        J.T * H * J - a * J.T * P * J, J.T * (H - a * P) * J, "Step 2: JᵀHJ − aJᵀPJ = Jᵀ(H − aP)J"
    )
    assert_matrix_expr_identity(
        b * J.T * P * J - J.T * H * J, J.T * (b * P - H) * J, "Step 2: bJᵀPJ − JᵀHJ = Jᵀ(bP − H)J"
    )
    for Y in (H - a * P, b * P - H):
        assert_matrix_expr_identity(
            theta.T * (J.T * Y * J) * theta,
            (J * theta).T * Y * (J * theta),
            "Step 2: θᵀJᵀYJθ = (Jθ)ᵀY(Jθ) (congruence)",
        )
    # mse: H = I, R = I, P = I.
    G = sp.Identity(N) * K * sp.Identity(N) / n
    assert_matrix_expr_identity(G, mse_gram(K, n, variant), "mse: G = K/n")


def mse_gram(K, n, variant=None):
    """mse (H = I): G = K/n."""
    return K if variant == "mse_missing_1_over_n" else K / n


def uniform_ce_scale(n, k, variant=None):
    """Uniform ce: G = PKP/scale."""
    return n if variant == "uniform_missing_1_over_k" else n * k


def rank_thresholds(n, eps, a, b, variant=None):
    """(lower, upper) thresholds of rank_lower(PKP) ≤ rank_ε(G) ≤ rank_upper(PKP)."""
    return (n * eps * a if variant == "rank_threshold_times_a" else n * eps / a), n * eps / b


def ce_constants(variant=None):
    """ce: (a, b_pmax, b_half), b = min(b_pmax, b_half), in T2a's m = p_min, M = p_max."""
    a = 2 * t2a.m * t2a.M if variant == "ce_lower_2_pmin_pmax" else t2a.m
    return a, t2a.M, sp.Rational(1, 2)


def claimed_bracket(a, b, variant=None):
    """(c_lo, c_hi) of the claim c_lo·λ_i(PKP) ≤ λ_i(nG) ≤ c_hi·λ_i(PKP) under aP ≼ H ≼ bP."""
    return (b if variant == "bracket_lower_b" else a), b


def _check_loewner_constants(variant):
    """The claimed constants follow from the hypotheses aP ≼ H ≼ bP at the operator level:
    H − c_lo·P and c_hi·P − H must be nonnegative combinations of the PSD atoms H − aP, bP − H
    (hypotheses) and PᵀP = P (Gram), with scalar weights from b − a ≥ 0, a > 0; then
    JᵀHJ − c_lo·JᵀPJ = Jᵀ(H − c_lo·P)J ≽ 0 (congruence). Returns the certified (c_lo, c_hi)."""
    P, H = sp.MatrixSymbol("P", N, N), sp.MatrixSymbol("H", N, N)
    a, b = sp.symbols("a b", positive=True)
    c_lo, c_hi = claimed_bracket(a, b, variant)
    psd = {"H − aP": H - a * P, "bP − H": b * P - H, "PᵀP": P.T * P}
    scalars = [b - a, a, b]

    def certify(target, terms, what):  # target = Σ coeff·Π scalars·PSD atom, coeff ≥ 0
        total = sp.ZeroMatrix(N, N)
        for coeff, atoms, name in terms:
            assert_true(coeff >= 0 and all(any(sp.expand(t - x) == 0 for x in scalars)
                                           for t in atoms), f"{what}: weights ≥ 0")
            total = total + coeff * sp.Mul(*atoms) * psd[name]
        assert_matrix_expr_identity(_reduce(target - total, {P.T: P}, {P**2: P}),
                                    sp.ZeroMatrix(N, N), f"{what}: Loewner certificate")

    certify(H - c_lo * P, [(1, [], "H − aP")], "H − c_lo·P ≽ 0 from aP ≼ H")
    certify(c_hi * P - H, [(1, [], "bP − H")], "c_hi·P − H ≽ 0 from H ≼ bP")
    return c_lo, c_hi


def _check_bracket_instance(variant) -> None:
    """Exact instance: P = diag(1, 1, 0), H = diag(1, 3, 0) (a = 1, b = 3, H = PHP), J = [I; 0]:
    the eigenvalues of JᵀHJ = nG's nonzero part and of JᵀPJ are (3, 1) and (1, 1)."""
    P, H = sp.diag(1, 1, 0), sp.diag(1, 3, 0)
    J = sp.Matrix([[1, 0], [0, 1], [0, 0]])
    a, b = 1, 3
    assert_matrix_identity(P * H * P, H, "instance: H = PHP")
    for c, X in ((a, H - a * P), (b, b * P - H)):
        assert_true(all(ev >= 0 for ev in X.eigenvals()), f"instance: hypothesis with {c} holds")
    c_lo, c_hi = claimed_bracket(a, b, variant)
    mu = sorted((J.T * H * J).eigenvals(multiple=True), reverse=True)
    nu = sorted((J.T * P * J).eigenvals(multiple=True), reverse=True)
    for m_i, n_i in zip(mu, nu, strict=True):
        assert_true(bool(c_lo * n_i <= m_i <= c_hi * n_i),
                    f"instance: c_lo·λ_i(PKP) ≤ λ_i(nG) ≤ c_hi·λ_i(PKP) at ({n_i}, {m_i})")


def _check_bracket_and_ranks(variant) -> None:
    """Courant–Fischer (cited) turns the certified Loewner order c_lo·JᵀPJ ≼ JᵀHJ ≼ c_hi·JᵀPJ
    into μ − c_lo·ν ≥ 0 and c_hi·ν − μ ≥ 0 for μ = λ_i(nG) = λ_i(JᵀHJ), ν = λ_i(PKP) =
    λ_i(JᵀPJ) (T1, PSD); the constants are those certified above, the claim is stated in a, b."""
    c_lo, c_hi = _check_loewner_constants(variant)
    a, b, nn, eps = sp.symbols("a b n epsilon", positive=True)
    mu, nu = sp.symbols("mu nu", nonnegative=True)
    lam_G = mu / nn
    cf_lower, cf_upper = mu - c_lo * nu, c_hi * nu - mu
    claim_lo, claim_hi = claimed_bracket(a, b, variant)  # the statement's constants
    assert_nonneg_certificate(
        lam_G - claim_lo * nu / nn,
        [(1, [1 / nn, cf_lower], 1)],
        [1 / nn, cf_lower],
        "bracket: λ_i(G) ≥ (a/n)λ_i(PKP)",
    )
    assert_nonneg_certificate(
        claim_hi * nu / nn - lam_G,
        [(1, [1 / nn, cf_upper], 1)],
        [1 / nn, cf_upper],
        "bracket: λ_i(G) ≤ (b/n)λ_i(PKP)",
    )
    threshold, threshold_hi = rank_thresholds(nn, eps, a, b, variant)
    above = nu - threshold  # hypothesis λ_i(PKP) > threshold
    lower_gap = lam_G - claim_lo * nu / nn
    assert_nonneg_certificate(
        lam_G - eps,
        [(1, [lower_gap], 1), (1, [a / nn, above], 1)],
        [lower_gap, a / nn, above],
        "rank: λ_i(PKP) > nε/a ⇒ λ_i(G) > ε",
    )
    upper_gap = claim_hi * nu / nn - lam_G
    assert_nonneg_certificate(
        nu - threshold_hi,
        [(1, [nn / b, lam_G - eps], 1), (1, [nn / b, upper_gap], 1)],
        [nn / b, lam_G - eps, upper_gap],
        "rank: λ_i(G) > ε ⇒ λ_i(PKP) > nε/b",
    )


def _check_uniform_ce(variant) -> None:
    """Matrices αI_k + β𝟙𝟙ᵀ (symbolic k) as pairs (α, β): their products only need
    (𝟙𝟙ᵀ)² = k·𝟙𝟙ᵀ, which sympy confirms on ``OneMatrix``."""
    O, I = sp.OneMatrix(k, k), sp.Identity(k)
    assert_matrix_expr_identity((O * O).doit(), k * O, "(𝟙𝟙ᵀ)² = k·𝟙𝟙ᵀ (symbolic k)")
    c = 1 if variant == "uniform_projector_not_idempotent" else k

    def mul(X, Y):  # (α₁I + β₁O)(α₂I + β₂O) = α₁α₂I + (α₁β₂ + β₁α₂ + cβ₁β₂)O
        return (X[0] * Y[0], X[0] * Y[1] + X[1] * Y[0] + c * X[1] * Y[1])

    def same(X, Y, what):
        assert_matrix_expr_identity(X[0] * I + X[1] * O, Y[0] * I + Y[1] * O, what)

    P_k = (sp.Integer(1), -1 / k)
    H_i = (1 / k, -1 / k**2)  # diag(𝟙/k) − (𝟙/k)(𝟙/k)ᵀ
    same(H_i, (P_k[0] / k, P_k[1] / k), "uniform ce: H_i = P_k/k")
    same(mul(P_k, P_k), P_k, "P_k² = P_k (symbolic k)")
    root = (P_k[0] / sp.sqrt(k), P_k[1] / sp.sqrt(k))
    same(mul(root, root), H_i, "(P_k/√k)² = H_i (symbolic k)")
    Kn = sp.MatrixSymbol("K", n * k, n * k)
    Pn = sp.MatrixSymbol("P", n * k, n * k)  # blockdiag(P_k): H^{1/2} = P/√k
    G = (Pn / sp.sqrt(k)) * Kn * (Pn / sp.sqrt(k)) / n
    assert_matrix_expr_identity(G, Pn * Kn * Pn / uniform_ce_scale(n, k, variant),
                                "uniform ce: G = PKP/(nk)")


def _check_binary_bracket(variant) -> None:
    lam = sp.Symbol("lambda")
    s = sp.Symbol("s", positive=True)  # p = (s, 1 − s)
    pv = sp.Matrix([s, 1 - s])
    H = sp.diag(*pv) - pv * pv.T
    v = sp.Matrix([1, -1]) / sp.sqrt(2)
    r = 2 * s * (1 - s)
    H_sqrt = sp.sqrt(r) * v * v.T
    assert_matrix_identity(H_sqrt * H_sqrt, H, "binary ce: (√(2s(1−s)) vvᵀ)² = H")
    K = symbolic_matrix("K", 2, 2, symmetric=True)
    G = H_sqrt * K * H_sqrt  # n = 1
    P2 = sp.eye(2) - sp.ones(2, 2) / 2
    vKv = (v.T * K * v)[0, 0]
    claimed_ratio = r / 2 if variant == "binary_ratio_halved" else r
    assert_identity(
        (lam * sp.eye(2) - G).det(),
        lam * (lam - claimed_ratio * vKv),
        "binary ce: char poly of G = λ(λ − 2s(1−s)·vᵀKv)",
    )
    assert_identity(
        (lam * sp.eye(2) - P2 * K * P2).det(),
        lam * (lam - vKv),
        "binary ce: char poly of PKP = λ(λ − vᵀKv)",
    )


def _check_ce_constants(variant) -> None:
    """a = p_min, b = min(p_max, ½) satisfy T2a's certificates for symbolic k (claimed a may be
    mutated), and no larger a survives the sharpness witnesses."""
    a, b_pmax, b_half = ce_constants(variant)
    t2a.lower_certificate(a)
    t2a.upper_certificates(b_pmax, b_half)
    t2a.sharpness_witnesses(a, b_pmax, b_half)


def check(variant: str | None = None) -> None:
    """Verify T2 symbolically; raise AssertionError if any fact fails."""
    variant = choose_variant(variant, MUTANTS)
    _check_general_steps(variant)
    _check_bracket_and_ranks(variant)
    _check_bracket_instance(variant)
    _check_uniform_ce(variant)
    _check_binary_bracket(variant)
    _check_ce_constants(variant)


def statement(variant: str | None = None) -> str:
    """The printed statement, generated from the claims the check verifies."""
    a, b, nn, eps, kk = sp.symbols("a b n epsilon k")
    lo, hi = claimed_bracket(a, b, variant)
    r_lo, r_hi = rank_thresholds(nn, eps, a, b, variant)
    K = sp.MatrixSymbol("K", N, N)
    ca, cb, cb2 = ce_constants(variant)
    disp = {t2a.m: sp.Symbol("p_min"), t2a.M: sp.Symbol("p_max")}
    return (
        f"aP ≼ H ≼ bP ⇒ {fmt(lo / nn)}·λ_i(PKP) ≤ λ_i(G) ≤ {fmt(hi / nn)}·λ_i(PKP); "
        f"rank_({fmt(r_lo)})(PKP) ≤ rank_ε(G) ≤ rank_({fmt(r_hi)})(PKP); "
        f"mse G = {fmt(mse_gram(K, nn, variant))}; "
        f"uniform ce G = PKP/({fmt(uniform_ce_scale(nn, kk, variant))}); "
        f"ce a = {fmt(ca.subs(disp))}, b = min({fmt(cb.subs(disp))}, {fmt(cb2)}) (T2a)"
    )


STATEMENT = statement()
