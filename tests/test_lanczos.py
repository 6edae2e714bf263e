"""Lanczos / SLQ against the exact eigenvalues of a small net's full Hessian."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import ndtr

import linrelu
from linrelu.spectral.lanczos import gaussian_broadened_density, lanczos, slq_density


@pytest.fixture(scope="module")
def small_hessian():
    net = linrelu.MLP((4, 6, 5, 3), sigma_b=0.5)
    params = net.init(jax.random.PRNGKey(0))
    X = np.asarray(jax.random.normal(jax.random.PRNGKey(1), (12, 4)))
    y = np.arange(12) % 3
    H = np.asarray(linrelu.hessian_matrix(net, params, X, y, "ce"))
    hvp = linrelu.hessian_vector_product(net, X, y, "ce")
    flat = linrelu.ravel_params(params)
    return np.linalg.eigvalsh(H), hvp, flat


def test_full_order_ritz_extremes_are_exact(small_hessian):
    ev, hvp, flat = small_hessian
    p = flat.size
    r = lanczos(hvp, flat, jax.random.normal(jax.random.PRNGKey(2), (p,)), order=p)
    scale = np.abs(ev).max()
    # Order ≥ p with full reorthogonalization: the Krylov space is the whole span reached from
    # v0, so the Ritz values are eigenvalues up to float64 round-off (~1e-13 · ‖H‖ after p steps).
    assert abs(r.ritz_values.max() - ev.max()) < 1e-9 * scale
    assert abs(r.ritz_values.min() - ev.min()) < 1e-9 * scale
    assert r.weights.sum() == pytest.approx(1.0, abs=1e-12)
    # every Ritz value is an exact eigenvalue
    assert np.max(np.min(np.abs(r.ritz_values[:, None] - ev[None, :]), axis=1)) < 1e-8 * scale


def test_low_order_extremes_are_inside_and_close(small_hessian):
    ev, hvp, flat = small_hessian
    r = lanczos(hvp, flat, jax.random.normal(jax.random.PRNGKey(3), flat.shape), order=25)
    scale = np.abs(ev).max()
    # Ritz values interlace: they never exceed the exact extremes (Cauchy interlacing) …
    assert r.ritz_values.max() <= ev.max() + 1e-10 * scale
    assert r.ritz_values.min() >= ev.min() - 1e-10 * scale
    # … and the extremes converge first (Kaniel–Paige): within 5 % of the spread at order 25
    assert ev.max() - r.ritz_values.max() < 0.05 * (ev.max() - ev.min())


def test_slq_cdf_matches_exact_cdf(small_hessian):
    """Kolmogorov distance between the SLQ density's CDF and the exact (equally broadened) CDF.

    At order ≥ p the quadrature is exact for each start vector, so the only error is sampling:
    run r puts weight w_i = ⟨v, u_i⟩²/‖v‖² on λ_i, w ~ Dirichlet(½, …, ½). The CDF error at any
    point is a sum of partial weights with variance ≤ (1/4)·2/(p+2) per run, i.e. standard
    deviation ≤ 1/√(2(p+2)R) ≈ 0.034 for p = 87, R = 5; 0.15 is > 4 of them (supremum included).
    """
    ev, hvp, flat = small_hessian
    d = slq_density(hvp, flat, order=flat.size, num_runs=5, seed=0, grid_size=3000)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (d.density[1:] + d.density[:-1])
                                                * np.diff(d.grid))])
    exact = np.mean(ndtr((d.grid[:, None] - ev[None, :]) / d.sigma), axis=1)
    ks = np.max(np.abs(cdf - exact))
    assert ks < 0.15
    # the exact (unbroadened) eigenvalue CDF too, at points more than 5σ from every eigenvalue
    far = np.min(np.abs(d.grid[:, None] - ev[None, :]), axis=1) > 5 * d.sigma
    raw = np.mean(ev[None, :] <= d.grid[:, None], axis=1)
    assert np.max(np.abs(cdf[far] - raw[far])) < 0.15
    # and the broadened density of the exact spectrum itself is reproduced by the same function
    ref = gaussian_broadened_density([ev], [np.full(ev.size, 1 / ev.size)], d.grid, d.sigma)
    assert np.trapezoid(ref, d.grid) == pytest.approx(1.0, abs=1e-3)


def test_zero_operator_density_is_a_delta_at_zero():
    flat = jnp.zeros(7)
    d = slq_density(lambda f, v: 0.0 * v, flat, order=5, num_runs=2)
    assert linrelu.density_mass_outside(d.grid, d.density, 1e-6) < 1e-9


def test_bad_input():
    with pytest.raises(ValueError, match="order"):
        lanczos(lambda f, v: v, jnp.zeros(3), jnp.ones(3), order=0)
    with pytest.raises(ValueError, match="v0"):
        lanczos(lambda f, v: v, jnp.zeros(3), jnp.zeros(3), order=2)
    with pytest.raises(ValueError, match="v0"):
        lanczos(lambda f, v: v, jnp.zeros(3), jnp.ones(4), order=2)
    with pytest.raises(ValueError, match="num_runs"):
        slq_density(lambda f, v: v, jnp.zeros(3), num_runs=0)
