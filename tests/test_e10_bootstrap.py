"""E10's scores with bootstrap intervals on synthetic records: the weighted formulas at unit
weights equal the plain ones, a planted predictor passes, noise fails, and an interval that
straddles its bar gives UNDECIDED."""

import numpy as np
import pytest

from linrelu.experiments import continual_runs as cr
from linrelu.experiments import e10_plasticity_predictors as e10


def _cell(agent, seed, T):
    return {"stream": "permuted_mnist", "model": "mlp", "width": 10, "depth": 3,
            "num_tasks": T, "epochs": 1, "batch_size": 1, "spectrum_every": 1,
            "stream_options": {"n_train": 2_000_000}, "agent": agent, "seed": seed,
            "agent_options": {"optimizer": "sgd", "lr": 0.01}}


def _result(q_start, acc, q_end=None):
    recs = []
    for i, (q, a) in enumerate(zip(q_start, acc)):
        r = {"task": i, "train": {"online_accuracy": float(a)},
             "start": {"weight_norm": float(q), "grad_norm": float(np.cos(i))}}
        if q_end is not None:
            r["end"] = {"weight_norm": float(q_end[i]), "grad_norm": float(np.sin(i))}
        recs.append(r)
    return {"records": recs}


def _runs(signal, T=60, seeds=3, agents=("bp", "snp"), noise=0.05, seed=0, end=False):
    rng = np.random.default_rng(seed)
    cells, results = [], []
    for a in agents:
        for s in range(seeds):
            q = rng.normal(size=T)
            acc = 0.8 - 0.001 * np.arange(T) + signal * q + noise * rng.normal(size=T)
            q_end = None
            if end:  # the end of task i predicts task i + 1
                q_end = np.r_[(acc[1:] - 0.8 + 0.001 * np.arange(1, T)) / max(signal, 1e-9),
                              0.0]
            cells.append(_cell(a, s, T))
            results.append(_result(q, acc, q_end))
    return cells, results


def test_unit_weights_give_the_plain_scores():
    rng = np.random.default_rng(1)
    groups = [(rng.normal(size=20), rng.normal(size=20)) for _ in range(3)]
    x = np.concatenate([g[0] for g in groups])
    y = x * 0.5 + np.concatenate([g[1] for g in groups])
    groups = [(x[20 * i:20 * i + 20], y[20 * i:20 * i + 20]) for i in range(3)]
    seed_of = np.repeat(np.arange(3), 20)
    t = np.tile(np.arange(20.0), 3)
    one = np.ones((1, 60))
    assert e10._held_out(one, x, y, seed_of)[0] == pytest.approx(cr.held_out_r2(groups), abs=1e-10)
    assert e10._partial(one, x, y, t)[0] == pytest.approx(cr.partial_r2(x, y, t), abs=1e-10)
    # weights 2 on every point = each point twice: the same scores
    assert e10._held_out(2 * one, x, y, seed_of)[0] == pytest.approx(cr.held_out_r2(groups),
                                                                     abs=1e-10)


def test_resample_weights_are_seeded_and_count_each_drawn_seed_fully():
    W = e10.resample_weights([5, 7, 4], "run")
    assert W.shape == (e10.BOOTSTRAP, 16)
    np.testing.assert_array_equal(W, e10.resample_weights([5, 7, 4], "run"))
    copies = np.stack([W[:, :5].sum(1) / 5, W[:, 5:12].sum(1) / 7, W[:, 12:].sum(1) / 4], 1)
    assert np.all(copies == np.round(copies)) and np.all(copies.sum(1) == 3)


def test_planted_predictor_passes_and_noise_fails():
    cells, results = _runs(signal=0.1)  # R² ≈ 0.1² / (0.1² + 0.05²) = 0.8
    summary, claims = e10.summarize(cells, results)
    by_id = {c.id: c for c in claims}
    planted = by_id["E10.weight_norm_start_permuted_mnist"]
    assert planted.passed and not planted.withheld
    sc = summary["streams"]["permuted_mnist"]["table"]["weight_norm_start"]
    assert sc["held_out_ci"][0] > 0.6 and sc["num_runs"] == 2
    noise = by_id["E10.grad_norm_start_permuted_mnist"]  # cos(i): unrelated to accuracy
    assert not noise.passed and noise.withheld == ""
    assert e10.verdict(summary["streams"]["permuted_mnist"]["table"]["grad_norm_start"]) == "fail"
    # GGN quantities absent from these records: no points, nothing to decide (not a FAIL)
    absent = by_id["E10.eps_rank_start_permuted_mnist"]
    assert not absent.passed and absent.withheld == "UNDECIDED"


def test_rows_of_a_run_too_short_for_loss_of_plasticity_print_too_short():
    cells, results = _runs(signal=0.1)
    for c in cells:
        c["stream_options"] = {"n_train": 10}  # 60 tasks × 10 steps: far too short
    _, claims = e10.summarize(cells, results)
    assert claims and all(c.withheld == "TOO SHORT" and not c.passed for c in claims)
    assert all(c.measured.startswith("TOO SHORT") for c in claims)


def test_end_phase_pairs_the_end_of_a_task_with_the_next_task():
    cells, results = _runs(signal=0.1, end=True)
    summary, claims = e10.summarize(cells, results)
    table = summary["streams"]["permuted_mnist"]["table"]
    assert table["weight_norm_end"]["held_out"] > 0.95  # q_end[i]: task i + 1's signal
    assert {c.id for c in claims} >= {"E10.weight_norm_end_permuted_mnist"}


def test_straddling_interval_is_undecided():
    sc = {"held_out": 0.32, "partial": 0.4, "held_out_ci": [0.2, 0.45], "partial_ci": [0.3, 0.5]}
    assert e10.verdict(sc) == "undecided"
    assert e10.verdict({**sc, "held_out_ci": [0.31, 0.45]}) == "pass"
    assert e10.verdict({**sc, "held_out_ci": [0.1, 0.29]}) == "fail"
    assert e10.verdict({**sc, "partial_ci": [0.01, 0.09]}) == "fail"
    # a weak predictor on few points: its interval straddles 0.3 and the row says UNDECIDED
    cells, results = _runs(signal=0.035, T=12, noise=0.05, seed=3)
    summary, claims = e10.summarize(cells, results)
    sc = summary["streams"]["permuted_mnist"]["table"]["weight_norm_start"]
    lo, hi = sc["held_out_ci"]
    assert lo < e10.HELD_OUT_MIN < hi
    row = {c.id: c for c in claims}["E10.weight_norm_start_permuted_mnist"]
    assert row.result == "UNDECIDED" and not row.passed
