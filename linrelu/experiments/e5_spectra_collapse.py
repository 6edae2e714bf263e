"""E5 fig_spectra_collapse (paper Fig. 1): curvature at an early and a late task start, per
agent, on the paper's two streams, beside the paper's published densities.

Measured per run (agent, step, seed) at the start of the early task (⌊T/6⌋, rounded down to a
task with a spectrum) and of the last task T − 1, on the task's probe set, **exact** (the
eigenvalues of the loss-weighted Gram G are the nonzero GGN spectrum, T1):
- the paper's scale-dependent measures: λ_max and the normalized ε-rank at ε = 1e-3, normalized
  by the *attainable* rank (n_p·(k − 1) for ce: a binary task's GGN has rank ≤ n_p, so dividing
  by n_p·k, as the issue-14 version did, capped it at 0.5);
- **scale-free** measures, unchanged by λ ↦ cλ: the relative ε-rank #{λ > 10⁻³ λ_max} /
  attainable rank, the stable rank Σλ/λ_max and the spectrum's effective rank (Roy–Vetterli of
  λ). Much of the paper's Fig. 1 "collapse" (bp: [−160, 5912] → [−0.6, 88]) is a ≈ 70× shrink of
  the eigenvalue scale; these separate that shrink from a change of shape;
- the dead fraction: the largest over hidden layers, on the task's whole training set.

Runs too short to expect the phenomenon (quick mode) print "TOO SHORT" in place of a verdict.

Criteria (the scale-dependent ones fixed before issue 14's runs; the scale-free one fixed in this
file before the ``--long`` run, issue 17):
- collapse (paper's sense) ⇔ λ_max(late)/λ_max(early) ≤ 0.1 or ε-rank ratio ≤ 0.1;
- shape collapse (scale-free) ⇔ spectral effective rank ratio ≤ 0.5 or stable-rank ratio ≤ 0.5;
- alive ⇔ late dead fraction ≤ 0.9 and late λ_max > 0.
Per stream, at the comparison step (:func:`continual_runs.comparison_step`):
E5.bp_collapse_<stream> ⇔ every bp seed collapses while alive; E5.bp_shape_collapse_<stream> ⇔
every bp seed shape-collapses while alive; E5.l2er_no_collapse_<stream> ⇔ no l2_er seed
collapses. (The issue-14 version had one bp row and one l2_er row over both streams, "on ≥ 1
stream"; per-stream rows report the same numbers and do not let one stream carry the other.)

Figure: per stream, the CDF of the exact GGN eigenvalues (log λ) of bp and l2_er at the early and
late task (first seed), and their shape: λ_i / λ_max in decreasing order against i / N (log
scale; unchanged by λ ↦ cλ, what the scale-free measures summarize). Last row: the paper's Fig. 1
densities (Continual ImageNet, Hessian SLQ, from figures/reference/) drawn as CDFs, F(λ) = ∫_{−∞}^λ
density (trapezoid on the authors' grid, normalized to 1), on a symmetric-log λ axis.

Why CDFs and no broadened density: the paper's rule σ² = 1e-5 · max(1, λ_max − λ_min) gives
σ ≈ 0.015 on our spectra (λ_max ≈ 20–50), far narrower than the gaps between the few hundred
exact eigenvalues above 1, so the broadened density is a comb of one spike per eigenvalue (and the
paper's own SLQ densities are combs of Ritz values for the same reason). A CDF needs no σ, shows
every eigenvalue and the mass at zero, and reads the same on both kinds of data.
:func:`broadened_density` stays for the numbers that need it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from linrelu.experiments.base import Claim, Experiment, save_figure
from linrelu.experiments.continual_runs import (
    as_float,
    by_run,
    by_stream,
    comparison_step,
    config_label,
    continual_cells,
    eps_key,
    run_cell,
    run_length_note,
    series,
    spectrum_tasks,
)

FIGURE = "fig_spectra_collapse"
EPS = 1e-3
REL_EPS = 1e-3
COLLAPSE_RATIO = 0.1
SHAPE_RATIO = 0.5
MAX_DEAD = 0.9
AGENTS_SHOWN = ("bp", "l2_er")
REFERENCE = Path(__file__).resolve().parents[2] / "figures" / "reference" / (
    "paper_fig1_hessian_density.npz")
PAPER_CAPTION = ("paper Fig. 1: Continual ImageNet, ConvNet, tasks 50 and 300 of 2000 "
                 "(Hessian SLQ density, train split)")
MEASURES = (("lambda_max", "λ_max", None), ("eps_rank", f"ε-rank (ε = {EPS:g})", None),
            ("rel_eps_rank", "rel. ε-rank (10⁻³ λ_max)", None),
            ("stable_rank", "stable rank", None), ("spectral_erank", "spectral erank", None))


def cells(mode: str) -> list:
    return continual_cells(mode)


def _downsample(grid, density, num: int = 1000):
    """(bin centres, bin maxima) over ``num`` consecutive bins: a plotting envelope that keeps
    narrow peaks visible (a strided subsample drops them). Numbers are computed on full grids."""
    grid, density = np.asarray(grid, np.float64), np.asarray(density, np.float64)
    bins = np.array_split(np.arange(grid.size), min(num, grid.size))
    return ([float(grid[b].mean()) for b in bins], [float(density[b].max()) for b in bins])


def _symlog_points(lo: float, hi: float, lin: float = 0.1, num: int = 400) -> np.ndarray:
    """Points in [lo, hi], evenly spaced on a symmetric-log axis (linear within ±``lin``): where
    a CDF on the authors' grid is drawn (its own points are linear, 0.009–0.6 apart)."""
    neg = -np.logspace(np.log10(max(-lo, lin)), np.log10(lin), num) if lo < -lin else []
    pos = np.logspace(np.log10(lin), np.log10(max(hi, lin)), num) if hi > lin else []
    x = np.concatenate([[lo], neg, np.linspace(-lin, lin, 101), pos, [hi]])
    return np.unique(np.clip(x, lo, hi))


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
                grid, dens = _downsample(g, d)
                cdf = np.concatenate([[0.0], np.cumsum(0.5 * (d[1:] + d[:-1]) * np.diff(g))])
                xs = _symlog_points(float(g[0]), float(g[-1]))
                out[f"{agent}_task{task}"] = {
                    "grid": grid, "density": dens, "cdf_grid": xs.tolist(),
                    "cdf": (np.interp(xs, g, cdf) / total).tolist(),
                    # the authors' grid is linspace(θ_min − 0.01, θ_max + 0.01): its upper end
                    # is the largest Ritz value (a density threshold misses isolated top
                    # eigenvalues, whose broadened mass is tiny: 289 instead of 1287 here)
                    "lambda_max": float(g[-1]) - 0.01,
                    "mass_outside_0.1": float(1 - np.trapezoid(np.where(np.abs(g) <= 0.1, d, 0),
                                                                g) / total)}
    return out


