"""Smoke tests of experiments E1, E2, E8 on tiny custom cells (run_cell → summarize → plot)."""

import json

import numpy as np
import pytest

import linrelu
from linrelu.experiments import e1_gram_ggn_equivalence as e1
from linrelu.experiments import e2_ntk_convergence as e2
from linrelu.experiments import e8_permutation_invariance as e8


def _written(files, figdir, figure):
    assert sorted(files) == sorted([f"{figure}.png", f"{figure}.pdf"])
    for f in files:
        assert (figdir / f).stat().st_size > 1000


def _claims_match_metadata(mod, claims):
    """The claims summarize emits are the ones --list announces, each naming the module's figure
    (a claims-table row pointing at another experiment's figure would fail here)."""
    E = mod.EXPERIMENT
    assert [c.id for c in claims] == [cid for cid, _ in E.claim_ids]
    assert all(c.figure == E.figure for c in claims)


def test_cells_are_json_and_cover_the_grid():
    for mod in (e1, e2, e8):
        for mode in ("quick", "full"):
            cs = mod.EXPERIMENT.cells(mode)
            json.dumps(cs)
            assert all("seed" in c for c in cs)
    q = e1.cells("quick")
    assert {(c["width"], c["depth"], c["loss"]) for c in q} == {
        (w, L, loss) for w in (8, 32, 128) for L in (1, 2, 3) for loss in ("mse", "ce")}
    assert max(e2.widths("quick")) >= 4096 and max(e2.widths("full")) >= 8192
    assert {c["depth"] for c in e2.cells("quick")} == {1, 2, 3, 4}


def test_e1_tiny_cells_identity_null_and_bracket(tmp_path):
    base = {"width": 8, "depth": 2, "n": 4, "k": 3, "d": 5, "sigma_w": 2**0.5,
            "sigma_b": 0.1, "seed": 0}
    cs = [{**base, "loss": "mse", "ggn": "dense"}, {**base, "loss": "ce", "ggn": "dense"},
          {**base, "loss": "ce", "ggn": "lanczos"}]
    rs = [e1.run_cell(c) for c in cs]
    json.dumps(rs)
    # Deterministic given the cell (no wall-clock or other run-dependent field in the result):
    # what makes two runs' results files byte-identical.
    assert e1.run_cell(cs[0]) == rs[0]
    assert rs[1]["rank"] == 4 * 2 and rs[0]["rank"] == 12
    # Dense and Lanczos compute the same p × p spectrum by different routes.
    np.testing.assert_allclose(rs[2]["eig_Ghat"], rs[1]["eig_Ghat"], rtol=1e-9)
    # The stored deviation is the one the stored spectra give (recomputed here from the arrays).
    for r in rs:
        g, gh = np.asarray(r["eig_G"][:r["rank"]]), np.asarray(r["eig_Ghat"])
        assert r["max_rel_dev"] == pytest.approx(np.max(np.abs(gh - g) / g), rel=1e-12)
    summary, claims = e1.summarize(cs, rs)
    _claims_match_metadata(e1, claims)
    assert all(c.passed for c in claims)
    # The measured numbers are real: round-off sized, not zero by construction.
    assert 0 < summary["max_rel_dev"] < 1e-10
    assert summary["max_null_dev"] < 1e-12
    _written(e1.plot(summary, tmp_path), tmp_path, e1.FIGURE)


def test_e1_identity_claim_fails_on_a_wrong_spectrum(monkeypatch):
    """A 1e-6 relative error in one eigenvalue of the nk × nk side (a plausible bug: a wrong
    factor in one block) goes through run_cell's comparison, against both the dense and the
    Lanczos p × p route, and fails E1.identity, while the bracket claim (which does not use that
    spectrum) still passes."""
    base = {"width": 8, "depth": 1, "n": 4, "k": 3, "d": 5, "sigma_w": 2**0.5,
            "sigma_b": 0.1, "seed": 1, "loss": "mse"}
    cells = [{**base, "ggn": "dense"}, {**base, "ggn": "lanczos"}]
    right = linrelu.ggn_eigenvalues

    def wrong(*args, **kwargs):
        ev = np.array(right(*args, **kwargs))
        ev[1] *= 1 + 1e-6
        return ev

    monkeypatch.setattr(linrelu, "ggn_eigenvalues", wrong)
    rs = [e1.run_cell(c) for c in cells]
    for r in rs:
        assert 0.9e-6 < r["max_rel_dev"] < 1.1e-6  # measured by run_cell, not set by the test
    _, claims = e1.summarize(cells, rs)
    by_id = {c.id: c for c in claims}
    assert not by_id["E1.identity"].passed
    assert by_id["E1.bracket"].passed


