"""E3 / E4 experiment modules: cells, one real cell each, and that summarize's claims can fail."""

import json

import numpy as np

from linrelu.experiments.e3_trainability_bounds import EXPERIMENT as E3
from linrelu.experiments.e4_trainability_grid import EXPERIMENT as E4


def test_cells_are_json_and_seeded():
    for E in (E3, E4):
        for mode in ("quick", "full"):
            cs = E.cells(mode)
            assert cs and all("seed" in c for c in cs)
            json.dumps(cs)
        assert len(E.cells("full")) > len(E.cells("quick"))


def test_e3_linearized_cell_matches_exact_curve():
    r = E3.run_cell({"part": "linearized", "width": 16, "depth": 1, "seed": 0})
    json.dumps(r)
    assert r["max_rel_err"] <= 1e-8
    assert r["bound_violations"] == 0 and r["bound_checks"] == 5 * 101
    assert r["final_ratio"] < 1.0  # training made progress (the check is not vacuous)


def _e3_result(part, width, depth, gap):
    t = np.linspace(1, 0.1, 5)
    return {"part": part, "width": width, "depth": depth, "seed": 0, "realized": t,
            "predicted": t, "lower": t * 0, "upper": t * 0 + 1, "max_rel_err": 1e-14,
            "bound_checks": 10, "bound_violations": 0, "gap": gap}


def test_e3_summary_claims_can_fail(tmp_path):
    widths = (16, 64, 256, 1024)
    good = [_e3_result("linearized", 64, 2, 0.0)] + [
        _e3_result("real", w, L, 0.1 / w) for w in widths for L in (1, 2, 3)]
    _, claims = E3.summarize([], good)
    assert all(c.passed for c in claims)
    bad = [dict(_e3_result("linearized", 64, 2, 0.0), max_rel_err=1e-3, bound_violations=2)] + [
        _e3_result("real", w, L, 0.1 * w) for w in widths for L in (1, 2, 3)]
    summary, claims = E3.summarize([], bad)
    assert not any(c.passed for c in claims)
    files = E3.plot(summary, tmp_path)
    assert (tmp_path / "fig_trainability_bounds.png").exists() and len(files) == 2


def _e4_records(pairs):
    return [{"agent": "bp", "task": i, "L0": 1.0, "predicted_ratio": pr,
             "predicted_trainable": pr <= 0.5, "decided_by": "T9 quadratic model",
             "realized_ratio": rr, "realized_trainable": rr <= 0.5, "final_loss": rr}
            for i, (pr, rr) in enumerate(pairs)]


def test_e4_summary_scores_and_claims(tmp_path):
    cell = {"stream": "random_label_digits", "width": 32, "depth": 1, "agents": ["bp"],
            "seed": 0, "num_tasks": 4}
    right = [dict(cell, records=_e4_records([(0.1, 0.2), (0.9, 0.8), (0.3, 0.4), (0.7, 0.9)]))]
    summary, claims = E4.summarize([cell], right)
    assert summary["overall"]["balanced_accuracy"] == 1.0 and all(c.passed for c in claims)
    wrong = [dict(cell, records=_e4_records([(0.9, 0.2), (0.1, 0.8), (0.8, 0.4), (0.2, 0.9)]))]
    summary, claims = E4.summarize([cell], wrong)
    assert summary["overall"]["balanced_accuracy"] == 0.0 and not any(c.passed for c in claims)
    one_class = [dict(cell, records=_e4_records([(0.1, 0.2), (0.2, 0.3)]))]
    summary, claims = E4.summarize([cell], one_class)
    assert summary["overall"]["balanced_accuracy"] is None and not claims[0].passed
    assert len(E4.plot(summary, tmp_path)) == 2


def test_e4_one_real_cell_predicts_before_training():
    cell = {"stream": "teacher_regression", "width": 32, "depth": 1, "agents": ["bp"],
            "num_tasks": 1, "seed": 0}
    r = E4.run_cell(cell)
    json.dumps(r)
    (rec,) = r["records"]
    assert rec["decided_by"].startswith("T8")
    assert 0 < rec["predicted_ratio"] < 1 and 0 < rec["realized_ratio"] < 1
