"""Issue 17, "one model protocol": the object the engine trains is the object the spectral API
analyses (linrelu.models.network's module docstring), for the MLP and the paper's ConvNet alike.

References are plain JAX (``jax.jacrev`` of the whole batch, J Jᵀ; the hidden activations taken
by hand from the ConvNet's layers), never linrelu's Gram code. Tolerance 1e-10 relative to the
largest entry: the blocked Gram and J Jᵀ sum the same products in another order, so they differ
by round-off ≈ p·ε·max|K| (p ≤ 1e4 here: ≤ 1e-12); a wrong row order or scale moves entries by
O(1).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import rel_err
from jax.flatten_util import ravel_pytree

import linrelu as lr
from linrelu.continual import Task, as_model, make_agent, train_task
from linrelu.models.convnet import ConvNet
from linrelu.models.network import model_apply, model_features, resolve
from linrelu.precision import float64

TOL = 1e-10


def _jjt(apply, params, X):
    with float64():
        flat, unravel = ravel_pytree(params)
        J = jax.jit(jax.jacrev(lambda t: apply(unravel(t), X).reshape(-1)))(flat)
        return np.asarray(J @ J.T)


def test_the_mlp_is_a_model_for_training_and_spectra():
    net = lr.MLP((4, 6, 5, 3))
    assert as_model(net) is net
    assert model_apply(net) is not None and model_features(net) == net.features
    with float64():
        params = net.init(jax.random.PRNGKey(0))
        X = jnp.asarray(np.random.default_rng(0).normal(size=(7, 4)))
        acts = net.trace(params, X).acts
    hidden = net.features(params, X)
    assert len(hidden) == 2
    for h, a in zip(hidden, acts[1:]):
        np.testing.assert_array_equal(np.asarray(h), np.asarray(a))


def test_the_convnet_object_goes_to_the_spectral_api_as_is():
    """Before, the ConvNet had to be passed as ``m.apply`` with ``features=m.features``."""
    net = ConvNet((8, 8, 1), 2)
    with float64():
        params = jax.tree_util.tree_map(lambda a: a.astype(jnp.float64),
                                        net.init(jax.random.PRNGKey(1)))
        X = jnp.asarray(np.random.default_rng(1).normal(size=(3, 8, 8, 1)))
    K = np.asarray(lr.jacobian_gram(net, params, X))
    ref = _jjt(net.apply, params, X)
    assert rel_err(K, ref) < TOL
    # the model's own features are used for the unit-level measures (channels-last maps)
    hand = [np.asarray(h).reshape(-1, np.shape(h)[-1]) for h in net.features(params, X)]
    dead_hand = [float(np.mean(np.all(h == 0.0, axis=0))) for h in hand]
    assert lr.dead_unit_fractions(net, params, X) == pytest.approx(dead_hand, abs=0)
    assert any(d < 1.0 for d in dead_hand)  # not a dead network


def test_resolve_defers_an_mlps_logits_and_checks_a_generic_models_at_once():
    net = lr.MLP((3, 4, 2))
    params = net.init(jax.random.PRNGKey(0))
    X = np.random.default_rng(0).normal(size=(5, 3))
    with float64():
        nw = resolve(net, params, X)
        assert "logits" not in vars(nw) and nw.k == 2  # k from the MLP: no forward pass yet
        np.testing.assert_array_equal(np.asarray(nw.logits), np.asarray(net.apply(params, X)))
        f = lambda p, x: net.apply(p, x)  # noqa: E731
        nw_f = resolve(f, params, X)
        assert "logits" in vars(nw_f)  # a generic model's output is checked up front
        bad = [(W * jnp.nan, b) for W, b in params]
        with pytest.raises(ValueError, match="finite"):
            resolve(lambda p, x: f(bad, x), params, X)


def test_a_model_object_without_apply_or_call_is_refused():
    with pytest.raises(ValueError, match="net: expected a linrelu.MLP, a model with apply"):
        lr.jacobian_gram(object(), [np.zeros((2, 2))], np.zeros((3, 2)))


def test_one_convnet_object_trains_and_is_measured():
    """The engine trains the same object the metrics analyse (no wrapper between them)."""
    from linrelu.continual.metrics import task_start_metrics

    net = ConvNet((8, 8, 1), 2)
    rng = np.random.default_rng(2)
    X = rng.normal(size=(20, 8, 8, 1))
    y = (X.mean(axis=(1, 2, 3)) > 0).astype(int)
    task = Task(0, X, y, X[:10], y[:10], X[:4], y[:4], "ce", 2)
    params = net.init(jax.random.PRNGKey(0))
    params, info = train_task(net, params, task, make_agent("bp", lr=0.05), epochs=1,
                              batch_size=10, key=jax.random.PRNGKey(1))
    m = task_start_metrics(net, params, task, (0.01,), spectrum=True)
    with float64():
        p64 = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), params)
        X4 = jnp.asarray(X[:4])
        f = jax.nn.softmax(net.apply(p64, X4))
        J = jax.jit(jax.jacrev(lambda t: net.apply(ravel_pytree(p64)[1](t), X4).reshape(-1)))(
            ravel_pytree(p64)[0])
    # GGN = (1/n) Jᵀ H J with H_i = diag(p_i) − p_i p_iᵀ; its nonzero spectrum is that of
    # (1/n) H^{1/2} J Jᵀ H^{1/2}
    H = np.zeros((8, 8))
    for i in range(4):
        pi = np.asarray(f[i])
        H[2 * i:2 * i + 2, 2 * i:2 * i + 2] = np.diag(pi) - np.outer(pi, pi)
    w, V = np.linalg.eigh(H)
    S = (V * np.sqrt(np.clip(w, 0, None))) @ V.T
    ref = np.sort(np.linalg.eigvalsh(S @ np.asarray(J @ J.T) @ S / 4))[::-1]
    assert m["lambda_max"] == pytest.approx(ref[0], rel=1e-8)
    assert m["lambda_max"] > 0
