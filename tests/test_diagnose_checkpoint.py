"""End to end: the continual engine saves a task-start network; `python -m linrelu diagnose`
reads it (the workflow the README documents for users' own checkpoints)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

import linrelu as lr
from linrelu.continual import make_agent, make_stream, run_continual
from linrelu.models.checkpoint import load_params, save_data

ROOT = Path(__file__).resolve().parents[1]


def test_engine_checkpoint_is_diagnosable_from_python_and_cli(tmp_path):
    stream = make_stream("random_label_digits", seed=0, num_tasks=2, n_train=48, n_probe=16)
    net = lr.MLP((64, 16, 10))
    run_continual(net, stream, make_agent("bp", lr=1.0), epochs=1, batch_size=16, seed=0,
                  checkpoint_dir=tmp_path, checkpoint_tasks=(1,))
    ckpt = tmp_path / "task0001_start.npz"
    loaded_net, params = load_params(ckpt)
    assert loaded_net == net
    task = stream.task(1)
    report = lr.diagnose(loaded_net, params, task.X_probe, task.y_probe, "ce")
    # the report's spectrum is the one the library computes directly (T1 on the probe set)
    ev = lr.ggn_eigenvalues(net, params, task.X_probe, task.y_probe, "ce")
    assert np.isclose(report.lam_max, ev[0], rtol=1e-10)
    save_data(tmp_path / "D.npz", task.X_probe, task.y_probe)
    r = subprocess.run([sys.executable, "-m", "linrelu", "diagnose", "--params", str(ckpt),
                        "--data", str(tmp_path / "D.npz")], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert f"λ_max(G) = {ev[0]:.6g}" in r.stdout
    assert str(report).splitlines()[:3] == r.stdout.splitlines()[:3]
