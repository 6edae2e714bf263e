"""A tiny ``--full`` smoke run: the full-mode cells of E5–E7 (the paper's Permuted MNIST and
Continual ImageNet protocols: data from ``--data-dir``, the 3×1000 MLP with minibatch-1 plain
SGD (never clipped, as the authors' code), the "SAME" ConvNet with momentum) run end to end on
small files this test writes. Only the
stream sizes, task counts and Lanczos order are shrunk; the model and optimizer settings are the
full ones. Nothing is downloaded."""

from __future__ import annotations

import numpy as np
import pytest
from test_data_loaders import _write_classes, _write_mnist

from linrelu.experiments import continual_runs as runs
from linrelu.repro import runner

SHRINK = {
    "permuted_mnist": {"num_tasks": 2, "slq_order": 4, "spectrum_every": 1,
                       "stream_options": {"n_train": 12, "n_test": 6, "n_probe": 3}},
    "class_pairs": {"num_tasks": 2, "slq_order": 4, "epochs": 1, "batch_size": 4,
                    "spectrum_every": 1,
                    "stream_options": {"n_train_per_class": 4, "n_test_per_class": 2,
                                       "n_probe": 3}},
}


@pytest.fixture()
def data_dir(tmp_path, monkeypatch):
    _write_mnist(tmp_path, n_train=20, n_test=10)
    (tmp_path / "classes").mkdir()
    _write_classes(tmp_path / "classes", counts=(6, 6, 6, 6))
    monkeypatch.setenv(runner.DATA_DIR_ENV, str(tmp_path))
    return tmp_path


def test_full_cells_use_the_papers_settings_and_the_users_data(data_dir):
    cells = runs.continual_cells("full")
    pm = next(c for c in cells if c["stream"] == "permuted_mnist")
    cp = next(c for c in cells if c["stream"] == "class_pairs")
    assert pm["num_tasks"] == 800 and pm["width"] == 1000 and pm["depth"] == 3
    assert pm["batch_size"] == 1 and "clip_norm" not in pm["agent_options"]
    assert pm["stream_options"]["n_train"] == 60000 and pm["agent_options"]["lr"] == 0.01
    assert cp["num_tasks"] == 2000 and cp["batch_size"] == 100 and cp["epochs"] == 20
    assert cp["agent_options"]["momentum"] == 0.9 and cp["padding"] == "SAME"
    assert cp["stream_options"]["n_train_per_class"] == 600
    assert {c["stream_options"]["data_dir"] for c in cells} == {str(data_dir)}


@pytest.mark.parametrize("stream", ["permuted_mnist", "class_pairs"])
def test_tiny_full_run_end_to_end(data_dir, stream, request):
    if stream == "class_pairs":  # the paper's ConvNet runs 3× faster optimized (conftest)
        request.getfixturevalue("optimized_xla")
    cell = next(c for c in runs.continual_cells("full")
                if c["stream"] == stream and c["agent"] == "bp" and c["slq_tasks"])
    small = {**cell, **{k: v for k, v in SHRINK[stream].items() if k != "stream_options"},
             "stream_options": {**cell["stream_options"], **SHRINK[stream]["stream_options"]},
             "slq_tasks": [1]}
    out = runs.run_cell(small)
    assert len(out["records"]) == 2
    first = out["records"][0]
    # the user's files were read: inputs of the full shapes, exact GGN ε-ranks recorded
    expected_params = (784 * 1000 + 1000 + 2 * (1000 * 1000 + 1000) + 1000 * 10 + 10
                       if stream == "permuted_mnist" else None)
    if expected_params is not None:
        assert out["num_params"] == expected_params
    assert np.isfinite(runs.as_float(first["start"]["lambda_max"]))
    assert "slq" in out["records"][1]


def test_full_mode_without_data_dir_names_the_flag(monkeypatch):
    monkeypatch.delenv(runner.DATA_DIR_ENV, raising=False)
    with pytest.raises(ValueError, match="--data-dir"):
        runs.continual_cells("full")
