"""Infinite-width kernels (THEORY.md T7): linrelu.ntk_analytic, linrelu.nngp_analytic."""

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import linrelu
from linrelu.spectral.kernels import arccos_kernel_0, arccos_kernel_1, relu_gaussian_expectations

SQRT2 = 2**0.5


# --- the two Gaussian expectations against Monte Carlo --------------------------------------

def _sample_pair(rng, s1, s2, c, size):
    """(u, v) ~ N(0, [[s1, c], [c, s2]]) built from two independent normals (valid at |ρ| = 1)."""
    z1, z2 = rng.standard_normal(size), rng.standard_normal(size)
    if s1 == 0:
        return np.zeros(size), np.sqrt(s2) * z2
    rho_part = c / np.sqrt(s1)
    rest = np.sqrt(max(s2 - rho_part**2, 0.0))
    return np.sqrt(s1) * z1, rho_part * z1 + rest * z2


@pytest.mark.parametrize("s1, s2, c", [
    (1.0, 1.0, 0.0), (1.0, 1.0, 0.5), (2.0, 0.5, -0.7), (1.5, 3.0, 2.1),
    (1.0, 4.0, 2.0),    # ρ = +1
    (1.0, 4.0, -2.0),   # ρ = −1
    (0.0, 2.0, 0.0),    # zero-norm input: u = 0 a.s.
])
def test_gaussian_expectations_match_monte_carlo(s1, s2, c):
    rng = np.random.default_rng(0)
    n = 400_000
    u, v = _sample_pair(rng, s1, s2, c, n)
    samples = {"phi": np.maximum(u, 0) * np.maximum(v, 0),
               "dphi": ((u > 0) & (v > 0)).astype(float)}  # φ′(z) = 1[z > 0], φ′(0) = 0
    exact = dict(zip(("phi", "dphi"), relu_gaussian_expectations(s1, s2, c), strict=True))
    for name, x in samples.items():
        # The MC mean is within 5 standard errors of the truth with probability 1 − 6e-7
        # (CLT); the 1e-12 floor covers the degenerate cases whose samples are all equal
        # (e.g. s1 = 0: every sample is exactly 0 and the standard error is 0).
        se = x.std(ddof=1) / np.sqrt(n)
        assert abs(x.mean() - exact[name]) <= 5 * se + 1e-12, (name, x.mean(), exact[name], se)


def test_expectations_at_parallel_and_zero_inputs_are_exact():
    # ρ = +1: u, v = √s1 z, √s2 z → E[φφ] = √(s1 s2)/2, E[φ′φ′] = P(z > 0) = 1/2.
    assert arccos_kernel_1(1.0, 4.0, 2.0) == pytest.approx(1.0, rel=1e-15)
    assert arccos_kernel_0(1.0, 4.0, 2.0) == 0.5
    # ρ = −1: v = −(√s2/√s1) u, never both positive → both expectations 0.
    assert abs(arccos_kernel_1(1.0, 4.0, -2.0)) < 1e-15
    assert arccos_kernel_0(1.0, 4.0, -2.0) == 0.0
    # Zero variance: u = 0 a.s. and φ′(0) = 0, consistent with the masks 1[z > 0].
    assert arccos_kernel_1(0.0, 3.0, 0.0) == 0.0
    assert arccos_kernel_0(0.0, 3.0, 0.0) == 0.0
    assert arccos_kernel_0(0.0, 0.0, 0.0) == 0.0
    # Rounding may leave c² slightly above s1 s2: the clip keeps the result finite and ρ = 1.
    s = 1.0 + 1e-16
    assert np.isfinite(arccos_kernel_1(1.0, 1.0, s)) and arccos_kernel_0(1.0, 1.0, s) == 0.5


# --- the recursion against direct formulas --------------------------------------------------

def _direct_depth1(X, sigma_w, sigma_b):
    """Θ² written out pair by pair with arccos (no shared code with linrelu.spectral.kernels)."""
    n, d = X.shape
    out = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            x, y = X[i], X[j]
            s11 = sigma_w**2 * x @ x / d + sigma_b**2
            s22 = sigma_w**2 * y @ y / d + sigma_b**2
            s12 = sigma_w**2 * x @ y / d + sigma_b**2
            rho = np.clip(s12 / np.sqrt(s11 * s22), -1.0, 1.0)
            t = np.arccos(rho)
            e_phi = np.sqrt(s11 * s22) / (2 * np.pi) * (np.sqrt(1 - rho**2) + (np.pi - t) * rho)
            e_dphi = (np.pi - t) / (2 * np.pi)
            out[i, j] = (sigma_w**2 * e_phi + sigma_b**2) + sigma_w**2 * e_dphi * s12
    return out


