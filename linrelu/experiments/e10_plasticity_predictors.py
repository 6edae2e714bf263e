"""E10 fig_plasticity_predictors: which task-start quantity predicts how well a task is learned?

Beyond the paper: the paper's claim is that the Hessian ε-rank at a task start predicts the
accuracy reached on the task. THEORY.md cites Baveja, Lewandowski & Schmidt (arXiv 2509.19698),
who report that Hessian rank, sharpness and weight/gradient norms are *not* reliable predictors
of loss of trainability. This experiment puts them side by side on the same runs (the cells of
E5–E7), at every task start with a spectrum:

| quantity | measured at task start |
|---|---|
| eps_rank | exact GGN ε-rank / attainable rank at the paper's ε (PM 0.01, class pairs 0.03) |
| lambda_max | λ_max of the GGN (sharpness) |
| stable_rank | Σλ/λ_max of the GGN (scale-free) |
| spectral_erank | effective rank of the GGN spectrum (scale-free) |
| dead_fraction | dead units, mean over hidden layers, on the task's training set |
| feature_erank | effective rank of the hidden features, mean over layers, training set |
| weight_norm | ‖θ‖₂ |
| grad_norm | ‖∇L‖₂ on the probe set |
| predicted_ratio | :func:`linrelu.predict_trainability`'s predicted L_T/L_0 (T8 mse / T9 ce) |

Target: the online accuracy reached on the task. Two scores per quantity, each **within agent**
(one (agent, step) at a time, then the mean over agents), because a pooled R² across agents
mixes between-method differences in (THEORY.md, "Predicting plasticity needs a control for
time"):
- **held-out R²**: leave one seed out, fit acc ≈ a + b·q on the other seeds, R² on the left-out
  seed (:func:`continual_runs.held_out_r2`); mean over folds;
- **partial R²** after regressing both q and accuracy on a quadratic in the task index (the
  control for time: a quantity that merely drifts with the task index, while accuracy declines,
  scores high in-sample and ~0 here; :func:`continual_runs.partial_r2`).

Criterion, fixed in this file before the ``--long`` run (issue 17): a quantity *predicts
plasticity* on a stream ⇔ its mean within-agent held-out R² ≥ 0.3 **and** its mean within-agent
partial R² ≥ 0.1. One finding row per quantity and stream (E10.<quantity>_<stream>).
"""

from __future__ import annotations

import numpy as np

from linrelu.experiments.base import Claim, Experiment, save_figure
from linrelu.experiments.continual_runs import (
    as_float,
    by_run,
    by_stream,
    config_label,
    continual_cells,
    eps_key,
    held_out_r2,
    online_accuracy,
    partial_r2,
    run_cell,
    run_length_note,
    series,
    spectral_tasks,
)

FIGURE = "fig_plasticity_predictors"
HELD_OUT_MIN = 0.3
PARTIAL_MIN = 0.1
PAPER_EPS = {"permuted_mnist": 0.01, "class_pairs": 0.03}
QUANTITIES = ("eps_rank", "lambda_max", "stable_rank", "spectral_erank", "dead_fraction",
              "feature_erank", "weight_norm", "grad_norm", "predicted_ratio")


def cells(mode: str) -> list:
    return continual_cells(mode)


def quantity(result: dict, name: str, stream: str) -> np.ndarray:
    """Per-task values of a quantity of the module docstring's table (NaN where not measured)."""
    if name == "eps_rank":
        return series(result, "start", "eps_rank_norm", eps_key(PAPER_EPS.get(stream, 0.01)))
    if name == "feature_erank":
        return series(result, "start", "erank")
    return series(result, "start", name)


def scores(groups_by_run: dict) -> dict:
    """{"held_out", "partial"}: means over runs of the within-run scores.

    ``groups_by_run`` = {run label: [(tasks, q, acc) per seed]}."""
    held, part = [], []
    for groups in groups_by_run.values():
        h = held_out_r2([(q, acc) for _, q, acc in groups])
        t = np.concatenate([g[0] for g in groups])
        q = np.concatenate([g[1] for g in groups])
        acc = np.concatenate([g[2] for g in groups])
        p = partial_r2(q, acc, t)
        if np.isfinite(h):
            held.append(h)
        if np.isfinite(p):
            part.append(p)
    return {"held_out": float(np.mean(held)) if held else float("nan"),
            "partial": float(np.mean(part)) if part else float("nan"),
            "num_runs": len(groups_by_run), "runs_scored": len(held)}


