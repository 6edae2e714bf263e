"""Continual engine: streams, agents (regularizer gradients), training, metrics, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import linrelu
from linrelu.continual import (
    AGENTS,
    STREAMS,
    make_agent,
    make_stream,
    regularized_objective,
    smooth_effective_rank,
    start_task,
    task_start_metrics,
    train_task,
    weight_norm,
)
from linrelu.continual.agents import l2_penalty


@pytest.mark.parametrize("name", STREAMS)
def test_stream_shapes_and_determinism(name):
    s = make_stream(name, seed=3, num_tasks=4)
    t, t_again = s.task(2), make_stream(name, seed=3, num_tasks=4).task(2)
    assert t.X.shape[1:] == s.input_shape and t.X.dtype == np.float64
    assert t.X_probe.shape[0] == s.options["n_probe"]
    if s.loss == "ce":
        assert t.y.shape == (t.X.shape[0],) and t.y.min() >= 0 and t.y.max() < s.out_dim
    else:
        assert t.y.shape == (t.X.shape[0], s.out_dim)
    for a, b in ((t.X, t_again.X), (t.y, t_again.y), (t.X_test, t_again.X_test)):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(t.y, s.task(1).y)  # tasks differ
    assert not np.array_equal(t.y, make_stream(name, seed=4, num_tasks=4).task(2).y)
    assert [u.index for u in s] == [0, 1, 2, 3]


def test_permuted_digits_really_permutes_pixels():
    s = make_stream("permuted_digits", seed=0, num_tasks=2)
    X, _ = linrelu.data.load_digits_data()
    t = s.task(1)
    # every task image is a pixel permutation of some digit: the sorted pixels match a digit
    # and the same permutation maps every image (recover it from the pixel-wise match).
    rows = {tuple(np.sort(x)): x for x in X}
    originals = np.array([rows[tuple(np.sort(x))] for x in t.X[:30]])
    perm = [int(np.nonzero(np.all(originals == t.X[:30, [j]], axis=0))[0][0]) for j in range(64)]
    np.testing.assert_array_equal(originals[:, perm], t.X[:30])
    assert perm != list(range(64))


def test_random_labels_reshuffle_counts_not_images():
    s = make_stream("random_label_digits", seed=0, num_tasks=3, n_train=200)
    t0, t1 = s.task(0), s.task(1)
    np.testing.assert_array_equal(t0.X, t1.X)  # the same images …
    np.testing.assert_array_equal(np.bincount(t0.y, minlength=10), np.bincount(t1.y, minlength=10))
    assert np.mean(t0.y == t1.y) < 0.3  # … with reshuffled labels (chance agreement ≈ 0.1)


@pytest.mark.parametrize("bad", [dict(name="mnist"), dict(num_tasks=0), dict(num_tasks=-2),
                                 dict(n_probe=0), dict(bogus=1)])
def test_stream_bad_input(bad):
    kw = {"name": "random_label_digits", "seed": 0, "num_tasks": 3, **bad}
    with pytest.raises(ValueError) as err:
        make_stream(kw.pop("name"), **kw)
    if "name" in bad:
        assert all(s in str(err.value) for s in STREAMS)


@pytest.mark.parametrize("bad", [dict(name="sgd"), dict(lr=0.0), dict(lr=-1.0),
                                 dict(l2=-1.0), dict(er=float("nan"))])
def test_agent_bad_input(bad):
    kw = {"name": "bp", "lr": 0.1, **bad}
    with pytest.raises(ValueError) as err:
        make_agent(kw.pop("name"), **kw)
    if "name" in bad:
        assert all(a in str(err.value) for a in AGENTS)
    if "lr" in bad:
        assert "lr" in str(err.value)


def test_agents_use_only_their_coefficients():
    a = make_agent("bp", lr=1, l2=0.1, er=0.2)
    assert (a.l2, a.er, a.reset) == (0.0, 0.0, False)
    a = make_agent("l2_er", lr=1, l2=0.1, er=0.2)
    assert (a.l2, a.er, a.reset) == (0.1, 0.2, False)
    assert make_agent("reset", lr=1).reset


def _small():
    net = linrelu.MLP((5, 6, 4, 3))
    params = net.init(jax.random.PRNGKey(1))
    X = jax.random.normal(jax.random.PRNGKey(2), (8, 5))
    y = jnp.arange(8) % 3
    return net, params, X, y


def test_l2_changes_gradient_by_exactly_kappa_theta():
    assert float(l2_penalty([(jnp.ones((2, 2)), jnp.ones(2))])) == 3.0  # ½·(4 + 2)
    net, params, X, y = _small()
    g0 = jax.grad(regularized_objective(net, make_agent("bp", lr=1), X, y, "ce"))(params)
    g1 = jax.grad(regularized_objective(net, make_agent("l2", lr=1, l2=0.3), X, y, "ce"))(params)
    for (a, b), (c, d), (W, bias) in zip(g0, g1, params):
        # same float64 computation plus κθ: only round-off (≈1e-16 relative) can differ
        np.testing.assert_allclose(c - a, 0.3 * W, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(d - b, 0.3 * bias, rtol=1e-12, atol=1e-13)


def test_er_gradient_matches_finite_differences():
    """d/dθ of −β Σ erank_δ(h_l)/m_l against central differences of the same objective."""
    net, params, X, y = _small()
    bp = regularized_objective(net, make_agent("bp", lr=1), X, y, "ce")
    er = regularized_objective(net, make_agent("er", lr=1, er=0.5), X, y, "ce")
    flat, unravel = jax.flatten_util.ravel_pytree(params)
    reg = lambda f: er(unravel(f)) - bp(unravel(f))  # noqa: E731  (the ER term alone)
    g = jax.grad(reg)(flat)
    rng = np.random.default_rng(0)
    for _ in range(3):
        v = jnp.asarray(rng.standard_normal(flat.shape))
        h = 1e-5  # central differences: error O(h²·f''') ≈ 1e-10, round-off ≈ 1e-16/h ≈ 1e-11
        fd = (reg(flat + h * v) - reg(flat - h * v)) / (2 * h)
        np.testing.assert_allclose(float(g @ v), float(fd), rtol=1e-6, atol=1e-8)


def test_smooth_erank_matches_roy_vetterli_and_has_finite_gradient_at_dead_units():
    F = np.random.default_rng(0).standard_normal((10, 7))
    F[:, :3] = 0.0  # dead units: repeated zero singular values
    # |erank_δ − erank| = O(√δ · r) with δ = 1e-14 here: 1e-6 is a safe bound
    assert abs(float(smooth_effective_rank(jnp.asarray(F), 1e-14))
               - linrelu.effective_rank(F)) < 1e-5
    g = jax.grad(lambda A: smooth_effective_rank(A))(jnp.asarray(F))
    assert np.all(np.isfinite(np.asarray(g)))
    # jnp's own eigvalsh derivative divides by λ_i − λ_j and fails here; ours does not
    assert float(smooth_effective_rank(jnp.zeros((4, 4)) + 1.0)) == pytest.approx(1.0, abs=1e-2)


@settings(max_examples=15, deadline=None)
@given(st.integers(2, 6), st.integers(2, 6), st.integers(0, 10_000))
def test_smooth_erank_is_scale_invariant_and_bounded(n, m, seed):
    F = np.random.default_rng(seed).standard_normal((n, m))
    e = float(smooth_effective_rank(jnp.asarray(F), 1e-14))
    assert 1.0 - 1e-9 <= e <= min(n, m) + 1e-9
    assert float(smooth_effective_rank(jnp.asarray(3 * F), 1e-14)) == pytest.approx(e, rel=1e-6)


def test_train_task_learns_and_returns_float64():
    s = make_stream("random_label_digits", seed=0, num_tasks=1, n_train=64, n_probe=16)
    net = linrelu.MLP((64, 32, 10))
    p0 = net.init(jax.random.PRNGKey(0))
    t = s.task(0)
    p1, info = train_task(net, p0, t, make_agent("bp", lr=10.0), epochs=60, batch_size=16,
                          key=jax.random.PRNGKey(1))
    assert p1[0][0].dtype == jnp.float64 and info["steps"] == 240
    before = task_start_metrics(net, p0, t)
    assert info["loss"] < before["loss"] and info["accuracy"] > before["accuracy"] + 0.2
    with pytest.raises(ValueError, match="batch_size"):
        train_task(net, p0, t, make_agent("bp", lr=1.0), epochs=1, batch_size=65,
                   key=jax.random.PRNGKey(1))
    with pytest.raises(ValueError, match="epochs"):
        train_task(net, p0, t, make_agent("bp", lr=1.0), epochs=0, batch_size=8,
                   key=jax.random.PRNGKey(1))
    fresh = start_task(net, p1, make_agent("reset", lr=1.0), jax.random.PRNGKey(5))
    assert not np.allclose(fresh[0][0], p1[0][0])
    assert start_task(net, p1, make_agent("l2", lr=1.0), jax.random.PRNGKey(5)) is p1


def test_mse_accuracy_is_r2():
    s = make_stream("teacher_regression", seed=0, num_tasks=1, n_train=32, n_test=16, n_probe=8,
                    in_dim=4)
    net = linrelu.MLP((4, 8, 1))
    p = net.init(jax.random.PRNGKey(0))
    t = s.task(0)
    m = task_start_metrics(net, p, t)
    f = np.asarray(net.apply(p, t.X))
    r2 = 1 - np.sum((f - t.y) ** 2) / np.sum((t.y - t.y.mean(0)) ** 2)
    assert m["accuracy"] == pytest.approx(r2, rel=1e-12)


def test_metrics_hand_computed_case():
    """A 1-hidden-layer mse net whose second hidden unit is dead: every metric by hand."""
    net = linrelu.MLP((1, 2, 1))  # z_1 = √2 W_1ᵀ x, f = W_2ᵀ relu(z_1) (σ_w/√2 = 1)
    params = [(jnp.array([[1.0, -1.0]]), jnp.zeros(2)), (jnp.array([[1.0], [1.0]]), jnp.zeros(1))]
    X = np.array([[1.0], [2.0]])
    y = np.zeros((2, 1))
    s = linrelu.continual.Task(0, X, y, X, y, X, y, "mse", 1)
    m = task_start_metrics(net, params, s, eps_ladder=(0.1, 20.0))
    # f(x) = √2 x on x > 0; loss = ½·mean(f²) = ½·(2 + 8)/2 = 2.5
    assert m["loss"] == pytest.approx(2.5, rel=1e-12)
    assert m["dead_fraction"] == [0.5]
    assert m["erank"] == [pytest.approx(1.0)]  # rank-one features (x, 0): erank 1
    assert m["weight_norm"] == pytest.approx(2.0)
    # K = J Jᵀ by hand: ∂f/∂W_{1,1} = √2 x, ∂f/∂W_{2,1} = √2 x (h_1 = √2 x), others 0 (σ_b = 0,
    # dead unit) ⇒ K = 4 x xᵀ; G = K/n = 2 x xᵀ has eigenvalues {2·5, 0}.
    assert m["ggn_eigenvalues"] == [pytest.approx(10.0), pytest.approx(0.0, abs=1e-12)]
    assert m["lambda_max"] == pytest.approx(10.0)
    assert m["eps_rank"] == {"0.1": 1, "20.0": 0}
    assert m["eps_rank_norm"] == {"0.1": 0.5, "20.0": 0.0}
    assert weight_norm(params) == pytest.approx(2.0)
