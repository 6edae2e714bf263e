"""E4 fig_trainability_grid: predicted vs realized τ-trainability at every task start.

For each stream (teacher_regression with mse, random_label_digits with ce), width × depth and
agent (bp, l2_er), tasks are learned in sequence (linrelu.continual). At every task start,
BEFORE training, :func:`linrelu.diagnose.predict_trainability` predicts whether ``STEPS``
full-batch GD steps of the agent's step size reach L_T ≤ τ L_0 (T8 on K with the actual
residual for mse, T9 with the actual gradient for ce). Then the task is trained with
``train_task(batch_size = n, epochs = STEPS)``, i.e. exactly STEPS full-batch steps with the same
step size, and the realized L_T/L_0 (training loss, float64 evaluation) is compared.

Honest mismatches between prediction and training, kept on purpose and reported:
- the prediction is for the linearized (mse) or local quadratic (ce) model of the plain loss;
  the real net moves away from both;
- ``train_task`` runs in float32 and ``l2_er`` adds its L2 and effective-rank penalties to the
  objective (the prediction ignores them).
"""

from __future__ import annotations

import numpy as np

from linrelu.experiments.base import Claim, Experiment, save_figure, to_jsonable

FIGURE = "fig_trainability_grid"
STREAMS = {  # stream → (loss, stream options, agent step size, τ)
    "teacher_regression": ("mse", {"n_train": 64, "n_probe": 64, "in_dim": 16, "out_dim": 1},
                           0.25, 0.1),
    "random_label_digits": ("ce", {"n_train": 64, "n_probe": 64}, 1.0, 0.5),
}
AGENTS = ("bp", "l2_er")
STEPS = 100


def cells(mode: str) -> list:
    if mode == "quick":
        widths, depths, tasks, seeds = (32, 128, 512), (1, 2, 3), 4, (0,)
    else:
        widths, depths, tasks, seeds = (32, 128, 512, 2048), (1, 2, 3, 4), 12, (0, 1, 2)
    # Both agents share a cell: same network shape, so the Gram / forward jits compile once.
    return [{"stream": s, "width": w, "depth": L, "agents": list(AGENTS), "num_tasks": tasks,
             "seed": seed} for seed in seeds for s in STREAMS for w in widths for L in depths]


def run_cell(cell: dict) -> dict:
    import jax

    from linrelu import MLP
    from linrelu.continual import make_agent, make_stream, start_task, train_task
    from linrelu.diagnose import predict_trainability

    loss, options, lr, tau = STREAMS[cell["stream"]]
    stream = make_stream(cell["stream"], seed=cell["seed"], num_tasks=cell["num_tasks"],
                         **options)
    net = MLP((stream.in_dim,) + (cell["width"],) * cell["depth"] + (stream.out_dim,))
    records = []
    for agent_name in cell["agents"]:
        agent = make_agent(agent_name, lr=lr)
        key = jax.random.PRNGKey(cell["seed"])
        key, k0 = jax.random.split(key)
        params = net.init(k0)
        for task in stream:
            key, k_start, k_train = jax.random.split(key, 3)
            params = start_task(net, params, agent, k_start)
            pred = predict_trainability(net, params, task.X, task.y, loss, lr=lr, steps=STEPS,
                                        tau=tau)
            params, info = train_task(net, params, task, agent, epochs=STEPS,
                                      batch_size=task.X.shape[0], key=k_train)
            realized = info["loss"] / pred.initial_loss
            records.append({"agent": agent_name, "task": task.index, "L0": pred.initial_loss,
                            "predicted_ratio": pred.predicted_ratio,
                            "predicted_trainable": pred.trainable,
                            "decided_by": pred.decided_by, "realized_ratio": realized,
                            "realized_trainable": bool(realized <= tau),
                            "final_loss": info["loss"]})
    return to_jsonable({**cell, "tau": tau, "records": records})


def _scores(records):
    """(balanced accuracy, ROC AUC); None where a class is missing (the metric is undefined)."""
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    if not records:
        return None, None, None
    truth = np.array([r["realized_trainable"] for r in records])
    pred = np.array([r["predicted_trainable"] for r in records])
    score = -np.array([r["predicted_ratio"] for r in records])  # high = predicted trainable
    if truth.all() or not truth.any():
        return None, None, float(np.mean(truth == pred))
    return (float(balanced_accuracy_score(truth, pred)), float(roc_auc_score(truth, score)),
            float(np.mean(truth == pred)))