@pytest.mark.parametrize("sigma_w, sigma_b", [(SQRT2, 0.0), (1.3, 0.4)])
def test_depth1_matches_direct_formula(sigma_w, sigma_b):
    X = np.random.default_rng(1).normal(size=(7, 4))
    theta = linrelu.ntk_analytic(X, None, 1, sigma_w, sigma_b)
    # Both evaluate the same closed form in float64 with O(10) operations per entry and
    # θ bounded away from 0 (off the diagonal); arccos vs arctan2 differ only by rounding,
    # except on the diagonal where arccos(ρ≈1) has an O(√ε) error in θ times sin θ ≈ 0.
    np.testing.assert_allclose(theta, _direct_depth1(X, sigma_w, sigma_b), rtol=1e-12)


def test_depth0_is_the_linear_kernel_and_nngp_is_sigma():
    X = np.random.default_rng(2).normal(size=(5, 3))
    lin = 1.7**2 * X @ X.T / 3 + 0.3**2
    np.testing.assert_allclose(linrelu.ntk_analytic(X, X, 0, 1.7, 0.3), lin, rtol=1e-14)
    np.testing.assert_allclose(linrelu.nngp_analytic(X, X, 0, 1.7, 0.3), lin, rtol=1e-14)
    # Diagonal: Σ^{l+1}(x, x) = σ_w² Σ^l(x, x)/2 + σ_b² and Θ^{l+1} = Σ^{l+1} + (σ_w²/2) Θ^l.
    s = 1.7**2 * np.sum(X * X, axis=1) / 3 + 0.3**2
    t = s.copy()
    for _ in range(3):
        s = 1.7**2 * s / 2 + 0.3**2
        t = s + 1.7**2 / 2 * t
    np.testing.assert_allclose(np.diag(linrelu.nngp_analytic(X, None, 3, 1.7, 0.3)), s,
                               rtol=1e-14)
    np.testing.assert_allclose(np.diag(linrelu.ntk_analytic(X, None, 3, 1.7, 0.3)), t,
                               rtol=1e-14)


def test_cross_kernel_blocks_agree_with_the_joint_kernel():
    rng = np.random.default_rng(3)
    X1, X2 = rng.normal(size=(4, 6)), rng.normal(size=(3, 6))
    joint = linrelu.ntk_analytic(np.vstack([X1, X2]), None, 3, SQRT2, 0.2)
    cross = linrelu.ntk_analytic(X1, X2, 3, SQRT2, 0.2)
    # Same formula, different summation order of the Gram entries (≈1e-16 relative), with all
    # angles far from 0: agreement to ~1e-15; 1e-12 leaves a wide margin.
    np.testing.assert_allclose(cross, joint[:4, 4:], rtol=1e-12)


def test_zero_input_row_is_zero_like_the_finite_net():
    X = np.random.default_rng(4).normal(size=(4, 3))
    X[2] = 0.0
    theta = linrelu.ntk_analytic(X, None, 2, SQRT2, 0.0)
    assert np.all(theta[2] == 0.0) and np.all(theta[:, 2] == 0.0)
    net = linrelu.MLP((3, 16, 16, 1), sigma_b=0.0)
    K = np.asarray(linrelu.jacobian_gram(net, net.init(jax.random.PRNGKey(0)), X))
    assert np.all(K[2] == 0.0)  # every pre-activation of x = 0 is exactly 0: masks are 0 too


# --- structural properties on random instances -------------------------------------------

def _random_inputs(seed, n, d):
    return np.random.default_rng(seed).normal(size=(n, d))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 12), d=st.integers(1, 8),
       depth=st.integers(0, 5), sigma_w=st.floats(0.3, 3.0), sigma_b=st.floats(0.0, 2.0))
def test_ntk_is_symmetric_psd_and_orthogonally_invariant(seed, n, d, depth, sigma_w, sigma_b):
    X = _random_inputs(seed, n, d)
    theta = linrelu.ntk_analytic(X, None, depth, sigma_w, sigma_b)
    assert np.array_equal(theta, theta.T)
    ev = np.linalg.eigvalsh(theta)
    # PSD up to the eigensolver's backward error ~ n ε ‖Θ‖ (≤ 12 · 2.2e-16): 1e-12 ‖Θ‖ is safe.
    assert ev.min() >= -1e-12 * max(ev.max(), 1e-300)
    # Any orthogonal Q: XQ has the same Gram XXᵀ up to rounding (~d ε relative), the kernel
    # is a smooth function of it away from ρ = 1 and exact on the diagonal → 1e-12 relative.
    q, _ = np.linalg.qr(np.random.default_rng(seed + 1).normal(size=(d, d)))
    rotated = linrelu.ntk_analytic(X @ q, None, depth, sigma_w, sigma_b)
    np.testing.assert_allclose(rotated, theta, rtol=1e-12, atol=1e-12 * np.abs(theta).max())


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10**6), depth=st.integers(1, 4))
def test_nngp_is_psd_and_ntk_dominates_it(seed, depth):
    X = _random_inputs(seed, 8, 5)
    nngp = linrelu.nngp_analytic(X, None, depth, SQRT2, 0.1)
    ntk = linrelu.ntk_analytic(X, None, depth, SQRT2, 0.1)
    # Θ − Σ = Σ̇ ⊙ Θ^L is a Schur product of PSD matrices, hence PSD (same 1e-12 round-off margin).
    for M in (nngp, ntk - nngp):
        ev = np.linalg.eigvalsh(M)
        assert ev.min() >= -1e-12 * ev.max()