def _ratio(late: float, early: float) -> float:
    """late / early; NaN when the early value is 0 (no collapse can be measured from 0)."""
    return late / early if early > 0 else float("nan")


def paper_sigma(ev) -> float:
    """The paper's broadening: σ = √(1e-5 · max(1, λ_max − λ_min)) (THEORY.md)."""
    ev = np.asarray(ev, np.float64)
    return float(np.sqrt(1e-5 * max(1.0, float(ev.max() - ev.min()))))


def seed_entry(cell: dict, result: dict) -> dict:
    """Early/late exact measures of one run and its verdicts (module docstring)."""
    t0, t1 = spectrum_tasks(cell)
    vals = {"lambda_max": series(result, "start", "lambda_max"),
            "eps_rank": series(result, "start", "eps_rank_norm", eps_key(EPS)),
            "rel_eps_rank": series(result, "start", "rel_eps_rank_norm", eps_key(REL_EPS)),
            "stable_rank": series(result, "start", "stable_rank"),
            "spectral_erank": series(result, "start", "spectral_erank")}
    dead = series(result, "start", "dead_fraction", reduce=np.max)
    e = {"seed": cell["seed"], "early_task": t0, "late_task": t1,
         "early_dead": float(dead[t0]), "late_dead": float(dead[t1])}
    for key, v in vals.items():
        e[f"early_{key}"], e[f"late_{key}"] = float(v[t0]), float(v[t1])
        e[f"{key}_ratio"] = _ratio(float(v[t1]), float(v[t0]))
    e["collapsed"] = bool(e["lambda_max_ratio"] <= COLLAPSE_RATIO
                          or e["eps_rank_ratio"] <= COLLAPSE_RATIO)
    e["shape_collapsed"] = bool(e["spectral_erank_ratio"] <= SHAPE_RATIO
                                or e["stable_rank_ratio"] <= SHAPE_RATIO)
    e["alive"] = bool(e["late_dead"] <= MAX_DEAD and e["late_lambda_max"] > 0)
    recs = {r["task"]: r for r in result["records"]}
    for name, t in (("early", t0), ("late", t1)):
        ev = recs[t]["start"].get("ggn_eigenvalues")
        if ev is not None:
            e[f"{name}_eigenvalues"] = [as_float(v) for v in ev]
    return e


