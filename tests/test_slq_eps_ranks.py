"""slq_eps_ranks: normalized ε-ranks from the unbroadened SLQ quadrature, with a stated error.

References computed independently of the estimator: dense Hessians by autodiff
(linrelu.hessian_matrix) and numpy's eigh; the per-run spectral measure μ_v from the
eigenvectors; the Monte-Carlo law of μ_v checked by sampling start vectors directly.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import linrelu
from linrelu.data import load_digits_data
from linrelu.models.mlp import ravel_params
from linrelu.spectral.lanczos import (
    lanczos,
    paper_eps_ranks,
    quadrature_mass_outside,
    slq_density,
    slq_eps_ranks,
)

EPS = (1e-4, 3e-4, 1e-3, 1e-2, 3e-2, 1e-1)


@pytest.fixture(scope="module")
def trained_net():
    """A digits MLP (64, 16, 16, 10), p = 1482, trained by full-batch GD on two permuted-digits
    tasks (ce); Hessian on 100 held-out digits under a third permutation: a spectrum with a large
    near-null part and a bulk of width ≈ 0.5."""
    net = linrelu.MLP((64, 16, 16, 10))
    X, y = load_digits_data()
    params = net.init(jax.random.PRNGKey(0))
    flat0, unravel = ravel_pytree(params)

    def loss(theta, Xb, yb):  # cross-entropy written out: training needs nothing from linrelu
        logp = jax.nn.log_softmax(net.apply(unravel(theta), Xb))
        return -jnp.mean(logp[jnp.arange(yb.size), yb])

    step = jax.jit(lambda th, Xb, yb: th - 0.5 * jax.grad(loss)(th, Xb, yb))
    theta = flat0
    for i in range(2):  # two "tasks": the digits under two fixed pixel permutations
        perm = np.random.default_rng(i).permutation(64)
        for _ in range(60):
            theta = step(theta, X[:600][:, perm], y[:600])
    params = unravel(theta)
    Xp, yp = X[600:700][:, np.random.default_rng(5).permutation(64)], y[600:700]
    H = np.asarray(linrelu.hessian_matrix(net, params, Xp, yp, "ce"))
    ev, U = np.linalg.eigh(H)
    hvp = linrelu.hessian_vector_product(net, Xp, yp, "ce")
    return hvp, ravel_params(params), ev, U


HIGH = {"order": 300, "num_runs": 2, "seed": 3}  # order ≈ p/5: resolves the near-null cluster


@pytest.fixture(scope="module")
def high_order(trained_net):
    """Our estimate and slq_density's broadened density from the *same* Lanczos runs."""
    hvp, flat, _, _ = trained_net
    return (slq_eps_ranks(hvp, flat, EPS, with_error=True, **HIGH),
            slq_density(hvp, flat, **HIGH))


def _run_mass(ev, U, v, eps):
    """μ_v(|λ| > ε) = Σ_k ⟨v̂, u_k⟩² 1(|λ_k| > ε), from the eigendecomposition."""
    w = (U.T @ (v / np.linalg.norm(v))) ** 2
    return float(np.sum(w[np.abs(ev) > eps]))


def _matvec(M):
    Mj = jnp.asarray(M)
    return jax.jit(lambda flat, v: Mj @ v)


def test_bracket_contains_each_runs_true_mass(trained_net):
    """Chebyshev–Markov–Stieltjes: every run's bracket holds that run's μ_v mass (any ε)."""
    hvp, flat, ev, U = trained_net
    rng = np.random.default_rng(0)
    eps_grid = np.concatenate([EPS, np.abs(ev[rng.choice(ev.size, 20)]) * 1.0001])
    for order in (30, 100):
        for _ in range(2):
            v = rng.standard_normal(flat.size)
            run = lanczos(hvp, flat, v, order)
            for eps in eps_grid:
                if not eps > 0:
                    continue
                q, lo, hi = quadrature_mass_outside(run.ritz_values, run.weights, eps)
                m = _run_mass(ev, U, v, eps)
                # 1e-8: Lanczos round-off in the weights (full reorthogonalization, ~1e-12)
                assert lo - 1e-8 <= m <= hi + 1e-8, (order, eps, lo, m, hi)
                assert lo <= q <= hi