def summarize(cell_list: list, results: list):
    per_cell, grid = [], {}
    for r in results:
        for agent in r["agents"]:
            recs = [x for x in r["records"] if x["agent"] == agent]
            ba, auc, acc = _scores(recs)
            per_cell.append({k: r[k] for k in ("stream", "width", "depth", "seed")}
                            | {"agent": agent, "balanced_accuracy": ba, "auc": auc,
                               "accuracy": acc, "tasks": len(recs),
                               "realized_trainable": sum(x["realized_trainable"] for x in recs)})
        grid.setdefault(f"{r['width']},{r['depth']}", []).extend(r["records"])
    all_records = [x for r in results for x in r["records"]]
    ba, auc, acc = _scores(all_records)
    grid_scores = {wd: dict(zip(("balanced_accuracy", "auc", "accuracy"), _scores(recs),
                                strict=True)) for wd, recs in grid.items()}
    by_stream = {}
    for s in STREAMS:
        recs = [x for r in results if r["stream"] == s for x in r["records"]]
        by_stream[s] = dict(zip(("balanced_accuracy", "auc", "accuracy"), _scores(recs),
                                strict=True)) | {"n": len(recs)}
    scatter = [{"stream": r["stream"], "predicted": x["predicted_ratio"] * x["L0"],
                "realized": x["final_loss"], "L0": x["L0"]}
               for r in results for x in r["records"]]
    decided = {}
    for x in all_records:
        decided[x["decided_by"]] = decided.get(x["decided_by"], 0) + 1
    summary = {"overall": {"balanced_accuracy": ba, "auc": auc, "accuracy": acc,
                           "n": len(all_records),
                           "realized_trainable": sum(x["realized_trainable"]
                                                     for x in all_records)},
               "by_stream": by_stream, "grid": grid_scores, "per_cell": per_cell,
               "scatter": scatter, "decided_by": decided,
               "widths": sorted({r["width"] for r in results}),
               "depths": sorted({r["depth"] for r in results}),
               "taus": {s: v[3] for s, v in STREAMS.items()}, "steps": STEPS}

    def fmt(v):
        return "undefined (one class)" if v is None else f"{v:.3f}"

    stream_txt = "; ".join(f"{s}: BA {fmt(v['balanced_accuracy'])}, AUC {fmt(v['auc'])}"
                           for s, v in by_stream.items())
    claims = [
        Claim("E4.balanced_accuracy",
              "the spectral prediction at task start (T8 mse / T9 ce) predicts τ-trainability",
              f"balanced accuracy {fmt(ba)} over {len(all_records)} task starts "
              f"({summary['overall']['realized_trainable']} realized trainable); {stream_txt}",
              "≥ 0.8 overall", ba is not None and ba >= 0.8, FIGURE),
        Claim("E4.auc", "the predicted L_T/L_0 ranks tasks by realized trainability",
              f"ROC AUC {fmt(auc)} overall", "≥ 0.8 overall", auc is not None and auc >= 0.8,
              FIGURE),
    ]
    return summary, claims


def plot(summary: dict, figdir) -> list:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    widths, depths = summary["widths"], summary["depths"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    ax = axes[0]
    M = np.full((len(depths), len(widths)), np.nan)
    for i, L in enumerate(depths):
        for j, w in enumerate(widths):
            s = summary["grid"].get(f"{w},{L}")
            if s and s["accuracy"] is not None:
                M[i, j] = s["balanced_accuracy"] if s["balanced_accuracy"] is not None \
                    else s["accuracy"]
    im = ax.imshow(M, vmin=0, vmax=1, cmap="viridis", origin="lower")
    for i, L in enumerate(depths):
        for j, w in enumerate(widths):
            s = summary["grid"].get(f"{w},{L}")
            if s and s["accuracy"] is not None:
                tag = "BA" if s["balanced_accuracy"] is not None else "acc*"
                ax.text(j, i, f"{tag} {M[i, j]:.2f}", ha="center", va="center",
                        color="w" if M[i, j] < 0.6 else "k")
    ax.set_xticks(range(len(widths)), [str(w) for w in widths])
    ax.set_yticks(range(len(depths)), [str(L) for L in depths])
    ax.set_xlabel("width")
    ax.set_ylabel("depth")
    ov = summary["overall"]
    ba = "n/a" if ov["balanced_accuracy"] is None else f"{ov['balanced_accuracy']:.2f}"
    ax.set_title(f"(a) prediction balanced accuracy (overall {ba}, n={ov['n']})\n"
                 "acc* = plain accuracy where only one outcome occurred", fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax = axes[1]
    for c, (s, marker) in enumerate((("teacher_regression", "o"), ("random_label_digits", "s"))):
        pts = [p for p in summary["scatter"] if p["stream"] == s]
        if not pts:
            continue
        # clipped into the axes: the quadratic model can predict ≤ 0 or diverge (ηλ > 2)
        ax.scatter(np.clip([p["predicted"] / p["L0"] for p in pts], 1e-4, 2),
                   np.clip([p["realized"] / p["L0"] for p in pts], 1e-4, 2),
                   s=14, marker=marker, color=f"C{c}", alpha=0.7,
                   label=f"{s} (τ = {summary['taus'][s]})")
        ax.axhline(summary["taus"][s], color=f"C{c}", ls=":", lw=1)
        ax.axvline(summary["taus"][s], color=f"C{c}", ls=":", lw=1)
    lims = [1e-4, 2]
    ax.plot(lims, lims, "k--", lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(*lims)
    ax.set_ylim(*lims)
    ax.set_xlabel(f"predicted L_T/L_0 (T = {summary['steps']}), clipped to [1e-4, 2]")
    ax.set_ylabel("realized L_T/L_0")
    ax.set_title("(b) predicted vs realized final loss (relative to L_0)", fontsize=10)
    ax.legend(fontsize=8)
    return save_figure(fig, figdir, FIGURE)


EXPERIMENT = Experiment(
    id="E4", figure=FIGURE,
    title="Predicted (T8/T9 at task start) vs realized τ-trainability across widths and depths",
    mirrors="THEORY T8, T9 (ε-rank conditions) on continual task streams",
    cells=cells, run_cell=run_cell, summarize=summarize, plot=plot,
    claim_ids=(("E4.balanced_accuracy", "balanced accuracy of the prediction ≥ 0.8"),
               ("E4.auc", "ROC AUC of the predicted ratio ≥ 0.8")),
)