def stream_summary(pairs: list) -> dict:
    step = comparison_step(pairs)
    runs = {}
    for (agent, lr), rs in by_run(pairs).items():
        runs[f"{agent} @ {lr:g}"] = {"agent": agent, "lr": lr,
                                     "seeds": [seed_entry(c, r) for c, r in rs]}
    return {"label": config_label(pairs[0][0], with_step=False), "step": step, "runs": runs,
            "note": run_length_note(pairs[0][0])}


def _fmt_run(run: dict) -> str:
    parts = []
    for e in run["seeds"]:
        m = ", ".join(f"{lab} {e[f'early_{k}']:.3g}→{e[f'late_{k}']:.3g} (×{e[f'{k}_ratio']:.2g})"
                      for k, lab, _ in MEASURES)
        verdict = (" COLLAPSED" if e["collapsed"] else "") + (
            " SHAPE-COLLAPSED" if e["shape_collapsed"] else "") + (
            "" if e["alive"] else " (dead network)")
        parts.append(f"seed {e['seed']} (tasks {e['early_task']}→{e['late_task']}): {m}, dead "
                     f"{e['early_dead']:.2f}→{e['late_dead']:.2f}{verdict}")
    return "; ".join(parts)


def summarize(cells_: list, results: list):
    streams = {name: stream_summary(pairs) for name, pairs in by_stream(cells_, results).items()}
    summary = {"eps": EPS, "rel_eps": REL_EPS, "collapse_ratio": COLLAPSE_RATIO,
               "shape_ratio": SHAPE_RATIO, "max_dead": MAX_DEAD, "streams": streams,
               "paper": _paper_densities()}
    crit = (f"collapse ⇔ λ_max ratio ≤ {COLLAPSE_RATIO} or ε-rank ratio ≤ {COLLAPSE_RATIO}; "
            f"alive ⇔ late dead fraction ≤ {MAX_DEAD} and late λ_max > 0")
    shape = (f"shape collapse ⇔ spectral-erank ratio ≤ {SHAPE_RATIO} or stable-rank ratio ≤ "
             f"{SHAPE_RATIO} (scale-free); alive as above")
    claims = []
    for name, s in streams.items():
        head = ((s["note"] + ". ") if s["note"] else "") + (
            "Exact GGN spectrum at task start (T1), ε-ranks over the attainable rank, dead = max "
            f"over hidden layers on the training set; comparison step {s['step']:g}. ")
        bp = s["runs"].get(f"bp @ {s['step']:g}")
        l2er = s["runs"].get(f"l2_er @ {s['step']:g}")
        bp_seeds = bp["seeds"] if bp else []
        short = "TOO SHORT" if s["note"] else ""  # no verdict from runs too short to decide
        claims += [
            Claim(f"E5.bp_collapse_{name}", f"{name}: bp's curvature collapses (paper's "
                  "scale-dependent measures) between an early and a late task start while the "
                  "network is alive", head + (_fmt_run(bp) if bp else "bp missing"),
                  crit + "; every seed", bool(bp_seeds) and all(
                      e["collapsed"] and e["alive"] for e in bp_seeds) and not short, FIGURE,
                  kind="finding", withheld=short),
            Claim(f"E5.bp_shape_collapse_{name}", f"{name}: bp's spectrum changes shape "
                  "(scale-free measures), not only scale, while alive",
                  head + (_fmt_run(bp) if bp else "bp missing"), shape + "; every seed",
                  bool(bp_seeds) and all(e["shape_collapsed"] and e["alive"]
                                         for e in bp_seeds) and not short, FIGURE,
                  kind="finding", withheld=short),
            Claim(f"E5.l2er_no_collapse_{name}", f"{name}: l2_er's curvature does not collapse",
                  head + (_fmt_run(l2er) if l2er else "l2_er missing"),
                  "no seed collapses (" + crit + ")",
                  bool(l2er) and not any(e["collapsed"] for e in l2er["seeds"]) and not short,
                  FIGURE, kind="finding", withheld=short)]
    return summary, claims


def broadened_density(ev, grid, sigma: float) -> np.ndarray:
    """(1/N) Σ_i N(λ; λ_i, σ²) on ``grid`` (the paper's Gaussian broadening of a spectrum)."""
    ev = np.asarray(ev, np.float64)[:, None]
    g = np.asarray(grid, np.float64)[None, :]
    return np.exp(-0.5 * ((g - ev) / sigma) ** 2).sum(axis=0) / (ev.size * sigma * np.sqrt(
        2 * np.pi))


