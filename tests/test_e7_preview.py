"""E7's preview of the --long verdict in quick mode (issue 37): its cells run --long's protocol
(read here from long.toml itself), its rows print a verdict only with the pre-registered margins,
and the quick tier's too-short rows print "TOO SHORT" in place of a verdict."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

from linrelu.experiments import e7_plasticity_metrics as e7
from linrelu.experiments.continual_runs import TIER_DIR, continual_cells, preview_cells


def test_preview_cells_run_the_long_protocol():
    with open(TIER_DIR / "long.toml", "rb") as fh:
        long = tomllib.load(fh)["permuted_mnist"]
    cells = preview_cells("quick")
    assert sorted(c["agent"] for c in cells) == ["bp", "l2_er"]
    for c in cells:
        assert c["protocol"] == "long" and c["stream"] == "permuted_mnist"
        for key in ("width", "depth", "batch_size", "epochs", "model"):
            assert c[key] == long[key], key
        assert c["stream_options"]["n_train"] == long["stream_options"]["n_train"]
        assert c["agent_options"]["lr"] == long["agent_step"] == 0.01
        assert c["agent_options"]["optimizer"] == "sgd" and "clip_norm" not in c["agent_options"]
        # long enough to decide: ≥ PREVIEW_MIN_STEPS minibatch-1 steps
        assert c["num_tasks"] * c["stream_options"]["n_train"] >= e7.PREVIEW_MIN_STEPS
    l2er = next(c for c in cells if c["agent"] == "l2_er")["agent_options"]
    assert (l2er["l2"], l2er["er_lr"]) == (long["per_agent"]["l2_er"]["l2"],
                                           long["per_agent"]["l2_er"]["er_lr"])
    # E7 alone runs them: the cells E5, E6 and E10 share carry no preview
    assert not any("protocol" in c for c in continual_cells("quick"))
    assert all(c in e7.cells("quick") for c in cells) and preview_cells("long") == []


@pytest.mark.parametrize("agent, drop, steps, expected", [
    ("bp", 0.20, 600_000, (True, "")), ("bp", 0.05, 600_000, (True, "")),
    ("bp", 0.049, 600_000, (False, "UNDECIDED")), ("bp", 0.01, 600_000, (False, "UNDECIDED")),
    ("bp", 0.009, 600_000, (False, "")), ("bp", 0.20, 499_999, (False, "TOO SHORT")),
    ("l2_er", 0.002, 600_000, (True, "")), ("l2_er", 0.01, 600_000, (False, "UNDECIDED")),
    ("l2_er", 0.029, 600_000, (False, "UNDECIDED")), ("l2_er", 0.03, 600_000, (False, "")),
    ("l2_er", float("nan"), 600_000, (False, "TOO SHORT")),
])
def test_preview_verdict_margins(agent, drop, steps, expected):
    assert e7.preview_verdict(agent, drop, steps) == expected


def _result(acc):
    return {"records": [{"task": i, "train": {"online_accuracy": float(a),
                                              "test_accuracy": float(a)}, "start": {}}
                        for i, a in enumerate(acc)]}


def test_preview_rows_and_figure_from_synthetic_runs(tmp_path):
    cells = preview_cells("quick")
    T = cells[0]["num_tasks"]
    curves = {"bp": np.linspace(0.8, 0.6, T), "l2_er": np.full(T, 0.83)}
    summary, claims = e7.summarize(cells, [_result(curves[c["agent"]]) for c in cells])
    rows = {c.id: c for c in claims}
    bp = rows["E7.preview_bp_loses_plasticity_permuted_mnist"]
    keep = rows["E7.preview_l2_er_keeps_plasticity_permuted_mnist"]
    # drop = best W-task mean − last W-task mean of a straight line from 0.8 to 0.6
    w = T // 10
    line = np.linspace(0.8, 0.6, T)
    assert f"drop {line[:w].mean() - line[-w:].mean():.3f}" in bp.measured
    assert bp.result == "REPRODUCED" and keep.result == "REPRODUCED"
    assert "PREVIEW" in bp.measured
    written = e7.plot(summary, tmp_path)
    assert written == ["fig_plasticity_metrics.png", "fig_plasticity_metrics.pdf"]
    # a small decline is neither a loss nor its absence
    curves["bp"] = np.linspace(0.8, 0.77, T)
    _, claims = e7.summarize(cells, [_result(curves[c["agent"]]) for c in cells])
    assert {c.id: c.result for c in claims}[bp.id] == "UNDECIDED"


def test_quick_rows_of_too_short_runs_print_too_short():
    cells = [c for c in continual_cells("quick") if c["stream"] == "permuted_mnist"]
    rng = np.random.default_rng(0)
    results = [_result(0.7 + 0.01 * rng.normal(size=c["num_tasks"])) for c in cells]
    _, claims = e7.summarize(cells, results)
    assert claims and all(c.result == "TOO SHORT" and not c.passed for c in claims)
