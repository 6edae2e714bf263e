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


def _e4_records(pairs, t9=None, agent="bp"):
    """Records whose verdict is the model's answer (as if the linearization check held)."""
    return [{"agent": agent, "task": i, "L0": 1.0, "predicted_ratio": pr,
             "predicted_trainable": pr <= 0.5, "decided_by": "linearized-network GD",
             "t9_decrease_fraction": (1 - pr) if t9 is None else t9, "t9_overshoot": False,
             "dead_fraction": 0.0, "realized_ratio": rr, "realized_trainable": rr <= 0.5,
             "final_loss": rr, "verdict": "yes" if pr <= 0.5 else "no"}
            for i, (pr, rr) in enumerate(pairs)]


def _claims(claims):
    return {c.id: c for c in claims}


def test_e4_summary_scores_and_claims(tmp_path):
    cell = {"stream": "random_label_digits", "width": 32, "depth": 1, "agents": ["bp"],
            "seed": 0, "num_tasks": 4}
    pairs = [(0.1, 0.2), (0.9, 0.8), (0.3, 0.4), (0.7, 0.9)] * 3
    right = [dict(cell, records=_e4_records(pairs))]
    summary, claims = E4.summarize([cell], right)
    assert summary["by_loss"]["ce"]["balanced_accuracy"] == 1.0
    assert summary["by_loss"]["ce"]["auc"] == 1.0
    assert all(c.passed for c in claims) and {c.id for c in claims} == {
        "E4.ce.balanced_accuracy", "E4.ce.auc", "E4.ce.t9_auc", "E4.verdict.mlp"}
    wrong = [dict(cell, records=_e4_records([(0.9, 0.2), (0.1, 0.8), (0.8, 0.4), (0.2, 0.9)]))]
    summary, claims = E4.summarize([cell], wrong)
    assert summary["by_loss"]["ce"]["balanced_accuracy"] == 0.0 and not any(c.passed
                                                                         for c in claims)
    one_class = [dict(cell, records=_e4_records([(0.1, 0.2), (0.2, 0.3)]))]
    summary, claims = E4.summarize([cell], one_class)
    assert summary["by_loss"]["ce"]["balanced_accuracy"] is None
    assert not any(c.passed for c in claims if c.id.startswith("E4.ce"))
    assert len(E4.plot(summary, tmp_path)) == 2


def test_e4_per_loss_claim_fails_where_the_pooled_score_passes(tmp_path):
    """Issue 22's designed case: mse predictions perfect, ce predictions constant (the old T9
    printing 0). The pooled scores pass the old criterion (≥ 0.8); every ce claim fails."""
    mse_cell = {"stream": "teacher_regression", "width": 32, "depth": 1, "agents": ["bp"],
                "seed": 0, "num_tasks": 80}
    ce_cell = dict(mse_cell, stream="random_label_digits", num_tasks=8)
    mse = _e4_records([(0.05, 0.04)] * 40 + [(0.9, 0.95)] * 40)
    ce = _e4_records([(0.0, 0.2)] * 4 + [(0.0, 0.9)] * 4, t9=1.0)  # constant prediction
    summary, claims = E4.summarize([mse_cell, ce_cell], [dict(mse_cell, records=mse),
                                                         dict(ce_cell, records=ce)])
    pooled = summary["by_loss"]["pooled"]
    assert pooled["balanced_accuracy"] >= 0.8 and pooled["auc"] >= 0.8  # the old claims pass
    c = _claims(claims)
    assert c["E4.mse.balanced_accuracy"].passed and c["E4.mse.auc"].passed
    assert summary["by_loss"]["ce"]["auc"] == 0.5 and summary["by_loss"]["ce"]["t9_auc"] == 0.5
    for cid in ("E4.ce.balanced_accuracy", "E4.ce.auc", "E4.ce.t9_auc"):
        assert not c[cid].passed and "NOT a PASS" in c[cid].measured
    assert not c["E4.verdict.mlp"].passed  # the constant ce prediction's definite verdicts
    lo, hi = summary["by_loss"]["ce"]["auc_ci"]
    assert lo <= 0.5 <= hi
    assert len(E4.plot(summary, tmp_path)) == 2


def test_e4_auc_and_balanced_accuracy_match_sklearn():
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    from linrelu.experiments.e4_trainability_grid import auc, balanced_accuracy

    rng = np.random.default_rng(0)
    truth = rng.random(50) < 0.4
    score = np.round(rng.normal(size=50), 1)  # ties
    pred = rng.random(50) < 0.5
    assert abs(auc(truth, score) - roc_auc_score(truth, score)) < 1e-12
    assert abs(balanced_accuracy(truth, pred) - balanced_accuracy_score(truth, pred)) < 1e-12


