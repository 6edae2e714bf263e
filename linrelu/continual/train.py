"""Training one task: minibatch SGD on the agent's objective, jit-compiled with ``lax.scan``.

One call of :func:`train_task` runs ``epochs`` epochs; each epoch draws a fresh permutation of
the task's training set and scans over its ``n // batch_size`` full minibatches (the remainder
of a permutation is dropped). Training is in float32 (speed); the returned params are float64
for spectral work.
"""

from __future__ import annotations

from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np

from linrelu._checks import check_positive_int, describe
from linrelu.continual.agents import AgentConfig, regularized_objective
from linrelu.continual.streams import Task
from linrelu.losses import mean_loss
from linrelu.mlp import MLP, forward


def _check_net_task(net, task):
    if not isinstance(net, MLP):
        raise ValueError(f"net: expected a linrelu.MLP, received {describe(net)}")
    if not isinstance(task, Task):
        raise ValueError(f"task: expected a linrelu.continual.Task, received {describe(task)}")
    if task.X.shape[1] != net.in_dim or task.out_dim != net.out_dim:
        raise ValueError(f"task: expected inputs of dimension {net.in_dim} and {net.out_dim} "
                         f"outputs to match net {net.layer_sizes}, received X of shape "
                         f"{task.X.shape} and out_dim {task.out_dim}")


@lru_cache(maxsize=64)
def _trainer(net: MLP, agent: AgentConfig, loss: str, n: int, batch_size: int, epochs: int):
    """A jitted ``(params32, X, y, key) -> params32`` running ``epochs`` epochs of SGD."""
    steps = n // batch_size

    def sgd_step(params, batch):
        Xb, yb = batch
        g = jax.grad(regularized_objective(net, agent, Xb, yb, loss))(params)
        return jax.tree_util.tree_map(lambda p, gp: p - agent.lr * gp, params, g), None

    @jax.jit
    def run(params, X, y, key):
        def epoch(params, epoch_key):
            order = jax.random.permutation(epoch_key, n)[:steps * batch_size]
            order = order.reshape(steps, batch_size)
            return jax.lax.scan(sgd_step, params, (X[order], y[order]))[0], None

        return jax.lax.scan(epoch, params, jax.random.split(key, epochs))[0]

    return run


def _as_float32(params):
    return [(jnp.asarray(W, jnp.float32), jnp.asarray(b, jnp.float32)) for W, b in params]


def _as_float64(params):
    return [(jnp.asarray(W, jnp.float64), jnp.asarray(b, jnp.float64)) for W, b in params]


def evaluate(net: MLP, params, X, y, loss: str) -> dict:
    """{"loss": L, "accuracy": …} in float64. ce accuracy = fraction of argmax f = y;
    mse "accuracy" = R² = 1 − Σ‖f − y‖² / Σ‖y − ȳ‖² (ȳ the mean target; 1 is perfect)."""
    X = jnp.asarray(X, jnp.float64)
    f = forward(net, _as_float64(params), X)
    if loss == "ce":
        yj = jnp.asarray(y, jnp.int32)
        return {"loss": float(mean_loss(f, yj, loss)),
                "accuracy": float(np.mean(np.asarray(jnp.argmax(f, axis=1)) == np.asarray(y)))}
    yj = jnp.asarray(y, jnp.float64)
    ss_res = float(jnp.sum((f - yj) ** 2))
    ss_tot = float(jnp.sum((yj - jnp.mean(yj, axis=0)) ** 2))
    return {"loss": float(mean_loss(f, yj, loss)),
            "accuracy": 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")}


def train_task(net: MLP, params, task: Task, agent: AgentConfig, *, epochs: int,
               batch_size: int, key) -> tuple[list, dict]:
    """Train on ``task`` for ``epochs`` epochs of minibatch SGD on the agent's objective.

    Returns ``(params, info)``: float64 params and info = {"loss", "accuracy"} on the training
    set after training, "test_loss", "test_accuracy" on the task's test set, "steps" (SGD steps
    taken). For mse, "accuracy" is R² (see :func:`evaluate`).
    """
    _check_net_task(net, task)
    if not isinstance(agent, AgentConfig):
        raise ValueError(f"agent: expected an AgentConfig from make_agent, received "
                         f"{describe(agent)}")
    params = net.check_params(params)
    check_positive_int(epochs, "epochs")
    check_positive_int(batch_size, "batch_size")
    n = task.X.shape[0]
    if batch_size > n:
        raise ValueError(f"batch_size: expected at most the task's {n} training examples, "
                         f"received {batch_size}")
    run = _trainer(net, agent, task.loss, n, int(batch_size), int(epochs))
    y = task.y.astype(np.int32) if task.loss == "ce" else task.y.astype(np.float32)
    out = run(_as_float32(params), jnp.asarray(task.X, jnp.float32), jnp.asarray(y), key)
    out = _as_float64(out)
    info = evaluate(net, out, task.X, task.y, task.loss)
    test = evaluate(net, out, task.X_test, task.y_test, task.loss)
    info.update(test_loss=test["loss"], test_accuracy=test["accuracy"],
                steps=int(epochs) * (n // int(batch_size)))
    return out, info


def start_task(net: MLP, params, agent: AgentConfig, key) -> list:
    """The params a task starts from: a fresh ``net.init(key)`` for ``reset``, else ``params``."""
    if agent.reset:
        return net.init(key)
    return params
