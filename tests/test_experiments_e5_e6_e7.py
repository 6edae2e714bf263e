"""E5–E7: shared cells, the summarizing helpers, and a tiny end-to-end run."""

import numpy as np
import pytest

from linrelu.experiments._continual_runs import QUICK, run_cell
from linrelu.experiments.e5_spectra_collapse import EXPERIMENT as E5
from linrelu.experiments.e6_eps_rank_vs_accuracy import EXPERIMENT as E6
from linrelu.experiments.e6_eps_rank_vs_accuracy import linear_fit_r2
from linrelu.experiments.e7_plasticity_metrics import EXPERIMENT as E7
from linrelu.experiments.e7_plasticity_metrics import mean_and_sem, plasticity_retained


def test_e5_e6_e7_share_identical_cells_and_run_cell():
    for mode in ("quick", "full"):
        assert E5.cells(mode) == E6.cells(mode) == E7.cells(mode)
    assert E5.run_cell is E6.run_cell is E7.run_cell
    assert {c["agent"] for c in E5.cells("quick")} == {"bp", "l2", "er", "l2_er", "reset"}
    with pytest.raises(ValueError, match="mode"):
        E5.cells("slow")


def test_linear_fit_r2_hand_cases():
    a, b, r2 = linear_fit_r2([0, 1, 2], [1, 3, 5])
    assert (a, b, r2) == pytest.approx((1.0, 2.0, 1.0))
    # y = (0, 1, 0, 1) on x = (0, 0, 1, 1): slope 0, R² 0
    assert linear_fit_r2([0, 0, 1, 1], [0, 1, 0, 1])[1:] == pytest.approx((0.0, 0.0), abs=1e-12)
    assert np.isnan(linear_fit_r2([1, 1], [0, 1])[2])


def test_mean_sem_and_retained_hand_cases():
    m, se = mean_and_sem(np.array([[1.0, 2.0], [3.0, 2.0]]))
    np.testing.assert_allclose(m, [2.0, 2.0])
    np.testing.assert_allclose(se, [np.sqrt(2) / np.sqrt(2), 0.0])  # s = √2, S = 2
    acc = np.r_[0.0, np.full(10, 0.8), np.full(5, 0.5), np.full(10, 0.2)]
    assert plasticity_retained(acc) == pytest.approx(0.25)


def _tiny(agent, seed):
    return {**QUICK, "num_tasks": 3, "n_train": 32, "n_probe": 6, "width": 12, "epochs": 2,
            "batch_size": 16, "slq_order": 8, "slq_runs": 2, "slq_tasks": [0, 2],
            "agent": agent, "seed": seed}


def test_tiny_end_to_end(tmp_path):
    cells = [_tiny(a, s) for a in ("bp", "l2_er") for s in (0, 1)]
    results = [run_cell(c) for c in cells]
    assert results[0] == run_cell(cells[0])  # deterministic given the cell
    rec = results[0]["records"]
    assert [r["task"] for r in rec] == [0, 1, 2] and "slq" in rec[0] and "slq" not in rec[1]
    assert rec[1]["start"]["gram_dim"] == 60
    for E in (E5, E6, E7):
        summary, claims = E.summarize(cells, results)
        assert {c.id for c in claims} == {cid for cid, _ in E.claim_ids}
        assert all(isinstance(c.passed, bool) for c in claims)
        written = E.plot(summary, tmp_path)
        assert all((tmp_path / w).exists() for w in written)
