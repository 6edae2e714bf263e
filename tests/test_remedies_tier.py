"""The --remedies tier: its cells (the --long protocol, Dohare's remedies and rates), a variant
cell run end to end on a tiny stream, the runner's flag, and E7's rows for the remedies."""

import numpy as np
import pytest
from continual_fakes import fake_cell, fake_result

from linrelu.experiments import continual_runs as cr
from linrelu.experiments.e7_plasticity_metrics import EXPERIMENT as E7
from linrelu.repro import runner


def test_remedies_cells_run_the_long_protocol_with_the_sourced_remedies():
    cells = cr.continual_cells("remedies")
    long_pm = cr.tier_config("long")["permuted_mnist"]
    assert {c["agent"] for c in cells} == {"bp", "snp", "redo", "cbp_1e-4", "cbp_1e-5"}
    for c in cells:
        for k in ("width", "depth", "num_tasks", "epochs", "batch_size", "stream_options",
                  "census", "spectrum_every"):
            assert c[k] == long_pm[k], k
        assert c["agent_options"]["lr"] == long_pm["agent_step"] and c["end_metrics"] is True
    rates = {c["agent"]: (c.get("agent_kind"), c["agent_options"].get("replacement_rate"))
             for c in cells if c["agent"].startswith("cbp")}
    assert rates == {"cbp_1e-4": ("cbp", 1e-4), "cbp_1e-5": ("cbp", 1e-5)}
    snp = next(c for c in cells if c["agent"] == "snp")["agent_options"]
    assert (snp["l2"], snp["perturb_scale"]) == (1e-4, 1e-5)
    redo = next(c for c in cells if c["agent"] == "redo")["agent_options"]
    assert (redo["redo_threshold"], redo["redo_every"]) == (0.1, 1000)


def test_a_variant_cell_runs_its_agent_and_records_both_conventions():
    cell = {**next(c for c in cr.continual_cells("remedies") if c["agent"] == "cbp_1e-4"),
            "num_tasks": 2, "width": 8, "census": 50, "spectrum_every": 1,
            "stream_options": {"n_train": 60, "n_test": 20, "n_probe": 5}}
    out = cr.run_cell(cell)
    recs = out["records"]
    assert len(recs) == 2 and all("end" in r and "start" in r for r in recs)
    for phase in ("start", "end"):
        r = recs[1][phase]
        assert len(r["srank"]) == 3 and len(r["dormant_ratio@0.1"]) == 3
        assert len(r["weight_mean_abs"]) == 4 and r["param_distance"] > 0
    assert recs[0]["start"]["param_distance"] == 0.0


def test_runner_flag_and_its_conflicts(capsys):
    opts = runner.parse_options(["--remedies", "--only", "E7,E10"])
    assert opts.mode == "remedies" and opts.ids == ["E7", "E10"]
    assert opts.figures_dir.parts[-2:] == ("figures", "remedies")
    assert runner.main(["--remedies", "--long"]) == 2
    err = capsys.readouterr().err
    assert "expected at most one of --full, --long, --remedies" in err and err.count("\n") == 1
    with pytest.raises(runner.UsageError, match="remedies tier"):
        runner.parse_options(["--remedies", "--only", "E1"])


def test_e7_rows_for_each_remedy():
    T = 40
    cells, results = [], []
    drops = {"bp": 0.2, "snp": 0.0, "redo": 0.05, "cbp_1e-4": 0.0, "cbp_1e-5": 0.0}
    for agent, drop in drops.items():
        for seed in range(3):
            c = {**fake_cell(agent, 0.01, seed, T, n_train=100_000), "end_metrics": True}
            acc = np.full(T, 0.9)
            acc[-4:] -= drop + 0.001 * seed
            cells.append(c)
            results.append(fake_result(c, acc))
    _, claims = E7.summarize(cells, results)
    by_id = {c.id: c for c in claims}
    for agent in ("snp", "cbp_1e-4", "cbp_1e-5"):
        assert by_id[f"E7.{agent}_keeps_plasticity_permuted_mnist"].passed
    assert not by_id["E7.redo_keeps_plasticity_permuted_mnist"].passed
    assert by_id["E7.bp_loses_plasticity_permuted_mnist"].passed
    assert not any(k in by_id for k in ("E7.l2_er_keeps_plasticity_permuted_mnist",
                                        "E7.pilot_step_permuted_mnist"))
