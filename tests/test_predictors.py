"""E10's predictor scores on designed data whose answers are known, and its scoring helpers
against direct computations."""

from __future__ import annotations

import numpy as np
import pytest
from continual_fakes import fake_cell, fake_result
from scipy import stats

from linrelu.experiments import continual_runs as runs
from linrelu.experiments.e10_plasticity_predictors import EXPERIMENT as E10
from linrelu.experiments.e10_plasticity_predictors import QUANTITIES


def test_partial_and_held_out_r2_against_direct_computations():
    rng = np.random.default_rng(0)
    t = np.arange(60.0)
    x, y = rng.normal(size=60), rng.normal(size=60)
    # partial R²: residuals of both on [1, t, t²] (numpy lstsq here), then squared correlation
    V = np.vander(t, 3)
    rx = x - V @ np.linalg.lstsq(V, x, rcond=None)[0]
    ry = y - V @ np.linalg.lstsq(V, y, rcond=None)[0]
    assert runs.partial_r2(x, y, t) == pytest.approx(stats.pearsonr(rx, ry).statistic ** 2)
    # held-out R² with two groups: fit on one, score on the other, mean of both
    g = [(x[:30], y[:30]), (x[30:], y[30:])]
    want = []
    for i in (0, 1):
        fit = stats.linregress(*g[1 - i])
        yy = g[i][1]
        want.append(1 - np.sum((yy - fit.intercept - fit.slope * g[i][0]) ** 2)
                    / np.sum((yy - yy.mean()) ** 2))
    assert runs.held_out_r2(g) == pytest.approx(np.mean(want))
    assert np.isnan(runs.held_out_r2(g[:1]))


def _runs(q_of, acc_of, seeds=3, T=60):
    rng = np.random.default_rng(5)
    cells, results = [], []
    for agent in ("bp", "l2"):
        for seed in range(seeds):
            c = fake_cell(agent, 0.01, seed, T, spectrum_every=1, n_train=10**6)  # long enough
            u = rng.normal(size=T)  # the task-to-task variation accuracy follows (or not)
            t = np.arange(T)
            q = {k: f(u, t) for k, f in q_of.items()}
            cells.append(c)
            results.append(fake_result(c, acc_of(u, t) + 0.001 * rng.normal(size=T), q))
    return cells, results


def test_designed_predictor_table():
    """eps_rank drives accuracy task by task (predicts); weight_norm only drifts with the task
    index while accuracy declines (in-sample R² high, but the time control removes it);
    grad_norm is noise (predicts nothing)."""
    rng = np.random.default_rng(9)
    drift = lambda u, t: 0.9 - 0.002 * t + 0.05 * u  # noqa: E731  accuracy: trend + task effect
    cells, results = _runs({"eps_rank": lambda u, t: 0.5 + 0.1 * u,
                            "weight_norm": lambda u, t: 1.0 + 0.05 * t,
                            "grad_norm": lambda u, t: rng.normal(size=t.size)}, drift)
    summary, claims = E10.summarize(cells, results)
    table = summary["streams"]["permuted_mnist"]["table"]
    verdict = {c.id: c.passed for c in claims}
    assert set(table) == {f"{q}_start" for q in QUANTITIES}  # no task-end records here
    assert verdict["E10.eps_rank_start_permuted_mnist"]
    assert table["eps_rank_start"]["partial"] > 0.9
    # the drifting quantity correlates in-sample with accuracy (what a naive R² rewards) ...
    x = np.concatenate([[r["start"]["weight_norm"] for r in res["records"]] for res in results])
    y = np.concatenate([[r["train"]["online_accuracy"] for r in res["records"]]
                        for res in results])
    assert stats.pearsonr(x, y).statistic ** 2 > 0.25
    # ... and is rejected once time is controlled for
    assert not table["weight_norm_start"]["partial"] >= 0.1  # NaN: nothing left beyond time
    assert not verdict["E10.weight_norm_start_permuted_mnist"]
    assert not verdict["E10.grad_norm_start_permuted_mnist"]
    assert table["grad_norm_start"]["held_out"] < 0.1
    # constants (never measured differently) cannot be scored: NaN, and not "predicts"
    assert np.isnan(table["lambda_max_start"]["held_out"])
    assert not verdict["E10.lambda_max_start_permuted_mnist"]
