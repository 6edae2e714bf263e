"""The continual engine with a user's model (issue 34, section 2): any model of the one protocol
trains through run_continual (wrap_model objects, unhashable objects, bare functions), the run
returns its trained params (and checkpoints them for any model), and what a model lacks is a
ValueError naming the argument."""

from __future__ import annotations

from dataclasses import dataclass

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import linrelu as lr
from linrelu.continual import (
    ContinualRun,
    as_model,
    init_agent_state,
    make_agent,
    make_stream,
    run_continual,
    start_task,
    train_task_with_state,
    weight_norm,
)
from linrelu.continual.engine import checkpoint_name
from linrelu.models.checkpoint import load_pytree


class _Flax(nn.Module):
    @nn.compact
    def __call__(self, x):
        h = nn.relu(nn.Dense(8)(x))
        return nn.Dense(10)(h), [h]


_MODULE = _Flax()
_PARAMS0 = _MODULE.init(jax.random.PRNGKey(0), jnp.zeros((1, 64)))["params"]


def _flax_net(features=True):
    return lr.wrap_model(lambda p, x: _MODULE.apply({"params": p}, x),
                         output=lambda out: out[0],
                         features=(lambda out: out[1]) if features else None)


def _stream(num_tasks=2):
    return make_stream("permuted_digits", seed=0, num_tasks=num_tasks, n_train=48, n_test=16,
                       n_probe=4)


def _leaves(tree):
    return [np.asarray(a) for a in jax.tree_util.tree_leaves(tree)]


def test_wrap_model_trains_and_the_run_returns_its_params():
    net, stream = _flax_net(), _stream()
    run = run_continual(net, stream, make_agent("l2", lr=0.1), epochs=1, batch_size=16, seed=0,
                        params=_PARAMS0)
    assert isinstance(run, ContinualRun) and isinstance(run, list)
    assert [r["task"] for r in run] == [0, 1] and len(run[0]["start"]["erank"]) == 1
    # the returned params: the Flax structure of params0, float64, trained (changed), and the
    # very params the last record's end metrics measured
    assert jax.tree_util.tree_structure(run.params) == jax.tree_util.tree_structure(_PARAMS0)
    assert all(a.dtype == np.float64 for a in _leaves(run.params))
    assert not np.allclose(_leaves(run.params)[0], _leaves(_PARAMS0)[0])
    assert weight_norm(run.params) == run[-1]["end"]["weight_norm"]
    assert int(run.state.step) == 3 * 2  # 48 // 16 steps per task, state carried across tasks
    task = stream.task(1)
    report = lr.diagnose(net, run.params, task.X_probe, task.y_probe, "ce")
    ev = lr.ggn_eigenvalues(net, run.params, task.X_probe, task.y_probe, "ce")
    assert np.isclose(report.lam_max, ev[0], rtol=1e-10)
    # the trained Flax model itself evaluates to the engine's end-of-task test accuracy
    logits, _ = _MODULE.apply({"params": run.params}, task.X_test)
    acc = float(np.mean(np.argmax(np.asarray(logits), 1) == task.y_test))
    assert acc == pytest.approx(run[-1]["train"]["test_accuracy"], abs=1e-12)


def test_run_params_are_the_hand_written_task_loop_params():
    """run.params is bit for bit what start_task → train_task_with_state over the stream gives
    from the same keys (the loop the engine documents), for an MLP and for the reset agent."""
    stream, net = _stream(), lr.MLP((64, 8, 10))
    for agent in (make_agent("bp", lr=0.1), make_agent("reset", lr=0.1)):
        run = run_continual(net, stream, agent, epochs=1, batch_size=16, seed=3,
                            end_metrics=False)
        key, init_key = jax.random.split(jax.random.PRNGKey(3))
        params = net.init(init_key)
        state = init_agent_state(net, params, agent)
        for task in stream:
            key, reset_key, train_key = jax.random.split(key, 3)
            if task.index > 0 and agent.reset:
                params = start_task(net, params, agent, reset_key)
                state = init_agent_state(net, params, agent)
            params, state, _ = train_task_with_state(net, params, state, task, agent,
                                                     epochs=1, batch_size=16, key=train_key)
        for a, b in zip(_leaves(run.params), _leaves(params), strict=True):
            np.testing.assert_array_equal(a, b)


@dataclass
class _Unhashable:  # a non-frozen dataclass: __hash__ is None
    width: int = 8

    def init(self, key):
        k1, k2 = jax.random.split(key)
        return {"W1": jax.random.normal(k1, (64, self.width)) / 8, "b1": jnp.zeros(self.width),
                "W2": jax.random.normal(k2, (self.width, 10)) / 3}

    def features(self, p, x):
        return [jax.nn.relu(x @ p["W1"] + p["b1"])]

    def apply(self, p, x):
        return self.features(p, x)[0] @ p["W2"]