def test_bracket_on_clustered_random_spectrum():
    """A null atom (40 %), a cluster just above ε and a spread bulk: the bracket still holds
    and is exact once Lanczos exhausts the distinct eigenvalues."""
    rng = np.random.default_rng(1)
    p = 300
    ev = np.concatenate([np.zeros(120), 1e-3 * (1 + rng.random(60)), rng.normal(0, 1, 120)])
    Q, _ = np.linalg.qr(rng.standard_normal((p, p)))
    M = (Q * ev) @ Q.T
    M = (M + M.T) / 2
    ev_num, U = np.linalg.eigh(M)
    for order in (10, 40):
        v = rng.standard_normal(p)
        run = lanczos(_matvec(M), jnp.zeros(p), v, order)
        for eps in (1e-4, 1e-3, 1.5e-3, 1e-2, 0.5):
            q, lo, hi = quadrature_mass_outside(run.ritz_values, run.weights, eps)
            m = _run_mass(ev_num, U, v, eps)
            assert lo - 1e-8 <= m <= hi + 1e-8
    # 3 distinct eigenvalues: Lanczos breaks down after 3 steps and the quadrature is exact
    D = np.diag(np.repeat([0.0, 0.5, 2.0], 100))
    v = rng.standard_normal(p)
    run = lanczos(_matvec(D), jnp.zeros(p), v, 20)
    assert run.ritz_values.size == 3
    q, _, _ = quadrature_mass_outside(run.ritz_values, run.weights, 0.1)
    assert abs(q - _run_mass(np.diag(D), np.eye(p), v, 0.1)) < 1e-10


def test_monte_carlo_law_of_a_run(trained_net):
    """μ_v(|λ| > ε) for v ~ N(0, I_p) has mean r and variance 2r(1 − r)/(p + 2) (Beta law):
    sampled directly from 3000 start vectors, not through the estimator."""
    _, flat, ev, U = trained_net
    p = ev.size
    rng = np.random.default_rng(2)
    W = (U.T @ rng.standard_normal((p, 3000))) ** 2
    W /= W.sum(axis=0)
    for eps in (1e-3, 1e-2):
        r = np.mean(np.abs(ev) > eps)
        m = W[np.abs(ev) > eps].sum(axis=0)
        var = 2 * r * (1 - r) / (p + 2)
        assert abs(m.mean() - r) < 4 * np.sqrt(var / m.size)
        # sample variance of 3000 draws: relative standard error ≈ √(2/3000) ≈ 2.6 %
        assert abs(m.var() / var - 1) < 0.12


@pytest.mark.parametrize("order", [300, 100])
def test_estimates_within_stated_error_of_exact(trained_net, high_order, order):
    """The exact normalized ε-rank lies in the stated interval [lower − 4σ_MC, upper + 4σ_MC]
    for ε from 1e-4 to 1e-1. Order 300 (≈ p/5) resolves the near-null cluster down to
    ε = 3e-4 (stated error ≤ 0.1); order 100 resolves ε ≥ 1e-2 (error ≤ 0.03). Below that a
    run whose only Ritz node in [−ε, ε] is the null-space node has no upper information, and
    the stated error says so (a bracket reaching 1) rather than report a wrong number."""
    hvp, flat, ev, _ = trained_net
    if order == 300:
        est, max_bound = high_order[0], 0.1
    else:
        est, max_bound = slq_eps_ranks(hvp, flat, EPS, order=100, num_runs=5, seed=3,
                                       with_error=True), None
    plain = slq_eps_ranks(hvp, flat, EPS[:1], order=100, num_runs=5, seed=3)
    if order == 100:
        assert plain[EPS[0]] == est[EPS[0]].estimate
    for eps in EPS:
        exact = float(np.mean(np.abs(ev) > eps))
        e = est[eps]
        lo, hi = e.interval(z=4.0)
        assert lo <= exact <= hi, (eps, exact, e)
        assert abs(e.estimate - exact) <= e.error_bound(z=4.0)
        if max_bound is not None and eps >= 3e-4:
            assert e.error_bound() <= max_bound, (eps, e)
        elif eps >= 1e-2:
            assert e.error_bound() <= 0.03, (eps, e)


