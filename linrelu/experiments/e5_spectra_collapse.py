"""E5 fig_spectra_collapse (paper Fig. 1): Hessian density at the start of an early and a late
task, bp vs l2_er, beside the paper's published densities.

Measured per (agent, seed) at the early task (5) and the last task, on the probe set:
- λ_max: the largest Ritz value of SLQ on the true Hessian (Lanczos with full reorthogonalization
  converges to the extreme eigenvalues first);
- normalized ε-rank: the mass of the SLQ density outside [−ε, ε] at ε = 1e-3 (the broadening σ is
  1e-3 of the spectral width ≈ 2e-4, small against ε, so broadening bias is small).
Collapse (defined here, before the numbers are read): λ_max(late)/λ_max(early) ≤ 0.1 (an order of
magnitude, as the paper's 5912 → 88) or ε-rank(late)/ε-rank(early) ≤ 0.1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from linrelu.experiments._continual_runs import as_float, continual_cells, run_cell
from linrelu.experiments.base import Claim, Experiment, save_figure

FIGURE = "fig_spectra_collapse"
EPS = 1e-3
COLLAPSE_RATIO = 0.1
AGENTS_SHOWN = ("bp", "l2_er")
REFERENCE = Path(__file__).resolve().parents[2] / "figures" / "reference" / (
    "paper_fig1_hessian_density.npz")


def cells(mode: str) -> list:
    return continual_cells(mode)


def _slq_records(result: dict) -> list:
    return [r for r in result["records"] if "slq" in r]


def _downsample(grid, density, num: int = 1000):
    """(bin centres, bin maxima) over ``num`` consecutive bins: a plotting envelope that keeps
    narrow peaks visible (a strided subsample drops them). Numbers are computed on full grids."""
    grid, density = np.asarray(grid, np.float64), np.asarray(density, np.float64)
    bins = np.array_split(np.arange(grid.size), min(num, grid.size))
    return ([float(grid[b].mean()) for b in bins], [float(density[b].max()) for b in bins])


def _paper_densities() -> dict:
    """The paper's Figure-1 densities (train split), read from the project's reference copy."""
    if not REFERENCE.exists():
        return {}
    out = {}
    with np.load(REFERENCE) as z:
        for agent in AGENTS_SHOWN:
            for task in (50, 300):
                g, d = z[f"{agent}_task{task}_grids_train"], z[f"{agent}_task{task}_density_train"]
                total = np.trapezoid(d, g)
                out[f"{agent}_task{task}"] = {
                    "grid": _downsample(g, d)[0], "density": _downsample(g, d)[1],
                    "lambda_max": float(g[d > 1e-7 * d.max()].max()),
                    "mass_outside_0.1": float(1 - np.trapezoid(np.where(np.abs(g) <= 0.1, d, 0),
                                                                g) / total)}
    return out


def _ratio(late: float, early: float) -> float:
    """late / early; NaN when the early value is 0 (no collapse can be measured from 0)."""
    return late / early if early > 0 else float("nan")


def summarize(cells_: list, results: list):
    primary = cells_[0]
    rows = {}
    for c, r in zip(cells_, results):
        if c["agent"] not in AGENTS_SHOWN or any(c[k] != primary[k] for k in primary
                                                 if k not in ("agent", "seed")):
            continue
        early, late = _slq_records(r)[0], _slq_records(r)[-1]
        entry = {"seed": c["seed"], "early_task": early["task"], "late_task": late["task"]}
        for name, rec in (("early", early), ("late", late)):
            s = rec["slq"]
            entry[f"{name}_lambda_max"] = as_float(s["ritz_max"])
            entry[f"{name}_eps_rank"] = as_float(s["mass_outside"][repr(EPS)])
            entry[f"{name}_ggn_lambda_max"] = as_float(rec["start"]["lambda_max"])
            entry[f"{name}_accuracy"] = as_float(rec["train"]["accuracy"])
            if c["seed"] == primary["seed"]:
                entry[f"{name}_grid"], entry[f"{name}_density"] = _downsample(
                    [as_float(v) for v in s["grid"]], [as_float(v) for v in s["density"]])
        entry["lambda_ratio"] = _ratio(entry["late_lambda_max"], entry["early_lambda_max"])
        entry["eps_rank_ratio"] = _ratio(entry["late_eps_rank"], entry["early_eps_rank"])
        entry["collapsed"] = bool(entry["lambda_ratio"] <= COLLAPSE_RATIO
                                  or entry["eps_rank_ratio"] <= COLLAPSE_RATIO)
        rows.setdefault(c["agent"], []).append(entry)
    summary = {"eps": EPS, "collapse_ratio": COLLAPSE_RATIO, "agents": rows,
               "config": {k: v for k, v in primary.items() if k not in ("agent", "seed")},
               "paper": _paper_densities()}

    def fmt(agent):
        return "; ".join(f"seed {e['seed']}: λ_max {e['early_lambda_max']:.3g}→"
                         f"{e['late_lambda_max']:.3g} (×{e['lambda_ratio']:.3g}), ε-rank "
                         f"{e['early_eps_rank']:.3g}→{e['late_eps_rank']:.3g} "
                         f"(×{e['eps_rank_ratio']:.3g})" for e in rows.get(agent, []))

    crit = (f"collapse ⇔ λ_max(late)/λ_max(early) ≤ {COLLAPSE_RATIO} or normalized "
            f"ε-rank ratio (ε = {EPS:g}) ≤ {COLLAPSE_RATIO}")
    claims = [
        Claim("E5.bp_collapse", "bp's Hessian spectrum collapses between an early and a late "
              "task start (every seed)", fmt("bp"), crit + ", for every seed",
              bool(rows.get("bp")) and all(e["collapsed"] for e in rows["bp"]), FIGURE),
        Claim("E5.l2er_no_collapse", "l2_er's Hessian spectrum does not collapse (every seed)",
              fmt("l2_er"), "not collapsed (" + crit + ") for every seed",
              bool(rows.get("l2_er")) and not any(e["collapsed"] for e in rows["l2_er"]),
              FIGURE),
    ]
    return summary, claims


def _finish_density_axis(ax, title: str) -> None:
    """Title, labels, the 1e-6 density floor and legend shared by every density panel."""
    ax.set_title(title)
    ax.set_xlabel("eigenvalue λ")
    ax.set_ylabel("density")
    ax.set_ylim(1e-6, None)
    ax.legend(fontsize=7)


def plot(summary: dict, figdir) -> list:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paper = summary.get("paper", {})
    nrows = 2 if paper else 1
    fig, axes = plt.subplots(nrows, 2, figsize=(10, 3.6 * nrows), squeeze=False)
    colors = {"early": "tab:blue", "late": "tab:red"}
    for j, agent in enumerate(AGENTS_SHOWN):
        ax = axes[0, j]
        for e in summary["agents"].get(agent, []):
            if "early_grid" not in e:
                continue
            for name in ("early", "late"):
                d = np.maximum(np.asarray(e[f"{name}_density"]), 1e-8)
                ax.semilogy(e[f"{name}_grid"], d, color=colors[name],
                            label=f"task {e[f'{name}_task']}: λ_max {e[f'{name}_lambda_max']:.3g}, "
                                  f"mass|λ|>{summary['eps']:g} {e[f'{name}_eps_rank']:.3g}")
        _finish_density_axis(ax, f"this project: {agent} (seed 0, SLQ of ∇²L on the probe set)")
        if paper:
            ax = axes[1, j]
            for task, col in ((50, "tab:blue"), (300, "tab:red")):
                p = paper.get(f"{agent}_task{task}")
                if p:
                    ax.semilogy(p["grid"], np.maximum(p["density"], 1e-8), color=col,
                                label=f"task {task}: λ_max≈{p['lambda_max']:.3g}, "
                                      f"mass|λ|>0.1 {p['mass_outside_0.1']:.3g}")
            _finish_density_axis(ax, f"paper Fig. 1 (Permuted MNIST, width 1000): {agent}")
    return save_figure(fig, figdir, FIGURE)


EXPERIMENT = Experiment(
    id="E5", figure=FIGURE,
    title="Hessian density at an early and a late task start: bp collapses, l2_er does not",
    mirrors="paper Fig. 1", cells=cells, run_cell=run_cell, summarize=summarize, plot=plot,
    claim_ids=(("E5.bp_collapse", "bp's λ_max or normalized ε-rank falls ≥ 10× early→late"),
               ("E5.l2er_no_collapse", "l2_er's λ_max and normalized ε-rank stay within 10×")))