def predicts(score: dict) -> bool:
    """The criterion of the module docstring."""
    return bool(np.isfinite(score["held_out"]) and np.isfinite(score["partial"])
                and score["held_out"] >= HELD_OUT_MIN and score["partial"] >= PARTIAL_MIN)


def stream_summary(name: str, pairs: list) -> dict:
    table = {}
    for qname in QUANTITIES:
        groups = {}
        for (agent, lr), rs in by_run(pairs).items():
            seeds = []
            for _, r in rs:
                tasks = spectral_tasks(r)
                q, acc = quantity(r, qname, name)[tasks], online_accuracy(r)[tasks]
                ok = np.isfinite(q) & np.isfinite(acc)
                seeds.append((tasks[ok], q[ok], acc[ok]))
            if len(seeds) > 1 and all(s[0].size > 2 for s in seeds):
                groups[f"{agent} @ {lr:g}"] = seeds
        table[qname] = scores(groups)
    return {"label": config_label(pairs[0][0], with_step=False),
            "note": run_length_note(pairs[0][0]), "table": table}


def summarize(cells_: list, results: list):
    streams = {name: stream_summary(name, pairs)
               for name, pairs in by_stream(cells_, results).items()}
    claims = []
    for name, s in streams.items():
        head = (s["note"] + ". ") if s["note"] else ""
        for qname, sc in s["table"].items():
            claims.append(Claim(
                f"E10.{qname}_{name}", f"{name}: {qname} at task start predicts the online "
                f"accuracy reached on the task (within agent, held out, controlled for time)",
                head + f"held-out R² {as_float(sc['held_out']):.3f}, partial R² (task index "
                f"regressed out) {as_float(sc['partial']):.3f}; mean over {sc['runs_scored']} "
                f"of {sc['num_runs']} (agent, step) runs",
                f"held-out R² ≥ {HELD_OUT_MIN} and partial R² ≥ {PARTIAL_MIN}", predicts(sc),
                FIGURE, kind="finding"))
    return {"streams": streams, "quantities": list(QUANTITIES),
            "criteria": {"held_out": HELD_OUT_MIN, "partial": PARTIAL_MIN}}, claims


def plot(summary: dict, figdir) -> list:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    streams = summary["streams"]
    q = summary["quantities"]
    fig, axes = plt.subplots(1, len(streams), figsize=(7 * len(streams), 4.5), squeeze=False)
    for ax, s in zip(axes[0], streams.values()):
        held = [as_float(s["table"][k]["held_out"]) for k in q]
        part = [as_float(s["table"][k]["partial"]) for k in q]
        y = np.arange(len(q))
        ax.barh(y - 0.2, np.nan_to_num(held, nan=0.0), height=0.4, label="held-out R² (within "
                "agent, leave one seed out)")
        ax.barh(y + 0.2, np.nan_to_num(part, nan=0.0), height=0.4,
                label="partial R² (task index regressed out)")
        ax.axvline(summary["criteria"]["held_out"], color="tab:blue", ls=":", lw=1)
        ax.axvline(summary["criteria"]["partial"], color="tab:orange", ls=":", lw=1)
        ax.set_yticks(y, q, fontsize=8)
        ax.set_xlim(min(-0.5, np.nanmin(held + part + [0.0])), 1)
        ax.set_xlabel("R² for the online accuracy reached on the task")
        ax.set_title(s["label"] + (f"\n{s['note']}" if s["note"] else ""), fontsize=7)
        ax.legend(fontsize=7)
    fig.suptitle("Which task-start quantity predicts plasticity? (dotted: the criteria)")
    return save_figure(fig, figdir, FIGURE)


EXPERIMENT = Experiment(
    id="E10", figure=FIGURE,
    title="task-start predictors of the accuracy reached (ε-rank, λ_max, stable rank, dead "
          "units, feature rank, norms, T8/T9 prediction): within agent, held out, time-controlled",
    mirrors="beyond the paper (THEORY.md: Baveja et al. 2025; a control for time)",
    cells=cells, run_cell=run_cell, summarize=summarize, plot=plot,
    claim_ids=(("E10.<quantity>_<stream>", "held-out within-agent R² ≥ 0.3 and partial R² "
                "≥ 0.1"),),
    tiers=("quick", "long", "full"))
