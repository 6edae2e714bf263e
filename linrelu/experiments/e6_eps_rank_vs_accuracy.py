"""E6 fig_eps_rank_vs_accuracy: every task start of every agent is one point
(normalized ε-rank of the GGN at the task start, accuracy reached on that task), with the R² of
a least-squares line acc ≈ a + b·rank.

The ε-rank is the exact one of T1: #{i : λ_i(G) > ε} / (n_p·k) for the loss-weighted Gram G on
the task's probe set at the task start (ε = 1e-3, fixed in advance; R² at the other ε of the
ladder is reported in the summary). The paper reports R² = 0.711 (Continual ImageNet, Hessian
ε-rank); that is a reference, not our pass criterion: we claim a positive slope with R² ≥ 0.3.
"""

from __future__ import annotations

import numpy as np

from linrelu.experiments._continual_runs import (
    EPS_LADDER,
    as_float,
    continual_cells,
    run_cell,
    series,
)
from linrelu.experiments.base import Claim, Experiment, save_figure

FIGURE = "fig_eps_rank_vs_accuracy"
EPS = 1e-3
R2_THRESHOLD = 0.3
PAPER_R2 = 0.711


def cells(mode: str) -> list:
    return continual_cells(mode)


def linear_fit_r2(x, y) -> tuple[float, float, float]:
    """(intercept a, slope b, R²) of the least-squares line y ≈ a + b x;
    R² = 1 − Σ(y − a − bx)² / Σ(y − ȳ)² (NaN when y is constant or x has no spread)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan"), float("nan"), float("nan")
    b, a = np.polyfit(x, y, 1)
    ss_res = float(np.sum((y - a - b * x) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return float(a), float(b), 1.0 - ss_res / ss_tot


def summarize(cells_: list, results: list):
    primary = cells_[0]
    points = {}
    for c, r in zip(cells_, results):
        if any(c[k] != primary[k] for k in primary if k not in ("agent", "seed")):
            continue
        acc = series(r, "train", "accuracy")
        for e in EPS_LADDER:
            rank = series(r, "start", "eps_rank_norm", repr(e))
            p = points.setdefault(repr(e), {"x": [], "y": [], "agent": []})
            p["x"] += rank.tolist()
            p["y"] += acc.tolist()
            p["agent"] += [c["agent"]] * len(acc)
    fits = {e: dict(zip(("intercept", "slope", "r2"), linear_fit_r2(p["x"], p["y"])))
            for e, p in points.items()}
    main = points[repr(EPS)]
    summary = {"eps": EPS, "x": main["x"], "y": main["y"], "agent": main["agent"],
               "fit": fits[repr(EPS)], "fits_by_eps": fits, "paper_r2": PAPER_R2,
               "num_points": len(main["x"])}
    f = fits[repr(EPS)]
    others = ", ".join(f"ε={e}: {v['r2']:.3f}" for e, v in fits.items())
    claims = [Claim(
        "E6.r2", "normalized GGN ε-rank at task start predicts the accuracy reached on the task",
        f"R² = {f['r2']:.3f}, slope {f['slope']:.3g} over {len(main['x'])} task starts "
        f"(paper: {PAPER_R2} on Continual ImageNet; other ε: {others})",
        f"slope > 0 and R² ≥ {R2_THRESHOLD} at ε = {EPS:g}",
        bool(np.isfinite(f["r2"]) and f["slope"] > 0 and f["r2"] >= R2_THRESHOLD), FIGURE)]
    return summary, claims


def plot(summary: dict, figdir) -> list:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    x, y = np.asarray(summary["x"], float), np.asarray(summary["y"], float)
    agents = np.asarray(summary["agent"])
    for name in dict.fromkeys(summary["agent"]):
        m = agents == name
        ax.scatter(x[m], y[m], s=10, alpha=0.6, label=name)
    f = summary["fit"]
    if np.isfinite(as_float(f["r2"])):
        xs = np.linspace(x.min(), x.max(), 50)
        ax.plot(xs, as_float(f["intercept"]) + as_float(f["slope"]) * xs, "k--",
                label=f"linear fit, R² = {as_float(f['r2']):.3f} (paper {summary['paper_r2']})")
    ax.set_xlabel(f"normalized ε-rank of the GGN at task start (ε = {summary['eps']:g})")
    ax.set_ylabel("accuracy reached on the task")
    ax.set_title("ε-rank at task start vs task accuracy (every task of every agent)")
    ax.legend(fontsize=7)
    return save_figure(fig, figdir, FIGURE)


EXPERIMENT = Experiment(
    id="E6", figure=FIGURE, title="ε-rank at task start vs accuracy reached, all agents, R²",
    mirrors="paper ε-rank figure (R² = 0.711)", cells=cells, run_cell=run_cell,
    summarize=summarize, plot=plot,
    claim_ids=(("E6.r2", "linear fit of task accuracy on task-start ε-rank: slope > 0, R² ≥ 0.3"),))