def test_unhashable_model_and_bare_function_train():
    """Hashability is not needed: an unhashable model is keyed by identity (the same object
    reuses its compiled programs), as is a bare function, which has neither init nor features:
    its records leave the per-layer census out."""
    model = _Unhashable()
    with pytest.raises(TypeError):
        hash(model)
    assert as_model(model) == as_model(model) and hash(as_model(model)) == id(model)
    assert as_model(model) != as_model(_Unhashable())
    stream = _stream()
    run = run_continual(model, stream, make_agent("reset", lr=0.1), epochs=1, batch_size=16,
                        seed=0)
    assert set(run.params) == {"W1", "b1", "W2"} and len(run[1]["start"]["erank"]) == 1

    def f(p, x):
        return jnp.tanh(x @ p["W1"] + p["b1"]) @ p["W2"]

    run = run_continual(f, stream, make_agent("bp", lr=0.1), epochs=1, batch_size=16, seed=0,
                        params=model.init(jax.random.PRNGKey(1)))
    assert "erank" not in run[0]["start"] and "lambda_max" in run[0]["start"]
    assert run[1]["start"]["weight_norm"] == run[0]["end"]["weight_norm"]


def test_checkpoints_of_any_model(tmp_path):
    """checkpoint_dir works for a non-MLP model: the task-1 start file holds the params task 0
    ended with, i.e. a one-task run's params, bit for bit (task 0 and its keys do not depend
    on the number of tasks)."""
    net = _flax_net()
    run_continual(net, _stream(2), make_agent("bp", lr=0.1), epochs=1, batch_size=16, seed=0,
                  params=_PARAMS0, checkpoint_dir=tmp_path, checkpoint_tasks=(1,),
                  end_metrics=False)
    one = run_continual(net, _stream(1), make_agent("bp", lr=0.1), epochs=1, batch_size=16,
                        seed=0, params=_PARAMS0, end_metrics=False)
    saved = load_pytree(tmp_path / checkpoint_name(1), like=_PARAMS0)
    assert jax.tree_util.tree_structure(saved) == jax.tree_util.tree_structure(_PARAMS0)
    for a, b in zip(_leaves(saved), _leaves(one.params), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="like: expected a template with the saved key paths"):
        load_pytree(tmp_path / checkpoint_name(1), like={"W": np.zeros(3)})


@pytest.mark.parametrize("case, match", [
    ("no_params", "net: expected a model with init.*params is None"),
    ("reset_without_init", "net: expected a model with init.*'reset' draws fresh"),
    ("er_without_features", "net: expected a model with features.*'er' regularizes"),
    ("cbp_without_features", "net: expected a model with features.*'cbp'"),
    ("params_do_not_fit", "params: expected parameters that net.apply"),
    ("wrong_outputs", r"net: expected apply\(params, X\) to return \(n, 10\) logits"),
    ("checkpoint_dir", "checkpoint_dir: expected a directory path"),
    ("junk_net", "net: expected a linrelu.MLP, a model with apply"),
    ("class_not_instance", "net: expected a model instance"),
])
def test_what_a_model_lacks_is_a_value_error_naming_it(case, match):
    stream, agent, kw = _stream(1), make_agent("bp", lr=0.1), {"params": _PARAMS0}
    net = _flax_net()
    if case == "no_params":
        kw = {}
    elif case == "reset_without_init":
        agent = make_agent("reset", lr=0.1)
    elif case == "er_without_features":
        net, agent = _flax_net(features=False), make_agent("er", lr=0.1)
    elif case == "cbp_without_features":
        net, agent = _flax_net(features=False), make_agent("cbp", lr=0.1)
    elif case == "params_do_not_fit":
        kw = {"params": {"Dense_0": {"kernel": np.zeros((3, 8)), "bias": np.zeros(8)}}}
    elif case == "wrong_outputs":
        net = lambda p, x: x @ p["W"]  # noqa: E731 - 3 outputs for a 10-class stream
        kw = {"params": {"W": np.zeros((64, 3))}}
    elif case == "checkpoint_dir":
        kw["checkpoint_dir"] = 3
    elif case == "junk_net":
        net = object()
    elif case == "class_not_instance":
        net = _Unhashable
    with pytest.raises(ValueError, match=match):
        run_continual(net, stream, agent, epochs=1, batch_size=16, seed=0, **kw)
