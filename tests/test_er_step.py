"""The authors' separate ER step: its gradient against central finite differences, in float64, at
points with and without dead units (repeated zero eigenvalues), and the step the trainer takes."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from linrelu.continual import make_agent, mean_erank
from linrelu.models.mlp import MLP
from linrelu.precision import float64


def _objective(model, X):
    return lambda p: -mean_erank(model.features(p, X))


@pytest.mark.parametrize("dead_units", [0, 3])
def test_er_gradient_matches_central_differences(dead_units):
    net = MLP((5, 8, 6, 3), parameterization="standard", sigma_b=0.3)
    model = net
    rng = np.random.default_rng(dead_units)
    with float64():
        params = net.init(jax.random.PRNGKey(2))
        if dead_units:  # units silent on every input: repeated zero eigenvalues of the Gram
            W, b = params[0]
            params[0] = (W.at[:, :dead_units].set(0.0), b.at[:dead_units].set(-1.0))
        X = jnp.asarray(rng.normal(size=(12, 5)))
        f = _objective(model, X)
        g = jax.grad(f)(params)
        flat_g = jax.flatten_util.ravel_pytree(g)[0]
        flat, unravel = jax.flatten_util.ravel_pytree(params)
        for _ in range(4):
            v = jnp.asarray(rng.normal(size=flat.size))
            if dead_units:  # keep the dead units dead (the function is smooth only there)
                mask = jax.flatten_util.ravel_pytree(
                    [(jnp.ones_like(W).at[:, :dead_units].set(0.0),
                      jnp.ones_like(b).at[:dead_units].set(0.0)) if i == 0 else
                     (jnp.ones_like(W), jnp.ones_like(b)) for i, (W, b) in enumerate(params)])[0]
                v = v * mask
            h = 1e-5
            fd = (f(unravel(flat + h * v)) - f(unravel(flat - h * v))) / (2 * h)
            # central differences: truncation O(h²·f''') ≈ 1e-10 and round-off ε/h ≈ 1e-11 on
            # a directional derivative of size O(1): 1e-6 relative leaves a wide margin, while
            # a wrong tangent (e.g. the 1/(λ_i − λ_j) rule at repeated λ) is off by O(1) or NaN
            np.testing.assert_allclose(float(flat_g @ v), float(fd), rtol=1e-6, atol=1e-9)


def test_trainer_takes_the_er_step_it_documents():
    """One training step of the er agent with a zero-loss-gradient-free check: with a loss step
    of 1e-12 the update is the ER step θ − η_er ∇(−mean erank) on the first er_every examples."""
    from linrelu.continual import Task, train_task

    net = MLP((4, 6, 5, 3), parameterization="standard", sigma_b=0.0)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(6, 4)), rng.integers(0, 3, 6)
    task = Task(0, X, y, X, y, X, y, "ce", 3)
    params = net.init(jax.random.PRNGKey(0))
    agent = make_agent("er", lr=1e-12, er_mode="separate", er_lr=0.05, er_every=6)
    key = jax.random.PRNGKey(4)
    out, _ = train_task(net, params, task, agent, epochs=1, batch_size=1, key=key)
    order = np.asarray(jax.random.permutation(jax.random.split(key, 1)[0], 6))
    with float64():
        p32 = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float32), params)
        g = jax.grad(_objective(net, jnp.asarray(X[order], jnp.float32)))(p32)
        want = jax.tree_util.tree_map(lambda p, d: p - 0.05 * d, p32, g)
    for a, b in zip(jax.tree_util.tree_leaves(out), jax.tree_util.tree_leaves(want)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)  # float32 training
    assert max(float(np.abs(np.asarray(a) - np.asarray(b)).max())
               for a, b in zip(jax.tree_util.tree_leaves(out),
                               jax.tree_util.tree_leaves(params))) > 1e-4  # it moved
