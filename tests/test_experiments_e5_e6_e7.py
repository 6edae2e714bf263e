"""E5–E7: shared cells, the summarizing helpers, and a tiny end-to-end run on both paper streams.

Every claim's verdict is recomputed here from the raw per-task records with plain numpy / scipy
(none of the experiment modules' helpers; only the criteria's thresholds are theirs), on real
tiny runs and on records edited so that each claim must pass or must fail.
"""

import copy
from dataclasses import dataclass

import jax
import numpy as np
import pytest
from scipy import stats

from linrelu.continual import Task, make_agent, train_task
from linrelu.experiments import e5_spectra_collapse, e6_eps_rank_vs_accuracy, e7_plasticity_metrics
from linrelu.experiments.continual_runs import EPS_GRID, QUICK, run_cell
from linrelu.experiments.e5_spectra_collapse import EXPERIMENT as E5
from linrelu.experiments.e6_eps_rank_vs_accuracy import EXPERIMENT as E6
from linrelu.experiments.e6_eps_rank_vs_accuracy import linear_fit_r2
from linrelu.experiments.e7_plasticity_metrics import EXPERIMENT as E7
from linrelu.experiments.e7_plasticity_metrics import mean_and_sem, plasticity_retained

AGENTS = {"bp", "l2", "er", "l2_er", "cbp", "reset"}


def test_e5_e6_e7_share_identical_cells_and_run_cell(monkeypatch):
    monkeypatch.setenv("LINRELU_DATA_DIR", "/data/somewhere")
    for mode in ("quick", "full"):
        cells = E5.cells(mode)
        assert cells == E6.cells(mode) == E7.cells(mode)
        assert {c["stream"] for c in cells} == {"permuted_mnist", "class_pairs"}
        for stream in ("permuted_mnist", "class_pairs"):
            assert {c["agent"] for c in cells if c["stream"] == stream} == AGENTS
    assert E5.run_cell is E6.run_cell is E7.run_cell
    full = {c["stream"]: c for c in E5.cells("full") if c["agent"] == "bp"}
    # the paper's sizes, on the user's data
    pm, cp = full["permuted_mnist"], full["class_pairs"]
    assert (pm["num_tasks"], pm["stream_options"]["n_train"], pm["width"], pm["batch_size"],
            pm["agent_options"]["lr"], pm["agent_options"]["clip_norm"]) == (
        800, 60000, 1000, 1, 0.01, 0.5)
    assert (cp["num_tasks"], cp["stream_options"]["n_train_per_class"],
            cp["stream_options"]["n_test_per_class"], cp["batch_size"], cp["epochs"],
            cp["agent_options"]["momentum"]) == (2000, 600, 100, 100, 20, 0.9)
    assert pm["stream_options"]["data_dir"] == cp["stream_options"]["data_dir"] == "/data/somewhere"
    monkeypatch.delenv("LINRELU_DATA_DIR")
    with pytest.raises(ValueError, match="--data-dir"):
        E5.cells("full")
    with pytest.raises(ValueError, match="mode"):
        E5.cells("slow")


def test_pre_registered_eps_are_the_papers():
    """Pre-registration pinned: the paper's ε per benchmark (0.01 Permuted MNIST, 0.03 Continual
    ImageNet), both on the recorded grid."""
    assert e6_eps_rank_vs_accuracy.PRE_REGISTERED_EPS == {"permuted_mnist": 0.01,
                                                          "class_pairs": 0.03}
    assert {0.01, 0.03} <= set(EPS_GRID)


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
    acc = np.r_[np.full(10, 0.8), np.full(5, 0.5), np.full(10, 0.2)]
    assert plasticity_retained(acc, 10) == pytest.approx(0.25)


def test_e7_window_rule_hand_cases():
    from linrelu.experiments.e7_plasticity_metrics import window

    pm, cp = QUICK["permuted_mnist"], QUICK["class_pairs"]
    assert window({**pm, "num_tasks": 30}) == 6
    assert window({**pm, "num_tasks": 3}) == 1
    assert window({**cp, "num_tasks": 10}) == 5  # the 5 MNIST pairs, seen twice
    assert window({**cp, "num_tasks": 8}) == 1  # too few tasks to see every pair twice
    full_cp = {**cp, "num_tasks": 2000, "stream_options": {"data_dir": "/d"}}
    assert window(full_cp) == 400