def plot(summary: dict, figdir) -> list:
    """Per stream: the CDF of the exact spectra and their shape λ_i/λ_max; last row: the paper's
    Fig. 1 densities as CDFs (module docstring: why no broadened density)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paper = summary.get("paper", {})
    streams = summary["streams"]
    nrows = len(streams) + (1 if paper else 0)
    fig, axes = plt.subplots(nrows, 2, figsize=(12, 3.9 * nrows), squeeze=False)
    styles = {("bp", "early"): ("tab:blue", "-"), ("bp", "late"): ("tab:blue", "--"),
              ("l2_er", "early"): ("tab:orange", "-"), ("l2_er", "late"): ("tab:orange", "--")}
    for i, s in enumerate(streams.values()):
        ax_cdf, ax_shape = axes[i, 0], axes[i, 1]
        for agent in AGENTS_SHOWN:
            run = s["runs"].get(f"{agent} @ {s['step']:g}")
            if not run or "early_eigenvalues" not in run["seeds"][0]:
                continue
            e = run["seeds"][0]
            same = e["early_task"] == e["late_task"]  # a run too short for two task starts
            for ph in ("early",) if same else ("early", "late"):
                ev = np.sort(np.asarray(e[f"{ph}_eigenvalues"], float))
                col, ls = styles[(agent, ph)]
                name = f"{agent} task {e[f'{ph}_task']}" + (" (early = late)" if same else "")
                ax_cdf.step(np.maximum(ev, 1e-12), np.arange(1, ev.size + 1) / ev.size,
                            color=col, ls=ls, where="post",
                            label=f"{name}: λ_max {e[f'{ph}_lambda_max']:.3g}")
                top = ev[::-1] / ev.max() if ev.max() > 0 else np.zeros_like(ev)
                ax_shape.step(np.arange(1, ev.size + 1) / ev.size, np.maximum(top, 1e-16),
                              color=col, ls=ls, where="post",
                              label=f"{name}: stable rank {e[f'{ph}_stable_rank']:.3g}, "
                                    f"spectral erank {e[f'{ph}_spectral_erank']:.3g}")
        ax_cdf.set_xscale("log")
        ax_cdf.set_xlabel("GGN eigenvalue λ (exact, probe set; zeros drawn at 1e-12)")
        ax_cdf.set_ylabel("fraction of eigenvalues ≤ λ")
        ax_cdf.set_title(f"{s['label']}: first seed, step {s['step']:g}", fontsize=7)
        ax_cdf.legend(fontsize=6, loc="upper left")
        ax_shape.set_yscale("log")
        ax_shape.set_ylim(1e-8, 2)
        ax_shape.set_xlabel("i / N (eigenvalues in decreasing order; zeros drawn at 1e-16)")
        ax_shape.set_ylabel("λ_i / λ_max")
        ax_shape.set_title("shape of the same spectra (scale-free: unchanged by λ ↦ cλ)",
                           fontsize=7)
        ax_shape.legend(fontsize=6, loc="lower left")
    if paper:
        for j, agent in enumerate(AGENTS_SHOWN):
            ax = axes[-1, j]
            for task, ls in ((50, "-"), (300, "--")):
                p = paper.get(f"{agent}_task{task}")
                if p and "cdf" in p:
                    ax.plot(p["cdf_grid"], p["cdf"], ls=ls, color=styles[(agent, "early")][0],
                            label=f"task {task}: λ_max≈{p['lambda_max']:.3g}, "
                                  f"mass |λ| > 0.1: {p['mass_outside_0.1']:.3g}")
            ax.set_xscale("symlog", linthresh=0.1)
            ax.set_title(f"{agent}, {PAPER_CAPTION}, as a CDF".replace(", tasks", ",\ntasks"),
                         fontsize=7)
            ax.set_xlabel("Hessian eigenvalue λ (symmetric log beyond |λ| = 0.1)")
            ax.set_ylabel("fraction of the density ≤ λ")
            ax.legend(fontsize=6, loc="upper left")
    return save_figure(fig, figdir, FIGURE)


EXPERIMENT = Experiment(
    id="E5", figure=FIGURE,
    title="curvature at an early and a late task start on the paper's streams: exact GGN "
          "spectra as CDFs and as shapes λ_i/λ_max, and the paper's Fig. 1 densities as CDFs (a "
          "density broadened at the paper's σ ≈ 0.015 is a comb of one spike per eigenvalue)",
    mirrors="paper Fig. 1", cells=cells, run_cell=run_cell, summarize=summarize, plot=plot,
    claim_ids=(("E5.bp_collapse_<stream>", "bp's exact GGN λ_max or ε-rank falls ≥ 10× "
                "early→late while alive (dead ≤ 0.9), every seed"),
               ("E5.bp_shape_collapse_<stream>", "bp's spectral erank or stable rank falls ≥ 2× "
                "while alive, every seed"),
               ("E5.l2er_no_collapse_<stream>", "l2_er's GGN λ_max and ε-rank stay within 10×")),
    tiers=("quick", "long", "full"))