# --- against the empirical Gram of a very wide net ------------------------------------------

def test_wide_net_gram_approaches_the_analytic_kernel():
    X = _random_inputs(5, 5, 4)
    k, width, depth, sigma_b = 2, 4096, 2, 0.1
    net = linrelu.MLP((4, width, width, k), sigma_b=sigma_b)
    params = net.init(jax.random.PRNGKey(0))
    K = np.asarray(linrelu.jacobian_gram(net, params, X))
    theta = linrelu.ntk_analytic(X, None, depth, SQRT2, sigma_b)
    target = np.kron(theta, np.eye(k))
    err = np.linalg.norm(K - target) / np.linalg.norm(target)
    # T7: the error is O(m^{-1/2}); E2 measures ≈ 3/√m at this depth (0.035–0.05 at m = 4096
    # over seeds), so 0.15 is three times that while a wrong recursion (e.g. a missing Σ̇ factor
    # or a wrong σ_w² placement) is off by O(1).
    assert err < 0.15, err
    # The NNGP is the limit of the last layer's feature term (σ_w²/m)⟨h_L, h_L′⟩ + σ_b² of T5.
    last = np.asarray(linrelu.jacobian_gram_layers(net, params, X)[-1])[::k, ::k]
    nngp = linrelu.nngp_analytic(X, None, depth, SQRT2, sigma_b)
    assert np.linalg.norm(last - nngp) / np.linalg.norm(nngp) < 0.15


# --- bad input -------------------------------------------------------------------------------

X_OK = np.ones((3, 2))


@pytest.mark.parametrize("kwargs, name", [
    (dict(X1=np.ones((3, 2)), X2=np.ones((4, 3))), "X2"),           # mismatched feature dims
    (dict(X1=np.ones(3)), "X1"),                                    # not 2-D
    (dict(X1=np.ones((0, 2))), "X1"),                               # empty
    (dict(X1=np.array([[1.0, np.nan]])), "X1"),                     # non-finite
    (dict(X1=X_OK, X2=np.array([[np.inf, 0.0]])), "X2"),
    (dict(X1=X_OK, depth=-1), "depth"),
    (dict(X1=X_OK, depth=1.5), "depth"),
    (dict(X1=X_OK, depth=True), "depth"),
    (dict(X1=X_OK, sigma_w=0.0), "sigma_w"),
    (dict(X1=X_OK, sigma_w=np.inf), "sigma_w"),
    (dict(X1=X_OK, sigma_b=-0.1), "sigma_b"),
    (dict(X1=X_OK, sigma_b=np.nan), "sigma_b"),
])
@pytest.mark.parametrize("fn", [linrelu.ntk_analytic, linrelu.nngp_analytic])
def test_bad_input_raises_value_error_naming_the_argument(fn, kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name}:"):
        fn(**kwargs)


def test_parallel_inputs_give_an_exactly_psd_kernel():
    """Regression: 1-D inputs are pairwise (anti)parallel, ρ = ±1 exactly. Before snapping
    sub-round-off s₁s₂ − c² to 0, Θ had an eigenvalue of −3.5e-11·‖Θ‖ here (seed 0, n = 5)."""
    X = np.random.default_rng(0).normal(size=(5, 1))
    theta = linrelu.ntk_analytic(X, None, 1, 1.0, 0.0)
    ev = np.linalg.eigvalsh(theta)
    assert ev.min() >= -1e-14 * ev.max()
    # Same-sign pairs have θ = 0 exactly: Σ² = c/2 and Σ̇² = ½ with c = Σ¹ = xx′, so
    # Θ² = Σ² + Σ̇²Θ¹ = xx′ to round-off.
    xx = np.outer(X[:, 0], X[:, 0])
    same = xx > 0
    np.testing.assert_allclose(theta[same], xx[same], rtol=1e-14)