def _tiny(stream, agent, seed):
    """A few-second version of the quick cell: class pairs go through a small MLP on flattened
    images (the ConvNet path is exercised by test_tiny_convnet_cell)."""
    base = copy.deepcopy(QUICK[stream])
    base.update(num_tasks=3, epochs=1, slq_order=6, slq_runs=1,
                slq_tasks=[1, 2] if agent in ("bp", "l2_er") and seed == 0 else [])
    if stream == "permuted_mnist":
        base["stream_options"] = {"n_train": 60, "n_test": 20, "n_probe": 4}
        base.update(width=8, batch_size=10)
        base["agent_options"]["er_every"] = 3
    else:
        base["stream_options"] = {"n_train_per_class": 20, "n_test_per_class": 10,
                                  "n_probe": 4, "flatten": True}
        base.update(model="mlp", width=8, depth=2, batch_size=10)
    return {**base, "agent": agent, "seed": seed}


def _verdicts_from_raw_records(cells, results) -> dict:
    """Every claim's verdict from the raw records with plain numpy / scipy."""
    recs = {}
    for c, r in zip(cells, results, strict=True):
        recs.setdefault(c["stream"], {}).setdefault(c["agent"], []).append(
            (c["seed"], r["records"]))
    out = {}

    def e5(records):  # (collapsed, alive) between task ⌊T/6⌋ (≥ 1) and the last task start
        T = len(records)
        a, b = records[max(1, T // 6)]["start"], records[-1]["start"]
        ratios = [float(b[k]) / float(a[k]) if float(a[k]) > 0 else np.inf for k in
                  ("lambda_max",)] + [b["eps_rank_norm"]["0.001"] / a["eps_rank_norm"]["0.001"]
                                      if a["eps_rank_norm"]["0.001"] > 0 else np.inf]
        collapsed = min(ratios) <= e5_spectra_collapse.COLLAPSE_RATIO
        alive = max(b["dead_fraction"]) <= e5_spectra_collapse.MAX_DEAD and b["lambda_max"] > 0
        return collapsed, alive

    out["E5.bp_collapse"] = any(all(e5(r) == (True, True) for _, r in agents["bp"])
                                for agents in recs.values())
    out["E5.l2er_no_collapse"] = not any(e5(r)[0] for agents in recs.values()
                                         for _, r in agents["l2_er"])
    for stream, agents in recs.items():
        eps = e6_eps_rank_vs_accuracy.PRE_REGISTERED_EPS[stream]
        x = [t["start"]["eps_rank_norm"][repr(eps)] for rs in agents.values() for _, r in rs
             for t in r]
        y = [t["train"]["accuracy"] for rs in agents.values() for _, r in rs for t in r]
        ok = np.ptp(x) > 0 and np.ptp(y) > 0
        fit = stats.linregress(x, y) if ok else None
        out[f"E6.r2_{stream}"] = bool(ok and fit.slope > 0 and fit.rvalue**2
                                      >= e6_eps_rank_vs_accuracy.R2_THRESHOLD)

        def retained(agent, w, agents=agents):
            acc = np.mean([[t["train"]["accuracy"] for t in r] for _, r in agents[agent]],
                          axis=0)
            return acc[-w:].mean() / acc[:w].mean()

        T = len(agents["bp"][0][1])
        w = 5 if stream == "class_pairs" and T >= 10 else max(1, T // 5)
        out[f"E7.bp_loses_plasticity_{stream}"] = bool(
            retained("bp", w) <= e7_plasticity_metrics.BP_MAX_RETAINED)
        out[f"E7.l2er_keeps_plasticity_{stream}"] = bool(
            retained("l2_er", w) >= e7_plasticity_metrics.L2ER_MIN_RETAINED)
    return out


def _claims(cells, results) -> dict:
    return {c.id: bool(c.passed) for E in (E5, E6, E7) for c in E.summarize(cells, results)[1]}


def _designed(cells, results, acc, rank, lam, dead, T=20):
    """Copies of the tiny runs stretched to T tasks (task 1 repeated) with, per (stream, agent),
    accuracy curves ``acc``, normalized ε-rank curves ``rank`` (every ε of the grid), λ_max
    curves ``lam`` and dead-fraction curves ``dead`` (every layer): verdicts known by design."""
    out = copy.deepcopy(results)
    new_cells = []
    for c, r in zip(cells, out, strict=True):
        new_cells.append({**c, "num_tasks": T})
        recs = r["records"]
        recs[1:] = [copy.deepcopy(recs[1]) for _ in range(T - 1)]
        key = c["agent"]
        for t, rec in enumerate(recs):
            rec["task"] = t
            rec.pop("slq", None)
            rec["train"]["accuracy"] = acc[key][t]
            rec["start"]["lambda_max"] = lam[key][t]
            layers = len(rec["start"]["dead_fraction"])
            d = dead[key][t]  # one value for every layer, or a list (one per layer)
            rec["start"]["dead_fraction"] = list(d) if isinstance(d, list) else [d] * layers
            for e in rec["start"]["eps_rank_norm"]:
                rec["start"]["eps_rank_norm"][e] = rank[key][t]
    return new_cells, out


@pytest.fixture(scope="module")
def tiny_runs():
    cells = [_tiny(s, a, seed) for s in ("permuted_mnist", "class_pairs")
             for a in ("bp", "l2_er") for seed in (0, 1)]
    return cells, [run_cell(c) for c in cells]


def test_tiny_end_to_end(tiny_runs, tmp_path):
    cells, results = tiny_runs
    assert results[0] == run_cell(cells[0])  # deterministic given the cell
    rec = results[0]["records"]
    assert [r["task"] for r in rec] == [0, 1, 2] and "slq" in rec[1] and "slq" not in rec[0]
    assert rec[1]["start"]["gram_dim"] == 4 * 10
    assert set(rec[1]["start"]["eps_rank_norm"]) == {repr(e) for e in EPS_GRID}
    for E in (E5, E6, E7):
        summary, claims = E.summarize(cells, results)
        assert [c.id for c in claims] == [cid for cid, _ in E.claim_ids]
        assert all(c.figure == E.figure for c in claims)
        written = E.plot(summary, tmp_path)
        assert sorted(written) == [f"{E.figure}.pdf", f"{E.figure}.png"]
        assert all((tmp_path / w).stat().st_size > 1000 for w in written)
    # the claims say how their ε-ranks were obtained, and E5 states the dead fraction
    texts = {c.id: c.measured for E in (E5, E6, E7) for c in E.summarize(cells, results)[1]}
    assert all("exact" in t and "ggn" in t.lower() for t in texts.values())
    assert "dead" in texts["E5.bp_collapse"]
    assert _claims(cells, results) == _verdicts_from_raw_records(cells, results)


def test_claims_pass_and_fail_on_designed_records(tiny_runs):
    cells, results = tiny_runs
    T = 20
    drop, flat = [0.9] * 10 + [0.45] * 10, list(np.linspace(0.5, 0.9, T))
    fall = [1.0] * 10 + [0.01] * 10  # λ_max (or ε-rank) falls 100× between task 3 and 19
    const, alive, dead = [1.0] * T, [0.3] * T, [0.3] * 10 + [0.95] * 10
    # good: bp's accuracy halves, its λ_max collapses while alive; l2_er's is flat-ish (rising),
    # its curvature constant; ε-rank = accuracy (R² = 1, slope 1).
    good = _designed(cells, results, {"bp": drop, "l2_er": flat}, {"bp": drop, "l2_er": flat},
                     {"bp": fall, "l2_er": const}, {"bp": alive, "l2_er": alive})
    assert _claims(*good) == _verdicts_from_raw_records(*good)
    assert all(_claims(*good).values()), _claims(*good)
    # bad: bp keeps its accuracy and collapses only by dying; l2_er's accuracy halves and its
    # ε-rank collapses; ε-rank = 1 − accuracy (slope −1).
    bad = _designed(cells, results, {"bp": flat, "l2_er": drop},
                    {"bp": [1 - v for v in flat], "l2_er": [1 - v for v in drop]},
                    {"bp": fall, "l2_er": fall}, {"bp": dead, "l2_er": alive})
    assert _claims(*bad) == _verdicts_from_raw_records(*bad)
    assert not any(_claims(*bad).values()), _claims(*bad)
    # a collapse of a network with λ_max = 0 at the end is not "alive" either
    zero = _designed(cells, results, {"bp": drop, "l2_er": flat}, {"bp": drop, "l2_er": flat},
                     {"bp": [1.0] * 10 + [0.0] * 10, "l2_er": const},
                     {"bp": alive, "l2_er": alive})
    assert not _claims(*zero)["E5.bp_collapse"]
    assert _claims(*zero) == _verdicts_from_raw_records(*zero)
    # nor is one whose last hidden layer is entirely dead while the others live (the mean dead
    # fraction 0.5 would call it alive; the network's output is constant)
    layers = len(results[0]["records"][0]["start"]["dead_fraction"])
    one_dead = [0.3] * 10 + [[0.25] * (layers - 1) + [1.0]] * 10
    assert layers >= 2 and np.mean(one_dead[-1]) <= 0.9
    last = _designed(cells, results, {"bp": drop, "l2_er": flat}, {"bp": drop, "l2_er": flat},
                     {"bp": fall, "l2_er": const}, {"bp": one_dead, "l2_er": alive})
    assert not _claims(*last)["E5.bp_collapse"]
    assert _claims(*last) == _verdicts_from_raw_records(*last)


def test_e6_best_and_held_out_eps_against_brute_force(tiny_runs):
    """The authors' protocol (ε maximizing R²) and the held-out R², recomputed by brute force
    on records whose ε-rank depends on ε so that different seeds prefer different ε."""
    cells, results = tiny_runs
    rng = np.random.default_rng(0)
    out = copy.deepcopy(results)
    for r in out:
        for t in r["records"]:
            t["train"]["accuracy"] = float(rng.uniform())
            for e in t["start"]["eps_rank_norm"]:
                t["start"]["eps_rank_norm"][e] = float(rng.uniform())
    summary, _ = E6.summarize(cells, out)

    def r2(stream, eps, seeds):
        x = [t["start"]["eps_rank_norm"][repr(eps)] for c, r in zip(cells, out)
             if c["stream"] == stream and c["seed"] in seeds for t in r["records"]]
        y = [t["train"]["accuracy"] for c, r in zip(cells, out)
             if c["stream"] == stream and c["seed"] in seeds for t in r["records"]]
        return stats.linregress(x, y).rvalue ** 2

    for stream, s in summary["streams"].items():
        all_r2 = {e: r2(stream, e, {0, 1}) for e in EPS_GRID}
        best = max(all_r2, key=all_r2.get)
        assert s["best_eps"] == best and s["best_r2"] == pytest.approx(all_r2[best], abs=1e-12)
        pre = e6_eps_rank_vs_accuracy.PRE_REGISTERED_EPS[stream]
        assert s["fit"]["r2"] == pytest.approx(all_r2[pre], abs=1e-12)
        for h, (pick, test) in zip(s["held_out"], (({0}, {1}), ({1}, {0}))):
            e = max(EPS_GRID, key=lambda eps: r2(stream, eps, pick))
            assert h["eps"] == e and h["r2"] == pytest.approx(r2(stream, e, test), abs=1e-12)


def test_tiny_convnet_cell():
    """The ConvNet path of run_cell: paper ConvNet, momentum, head carried, exact GGN ranks."""
    cell = copy.deepcopy(QUICK["class_pairs"])
    cell.update(num_tasks=2, epochs=1, batch_size=10, slq_order=4, slq_runs=1, slq_tasks=[1],
                stream_options={"n_train_per_class": 10, "n_test_per_class": 5, "n_probe": 3},
                agent="cbp", seed=0)
    result = run_cell(cell)
    assert result["num_params"] > 100_000  # conv 32/64/128 + dense 128-128 + 2 outputs
    start = result["records"][1]["start"]
    assert start["gram_dim"] == 3 * 2 and len(start["dead_fraction"]) == 5
    assert "slq" in result["records"][1]


@dataclass(frozen=True)
class _LoopMLP:
    """An MLP seen as a generic model (not MLPModel): trained by the loop of jitted steps that
    the ConvNet uses, instead of the MLP's lax.scan."""

    net: object

    def init(self, key):
        return self.net.init(key)

    def apply(self, params, X):
        return self.net.apply(params, X)

    def features(self, params, X):
        return list(self.net.trace(params, X).acts[1:])

    @property
    def out_dim(self):
        return self.net.out_dim


def test_separate_er_in_the_loop_path_matches_the_scan_path():
    """The ConvNet's training loop takes the authors' separate ER step from Python (not under
    lax.cond): same minibatches, same ER-then-loss order as the MLP's scanned path."""
    from linrelu.mlp import MLP

    net = MLP((4, 6, 5, 3))
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 4)), rng.integers(0, 3, 8)
    task = Task(0, X, y, X, y, X, y, "ce", 3)
    params = net.init(jax.random.PRNGKey(0))
    agent = make_agent("er", lr=0.1, er=1.0, er_mode="separate", er_lr=0.05, er_every=2)
    kw = {"epochs": 2, "batch_size": 2, "key": jax.random.PRNGKey(3)}  # 4 steps per epoch
    scan, _ = train_task(net, params, task, agent, **kw)
    loop, _ = train_task(_LoopMLP(net), params, task, agent, **kw)
    bp, _ = train_task(_LoopMLP(net), params, task, make_agent("bp", lr=0.1), **kw)
    leaves = jax.tree_util.tree_leaves
    for a, b in zip(leaves(loop), leaves(scan), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)  # float32, same operations
    # the ER steps moved the weights (a loop that skipped them would fail the check above)
    assert max(float(np.abs(a - b).max()) for a, b in zip(leaves(loop), leaves(bp))) > 1e-3
