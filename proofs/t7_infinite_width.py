r"""T7 — the ReLU Gaussian expectations (arc-cosine kernels) behind the infinite-width NTK.

Statement
---------
For (u, v) ~ N(0, [[s₁, c], [c, s₂]]), s₁, s₂ > 0, ρ = c/√(s₁s₂) ∈ (−1, 1), φ = ReLU:

    E[φ(u)φ(v)]   = √(s₁s₂)/(2π) · (√(1 − ρ²) + (π − arccos ρ) ρ),
    E[φ′(u)φ′(v)] = (π − arccos ρ)/(2π).

With these, ``Σ¹ = σ_w² xᵀx′/d + σ_b²``, ``Θ¹ = Σ¹``, ``Σ^{l+1} = σ_w² E[φφ] + σ_b²``,
``Σ̇^{l+1} = σ_w² E[φ′φ′]``, ``Θ^{l+1} = Σ^{l+1} + Σ̇^{l+1}Θ^l`` (expectations under the 2 × 2
covariance given by Σ^l on the pair) and the NTK of L hidden layers is ``Θ^{L+1} ⊗ I_k``.
Everything depends on the inputs only through XXᵀ, so X ↦ XQ (Q orthogonal, e.g. a pixel
permutation) leaves the limiting kernel unchanged; at finite width the first layer
``(XQ)W_1 = X(QW_1)`` has the same law since QW_1 ~ W_1, so the empirical Gram at init is
unchanged in distribution.

Proof
-----
Write ρ = cos θ with θ = arccos ρ ∈ (0, π). With g ~ N(0, I₂), ``u = √s₁ g₁``,
``v = √s₂(ρg₁ + √(1−ρ²)g₂)`` has the stated covariance (Cholesky). In polar coordinates
g = r(cos t, sin t) (density ``(2π)^{-1} r e^{−r²/2} dr dt``): ``u = √s₁ r cos t`` and
``v = √s₂ r cos(t − θ)``. Both are positive iff t ∈ (−π/2, π/2) ∩ (θ − π/2, θ + π/2) =
(θ − π/2, π/2), an arc of length π − θ. Hence
``E[φ(u)φ(v)] = (√(s₁s₂)/2π) ∫_0^∞ r³e^{−r²/2}dr ∫_{θ−π/2}^{π/2} cos t cos(t−θ) dt
= (√(s₁s₂)/2π)·2·½(sin θ + (π − θ)cos θ)``, and
``E[φ′(u)φ′(v)] = P(u > 0, v > 0) = (2π)^{-1} ∫_0^∞ re^{−r²/2}dr · (π − θ) = (π − θ)/(2π)``.
Substituting sin θ = √(1 − ρ²), cos θ = ρ gives the formulas. Consistency (Price's theorem):
``∂E[φ(u)φ(v)]/∂c = E[φ′(u)φ′(v)]``. The recursion is the standard NTK recursion for this
parameterization (Jacot et al. 2018; Arora et al. 2019; Lee et al. 2019): layer l + 1 sees
pre-activations that are, at infinite width, a centred Gaussian process with covariance Σ^l.
Input dependence enters only through Σ¹, a function of xᵀx′, hence of XXᵀ = (XQ)(XQ)ᵀ. ∎

What ``check()`` proves at general size (and what it does not)
--------------------------------------------------------------
Symbolic s₁, s₂ > 0 and angle θ: the Cholesky factor reproduces the covariance; the polar form of
v is ``√s₂ r cos(t − θ)``; the arc endpoints are the zeros of u and v; both
expectations obtained by sympy's ``integrate`` (radial and angular) equal the arc-cosine forms
after θ = arccos ρ; Price's identity ∂_c E[φφ] = E[φ′φ′]; and ``Σ¹ = σ_w²XXᵀ/d + σ_b²𝟙𝟙ᵀ`` is
invariant under X ↦ XQ for MatrixSymbols X (n × d) and Q (d × d) of symbolic sizes using only
QQᵀ = I, and (XQ)W₁ = X(QW₁) (finite width; QW₁ ~ W₁ is the named Gaussian lemma).
The recursion and the O(m^{-1/2}) finite-width convergence rest on the
cited literature and are sampled numerically (tests/test_kernels.py, experiment E2).
"""

from __future__ import annotations

import sympy as sp

from proofs._sym import (
    assert_identity,
    assert_matrix_expr_identity,
    choose_variant,
    matmul_replace_adjacent,
)

ID = "T7"
STATEMENT = "E[φ(u)φ(v)] = √(s₁s₂)(√(1−ρ²) + (π−arccos ρ)ρ)/2π; E[φ′φ′] = (π−arccos ρ)/2π"
CHECKED = ("both expectations by symbolic polar integration = arc-cosine forms; Price; "
           "Σ¹ invariance under XQ for symbolic orthogonal Q")
GENERAL = ("both Gaussian expectations for symbolic s₁, s₂ > 0 and angle θ; Price's identity; "
           "Σ¹(XQ) = Σ¹(X) for MatrixSymbols X (n×d), Q (QQᵀ = I) of symbolic sizes")
INDUCTION = ""
LEMMAS = ("NTK recursion at infinite width (Jacot et al. 2018; Lee et al. 2019; Arora et al. 2019)",
          "O(m^{-1/2}) finite-width convergence (sampled in E2)",
          "rotation invariance of the standard Gaussian (QW₁ ~ W₁)", "polar coordinates / Cholesky")
