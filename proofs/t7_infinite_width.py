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
The arc endpoints are those of the integration limits (u = 0 at the end, v = 0 at the start,
length π − θ). The recursion: Σ¹ = E[z₁z₁′] = σ_w² xᵀx′/d + σ_b² from the moments of W, b with a
symbolic index sum (Σ_a Σ_a′ δ_aa′ …), likewise Σ^{l+1} = σ_w²·(1/m)Σ_a φφ + σ_b² and the NTK step
E_W[(σ_w²/m)ΣΣ W_aW_a′φ′φ′δ_aa′Θ^l] = σ_w²Θ^l·(1/m)Σ_a φ′φ′; the infinite-width limits of the
averages (LLN, ⟨∂z_a, ∂z′_a′⟩ → δ_aa′Θ^l) are cited. The library: ``linrelu.kernels``'
``arccos_kernel_1/0`` are executed on sympy objects (numpy replaced by sympy functions; atan2 on the
upper half-plane as arccos) and equal the proved forms wherever s₁s₂ − c² > 8ε_mach·s₁s₂ (the
library's rounding guard); ``_kernels`` (depth 2, a 2 × 2 matrix of symbols, symbolic σ_w, σ_b,
the expectations opaque) equals the claimed recursion entry by entry, so dropping σ_b² or the 1/d
fails. The O(m^{-1/2}) finite-width convergence rests on the cited literature and is sampled
numerically (tests/test_kernels.py, experiment E2).
"""

from __future__ import annotations

from types import SimpleNamespace
from unittest import mock

import numpy as np
import sympy as sp

from proofs._sym import (
    assert_identity,
    assert_matrix_expr_identity,
    choose_variant,
    fmt,
    matmul_replace_adjacent,
)

ID = "T7"
CHECKED = ("both expectations by symbolic polar integration = arc-cosine forms; Price; "
           "recursion steps from moments; library kernels = proved expressions; "
           "Σ¹ invariance under XQ for symbolic orthogonal Q")
GENERAL = ("both Gaussian expectations for symbolic s₁, s₂ > 0 and angle θ; Price's identity; "
           "each recursion step's σ_w²/m, σ_b² structure from the layer moments (symbolic d, m); "
           "linrelu.kernels (arccos_kernel_1/0, _kernels) run on sympy objects = the proved "
           "expressions; Σ¹(XQ) = Σ¹(X) for MatrixSymbols X (n×d), Q (QQᵀ = I)")
INDUCTION = ""
LEMMAS = ("infinite-width limits in the recursion: (1/m)Σ_a φφ → E[φφ], ⟨∂z_a, ∂z′_a′⟩ → "
          "δ_aa′Θ^l (Jacot et al. 2018; Lee et al. 2019; Arora et al. 2019)",
          "atan2(y, x) = arccos(x/√(x²+y²)) for y > 0",
          "O(m^{-1/2}) finite-width convergence (sampled in E2)",
          "rotation invariance of the standard Gaussian (QW₁ ~ W₁)", "polar coordinates / Cholesky")
MUTANTS = {
    "arccos_without_pi": "uses arccos ρ in place of π − arccos ρ",
    "drop_sqrt_term": "drops √(1 − ρ²) from E[φ(u)φ(v)]",
    "derivative_kernel_over_pi": "claims E[φ′φ′] = (π − arccos ρ)/π",
    "permute_samples": "claims invariance under X ↦ PX (permuting samples, not pixels)",
    "sigma1_drops_bias": "claims Σ¹ = σ_w² xᵀx′/d (drops σ_b²)",
    "sigma1_drops_1_over_d": "claims Σ¹ = σ_w² xᵀx′ + σ_b² (drops the 1/d)",
    "sigma_next_drops_bias": "claims Σ^{l+1} = σ_w² E[φ(u)φ(v)] (drops σ_b²)",
    "arc_starts_at_theta_minus_pi": "integrates over t ∈ (θ − π, π/2) (wrong positive arc)",
}


def arccos_kernels(s1, s2, rho, variant: str | None = None):
    """Claimed closed forms (E[φ(u)φ(v)], E[φ′(u)φ′(v)])."""
    angle = sp.acos(rho) if variant == "arccos_without_pi" else sp.pi - sp.acos(rho)
    root = 0 if variant == "drop_sqrt_term" else sp.sqrt(1 - rho**2)
    e_phi = sp.sqrt(s1 * s2) / (2 * sp.pi) * (root + angle * rho)
    denom = sp.pi if variant == "derivative_kernel_over_pi" else 2 * sp.pi
    return e_phi, angle / denom


R_, T_ = sp.Symbol("r", positive=True), sp.Symbol("t", real=True)


def polar_uv(s1, s2, theta):
    """(u, v) in polar coordinates g = r(cos t, sin t) of the Cholesky form."""
    return sp.sqrt(s1) * R_ * sp.cos(T_), sp.sqrt(s2) * R_ * sp.cos(T_ - theta)


def positive_arc(theta, variant=None):
    """The t-range where u > 0 and v > 0: (θ − π/2, π/2)."""
    start = theta - sp.pi if variant == "arc_starts_at_theta_minus_pi" else theta - sp.pi / 2
    return (T_, start, sp.pi / 2)


def polar_expectations(s1, s2, theta, variant=None):
    """E[φφ] and E[φ′φ′] by integrating over the positive arc in polar coordinates."""
    density = R_ * sp.exp(-R_**2 / 2) / (2 * sp.pi)
    arc = positive_arc(theta, variant)
    u, v = polar_uv(s1, s2, theta)
    e_phi = sp.integrate(sp.integrate(u * v * density, (R_, 0, sp.oo)), arc)
    e_dphi = sp.integrate(sp.integrate(density, (R_, 0, sp.oo)), arc)
    return e_phi, e_dphi


# --- the recursion, as claimed, and its derivation from the layer maps -------------------------

def sigma1(xx, d, sw, sb, variant=None):
    """Σ¹(x, x′) = σ_w² xᵀx′/d + σ_b² (xx = xᵀx′)."""
    scale = sw**2 if variant == "sigma1_drops_1_over_d" else sw**2 / d
    return scale * xx + (0 if variant == "sigma1_drops_bias" else sb**2)


def sigma_next(e_phi, sw, sb, variant=None):
    """Σ^{l+1} = σ_w² E[φ(u)φ(v)] + σ_b²."""
    return sw**2 * e_phi + (0 if variant == "sigma_next_drops_bias" else sb**2)


def sigma_dot_next(e_dphi, sw, variant=None):
    """Σ̇^{l+1} = σ_w² E[φ′(u)φ′(v)]."""
    return sw**2 * e_dphi


def theta_next(sig, sig_dot, theta_prev, variant=None):
    """Θ^{l+1} = Σ^{l+1} + Σ̇^{l+1}Θ^l."""
    return sig + sig_dot * theta_prev


def _check_recursion_derivation(variant) -> None:
    """Each step from the layer map z = (σ_w/√m)Wᵀh + σ_b b with W, b iid N(0, 1) (moments
    E[W_au W_a′u] = δ_aa′, E[b_u²] = 1, E[W b] = 0), symbolic widths d, m:
    E[z_u(x) z_u(x′)] = (σ_w²/m) Σ_a h_a h′_a + σ_b². Layer 1 (h = x, m = d) gives Σ¹ exactly;
    for l ≥ 1, h = φ(z_l) and (1/m)Σ_a φ(z_a)φ(z′_a) → E[φ(u)φ(v)] (law of large numbers,
    cited) gives Σ^{l+1}. The NTK step: the gradient through layer l+1 contributes
    (σ_w²/m)Σ_a Σ_a′ W_a W_a′ φ′(z_a)φ′(z′_a′)⟨∂z_a, ∂z′_a′⟩ with ⟨∂z_a, ∂z′_a′⟩ = δ_aa′Θ^l at
    infinite width (cited); its expectation over W is (σ_w²/m)Σ_a φ′φ′ Θ^l → Σ̇^{l+1}Θ^l, and
    layer l+1's own parameters add Σ^{l+1} (T5's layer term with δ = e_c)."""
    d, m = sp.symbols("d m", integer=True, positive=True)
    a, a2 = sp.symbols("a a2", integer=True, nonnegative=True)
    sw, sb = sp.symbols("sigma_w sigma_b", positive=True)
    h, hp = sp.IndexedBase("h"), sp.IndexedBase("hp")

    def delta_sum(summand, width):  # Σ_a Σ_a2 summand (a, a2 < width), inner sum over a2 done
        inner = sp.Sum(summand, (a2, 0, width - 1)).doit()
        # the inner sum is Piecewise((…, a ≤ width − 1), (0, True)); a is in range in the outer sum
        inner = inner.replace(
            lambda e: isinstance(e, sp.Piecewise) and e.args[0][1] == sp.Le(a, width - 1),
            lambda e: e.args[0][0])
        return sp.Sum(inner, (a, 0, width - 1))

    def second_moment(width):  # E[z(x) z(x′)], z = c·Σ_a W_a h_a + β·b, width = fan-in
        c, beta = sw / sp.sqrt(width), sb  # the layer map's coefficients
        E_WW, E_Wb, E_bb = sp.KroneckerDelta(a, a2), 0, 1  # moments of iid N(0, 1) entries
        w_part = delta_sum(c * c * h[a] * hp[a2] * E_WW, width)
        cross = c * beta * E_Wb * (sp.Sum(h[a], (a, 0, width - 1))
                                   + sp.Sum(hp[a], (a, 0, width - 1)))
        return w_part + cross + beta * beta * E_bb

    inner = sp.Sum(h[a] * hp[a], (a, 0, d - 1))
    xx = sp.Symbol("xx")  # xᵀx′
    got = sp.simplify(second_moment(d) - sw**2 / d * inner)
    assert_identity(got + sw**2 / d * xx, sigma1(xx, d, sw, sb, variant),
                    "Σ¹ = E[z₁(x)z₁(x′)] = σ_w² xᵀx′/d + σ_b²")
    mean_phi = sp.Symbol("E_phiphi")  # (1/m)Σ_a φ(z_a)φ(z′_a) → E[φ(u)φ(v)] (cited LLN)
    inner_m = sp.Sum(h[a] * hp[a], (a, 0, m - 1))
    got = sp.simplify(second_moment(m) - sw**2 / m * inner_m)
    assert_identity(got + sw**2 * mean_phi, sigma_next(mean_phi, sw, sb, variant),
                    "Σ^{l+1} = σ_w² E[φ(u)φ(v)] + σ_b²")
    dphi, dphip, Th = sp.IndexedBase("dphi"), sp.IndexedBase("dphip"), sp.Symbol("Theta_l")
    through = delta_sum(sw**2 / m * sp.KroneckerDelta(a, a2) * dphi[a] * dphip[a2]
                        * sp.KroneckerDelta(a, a2) * Th, m)
    mean_dphi = sp.Symbol("E_dphidphi")  # (1/m)Σ_a φ′(z_a)φ′(z′_a) → E[φ′(u)φ′(v)]
    avg = sp.Sum(dphi[a] * dphip[a], (a, 0, m - 1)) / m
    assert_identity(sp.simplify(through - sw**2 * Th * avg), 0,
                    "NTK step: E_W[(σ_w²/m)ΣΣ W_aW_a′φ′φ′δ_aa′Θ^l] = σ_w²Θ^l·(1/m)Σ_a φ′φ′")
    sig = sigma_next(mean_phi, sw, sb, variant)
    assert_identity(sig + sigma_dot_next(mean_dphi, sw, variant) * Th,
                    theta_next(sig, sw**2 * mean_dphi, Th, variant),
                    "Θ^{l+1} = Σ^{l+1} + Σ̇^{l+1}Θ^l")


# --- the library's kernels, evaluated on sympy objects ------------------------------------------

def _atan2_upper(y, x):
    """atan2 on the open upper half-plane (y > 0): the angle in (0, π) with cosine x/√(x²+y²)."""
    return sp.acos(x / sp.sqrt(x**2 + y**2))


def _guarded(cond, value, other):
    """np.where on scalars: a Piecewise, resolved below to the branch of the exactness region."""
    return sp.Piecewise((value, cond), (other, True))


_SYMPY_NUMPY = SimpleNamespace(sqrt=sp.sqrt, arctan2=_atan2_upper, where=_guarded, pi=sp.pi,
                               finfo=np.finfo, float64=np.float64,
                               asarray=lambda x, dtype=None: x)


def _main_branch(expr):
    """Resolve the library's rounding guard where(s₁s₂ − c² > 8ε·s₁s₂, ·, 0) to its first
    branch (the claim is exact away from ρ = ±1 within rounding); any other Piecewise fails."""
    def pick(pw):
        value, cond = pw.args[0]
        if cond is not sp.true and not isinstance(cond, (sp.StrictGreaterThan, sp.StrictLessThan)):
            raise AssertionError(f"unexpected library guard {cond}")
        return value
    return expr.replace(lambda e: isinstance(e, sp.Piecewise), pick)


def _library_kernels():
    import linrelu.kernels as lk  # imported here: the other proofs need no JAX
    return lk


def _check_library_expectations(variant) -> None:
    """linrelu.kernels.arccos_kernel_1/0 (the library code itself, run on sympy objects) equal the
    proved closed forms for s₁, s₂ > 0 and c = ρ√(s₁s₂), |ρ| < 1."""
    lk = _library_kernels()
    s1, s2 = sp.symbols("s1 s2", positive=True)
    rho = sp.Symbol("rho", real=True)
    c = rho * sp.sqrt(s1 * s2)
    with mock.patch.object(lk, "np", _SYMPY_NUMPY):
        lib1 = _main_branch(sp.sympify(lk.arccos_kernel_1(s1, s2, c)))
        lib0 = _main_branch(sp.sympify(lk.arccos_kernel_0(s1, s2, c)))
    claim1, claim0 = arccos_kernels(s1, s2, rho, variant)
    assert_identity(lib1, claim1, "linrelu.kernels.arccos_kernel_1 = proved E[φ(u)φ(v)]")
    assert_identity(lib0, claim0, "linrelu.kernels.arccos_kernel_0 = proved E[φ′(u)φ′(v)]")


def _check_library_recursion(variant) -> None:
    """linrelu.kernels._kernels (Σ^{L+1}, Θ^{L+1}), run on a 2 × 2 matrix of symbols with symbolic
    σ_w, σ_b, depth 2, and the Gaussian expectations as opaque symmetric functions, equals the
    claimed recursion built from sigma1 / sigma_next / sigma_dot_next / theta_next."""
    lk = _library_kernels()
    n, d, depth = 2, 2, 2
    X = np.array([[sp.Symbol(f"x{i}{j}", real=True) for j in range(d)] for i in range(n)],
                 dtype=object)
    sw, sb = sp.symbols("sigma_w sigma_b", positive=True)
    E1, E0 = sp.Function("E_phiphi"), sp.Function("E_dphidphi")

    def opaque(s_a, s_b, c):  # symmetric in (s_a, s_b), as the true expectations are
        args = lambda x, y, z: (x * y, x + y, z)  # noqa: E731
        f1 = np.vectorize(lambda x, y, z: E1(*args(x, y, z)), otypes=[object])
        f0 = np.vectorize(lambda x, y, z: E0(*args(x, y, z)), otypes=[object])
        return f1(s_a, s_b, c), f0(s_a, s_b, c)

    with mock.patch.object(lk, "relu_gaussian_expectations", opaque):
        lib_sigma, lib_theta = lk._kernels(X, None, depth, sw, sb)
    sig = [[sigma1(sum(X[i, a] * X[j, a] for a in range(d)), d, sw, sb, variant)
            for j in range(n)] for i in range(n)]
    th = [row[:] for row in sig]
    for _ in range(depth):
        s = [sig[i][i] for i in range(n)]
        new_sig = [[sigma_next(E1(s[i] * s[j], s[i] + s[j], sig[i][j]), sw, sb, variant)
                    for j in range(n)] for i in range(n)]
        dot = [[sigma_dot_next(E0(s[i] * s[j], s[i] + s[j], sig[i][j]), sw, variant)
                for j in range(n)] for i in range(n)]
        th = [[theta_next(new_sig[i][j], dot[i][j], th[i][j], variant) for j in range(n)]
              for i in range(n)]
        sig = new_sig
    for i in range(n):
        for j in range(n):
            assert_identity(sp.nsimplify(lib_sigma[i, j], rational=True), sig[i][j],
                            f"library Σ^{{L+1}}[{i},{j}] = claimed recursion")
            assert_identity(sp.nsimplify(lib_theta[i, j], rational=True), th[i][j],
                            f"library Θ^{{L+1}}[{i},{j}] = claimed recursion")


def check(variant: str | None = None) -> None:
    """Verify T7 symbolically; raise AssertionError if any fact fails."""
    variant = choose_variant(variant, MUTANTS)
    s1, s2 = sp.symbols("s1 s2", positive=True)
    theta = sp.Symbol("theta", positive=True)  # θ = arccos ρ ∈ (0, π)
    rho = sp.Symbol("rho", real=True)
    r, t = R_, T_

    chol = sp.Matrix([[sp.sqrt(s1), 0], [sp.sqrt(s2) * sp.cos(theta), sp.sqrt(s2) * sp.sin(theta)]])
    cov = chol * chol.T
    c = sp.cos(theta) * sp.sqrt(s1 * s2)
    for got, want in ((cov[0, 0], s1), (cov[0, 1], c), (cov[1, 1], s2)):
        assert_identity(sp.trigsimp(got), want, "Cholesky factor reproduces [[s₁, c], [c, s₂]]")
    u, v = polar_uv(s1, s2, theta)
    assert_identity(chol[0, 0] * r * sp.cos(t), u, "u = √s₁ r cos t in polar coordinates")
    v_polar = chol[1, 0] * r * sp.cos(t) + chol[1, 1] * r * sp.sin(t)
    assert_identity(v_polar, sp.expand_trig(v), "v = √s₂ r cos(t − θ) in polar coordinates")
    # The integration arc (the very limits polar_expectations uses): v = 0 at its start, u = 0 at
    # its end, and its length is π − θ.
    _, start, end = positive_arc(theta, variant)
    assert_identity(u.subs(t, end), 0, "u vanishes at the arc's end")
    assert_identity(v.subs(t, start), 0, "v vanishes at the arc's start")
    assert_identity(end - start, sp.pi - theta, "the arc has length π − θ")

    e_phi, e_dphi = polar_expectations(s1, s2, theta, variant)
    claim_phi, claim_dphi = arccos_kernels(s1, s2, rho, variant)
    at_rho = {theta: sp.acos(rho)}
    assert_identity(e_phi.subs(at_rho), claim_phi, "E[φ(u)φ(v)] = arc-cosine form")
    assert_identity(e_dphi.subs(at_rho), claim_dphi, "E[φ′(u)φ′(v)] = (π − arccos ρ)/(2π)")
    # Price's theorem: ∂E[φφ]/∂c = E[φ′φ′], with c = ρ√(s₁s₂).
    assert_identity(sp.diff(claim_phi, rho) / sp.sqrt(s1 * s2), claim_dphi,
                    "Price: ∂_c E[φ(u)φ(v)] = E[φ′(u)φ′(v)]")

    _check_recursion_derivation(variant)
    _check_library_expectations(variant)
    _check_library_recursion(variant)
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


def statement(variant: str | None = None) -> str:
    """The printed statement, generated from the claims the check verifies."""
    s1, s2, rho, sw, sb, xx, d = sp.symbols("s_1 s_2 rho sigma_w sigma_b xᵀx′ d")
    e1, e0 = arccos_kernels(s1, s2, rho, variant)
    Ep, Ed, S, Sd, Th = sp.symbols("E[φφ] E[φ′φ′] Σ^(l+1) Σ̇^(l+1) Θ^l")
    return (f"E[φ(u)φ(v)] = {fmt(e1)}, E[φ′(u)φ′(v)] = {fmt(e0)}; "
            f"Σ¹ = {fmt(sigma1(xx, d, sw, sb, variant))}, Θ¹ = Σ¹, "
            f"Σ^(l+1) = {fmt(sigma_next(Ep, sw, sb, variant))}, "
            f"Σ̇^(l+1) = {fmt(sigma_dot_next(Ed, sw, variant))}, "
            f"Θ^(l+1) = {fmt(theta_next(S, Sd, Th, variant))} (= linrelu.kernels); "
            "Σ¹(XQ) = Σ¹(X) for orthogonal Q")


STATEMENT = statement()