def test_broadening_bias_is_real_where_eps_is_small_against_sigma(trained_net, high_order):
    """Same Lanczos runs (same seed), broadened density of slq_density (σ = 1e-3·width): at
    ε < σ its mass outside [−ε, ε] is off by far more than our stated error; at ε ≫ σ both
    agree. The paper's metric (σ² = 1e-5·range, masked trapezoid) is off at ε = 1e-2."""
    hvp, flat, ev, _ = trained_net
    est, dens = high_order
    assert 2e-4 < dens.sigma < 2e-3  # 1e-3 × a spectral width ≈ 0.5
    exact = float(np.mean(np.abs(ev) > 3e-4))  # ε ≈ 0.6σ
    broad = linrelu.density_mass_outside(dens.grid, dens.density, 3e-4)
    assert broad - exact > 3 * est[3e-4].error_bound(), (broad, exact, est[3e-4])
    exact = float(np.mean(np.abs(ev) > 1e-4))  # ε ≈ σ/5: most of the null atom's smear is out
    assert linrelu.density_mass_outside(dens.grid, dens.density, 1e-4) - exact > 0.4
    exact = float(np.mean(np.abs(ev) > 0.1))
    assert abs(linrelu.density_mass_outside(dens.grid, dens.density, 0.1) - exact) < 0.01
    paper = paper_eps_ranks(hvp, flat, [1e-2], seed=3)
    exact = float(np.mean(np.abs(ev) > 1e-2))
    ours = slq_eps_ranks(hvp, flat, [1e-2], order=100, num_runs=5, seed=3, with_error=True)
    assert abs(paper.ranks[1e-2] - exact) > 2 * ours[1e-2].error_bound()


def test_paper_metric_by_hand():
    """Diagonal operator, eigenvalues 0 (50 %), 1 (30 %), 5 (20 %), p = 20 000; 3 distinct
    eigenvalues, so the single Lanczos run is exact: nodes {0, 1, 5}, range 5.02, kernel
    variance 1e-5·5.02 (σ ≈ 0.0071). ε = 0.5 lies in a gap ≫ σ: the metric is the run's mass
    μ_v(|λ| > 0.5) = 0.5 ± 0.02 (4 Monte-Carlo σ). ε = 1e-4 ≪ σ: the masked trapezoid bridges
    [−ε, ε] with the atom's own peak values, so the metric is ≈ 1 whatever the spectrum."""
    p = 20000
    d = jnp.asarray(np.repeat([0.0, 1.0, 5.0], [p // 2, 3 * p // 10, p // 5]))
    matvec = jax.jit(lambda flat, v: d * v)
    out = paper_eps_ranks(matvec, jnp.zeros(p), [0.5, 1e-4], seed=0)
    assert abs(out.sigma - np.sqrt(1e-5 * 5.02)) < 1e-9
    assert abs(out.ranks[0.5] - 0.5) < 0.02
    assert out.ranks[1e-4] > 0.99


@pytest.mark.parametrize("eps", [[], [0.0], [-1e-3], [float("nan")]])
def test_bad_eps(trained_net, eps):
    hvp, flat, _, _ = trained_net
    with pytest.raises(ValueError, match="eps_values"):
        slq_eps_ranks(hvp, flat, eps, order=5, num_runs=1)
