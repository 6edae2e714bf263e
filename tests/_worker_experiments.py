"""A tiny experiment that spawned Dask workers can import (used by tests/test_executor.py).

A registry monkeypatched in the test process is invisible to worker processes, so the tests name
this module in ``runner.REGISTRY_ENV`` ("_worker_experiments:registry"), which the driver and
every worker read. With ``PID_DIR_ENV`` set, cell 3 writes its worker's pid to ``PID_DIR/pid``
and sleeps, the first time only, so that a test can kill the worker running it; with
``RAISE_ENV`` set, the cell of that seed raises.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from linrelu.experiments.base import Claim, Experiment

PID_DIR_ENV = "LINRELU_TEST_PID_DIR"
RAISE_ENV = "LINRELU_TEST_RAISE_SEED"  # the cell with this seed raises
SLOW_SEED = 3


def cells(mode):
    return [{"seed": s, "size": 5} for s in range(6)]


def run_cell(cell):
    pid_dir = os.environ.get(PID_DIR_ENV)
    if pid_dir and cell["seed"] == SLOW_SEED:
        marker = Path(pid_dir) / "pid"
        if not marker.exists():  # first attempt: say which process runs it, then wait to be killed
            tmp = marker.with_suffix(".tmp")
            tmp.write_text(str(os.getpid()))
            os.replace(tmp, marker)
            time.sleep(60)
    if os.environ.get(RAISE_ENV) == str(cell["seed"]):
        raise ValueError(f"cell {cell['seed']} fails on purpose")
    rng = np.random.default_rng(cell["seed"])
    x = rng.normal(size=cell["size"])
    return {"mean": float(x.mean()), "x": x, "pid_free": True}


def summarize(cells, results):
    m = float(np.mean([r["mean"] for r in results]))
    return {"m": m}, [Claim("W.mean", "mean is finite", f"{m:.3f}", "finite",
                            bool(np.isfinite(m)), "fig_w")]


def registry():
    return {"W": Experiment("W", "fig_w", "tiny, for workers", "nothing", cells, run_cell,
                            summarize, lambda summary, figdir: [], (("W.mean", "finite"),))}
