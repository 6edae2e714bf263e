"""The continual-learning loop: for each task, (reset,) measure at the start, train, measure at
the end, and every ``slq_every`` tasks estimate the true Hessian's density by SLQ at task start.
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from linrelu._checks import check_positive_int, describe
from linrelu.continual.agents import AgentConfig
from linrelu.continual.metrics import DEFAULT_EPS_LADDER, task_start_metrics
from linrelu.continual.streams import Stream, Task
from linrelu.continual.train import _as_float64, start_task, train_task
from linrelu.mlp import MLP, ravel_params

DEFAULT_SLQ_EPS = (1e-3, 1e-2, 1e-1)


def hessian_density(net: MLP, params, task: Task, *, order: int = 60, num_runs: int = 3,
                    seed: int = 0, eps_values=DEFAULT_SLQ_EPS, grid_size: int = 2000) -> dict:
    """SLQ density of the true Hessian ∇²L on the task's probe set, plus its normalized ε-ranks
    (mass outside [−ε, ε]) and extreme Ritz values. JSON-able."""
    from linrelu.curvature import hessian_vector_product
    from linrelu.lanczos import ritz_measure_mass_outside, slq_density
    from linrelu.spectra import density_mass_outside

    y = task.y_probe.astype(np.int64) if task.loss == "ce" else task.y_probe
    hvp = hessian_vector_product(net, task.X_probe, y, task.loss)
    flat = ravel_params(_as_float64(params))
    d = slq_density(hvp, flat, order=order, num_runs=num_runs, seed=seed, grid_size=grid_size)
    return {
        "grid": d.grid, "density": d.density, "sigma": d.sigma,
        "ritz_min": float(min(t.min() for t in d.ritz_values)),
        "ritz_max": float(max(t.max() for t in d.ritz_values)),
        "mass_outside": {repr(float(e)): density_mass_outside(d.grid, d.density, e)
                         for e in eps_values},
        "ritz_mass_outside": {repr(float(e)): ritz_measure_mass_outside(d, e)
                              for e in eps_values},
    }


def run_continual(net: MLP, stream: Stream, agent: AgentConfig, *, epochs: int, batch_size: int,
                  seed: int, eps_ladder=DEFAULT_EPS_LADDER, slq_every: int | None = None,
                  slq_tasks=(), slq_options: dict | None = None, checkpoint_dir=None,
                  checkpoint_tasks=(), on_record=None) -> list:
    """Run ``agent`` on every task of ``stream``; return one record per task.

    Record of task i: {"task": i, "start": metrics at task start (after a reset, before
    training), "end": metrics after the budget, "train": train_task's info, and, when
    i % slq_every == 0 or i in slq_tasks, "slq": :func:`hessian_density` at task start}.
    ``checkpoint_dir``: the params at the start of each task in ``checkpoint_tasks`` are saved
    with :func:`linrelu.checkpoint.save_params` as ``task{i:04d}_start.npz``.
    ``on_record(record)`` is called after each task (e.g. to write progress).
    """
    if not isinstance(stream, Stream):
        raise ValueError(f"stream: expected a Stream from make_stream, received "
                         f"{describe(stream)}")
    if slq_every is not None:
        check_positive_int(slq_every, "slq_every")
    slq_tasks = {int(t) for t in slq_tasks}
    slq_options = dict(slq_options or {})
    key = jax.random.PRNGKey(seed)
    key, init_key = jax.random.split(key)
    params = net.init(init_key)
    records = []
    for task in stream:
        key, reset_key, train_key = jax.random.split(key, 3)
        if task.index > 0:
            params = start_task(net, params, agent, reset_key)
        params = _as_float64(params)
        if checkpoint_dir is not None and task.index in set(checkpoint_tasks):
            from linrelu.checkpoint import save_params

            Path(checkpoint_dir).mkdir(parents=True, exist_ok=True)
            save_params(Path(checkpoint_dir) / f"task{task.index:04d}_start.npz", net, params)
        record = {"task": task.index, "start": task_start_metrics(net, params, task, eps_ladder)}
        if (slq_every and task.index % slq_every == 0) or task.index in slq_tasks:
            record["slq"] = hessian_density(net, params, task, seed=seed + task.index,
                                            **slq_options)
        params, info = train_task(net, params, task, agent, epochs=epochs,
                                  batch_size=batch_size, key=train_key)
        record["train"] = info
        record["end"] = task_start_metrics(net, params, task, eps_ladder)
        records.append(record)
        if on_record is not None:
            on_record(record)
    return records
