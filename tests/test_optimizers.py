"""Optimizers through optax (momentum SGD, clipped SGD) against numpy loops written out here."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import np_mlp_grad

import linrelu
from linrelu.continual import Task, make_agent, make_optimizer, train_task


def _setup(n, seed=0):
    net = linrelu.MLP((3, 4, 2), sigma_b=0.5)
    params = net.init(jax.random.PRNGKey(seed))
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(n, 3)), rng.normal(size=(n, 2))
    task = Task(0, X, Y, X, Y, X, Y, "mse", 2)
    return net, params, task


def _np_params(params):
    return [[np.asarray(W, np.float64), np.asarray(b, np.float64)] for W, b in params]


def _assert_close(out, ref):
    for (W, b), (rW, rb) in zip(out, ref):
        # float32 training vs float64 numpy over ≤ 6 steps: round-off ~1e-6 relative
        np.testing.assert_allclose(W, rW, rtol=2e-5, atol=2e-6)
        np.testing.assert_allclose(b, rb, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("name,l2", [("bp", 0.0), ("l2", 0.05)])
def test_momentum_sgd_full_batch_matches_numpy(name, l2):
    net, params, task = _setup(n=6)
    lr, mu, steps = 0.2, 0.9, 6
    agent = make_agent(name, lr=lr, l2=l2, optimizer="momentum", momentum=mu)
    # full batch: the minibatch order within an epoch cannot change the mean gradient
    out, info = train_task(net, params, task, agent, epochs=steps, batch_size=6,
                           key=jax.random.PRNGKey(3))
    assert info["steps"] == steps
    p = _np_params(params)
    v = [[np.zeros_like(a) for a in pair] for pair in p]
    for _ in range(steps):
        g = np_mlp_grad(p, task.X, task.y, net.sigma_w, net.sigma_b, l2)
        v = [[mu * va + ga for va, ga in zip(vs, gs)] for vs, gs in zip(v, g)]   # v ← μv + g
        p = [[pa - lr * va for pa, va in zip(ps, vs)] for ps, vs in zip(p, v)]  # θ ← θ − ηv
    _assert_close(out, p)
    # momentum matters here: plain SGD lands elsewhere (so the check above can fail)
    plain, _ = train_task(net, params, task, make_agent(name, lr=lr, l2=l2), epochs=steps,
                          batch_size=6, key=jax.random.PRNGKey(3))
    assert np.abs(np.asarray(plain[0][0]) - p[0][0]).max() > 1e-3


def test_clipped_sgd_minibatch_one_matches_numpy():
    """The Permuted MNIST protocol's optimizer: SGD, minibatch 1, global-norm clip."""
    net, params, task = _setup(n=1, seed=4)
    lr, clip, steps = 0.5, 0.05, 5
    agent = make_agent("bp", lr=lr, clip_norm=clip)
    out, _ = train_task(net, params, task, agent, epochs=steps, batch_size=1,
                        key=jax.random.PRNGKey(0))
    p = _np_params(params)
    clipped = 0
    for _ in range(steps):
        g = np_mlp_grad(p, task.X, task.y, net.sigma_w, net.sigma_b, 0.0)
        norm = np.sqrt(sum(np.sum(a**2) for pair in g for a in pair))  # global norm, all params
        clipped += norm > clip
        scale = min(1.0, clip / norm)
        p = [[pa - lr * scale * ga for pa, ga in zip(ps, gs)] for ps, gs in zip(p, g)]
    assert clipped == steps  # the clip is active at every step, so dropping it would fail
    _assert_close(out, p)


def test_momentum_on_a_quadratic_matches_the_recursion():
    """make_optimizer alone on L(θ) = ½θᵀAθ − bᵀθ: optax heavy ball with clipping vs numpy."""
    rng = np.random.default_rng(1)
    M = rng.normal(size=(4, 4))
    A, b = M @ M.T + np.eye(4), rng.normal(size=4)
    agent = make_agent("bp", lr=0.05, optimizer="momentum", momentum=0.9, clip_norm=1.0)
    tx = make_optimizer(agent)
    theta = jnp.asarray(rng.normal(size=4))
    state = tx.init(theta)
    t, v = np.asarray(theta), np.zeros(4)
    for _ in range(8):
        g = A @ np.asarray(theta) - b
        updates, state = tx.update(jnp.asarray(g), state, theta)
        theta = optax.apply_updates(theta, updates)
        gn = A @ t - b
        gn = gn * min(1.0, 1.0 / np.linalg.norm(gn))
        v = 0.9 * v + gn
        t = t - 0.05 * v
        np.testing.assert_allclose(np.asarray(theta), t, rtol=1e-12, atol=1e-12)  # float64


@pytest.mark.parametrize("bad,arg", [(dict(optimizer="adam"), "optimizer"),
                                     (dict(momentum=1.0), "momentum"),
                                     (dict(clip_norm=0.0), "clip_norm"),
                                     (dict(er_mode="sometimes"), "er_mode"),
                                     (dict(er_every=0), "er_every")])
def test_optimizer_bad_input(bad, arg):
    with pytest.raises(ValueError, match=arg):
        make_agent("bp", lr=0.1, **bad)


def test_defaults_leave_plain_sgd_unchanged():
    a = make_agent("bp", lr=0.1)
    assert (a.optimizer, a.momentum, a.clip_norm, a.cbp) == ("sgd", 0.0, None, False)
    # μ is recorded only for the momentum optimizer
    assert make_agent("bp", lr=0.1, momentum=0.5).momentum == 0.0
    assert make_agent("bp", lr=0.1, optimizer="momentum", momentum=0.5).momentum == 0.5
