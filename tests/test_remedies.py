"""Shrink-and-perturb and ReDo (linrelu.continual.redo): one training step of each agent against a
hand computation (a float64 autodiff gradient, the noise drawn here from the documented keys),
and ReDo's recycling of exactly the τ-dormant units of a designed network."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import linrelu
from linrelu.continual import Task, make_agent, train_task_with_state
from linrelu.continual.redo import RedoState, dormant_masks, noise_std, redo_update
from linrelu.precision import float64
from linrelu.spectral.losses import mean_loss


def _task(n=6, d=4, k=3, seed=0, positive=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X = np.abs(X) if positive else X
    y = rng.integers(0, k, n)
    return Task(0, X, y, X, y, X, y, "ce", k)


def _grad(net, params, X, y):
    with float64():
        p = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), params)
        g = jax.grad(lambda q: mean_loss(net.apply(q, jnp.asarray(X)), jnp.asarray(y), "ce"))(p)
    return [[np.asarray(a, np.float64) for a in pair] for pair in g]


def _np(params):
    return [[np.asarray(a, np.float64) for a in pair] for pair in params]


def _noise(key, step, params):
    """The noise the snp agent adds after global step ``step`` of a task trained with ``key``:
    key → fold_in(key, 0xCB) (the task's periodic key) → fold_in(·, 0x5A) → fold_in(·, step),
    split over the leaves in tree order, one float32 standard normal draw per leaf."""
    k = jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(key, 0xCB), 0x5A), step)
    leaves = jax.tree_util.tree_leaves(params)
    keys = jax.random.split(k, len(leaves))
    draws = [np.asarray(jax.random.normal(kk, np.shape(a), jnp.float32), np.float64)
             for kk, a in zip(keys, leaves)]
    return [draws[2 * i:2 * i + 2] for i in range(len(draws) // 2)]


def test_snp_step_is_shrink_gradient_and_the_keyed_noise():
    net = linrelu.MLP((4, 5, 3))
    task = _task()
    params = net.init(jax.random.PRNGKey(0))
    lr, kappa, sigma = 0.1, 0.5, 0.01
    agent = make_agent("snp", lr=lr, l2=kappa, perturb_scale=sigma)
    key = jax.random.PRNGKey(7)
    new, _, _ = train_task_with_state(net, params, None, task, agent, epochs=1,
                                      batch_size=task.X.shape[0], key=key)
    g, P, eps = _grad(net, params, task.X, task.y), _np(params), _noise(key, 1, params)
    for l in range(2):
        for j in range(2):  # θ ← (1 − ηκ)θ − ηg + σε on weights and biases
            hand = (1 - lr * kappa) * P[l][j] - lr * g[l][j] + sigma * eps[l][j]
            np.testing.assert_allclose(np.asarray(new[l][j]), hand, rtol=0, atol=2e-6)
    # the noise is there: without it the step misses by σ·ε (≈ 1e-2 ≫ the tolerance)
    off = (1 - lr * kappa) * P[0][0] - lr * g[0][0]
    assert np.abs(np.asarray(new[0][0]) - off).max() > 100 * 2e-6


def test_snp_noise_every_k_steps_has_the_variance_of_k_steps():
    a2 = (1 - 0.1 * 0.5) ** 2
    assert float(noise_std(0.01, 0.1, 0.5, 1)) == pytest.approx(0.01, rel=1e-6)
    assert float(noise_std(0.01, 0.1, 0.5, 3)) == pytest.approx(0.01 * np.sqrt(1 + a2 + a2 ** 2),
                                                                rel=1e-6)
    # K = 2, two full-batch steps: SGD with decay twice, one draw of σ_2 after the second
    net, task = linrelu.MLP((4, 5, 3)), _task()
    params = net.init(jax.random.PRNGKey(1))
    agent = make_agent("snp", lr=0.1, l2=0.5, perturb_scale=0.01, perturb_every=2)
    key = jax.random.PRNGKey(3)
    new, state, _ = train_task_with_state(net, params, None, task, agent, epochs=2,
                                          batch_size=task.X.shape[0], key=key)
    assert int(state.step) == 2
    P = _np(params)
    g0 = _grad(net, params, task.X, task.y)
    P1 = [[0.95 * P[l][j] - 0.1 * g0[l][j] for j in range(2)] for l in range(2)]
    g1 = _grad(net, [tuple(p) for p in P1], task.X, task.y)
    eps = _noise(key, 2, params)
    s2 = 0.01 * np.sqrt(1 + 0.95 ** 2)
    for l in range(2):
        for j in range(2):
            hand = 0.95 * P1[l][j] - 0.1 * g1[l][j] + s2 * eps[l][j]
            np.testing.assert_allclose(np.asarray(new[l][j]), hand, rtol=0, atol=3e-6)


def test_redo_recycles_exactly_the_dormant_units():
    net = linrelu.MLP((3, 4, 4, 2), sigma_b=0.5)
    params = [tuple(p) for p in net.init(jax.random.PRNGKey(0))]
    # a_u = total / count: layer 1 (1, 0, 1, 0.1) → scores (1.905, 0, 1.905, 0.190);
    # layer 2 all equal → scores 1
    state = RedoState([jnp.array([2.0, 0.0, 2.0, 0.2]), jnp.full(4, 3.0)], jnp.asarray(2.0))
    assert [list(np.asarray(m)) for m in dormant_masks(state, 0.1)] == [
        [False, True, False, False], [False] * 4]
    assert list(np.asarray(dormant_masks(state, 0.2)[0])) == [False, True, False, True]
    tx = optax.sgd(0.1, momentum=0.9)
    opt = tx.init(params)
    _, opt = tx.update(jax.tree_util.tree_map(jnp.ones_like, params), opt, params)  # trace 1
    agent = make_agent("redo", lr=0.1, redo_threshold=0.2, redo_every=5)
    key = jax.random.PRNGKey(11)
    new, rs, opt_new, masks = redo_update(net, agent, params, state, opt, key)
    fresh, P, N = _np(net.init(key)), _np(params), _np(new)
    dormant, alive = [1, 3], [0, 2]
    np.testing.assert_array_equal(N[0][0][:, dormant], fresh[0][0][:, dormant])  # re-drawn
    assert np.all(N[0][1][dormant] == 0)                                        # bias 0
    assert np.all(N[1][0][dormant, :] == 0)                                     # outgoing 0
    np.testing.assert_array_equal(N[0][0][:, alive], P[0][0][:, alive])         # untouched
    np.testing.assert_array_equal(N[0][1][alive], P[0][1][alive])
    np.testing.assert_array_equal(N[1][0][alive, :], P[1][0][alive, :])
    np.testing.assert_array_equal(N[1][1], P[1][1])
    np.testing.assert_array_equal(N[2][0], P[2][0])
    trace = _np(opt_new[0].trace)
    assert np.all(trace[0][0][:, dormant] == 0) and np.all(trace[0][1][dormant] == 0)
    assert np.all(trace[1][0][dormant, :] == 0)
    assert np.all(trace[0][0][:, alive] == 1) and np.all(trace[1][0][alive, :] == 1)
    assert np.all(trace[2][0] == 1)
    assert float(rs.count) == 0 and all(float(jnp.sum(t)) == 0 for t in rs.total)


def test_redo_agent_step_recycles_at_its_period_by_hand():
    """Two full-batch steps with F = 2: SGD, SGD, then the units whose mean |h| over both steps'
    inputs (at the weights before each step) scores ≤ τ are recycled."""
    net = linrelu.MLP((4, 6, 3))
    task = _task(n=8, positive=True, seed=2)
    params = [list(p) for p in net.init(jax.random.PRNGKey(4))]
    W = np.asarray(params[0][0]).copy()
    W[:, 2] = -np.abs(W[:, 2])   # unit 2 dead on positive inputs (bias 0)
    params = [(jnp.asarray(W), params[0][1]), tuple(params[1])]
    lr = 0.05
    agent = make_agent("redo", lr=lr, redo_threshold=0.1, redo_every=2)
    key = jax.random.PRNGKey(5)
    new, state, _ = train_task_with_state(net, params, None, task, agent, epochs=2,
                                          batch_size=8, key=key)
    P0 = _np(params)
    g0 = _grad(net, params, task.X, task.y)
    P1 = [[P0[l][j] - lr * g0[l][j] for j in range(2)] for l in range(2)]
    g1 = _grad(net, [tuple(p) for p in P1], task.X, task.y)
    P2 = [[P1[l][j] - lr * g1[l][j] for j in range(2)] for l in range(2)]

    def hidden(P):
        z = net.sigma_w / np.sqrt(4) * task.X @ P[0][0] + net.sigma_b * P[0][1]  # NTK scaling
        return np.maximum(z, 0)

    a = (np.abs(hidden(P0)).sum(0) + np.abs(hidden(P1)).sum(0)) / 16
    dormant = np.flatnonzero(a / (a.mean() + 1e-9) <= 0.1)
    assert 2 in dormant and len(dormant) < 6
    k = jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(key, 0xCB), 0x5A), 2)
    fresh = _np(net.init(k))
    N = _np(new)
    keep = np.setdiff1d(np.arange(6), dormant)
    np.testing.assert_allclose(N[0][0][:, dormant], fresh[0][0][:, dormant], rtol=1e-6)
    assert np.all(N[0][1][dormant] == 0) and np.all(N[1][0][dormant, :] == 0)
    np.testing.assert_allclose(N[0][0][:, keep], P2[0][0][:, keep], rtol=0, atol=2e-6)
    np.testing.assert_allclose(N[1][0][keep, :], P2[1][0][keep, :], rtol=0, atol=2e-6)
    np.testing.assert_allclose(N[1][1], P2[1][1], rtol=0, atol=2e-6)
    assert float(state.redo.count) == 0


@pytest.mark.parametrize("kwargs, name", [
    ({"perturb_scale": 0.0}, "perturb_scale"), ({"perturb_scale": -1e-5}, "perturb_scale"),
    ({"perturb_every": 0}, "perturb_every"), ({"perturb_every": 1.5}, "perturb_every"),
    ({"redo_threshold": -0.1}, "redo_threshold"), ({"redo_every": 0}, "redo_every"),
    ({"redo_every": True}, "redo_every"), ({"l2": float("nan")}, "l2")])
def test_bad_remedy_hyperparameters_raise_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        make_agent("snp" if "perturb" in name or name == "l2" else "redo", lr=0.01, **kwargs)


def test_snp_and_redo_defaults_are_the_sourced_values():
    snp, redo = make_agent("snp", lr=0.01), make_agent("redo", lr=0.01)
    assert (snp.l2, snp.perturb_scale, snp.perturb_every, snp.redo) == (1e-4, 1e-5, 1, False)
    assert (redo.redo_threshold, redo.redo_every, redo.l2, redo.snp) == (0.1, 1000, 0.0, False)
    assert make_agent("bp", lr=0.01).period == 0 and make_agent("l2", lr=0.01).l2 == 1e-3


@pytest.mark.parametrize("name, kwargs", [
    ("snp", {"l2": 0.05, "perturb_scale": 0.01, "perturb_every": 3}),
    ("redo", {"redo_threshold": 0.5, "redo_every": 4})])
def test_sparse_first_layer_step_lands_where_the_dense_step_lands(monkeypatch, name, kwargs):
    """The sparse step (snp: with the decay carried as a scale) with the periodic operation at
    block ends gives the dense step's result (float32 round-off), noise and recycling included."""
    from linrelu.continual import train as training
    from linrelu.continual import train_task

    net = linrelu.MLP((12, 5, 2), sigma_b=0.5)
    rng = np.random.default_rng(4)
    X = rng.normal(size=(13, 12)) * (rng.random((13, 12)) < 0.2)
    y = rng.integers(0, 2, 13)
    task = Task(0, X, y, X, y, X, y, "ce", 2)
    agent = make_agent(name, lr=0.05, **kwargs)
    params = net.init(jax.random.PRNGKey(6))
    assert training.sparse_width(net, agent, X) is not None
    key = jax.random.PRNGKey(8)
    sparse, _ = train_task(net, params, task, agent, epochs=2, batch_size=1, key=key)
    monkeypatch.setattr(training, "SPARSE_BACKENDS", ())
    assert training.sparse_width(net, agent, X) is None
    dense, _ = train_task(net, params, task, agent, epochs=2, batch_size=1, key=key)
    for a, b in zip(jax.tree_util.tree_leaves(sparse), jax.tree_util.tree_leaves(dense)):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)
    moved = np.abs(np.asarray(sparse[0][0]) - np.asarray(params[0][0])).max()
    assert moved > 1e-3
