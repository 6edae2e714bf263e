"""E5–E7: shared cells, the summarizing helpers, and a tiny end-to-end run."""

import copy

import numpy as np
import pytest
from scipy import stats

from linrelu.experiments import e5_spectra_collapse, e6_eps_rank_vs_accuracy, e7_plasticity_metrics
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


def _verdicts_from_raw_records(cells, results) -> dict:
    """Every E5–E7 claim's verdict recomputed from the raw per-task records with plain numpy /
    scipy (none of the experiment modules' helpers); only the criteria's thresholds are theirs."""
    recs = {}
    for c, r in zip(cells, results, strict=True):
        recs.setdefault(c["agent"], []).append(r["records"])

    def collapsed(records):  # E5: first vs last SLQ task start
        slq = [x["slq"] for x in records if "slq" in x]
        ratios = []
        for get in (lambda s: s["ritz_max"], lambda s: s["mass_outside"]["0.001"]):
            early, late = float(get(slq[0])), float(get(slq[-1]))
            ratios.append(late / early if early > 0 else np.inf)
        return min(ratios) <= e5_spectra_collapse.COLLAPSE_RATIO

    x = [float(t["start"]["eps_rank_norm"]["0.001"]) for rs in recs.values() for r in rs
         for t in r]
    y = [float(t["train"]["accuracy"]) for rs in recs.values() for r in rs for t in r]
    fit = stats.linregress(x, y) if np.ptp(x) > 0 and np.ptp(y) > 0 else None

    def retained(agent):  # E7: seed-mean accuracy, last 10 tasks over tasks 1–10
        acc = np.mean([[t["train"]["accuracy"] for t in r] for r in recs[agent]], axis=0)
        return acc[-10:].mean() / acc[1:11].mean()

    return {
        "E5.bp_collapse": all(collapsed(r) for r in recs["bp"]),
        "E5.l2er_no_collapse": not any(collapsed(r) for r in recs["l2_er"]),
        "E6.r2": fit is not None and fit.slope > 0
        and fit.rvalue**2 >= e6_eps_rank_vs_accuracy.R2_THRESHOLD,
        "E7.bp_loses_plasticity": retained("bp") <= e7_plasticity_metrics.BP_MAX_RETAINED,
        "E7.l2er_keeps_plasticity": retained("l2_er") >= e7_plasticity_metrics.L2ER_MIN_RETAINED,
    }


def _claims(cells, results) -> dict:
    return {c.id: c.passed for E in (E5, E6, E7) for c in E.summarize(cells, results)[1]}


def _designed(results, cells, acc, rank, late):
    """Copies of the tiny runs stretched to 21 tasks (task 1 repeated; the two SLQ task starts
    stay first and last) with per-agent accuracy curves ``acc``, normalized ε-ranks ``rank``
    (ε = 1e-3) and late/early SLQ ratios ``late`` = (λ_max ratio, mass-outside-ε ratio): verdicts
    known by design."""
    out = copy.deepcopy(results)
    for c, r in zip(cells, out, strict=True):
        recs = r["records"]
        recs[1:2] = [copy.deepcopy(recs[1]) for _ in range(19)]
        for t, rec in enumerate(recs):
            rec["task"] = t
            rec["train"]["accuracy"] = acc[c["agent"]][t]
            rec["start"]["eps_rank_norm"]["0.001"] = rank[c["agent"]][t]
        slq = [rec["slq"] for rec in recs if "slq" in rec]
        for s, (lam, mass) in ((slq[0], (1.0, 1.0)), (slq[-1], late[c["agent"]])):
            s["ritz_max"] = 2.0 * lam
            s["mass_outside"] = {k: 0.5 * mass for k in s["mass_outside"]}
    return out


def test_tiny_end_to_end(tmp_path):
    cells = [_tiny(a, s) for a in ("bp", "l2_er") for s in (0, 1)]
    results = [run_cell(c) for c in cells]
    assert results[0] == run_cell(cells[0])  # deterministic given the cell
    rec = results[0]["records"]
    assert [r["task"] for r in rec] == [0, 1, 2] and "slq" in rec[0] and "slq" not in rec[1]
    assert rec[1]["start"]["gram_dim"] == 60
    for E in (E5, E6, E7):
        summary, claims = E.summarize(cells, results)
        assert [c.id for c in claims] == [cid for cid, _ in E.claim_ids]
        assert all(c.figure == E.figure for c in claims)
        written = E.plot(summary, tmp_path)
        assert sorted(written) == [f"{E.figure}.pdf", f"{E.figure}.png"]
        assert all((tmp_path / w).stat().st_size > 1000 for w in written)
    # Each verdict is the one the raw records give ...
    assert _claims(cells, results) == _verdicts_from_raw_records(cells, results)
    # ... and every claim passes and fails on records edited so that the verdict is known:
    # "drop" keeps 0.1/0.9 of its accuracy (retained 0.11), "flat" all of it (retained 1); the
    # ε-rank equals the accuracy (R² = 1, slope 1) or 1 − accuracy (slope −1); the late spectrum
    # collapses through λ_max alone (bp, good), through the ε-mass alone (l2_er, bad), or not.
    drop, flat = [0.9] * 11 + [0.1] * 10, [0.5] * 21
    good = _designed(results, cells, {"bp": drop, "l2_er": flat}, {"bp": drop, "l2_er": flat},
                     {"bp": (0.01, 1.0), "l2_er": (1.0, 1.0)})
    bad = _designed(results, cells, {"bp": flat, "l2_er": drop},
                    {"bp": [1 - v for v in flat], "l2_er": [1 - v for v in drop]},
                    {"bp": (1.0, 1.0), "l2_er": (1.0, 0.01)})
    assert _claims(cells, good) == _verdicts_from_raw_records(cells, good)
    assert all(_claims(cells, good).values())
    assert _claims(cells, bad) == _verdicts_from_raw_records(cells, bad)
    assert not any(_claims(cells, bad).values())