def test_e2_tiny_grid_slope_and_plot(tmp_path):
    cs = [{"depth": 1, "width": w, "seed": s, "n": 4, "k": 2, "d": 3, "sigma_w": 2**0.5,
           "sigma_b": 0.1, "data_seed": 0} for w in (16, 256, 1024) for s in (0, 1)]
    rs = [e2.run_cell(c) for c in cs]
    errs = [r["rel_error"] for r in rs]
    assert all(0 < e < 2 for e in errs)
    assert e2.run_cell(cs[0]) == rs[0]  # deterministic given the cell (no timing field)
    summary, claims = e2.summarize(cs, rs)
    fit = summary["per_depth"]["1"]["fit"]
    # Six points over a 64× width range: the slope is negative and its CI brackets it.
    assert fit["slope"] < 0 and fit["ci"][0] < fit["slope"] < fit["ci"][1]
    # The slope is the OLS slope of log error on log width, recomputed here with numpy.
    w = np.log([c["width"] for c in cs])
    assert fit["slope"] == pytest.approx(np.polyfit(w, np.log(errs), 1)[0], rel=1e-10)
    _claims_match_metadata(e2, claims)
    assert "depth 1" in claims[0].measured
    _written(e2.plot(summary, tmp_path), tmp_path, e2.FIGURE)
    # The claim can fail: errors that do not decay with width (slope 0) are outside the range.
    flat = [{"rel_error": 0.1 * (1 + 0.01 * (i % 2))} for i in range(len(cs))]
    assert not e2.summarize(cs, flat)[1][0].passed


def test_loglog_slope_recovers_a_power_law():
    w = np.array([16, 64, 256, 1024] * 3, float)
    noise = np.random.default_rng(0).normal(scale=0.05, size=w.size)
    fit = e2.loglog_slope(w, 2.0 * w**-0.5 * np.exp(noise))
    assert fit["ci"][0] < -0.5 < fit["ci"][1] and abs(fit["slope"] + 0.5) < 0.1


def test_welch_z_is_zero_for_identical_samples_and_large_for_a_shift():
    A = np.random.default_rng(0).normal(size=(5, 50))
    assert np.allclose(e8.welch_z(A, A), 0.0)
    assert np.all(e8.welch_z(A + 10.0, A) > 3)


def test_e8_tiny_cells_and_plot(tmp_path, monkeypatch):
    # Small analytic cell: a subset of digits keeps it fast; same code path as the full set.
    from linrelu import data

    X, y = data.load_digits_data()
    monkeypatch.setattr(data, "load_digits_data", lambda: (X[:150], y[:150]))
    base = {"kind": "finite", "n": 20, "k": 3, "depth": 1, "width": 512, "sigma_w": 2**0.5,
            "sigma_b": 0.0, "data_seed": 0}
    cs = [{"kind": "analytic", "perms": 2, "depth": 2, "sigma_w": 2**0.5, "sigma_b": 0.0,
           "seed": 0}]
    for transform, perm, seed0 in (("identity", 0, 0), ("perm", 1, 100), ("null", 0, 200),
                                   ("scale", 0, 300)):
        cs += [{**base, "transform": transform, "perm": perm, "seed": seed0 + s}
               for s in range(4)]
    rs = [e8.run_cell(c) for c in cs]
    json.dumps(rs)
    assert rs[0]["n"] == 150
    # Permutations of 1/16-grid pixels give a bit-identical Gram; rotations a round-off change.
    assert rs[0]["max_rel_diff"]["perm 1"] == 0.0
    assert 0 < rs[0]["max_rel_diff"]["rotation"] < 1e-12
    summary, claims = e8.summarize(cs, rs)
    _claims_match_metadata(e8, claims)
    by_id = {c.id: c for c in claims}
    assert by_id["E8.analytic"].passed
    assert len(summary["analytic_spectrum"]) == 20 * 3
    conds = summary["conditions"]
    assert set(conds) == {"identity", "perm 1", "null", "scale"}
    # A ×1.1 input scaling multiplies Θ by 1.21 (σ_b = 0, ReLU is homogeneous): detected.
    assert conds["scale"]["frac_deviating"] > 0.5 and by_id["E8.power"].passed
    _written(e8.plot(summary, tmp_path), tmp_path, e8.FIGURE)


def test_pixel_permutations_are_distinct_permutations():
    perms = [e8.pixel_permutation(j) for j in range(4)]
    assert np.array_equal(perms[0], np.arange(64))
    for p in perms[1:]:
        assert sorted(p) == list(range(64)) and not np.array_equal(p, perms[0])
    q = e8.random_rotation(6, 0)
    np.testing.assert_allclose(q @ q.T, np.eye(6), atol=1e-14)


@pytest.mark.parametrize("mod, eid", [(e1, "E1"), (e2, "E2"), (e8, "E8")])
def test_registry_runs_each_module_under_its_id(mod, eid):
    from linrelu.experiments import registry

    assert registry()[eid] is mod.EXPERIMENT and mod.EXPERIMENT.id == eid
