"""Contracts of the model layer (issue 35): an MLP's logits are checked like any model's, and the
Equinox adapter gives the user's params back in the user's own structure and order."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import linrelu as lr


def test_overflowing_logits_are_the_same_error_for_an_mlp_and_a_generic_model():
    net = lr.MLP((3, 4, 2))
    params = [(np.asarray(W) * 1e200, np.asarray(b)) for W, b in net.init(jax.random.PRNGKey(0))]
    X, y = np.ones((2, 3)), np.array([0, 1])  # finite params and inputs, infinite logits
    for model in (net, lambda p, x: net.apply(p, x)):
        with pytest.raises(ValueError, match=r"^net: expected finite logits"):
            lr.loss_weighted_gram(model, params, X, y, "ce")


def test_equinox_layers_come_back_in_the_users_structure_and_order():
    eqx = pytest.importorskip("equinox")
    keys = jax.random.split(jax.random.PRNGKey(3), 2)
    layers = [eqx.nn.Linear(5, 7, key=keys[0]), eqx.nn.Linear(7, 3, key=keys[1])]
    X = np.random.default_rng(0).normal(size=(6, 5))
    y = np.array([0, 1, 2, 0, 1, 2])
    with lr.float64():
        l64 = [jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), m) for m in layers]

    def model(ls, x):  # the user's own Equinox model
        return jax.vmap(lambda v: ls[1](jax.nn.relu(ls[0](v))))(x)

    net, params = lr.mlp_from_dense_layers(layers, layout="out_in",
                                           apply=lambda x: model(l64, x), X=X)
    # the user's structure: the same list of Linear modules, every leaf float64 and equal
    assert jax.tree_util.tree_structure(params) == jax.tree_util.tree_structure(layers)
    for ours, theirs in zip(jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(l64)):
        assert ours.dtype == np.float64 and np.array_equal(np.asarray(ours), np.asarray(theirs))
    # the user's flat order: the Hessian of the Equinox model's own loss in ravel_pytree(layers)
    # order, by jax.hessian on the Equinox model (no linrelu code)
    with lr.float64():
        flat, unravel = ravel_pytree(l64)

        def loss(t):
            logits = model(unravel(t), jnp.asarray(X))
            return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(6), y])

        H_ref = np.asarray(jax.hessian(loss)(flat))
    H = lr.hessian_matrix(net, params, X, y, "ce")
    assert H.shape == H_ref.shape == (flat.size, flat.size)
    np.testing.assert_allclose(H, H_ref, rtol=0, atol=1e-12 * np.abs(H_ref).max())
    # the closed-form paths read the same structure
    K = lr.jacobian_gram(net, params, X)
    J = lr.jacobian(net, params, X)
    np.testing.assert_allclose(K, J @ J.T, rtol=0, atol=1e-12 * np.abs(K).max())


def test_all_finite_is_the_entrywise_test_also_where_the_sum_overflows():
    from linrelu.validation import all_finite

    big = np.full(8, 1e308)  # finite entries whose sum overflows to inf
    cases = [np.ones((3, 3)), big, np.array([1e308, -1e308, 1e308, -1e308]), np.arange(4)]
    for bad in (np.nan, np.inf, -np.inf):
        x = big.copy()
        x[3] = bad
        cases.append(x)
    for x in cases:
        assert all_finite(x) == bool(np.all(np.isfinite(x)))
    net = lr.MLP((2, 3, 1))
    params = [(np.full((2, 3), 1e308), np.zeros(3)), (np.ones((3, 1)), np.zeros(1))]
    assert len(net.check_params(params)) == 2  # huge but finite weights are accepted
    params[1] = (np.array([[1.0], [np.nan], [1.0]]), np.zeros(1))
    with pytest.raises(ValueError, match="^params: expected finite values, received NaN/Inf "
                                         "in W_2$"):
        net.check_params(params)