MUTANTS = {
    "arccos_without_pi": "uses arccos ρ in place of π − arccos ρ",
    "drop_sqrt_term": "drops √(1 − ρ²) from E[φ(u)φ(v)]",
    "derivative_kernel_over_pi": "claims E[φ′φ′] = (π − arccos ρ)/π",
    "permute_samples": "claims invariance under X ↦ PX (permuting samples, not pixels)",
}


def arccos_kernels(s1, s2, rho, variant: str | None = None):
    """Claimed closed forms (E[φ(u)φ(v)], E[φ′(u)φ′(v)])."""
    angle = sp.acos(rho) if variant == "arccos_without_pi" else sp.pi - sp.acos(rho)
    root = 0 if variant == "drop_sqrt_term" else sp.sqrt(1 - rho**2)
    e_phi = sp.sqrt(s1 * s2) / (2 * sp.pi) * (root + angle * rho)
    denom = sp.pi if variant == "derivative_kernel_over_pi" else 2 * sp.pi
    return e_phi, angle / denom


def polar_expectations(s1, s2, theta):
    """E[φφ] and E[φ′φ′] by integrating over the positive arc in polar coordinates."""
    r = sp.Symbol("r", positive=True)
    t = sp.Symbol("t", real=True)
    density = r * sp.exp(-r**2 / 2) / (2 * sp.pi)
    arc = (t, theta - sp.pi / 2, sp.pi / 2)
    u = sp.sqrt(s1) * r * sp.cos(t)
    v = sp.sqrt(s2) * r * sp.cos(t - theta)
    e_phi = sp.integrate(sp.integrate(u * v * density, (r, 0, sp.oo)), arc)
    e_dphi = sp.integrate(sp.integrate(density, (r, 0, sp.oo)), arc)
    return e_phi, e_dphi


def check(variant: str | None = None) -> None:
    """Verify T7 symbolically; raise AssertionError if any fact fails."""
    variant = choose_variant(variant, MUTANTS)
    s1, s2 = sp.symbols("s1 s2", positive=True)
    theta = sp.Symbol("theta", positive=True)  # θ = arccos ρ ∈ (0, π)
    rho = sp.Symbol("rho", real=True)
    r, t = sp.Symbol("r", positive=True), sp.Symbol("t", real=True)

    chol = sp.Matrix([[sp.sqrt(s1), 0], [sp.sqrt(s2) * sp.cos(theta), sp.sqrt(s2) * sp.sin(theta)]])
    cov = chol * chol.T
    c = sp.cos(theta) * sp.sqrt(s1 * s2)
    for got, want in ((cov[0, 0], s1), (cov[0, 1], c), (cov[1, 1], s2)):
        assert_identity(sp.trigsimp(got), want, "Cholesky factor reproduces [[s₁, c], [c, s₂]]")
    v_polar = chol[1, 0] * r * sp.cos(t) + chol[1, 1] * r * sp.sin(t)
    assert_identity(v_polar, sp.expand_trig(sp.sqrt(s2) * r * sp.cos(t - theta)),
                    "v = √s₂ r cos(t − θ) in polar coordinates")
    # The arc ends where u = 0 (t = π/2) and where v = 0 (t = θ − π/2).
    assert_identity(sp.cos(sp.pi / 2), 0, "u vanishes at the arc end t = π/2")
    assert_identity(sp.cos((theta - sp.pi / 2) - theta), 0, "v vanishes at the arc start θ − π/2")

    e_phi, e_dphi = polar_expectations(s1, s2, theta)
    claim_phi, claim_dphi = arccos_kernels(s1, s2, rho, variant)
    at_rho = {theta: sp.acos(rho)}
    assert_identity(e_phi.subs(at_rho), claim_phi, "E[φ(u)φ(v)] = arc-cosine form")
    assert_identity(e_dphi.subs(at_rho), claim_dphi, "E[φ′(u)φ′(v)] = (π − arccos ρ)/(2π)")
    # Price's theorem: ∂E[φφ]/∂c = E[φ′φ′], with c = ρ√(s₁s₂).
    assert_identity(sp.diff(claim_phi, rho) / sp.sqrt(s1 * s2), claim_dphi,
                    "Price: ∂_c E[φ(u)φ(v)] = E[φ′(u)φ′(v)]")

    _check_xq_invariance(variant)


def _check_xq_invariance(variant) -> None:
    """Σ¹ = σ_w² XXᵀ/d + σ_b²𝟙𝟙ᵀ depends on X only through XXᵀ, and (XQ)(XQ)ᵀ = XXᵀ for a
    symbolic orthogonal Q (QQᵀ = I, symbolic sizes n, d); finite width: (XQ)W₁ = X(QW₁)."""
    n, d, m = sp.symbols("n d m", integer=True, positive=True)
    X, Q = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("Q", d, d)
    sw, sb = sp.symbols("sigma_w sigma_b", positive=True)
    sigma1 = lambda Z: sw**2 * Z * Z.T / d + sb**2 * sp.OneMatrix(n, n)  # noqa: E731
    if variant == "permute_samples":  # mutant: X ↦ PX with P orthogonal n × n (rows permuted)
        P = sp.MatrixSymbol("P", n, n)
        moved = matmul_replace_adjacent(sigma1(P * X), (P, P.T), sp.Identity(n))
    else:
        moved = matmul_replace_adjacent(sigma1(X * Q), (Q, Q.T), sp.Identity(d))
    assert_matrix_expr_identity(moved, sigma1(X), "Σ¹(XQ) = Σ¹(X) for orthogonal Q (QQᵀ = I)")
    W1 = sp.MatrixSymbol("W1", d, m)
    assert_matrix_expr_identity((X * Q) * W1, X * (Q * W1), "finite width: (XQ)W₁ = X(QW₁)")
