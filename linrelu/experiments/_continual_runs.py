"""The continual runs shared by E5, E6 and E7.

One cell = one (stream, agent, seed, configuration) run of :func:`linrelu.continual.run_continual`.
E5, E6 and E7 build their cells with :func:`continual_cells` and compute them with the same
:func:`run_cell`, so the runner's cache (keyed by run_cell's qualified name and the cell dict)
computes each run once and all three experiments read it.

Quick configuration (tuned by measurement, see the final report of issue 5): random-label digits,
128 images per task, MLP (64, 128, 128, 10) in the NTK parameterization (σ_b = 0), SGD step 10,
30 epochs of minibatch 32 per task (120 steps), 50 tasks. With these settings plain SGD (bp)
memorizes the first tasks to ≈ 95 % and then loses plasticity (accuracy falls to chance while
most hidden units die), while l2_er (κ = 5e-5, β = 1) keeps learning every task.
"""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from linrelu.continual import make_agent, make_stream, run_continual
from linrelu.experiments.base import to_jsonable
from linrelu.mlp import MLP

QUICK = {"stream": "random_label_digits", "num_tasks": 50, "n_train": 128, "n_probe": 50,
         "width": 128, "depth": 2, "lr": 10.0, "l2": 5e-5, "er": 1.0, "epochs": 30,
         "batch_size": 32, "slq_order": 60, "slq_runs": 3}
QUICK_SEEDS = (0, 1)
FULL_SEEDS = (0, 1, 2, 3, 4)
EPS_LADDER = (1e-4, 1e-3, 1e-2, 1e-1)
SLQ_EPS = (1e-4, 1e-3, 1e-2)
CELL_AGENTS = ("bp", "l2", "er", "l2_er", "reset")  # cbp joins with the paper streams (issue 14)


def _with_slq(cfg: dict) -> dict:
    """Early and late SLQ tasks: task 5 (after a few tasks of training) and the last task."""
    return {**cfg, "slq_tasks": [min(5, cfg["num_tasks"] - 1), cfg["num_tasks"] - 1]}


def continual_cells(mode: str) -> list:
    """The shared cells: one per (config, agent, seed). Identical dicts for E5, E6 and E7."""
    if mode not in ("quick", "full"):
        raise ValueError(f"mode: expected 'quick' or 'full', received {mode!r}")
    if mode == "quick":
        configs, seeds = [_with_slq(QUICK)], QUICK_SEEDS
    else:
        long = {**QUICK, "num_tasks": 150}
        configs = [_with_slq(long), _with_slq({**long, "width": 256}),
                   _with_slq({**QUICK, "stream": "permuted_digits", "n_train": 512, "lr": 1.0,
                              "epochs": 5, "num_tasks": 100}),
                   _with_slq({**QUICK, "stream": "teacher_regression", "n_train": 256,
                              "n_probe": 100, "lr": 1.0, "epochs": 20, "num_tasks": 100})]
        seeds = FULL_SEEDS
    return [{**cfg, "agent": agent, "seed": seed}
            for cfg in configs for agent in CELL_AGENTS for seed in seeds]


def _stream_options(cell: dict) -> dict:
    opts = {"n_train": cell["n_train"], "n_probe": cell["n_probe"]}
    if cell["stream"] == "teacher_regression":
        opts["in_dim"] = 16
    return opts


def _compact(metrics: dict) -> dict:
    """Drop the full eigenvalue list (kept only where an SLQ density is also recorded)."""
    return {k: v for k, v in metrics.items() if k != "ggn_eigenvalues"}


def run_cell(cell: dict) -> dict:
    """Run one continual cell; per-task records (start/end metrics, training info, SLQ)."""
    stream = make_stream(cell["stream"], seed=cell["seed"], num_tasks=cell["num_tasks"],
                         **_stream_options(cell))
    net = MLP((stream.in_dim, *([cell["width"]] * cell["depth"]), stream.out_dim))
    agent = make_agent(cell["agent"], lr=cell["lr"], l2=cell["l2"], er=cell["er"])
    with tqdm(total=cell["num_tasks"], desc=f"  {cell['agent']} seed {cell['seed']}",
              unit="task", leave=False) as bar:  # a cell runs for tens of seconds: show ETA
        records = run_continual(
            net, stream, agent, epochs=cell["epochs"], batch_size=cell["batch_size"],
            seed=cell["seed"], eps_ladder=EPS_LADDER, slq_tasks=cell["slq_tasks"],
            slq_options={"order": cell["slq_order"], "num_runs": cell["slq_runs"],
                         "eps_values": SLQ_EPS},
            on_record=lambda _record: bar.update(1))
    out = []
    for r in records:
        rec = {"task": r["task"], "train": r["train"], "end": _compact(r["end"]),
               "start": r["start"] if "slq" in r else _compact(r["start"])}
        if "slq" in r:
            rec["slq"] = r["slq"]
        out.append(rec)
    return to_jsonable({"cell": cell, "num_params": net.num_params, "records": out})


def select(cells: list, results: list, **match) -> list:
    """The (cell, result) pairs whose cell matches every key=value in ``match``."""
    return [(c, r) for c, r in zip(cells, results)
            if all(c.get(k) == v for k, v in match.items())]


def as_float(x) -> float:
    """Inverse of to_jsonable for scalars ("nan"/"inf" strings back to floats)."""
    return float(x) if not isinstance(x, str) else float(x.replace("inf", "Infinity")
                                                           if x != "nan" else "nan")


def series(result: dict, phase: str, key: str, sub=None) -> np.ndarray:
    """Per-task array of ``record[phase][key]`` (or ``[key][sub]``; a list → mean over layers)."""
    vals = []
    for r in result["records"]:
        v = r[phase][key]
        if sub is not None:
            v = v[sub]
        vals.append(np.mean([as_float(x) for x in v]) if isinstance(v, list) else as_float(v))
    return np.asarray(vals, dtype=np.float64)


def config_label(cell: dict) -> str:
    return (f"{cell['stream']}, width {cell['width']}×{cell['depth']}, lr {cell['lr']}, "
            f"{cell['num_tasks']} tasks")


def config_key(cell: dict) -> tuple:
    """Everything but agent and seed: the configuration a cell belongs to."""
    return tuple(sorted((k, str(v)) for k, v in cell.items() if k not in ("agent", "seed")))
