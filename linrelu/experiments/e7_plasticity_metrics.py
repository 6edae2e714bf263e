"""E7 fig_plasticity_metrics (paper Figs. 3 and 7): per agent over tasks, mean ± standard error
over seeds of the accuracy reached, dead-unit fraction and effective rank (mean over hidden
layers, at task start, probe inputs) and the normalized GGN ε-rank at task start (ε = 1e-3).

Plasticity retained = mean accuracy over the last 10 tasks / mean accuracy over tasks 1–10
(task 0 starts from the random init, so it is excluded). Claims: bp retains ≤ 0.5 (it lost at
least half its learning ability); l2_er retains ≥ 0.9.
"""

from __future__ import annotations

import numpy as np

from linrelu.experiments._continual_runs import continual_cells, run_cell, series
from linrelu.experiments.base import Claim, Experiment, save_figure

FIGURE = "fig_plasticity_metrics"
EPS = 1e-3
WINDOW = 10
BP_MAX_RETAINED = 0.5
L2ER_MIN_RETAINED = 0.9
METRICS = (("accuracy", "accuracy reached on the task", ("train", "accuracy", None)),
           ("dead_fraction", "dead-unit fraction at task start", ("start", "dead_fraction", None)),
           ("erank", "effective rank at task start", ("start", "erank", None)),
           ("eps_rank", f"normalized GGN ε-rank at task start (ε = {EPS:g})",
            ("start", "eps_rank_norm", repr(EPS))))


def cells(mode: str) -> list:
    return continual_cells(mode)


def mean_and_sem(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column mean and standard error s/√S over the S rows (seeds); SE = 0 for a single seed."""
    rows = np.asarray(rows, np.float64)
    S = rows.shape[0]
    sem = rows.std(axis=0, ddof=1) / np.sqrt(S) if S > 1 else np.zeros(rows.shape[1])
    return rows.mean(axis=0), sem


def plasticity_retained(acc: np.ndarray, window: int = WINDOW) -> float:
    """mean(acc over the last ``window`` tasks) / mean(acc over tasks 1..window)."""
    acc = np.asarray(acc, np.float64)
    return float(acc[-window:].mean() / acc[1:window + 1].mean())


def summarize(cells_: list, results: list):
    primary = cells_[0]
    by_agent = {}
    for c, r in zip(cells_, results):
        if any(c[k] != primary[k] for k in primary if k not in ("agent", "seed")):
            continue
        by_agent.setdefault(c["agent"], []).append(r)
    agents = {}
    for agent, rs in by_agent.items():
        entry = {"num_seeds": len(rs)}
        for key, _, (phase, field, sub) in METRICS:
            rows = np.stack([series(r, phase, field, sub) for r in rs])
            m, se = mean_and_sem(rows)
            entry[key] = {"mean": m.tolist(), "sem": se.tolist()}
        accs = np.stack([series(r, "train", "accuracy") for r in rs])
        entry["retained_per_seed"] = [plasticity_retained(a) for a in accs]
        entry["retained"] = plasticity_retained(accs.mean(axis=0))
        agents[agent] = entry
    summary = {"agents": agents, "eps": EPS, "window": WINDOW,
               "labels": {k: lab for k, lab, _ in METRICS}}

    def fmt(agent):
        e = agents.get(agent)
        if not e:
            return "missing"
        return (f"retained {e['retained']:.3f} (per seed "
                f"{', '.join(f'{v:.3f}' for v in e['retained_per_seed'])}); late dead fraction "
                f"{np.mean(e['dead_fraction']['mean'][-WINDOW:]):.2f}, late erank "
                f"{np.mean(e['erank']['mean'][-WINDOW:]):.1f}")

    claims = [
        Claim("E7.bp_loses_plasticity", "plain SGD (bp) loses plasticity over the stream",
              fmt("bp"), f"seed-mean accuracy over the last {WINDOW} tasks ≤ {BP_MAX_RETAINED} × "
              f"that over tasks 1–{WINDOW}",
              "bp" in agents and agents["bp"]["retained"] <= BP_MAX_RETAINED, FIGURE),
        Claim("E7.l2er_keeps_plasticity", "l2_er keeps its plasticity over the stream",
              fmt("l2_er"), f"seed-mean accuracy over the last {WINDOW} tasks ≥ "
              f"{L2ER_MIN_RETAINED} × that over tasks 1–{WINDOW}",
              "l2_er" in agents and agents["l2_er"]["retained"] >= L2ER_MIN_RETAINED, FIGURE),
    ]
    return summary, claims


def plot(summary: dict, figdir) -> list:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    for ax, (key, label, _) in zip(axes.ravel(), METRICS):
        for agent, e in summary["agents"].items():
            m, se = np.asarray(e[key]["mean"]), np.asarray(e[key]["sem"])
            t = np.arange(m.size)
            ax.plot(t, m, label=f"{agent} ({e['num_seeds']} seeds)")
            ax.fill_between(t, m - se, m + se, alpha=0.25)
        ax.set_xlabel("task")
        ax.set_ylabel(label)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("Plasticity metrics over tasks (mean ± standard error over seeds)")
    return save_figure(fig, figdir, FIGURE)


EXPERIMENT = Experiment(
    id="E7", figure=FIGURE,
    title="accuracy, dead units, effective rank and ε-rank over tasks per agent",
    mirrors="paper Figs. 3 and 7", cells=cells, run_cell=run_cell, summarize=summarize,
    plot=plot,
    claim_ids=(("E7.bp_loses_plasticity", "bp's late accuracy ≤ 0.5 × its early accuracy"),
               ("E7.l2er_keeps_plasticity", "l2_er's late accuracy ≥ 0.9 × its early accuracy")))
