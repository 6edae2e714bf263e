"""Synthetic continual-run results with designed answers, for the E5/E6/E7/E10 summaries.

A result has the record layout of :func:`linrelu.experiments.continual_runs.run_cell`; every
number in it is chosen by the test (no training), so the summaries' verdicts are known.
"""

from __future__ import annotations

import copy

import numpy as np

from linrelu.experiments.continual_runs import EPS_GRID, eps_key


def fake_cell(agent="bp", lr=0.01, seed=0, num_tasks=40, spectrum_every=2, stream="permuted_mnist",
              n_train=100):
    return {"stream": stream, "model": "mlp", "width": 8, "depth": 2, "num_tasks": num_tasks,
            "epochs": 1, "batch_size": 1, "spectrum_every": spectrum_every, "census": "train",
            "slq_order": 4, "slq_runs": 1,
            "stream_options": {"n_train": n_train, "n_test": 20, "n_probe": 5},
            "agent_options": {"lr": lr, "optimizer": "sgd"}, "agent": agent, "seed": seed,
            "slq_tasks": []}


def fake_result(cell, acc, quantities=None, eigenvalues=None, dead=0.0):
    """``acc``: per-task online accuracy; ``quantities``: {start key: per-task values} (spectral
    keys are written only at spectral tasks); ``eigenvalues``: {task: list} kept in records."""
    T = cell["num_tasks"]
    quantities = quantities or {}
    records = []
    for t in range(T):
        spectral = t % cell["spectrum_every"] == 0 or t == T - 1
        start = {"erank": [float(quantities.get("erank", np.full(T, 5.0))[t])],
                 "dead_fraction": [float(quantities.get("dead_fraction", np.full(T, dead))[t])],
                 "weight_norm": float(quantities.get("weight_norm", np.full(T, 1.0))[t]),
                 "grad_norm": float(quantities.get("grad_norm", np.full(T, 1.0))[t]),
                 "census_inputs": cell["stream_options"]["n_train"], "accuracy": 0.1,
                 "loss": 2.0, "test_accuracy": 0.1, "test_loss": 2.0}
        if spectral:
            rank = float(quantities.get("eps_rank", np.full(T, 0.5))[t])
            start.update(
                lambda_max=float(quantities.get("lambda_max", np.full(T, 1.0))[t]),
                eps_rank_norm={eps_key(e): rank for e in EPS_GRID},
                rel_eps_rank_norm={eps_key(r): rank for r in (1e-2, 1e-3, 1e-4)},
                stable_rank=float(quantities.get("stable_rank", np.full(T, 10.0))[t]),
                spectral_erank=float(quantities.get("spectral_erank", np.full(T, 20.0))[t]),
                predicted_ratio=float(quantities.get("predicted_ratio", np.full(T, 0.5))[t]))
            if eigenvalues and t in eigenvalues:
                start["ggn_eigenvalues"] = list(eigenvalues[t])
        records.append({"task": t, "start": start,
                        "train": {"online_accuracy": float(acc[t]), "accuracy": float(acc[t]),
                                  "test_accuracy": float(acc[t]), "loss": 1.0,
                                  "online_loss": 1.0, "test_loss": 1.0, "steps": 100}})
    return {"cell": copy.deepcopy(cell), "num_params": 100, "records": records}