def test_e4_dead_units_are_dead_and_stay_dead():
    import jax

    from linrelu import MLP, dead_unit_fractions
    from linrelu.experiments.e4_trainability_grid import kill_units

    net = MLP((64, 32, 32, 10))
    X = np.random.default_rng(0).normal(size=(20, 64))
    params = kill_units(net.init(jax.random.PRNGKey(0)), 0.75, jax.random.PRNGKey(1))
    assert dead_unit_fractions(net, params, X) == [0.75, 0.75]
    y = np.arange(20) % 10
    g = jax.grad(lambda p: lr_loss(net, p, X, y))(params)
    W1, _ = params[0]
    dead = np.all(np.asarray(W1) == 0, axis=0)
    assert np.all(np.asarray(g[0][0])[:, dead] == 0)  # no gradient reaches a dead unit


def lr_loss(net, params, X, y):
    import jax
    import jax.numpy as jnp

    logits = net.apply(params, jnp.asarray(X))
    return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(len(y)), y])


def test_e4_one_real_cell_predicts_before_training():
    cell = {"stream": "teacher_regression", "width": 32, "depth": 1, "agents": ["bp"],
            "num_tasks": 1, "seed": 0}
    r = E4.run_cell(cell)
    json.dumps(r)
    (rec,) = r["records"]
    assert rec["decided_by"].startswith("T8")
    assert 0 < rec["predicted_ratio"] < 1 and 0 < rec["realized_ratio"] < 1


def test_e4_verdict_claims_count_only_definite_plain_gd_verdicts(tmp_path):
    """A confidently wrong verdict fails E4.verdict.mlp; the same record undetermined, or made by
    l2_er (trained with penalties the verdict does not model), does not count; no definite
    verdict at all fails too (the claim is not vacuous)."""
    cell = {"stream": "teacher_regression", "width": 32, "depth": 1, "agents": ["bp"],
            "seed": 0, "num_tasks": 4}
    good = _e4_records([(0.1, 0.2), (0.9, 0.8), (0.2, 0.3), (0.8, 0.9)])
    bad = good + _e4_records([(0.1, 0.9)])  # says yes, training does not reach τ
    claims = {c.id: c for c in E4.summarize([cell], [dict(cell, records=good)])[1]}
    assert claims["E4.verdict.mlp"].passed
    claims = {c.id: c for c in E4.summarize([cell], [dict(cell, records=bad)])[1]}
    assert not claims["E4.verdict.mlp"].passed and "FAILS" in claims["E4.verdict.mlp"].measured
    undetermined = good + [dict(_e4_records([(0.1, 0.9)])[0], verdict="undetermined")]
    l2 = dict(cell, agents=["bp", "l2_er"])
    for recs, c in ((undetermined, cell), (good + _e4_records([(0.1, 0.9)], agent="l2_er"), l2)):
        summary, claims = E4.summarize([c], [dict(c, records=recs)])
        assert {x.id: x for x in claims}["E4.verdict.mlp"].passed
    none = [dict(x, verdict="undetermined") for x in good]
    claims = {c.id: c for c in E4.summarize([cell], [dict(cell, records=none)])[1]}
    assert not claims["E4.verdict.mlp"].passed


def test_e4_design_has_non_mlp_rows_and_balancing_taus():
    """The design fixed before the run: τ per stream from the pilot's medians, and the non-MLP
    rows for every architecture and both losses."""
    from linrelu.experiments import e4_trainability_grid as e4

    assert {s: v[3] for s, v in e4.STREAMS.items()} == {
        "teacher_regression": 0.04, "random_label_digits": 0.8, "dead_unit_digits": 0.85}
    for mode, names in (("quick", e4.ARCH_NAMES_QUICK), ("full", e4.ARCH_NAMES)):
        arch = [c for c in E4.cells(mode) if c["stream"] == e4.ARCH_STREAM]
        assert {(c["arch"], c["loss"]) for c in arch} == {
            (a, loss) for a in names for loss in ("ce", "mse")}
        assert all(e4.loss_of(c) == c["loss"] for c in arch)
    assert set(e4.ARCH_NAMES) - set(e4.ARCH_NAMES_QUICK) == {"convnet"}


def test_e4_one_real_architecture_cell(tmp_path):
    """A non-MLP row end to end: the verdict, where definite, agrees with float32 GD."""
    cell = {"stream": "architectures", "arch": "resmlp", "loss": "mse", "n": 16,
            "multipliers": [1.0], "seed": 0}
    r = E4.run_cell(cell)
    json.dumps(r)
    (rec,) = r["records"]
    assert rec["verdict"] in ("yes", "no", "undetermined") and rec["drift"] is not None
    if rec["verdict"] != "undetermined":
        assert (rec["verdict"] == "yes") == rec["realized_trainable"]
    # the check's float64 GD and the row's float32 GD are the same dynamics
    assert abs(np.log(rec["check_real_ratio"] / rec["realized_ratio"])) <= 1e-3
    summary, claims = E4.summarize([cell], [r])
    assert {c.id for c in claims} >= {"E4.verdict.arch", "E4.arch.model_balanced_accuracy"}
    assert len(E4.plot(summary, tmp_path)) == 2
