"""The continual-learning loop: for each task, (reset,) measure at the start, train, measure at
the end, and every ``slq_every`` tasks estimate the true Hessian's density by SLQ at task start.

Any model (:mod:`linrelu.continual.model`): an MLP, or e.g. :class:`linrelu.convnet.ConvNet`.
The agent's state (optimizer momentum, continual-backprop utilities and ages) is carried from
task to task like the network and its output head (the authors' protocol); ``reset`` starts
both afresh at every task.
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from linrelu.continual.agents import AgentConfig
from linrelu.continual.metrics import DEFAULT_EPS_LADDER, task_start_metrics
from linrelu.continual.model import as_model
from linrelu.continual.streams import Stream, Task
from linrelu.continual.train import (
    as_float64,
    check_model_task,
    init_agent_state,
    start_task,
    train_task_with_state,
)
from linrelu.mlp import MLP
from linrelu.precision import float64
from linrelu.validation import check_positive_int, describe

DEFAULT_SLQ_EPS = (1e-3, 1e-2, 1e-1)


def hessian_density(net, params, task: Task, *, order: int = 60, num_runs: int = 3,
                    seed: int = 0, eps_values=DEFAULT_SLQ_EPS, grid_size: int = 2000) -> dict:
    """SLQ density of the true Hessian ∇²L on the task's probe set, plus its normalized ε-ranks
    (mass outside [−ε, ε]) and extreme Ritz values. JSON-able. ``net``: an MLP or a model."""
    from jax.flatten_util import ravel_pytree

    from linrelu.curvature import hessian_vector_product
    from linrelu.lanczos import ritz_measure_mass_outside, slq_density
    from linrelu.spectra import density_mass_outside

    model = check_model_task(net, task)
    y = task.y_probe.astype(np.int64) if task.loss == "ce" else task.y_probe
    with float64():
        params = as_float64(params)
        hvp = hessian_vector_product(model, task.X_probe, y, task.loss, params=params)
        flat = ravel_pytree(params)[0]
        d = slq_density(hvp, flat, order=order, num_runs=num_runs, seed=seed,
                        grid_size=grid_size)
    return {
        "grid": d.grid, "density": d.density, "sigma": d.sigma,
        "ritz_min": float(min(t.min() for t in d.ritz_values)),
        "ritz_max": float(max(t.max() for t in d.ritz_values)),
        "mass_outside": {repr(float(e)): density_mass_outside(d.grid, d.density, e)
                         for e in eps_values},
        "ritz_mass_outside": {repr(float(e)): ritz_measure_mass_outside(d, e)
                              for e in eps_values},
    }


def run_continual(net, stream: Stream, agent: AgentConfig, *, epochs: int, batch_size: int,
                  seed: int, eps_ladder=DEFAULT_EPS_LADDER, slq_every: int | None = None,
                  slq_tasks=(), slq_options: dict | None = None, checkpoint_dir=None,
                  checkpoint_tasks=(), on_record=None, end_metrics: bool = True,
                  spectrum_every: int = 1, census="train",
                  evaluate_train: bool = True) -> list:
    """Run ``agent`` on every task of ``stream``; return one record per task.

    Record of task i: {"task": i, "start": metrics at task start (after a reset, before
    training), "end": metrics after the budget, "train": train_task's info, and, when
    i % slq_every == 0 or i in slq_tasks, "slq": :func:`hessian_density` at task start}.
    ``checkpoint_dir``: the params at the start of each task in ``checkpoint_tasks`` are saved
    with :func:`linrelu.checkpoint.save_params` as ``task{i:04d}_start.npz``.
    ``on_record(record)`` is called after each task (e.g. to write progress).
    ``end_metrics=False`` leaves "end" out (it costs as much as "start": half the metric time).
    ``spectrum_every`` K: the exact GGN spectrum (and its summaries) is part of the start metrics
    of tasks i with i % K == 0 and of the last task; the census (dead units, effective rank on
    ``census`` inputs, norms, accuracies) is taken at every task start
    (:func:`linrelu.continual.metrics.task_start_metrics`). ``evaluate_train=False``: the
    training-set loss/accuracy after training are left out of "train" (online and held-out
    accuracy stay).
    ``net``: a :class:`linrelu.MLP` or any model (:mod:`linrelu.continual.model`); checkpoints
    are written for MLPs only (the .npz layout of :mod:`linrelu.checkpoint`).
    """
    model = as_model(net)
    if not isinstance(stream, Stream):
        raise ValueError(f"stream: expected a Stream from make_stream, received "
                         f"{describe(stream)}")
    if slq_every is not None:
        check_positive_int(slq_every, "slq_every")
    check_positive_int(spectrum_every, "spectrum_every")
    slq_tasks = {int(t) for t in slq_tasks}
    slq_options = dict(slq_options or {})
    if checkpoint_dir is not None and not isinstance(model, MLP):
        raise ValueError(f"checkpoint_dir: expected None for a non-MLP model (checkpoints store "
                         f"MLPs), received {checkpoint_dir!r}")
    key = jax.random.PRNGKey(seed)
    key, init_key = jax.random.split(key)
    with float64():  # MLP.init draws float64; the ConvNet's float32 init is upcast exactly
        params = as_float64(model.init(init_key))
    state = init_agent_state(model, params, agent)
    records = []
    for task in stream:
        key, reset_key, train_key = jax.random.split(key, 3)
        if task.index > 0 and agent.reset:
            with float64():
                params = as_float64(start_task(model, params, agent, reset_key))
            state = init_agent_state(model, params, agent)
        if checkpoint_dir is not None and task.index in set(checkpoint_tasks):
            from linrelu.checkpoint import save_params

            Path(checkpoint_dir).mkdir(parents=True, exist_ok=True)
            save_params(Path(checkpoint_dir) / f"task{task.index:04d}_start.npz", model,
                        params)
        with_spectrum = task.index % spectrum_every == 0 or task.index == len(stream) - 1
        record = {"task": task.index,
                  "start": task_start_metrics(model, params, task, eps_ladder,
                                              spectrum=with_spectrum, census=census,
                                              accuracies=False)}
        if (slq_every and task.index % slq_every == 0) or task.index in slq_tasks:
            record["slq"] = hessian_density(model, params, task, seed=seed + task.index,
                                            **slq_options)
        params, state, info = train_task_with_state(model, params, state, task, agent,
                                                    epochs=epochs, batch_size=batch_size,
                                                    key=train_key,
                                                    evaluate_train=evaluate_train)
        record["train"] = info
        if end_metrics:
            record["end"] = task_start_metrics(model, params, task, eps_ladder,
                                               spectrum=with_spectrum, census=census)
        records.append(record)
        if on_record is not None:
            on_record(record)
    return records
