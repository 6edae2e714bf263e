"""A population of runs trained as one vmapped program reproduces each member's lone run, and
the online accuracy the trainer reports is that of an independent, hand-written SGD loop."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from linrelu.continual import (
    Task,
    make_agent,
    population_pays,
    train_population,
    train_task_with_state,
)
from linrelu.models.mlp import MLP


def _task(seed, n=48, d=6, k=3):
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(n, d)), rng.integers(0, k, n)
    return Task(0, X, y, X[:10], y[:10], X[:5], y[:5], "ce", k)


@pytest.mark.parametrize("agent_name", ["bp", "l2", "cbp"])
def test_population_member_matches_its_lone_run(agent_name):
    net = MLP((6, 7, 5, 3), parameterization="standard", sigma_b=0.0)
    lrs = [0.05, 0.2, 0.1]
    extra = {"replacement_rate": 0.05, "maturity_threshold": 3} if agent_name == "cbp" else {}
    agent = make_agent(agent_name, lr=lrs[0], **extra)
    params = [net.init(jax.random.PRNGKey(s)) for s in range(3)]
    tasks = [_task(s) for s in range(3)]
    keys = [jax.random.PRNGKey(10 + s) for s in range(3)]
    pop_params, pop_states, pop_infos = train_population(
        net, params, [None] * 3, tasks, agent, lrs=lrs, epochs=2, batch_size=4, keys=keys)
    for p in range(3):
        lone = make_agent(agent_name, lr=lrs[p], **extra)
        q, state, info = train_task_with_state(net, params[p], None, tasks[p], lone, epochs=2,
                                               batch_size=4, key=keys[p])
        # 24 float32 SGD steps: a batched matmul may sum in another order, so members agree
        # with their lone run to float32 rounding amplified over the steps (≈ 1e-6 relative),
        # not bit for bit; a wrong lr, key or task per member differs at the 1e-2 level.
        for a, b in zip(jax.tree_util.tree_leaves(pop_params[p]),
                        jax.tree_util.tree_leaves(q), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
        assert pop_infos[p]["online_accuracy"] == pytest.approx(info["online_accuracy"])
        assert pop_infos[p]["steps"] == info["steps"] == 24
        assert int(pop_states[p].step) == int(state.step) == 24
    # the members really differ (different lr, data, init)
    assert not np.allclose(pop_params[0][0][0], pop_params[1][0][0])


@pytest.mark.parametrize("agent_name", ["bp", "er"])
def test_convnet_population_member_matches_its_lone_run(agent_name):
    """The ConvNet (one jitted step at a time) as a population: every step and ER step vmapped."""
    from linrelu.models.convnet import ConvNet

    net = ConvNet((8, 8, 1), 2)
    lrs = [0.05, 0.2]
    extra = {"er_mode": "separate", "er_lr": 0.01, "er_every": 2} if agent_name == "er" else {}
    rng = np.random.default_rng(0)
    tasks = []
    for _ in range(2):
        X, y = rng.random((8, 8, 8, 1)), rng.integers(0, 2, 8)
        tasks.append(Task(0, X, y, X[:4], y[:4], X[:2], y[:2], "ce", 2))
    params = [net.init(jax.random.PRNGKey(s)) for s in range(2)]
    keys = [jax.random.PRNGKey(20 + s) for s in range(2)]
    # er: one ER step (at step 0 of the one epoch's 2 steps). A second ER step would amplify the
    # members' round-off differences ≈ 10⁴-fold (the ER gradient's null-space part is decided by
    # round-off), beyond what a float32 comparison can tell from a wrong lr, key or task.
    epochs = 1 if agent_name == "er" else 2
    pop_params, _, pop_infos = train_population(
        net, params, [None] * 2, tasks, make_agent(agent_name, lr=lrs[0], **extra), lrs=lrs,
        epochs=epochs, batch_size=4, keys=keys)
    for p in range(2):
        q, _, info = train_task_with_state(net, params[p], None, tasks[p],
                                           make_agent(agent_name, lr=lrs[p], **extra),
                                           epochs=epochs, batch_size=4, key=keys[p])
        # ≤ 4 float32 steps: batched convolutions may sum in another order
        for a, b in zip(jax.tree_util.tree_leaves(pop_params[p]),
                        jax.tree_util.tree_leaves(q), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
        assert pop_infos[p]["online_accuracy"] == pytest.approx(info["online_accuracy"])
    moved = max(float(np.abs(np.asarray(a) - np.asarray(b)).max()) for a, b in zip(
        jax.tree_util.tree_leaves(pop_params[1]), jax.tree_util.tree_leaves(params[1])))
    assert moved > 1e-3


def test_population_bad_input_names_the_argument():
    net = MLP((6, 4, 3))
    p = net.init(jax.random.PRNGKey(0))
    agent = make_agent("bp", lr=0.1)
    with pytest.raises(ValueError, match="lrs"):
        train_population(net, [p, p], [None, None], [_task(0), _task(1)], agent, lrs=[0.1],
                         epochs=1, batch_size=4, keys=[jax.random.PRNGKey(0)] * 2)
    with pytest.raises(ValueError, match="tasks"):
        train_population(net, [p, p], [None, None], [_task(0), _task(1, n=40)], agent,
                         lrs=[0.1, 0.1], epochs=1, batch_size=4,
                         keys=[jax.random.PRNGKey(0)] * 2)
    assert population_pays() is (jax.default_backend() != "cpu")


def test_online_accuracy_is_that_of_a_hand_written_loop():
    """Plain SGD, minibatch 1, written here with numpy-free jax.grad on a hand-coded MLP: the
    fraction of examples whose prediction *before* their own update is right."""
    net = MLP((6, 7, 3), parameterization="standard", sigma_b=0.0)
    task = _task(3, n=30)
    params = net.init(jax.random.PRNGKey(1))
    agent = make_agent("bp", lr=0.3)
    key = jax.random.PRNGKey(7)
    _, _, info = train_task_with_state(net, params, None, task, agent, epochs=1, batch_size=1,
                                       key=key)
    order = np.asarray(jax.random.permutation(jax.random.split(key, 1)[0], 30))
    (W1, b1), (W2, b2) = [(jnp.asarray(W, jnp.float32), jnp.asarray(b, jnp.float32))
                          for W, b in params]
    theta = [W1, b1, W2, b2]

    def logits(t, x):
        return jax.nn.relu(x @ t[0] + t[1]) @ t[2] + t[3]

    def loss(t, x, y):
        return -jax.nn.log_softmax(logits(t, x))[y]

    right = 0
    for i in order:
        x, y = jnp.asarray(task.X[i], jnp.float32), int(task.y[i])
        right += int(jnp.argmax(logits(theta, x)) == y)
        g = jax.grad(loss)(theta, x, y)
        theta = [a - 0.3 * b for a, b in zip(theta, g)]
    assert info["online_accuracy"] == pytest.approx(right / 30)
    assert 0 < right < 30  # a non-degenerate count


def test_training_programs_trace_in_full_float32():
    """Lone and population training trace the model under float32_matmuls, so that no backend
    rounds a product's operands to TensorFloat-32 (on an H200 that made a ConvNet population
    member differ from its lone run by 1.5e-4 after 4 steps, failing the test above:
    linrelu.continual.train.float32_matmuls). XLA:CPU computes in float32 either way, so on the
    CPU the test can only see the scope in force: the precision each trace of ``apply`` ran
    under (None, JAX's default, before the fix)."""
    from dataclasses import dataclass

    seen = []

    @dataclass(frozen=True)
    class Recording:
        net: MLP

        def init(self, key):
            return self.net.init(key)

        def apply(self, params, X):
            if X.dtype == jnp.float32:  # training; the float64 evaluations have no TF32 to fear
                seen.append(jax.config.jax_default_matmul_precision)
            return self.net.apply(params, X)

        def features(self, params, X):
            return self.net.features(params, X)

    model = Recording(MLP((6, 5, 3), parameterization="standard", sigma_b=0.0))
    agent, task = make_agent("bp", lr=0.1), _task(0, n=8)
    params = model.init(jax.random.PRNGKey(0))
    train_task_with_state(model, params, None, task, agent, epochs=1, batch_size=4,
                          key=jax.random.PRNGKey(1), evaluate_train=False)
    lone = len(seen)
    train_population(model, [params] * 2, [None] * 2, [task] * 2, agent, lrs=[0.1, 0.2],
                     epochs=1, batch_size=4, keys=[jax.random.PRNGKey(1)] * 2)
    assert 0 < lone < len(seen)  # both paths traced apply
    assert set(seen) == {"float32"}, seen
