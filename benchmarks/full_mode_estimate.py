"""``python -m benchmarks.full_mode_estimate``: measured time of one full-size task per stream,
and the estimate for the whole ``paper_repro.py --full`` continual run (E5–E7).

Runs E5–E7's own full-mode cell (``linrelu.experiments.continual_runs``) for bp with
``num_tasks = 1`` on synthetic files of the paper's sizes written to a temporary folder (60 000
MNIST-shaped IDX images; two 700-image 32×32×3 classes): the real training (60 000 plain SGD
steps of the 3×1000 MLP; 20 epochs of 12 momentum steps of the "SAME" ConvNet) and the task-start
metrics (exact GGN spectrum on the probe set). The first task includes compilation, so the
estimate is an upper bound; SLQ densities (two task starts per stream) are not included.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _write_fake_data(d: Path) -> None:
    import struct

    rng = np.random.default_rng(0)
    for split, n in (("train", 60000), ("t10k", 10000)):
        for kind, shape, magic in (("images-idx3", (n, 28, 28), 0x803),
                                   ("labels-idx1", (n,), 0x801)):
            a = (rng.integers(0, 256, shape) if kind.startswith("images")
                 else rng.integers(0, 10, shape)).astype(np.uint8)
            with open(d / f"{split}-{kind}-ubyte", "wb") as fh:
                fh.write(struct.pack(">I", magic) + b"".join(struct.pack(">I", s) for s in shape)
                         + a.tobytes())
    (d / "classes").mkdir()
    for c in range(2):
        np.save(d / "classes" / f"{c}.npy", rng.integers(0, 256, (700, 32, 32, 3), np.uint8))


def main() -> int:
    import jax

    jax.config.update("jax_enable_x64", True)
    from linrelu.experiments import continual_runs as runs

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        _write_fake_data(Path(tmp))
        os.environ[runs.DATA_DIR_ENV] = tmp
        cells = runs.continual_cells("full")
        for stream in runs.STREAM_NAMES:
            cell = next(c for c in cells if c["stream"] == stream and c["agent"] == "bp")
            one = {**cell, "num_tasks": 1, "slq_tasks": []}
            t0 = time.perf_counter()
            runs.run_cell(one)
            per_task = time.perf_counter() - t0
            n_cells = sum(c["stream"] == stream for c in cells)
            out[stream] = {"seconds_per_task": per_task, "tasks": cell["num_tasks"],
                           "cells": n_cells,
                           "cell_hours": per_task * cell["num_tasks"] / 3600,
                           "total_hours": per_task * cell["num_tasks"] * n_cells / 3600}
            print(json.dumps({stream: out[stream]}), flush=True)
    out["backend"] = jax.default_backend()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
