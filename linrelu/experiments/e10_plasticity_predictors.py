"""E10 fig_plasticity_predictors: which quantity predicts how well a task is learned?

Beyond the paper: the paper's claim is that the Hessian ε-rank at a task start predicts the
accuracy reached on the task. THEORY.md cites Baveja, Lewandowski & Schmidt (arXiv 2509.19698),
who report that Hessian rank, sharpness and weight/gradient norms are *not* reliable predictors
of loss of trainability. This experiment puts them side by side with the quantities the field
uses (issue 36) on the same runs (the cells of E5–E7, and the ``--remedies`` tier's):

| quantity | what (per task; "mean" = mean over hidden layers) |
|---|---|
| eps_rank | exact GGN ε-rank / attainable rank at the paper's ε (PM 0.01, class pairs 0.03) |
| lambda_max | λ_max of the GGN (sharpness) |
| stable_rank | the GGN's Σλ/λ_max (scale-free; *not* the feature srank below) |
| spectral_erank | effective rank of the GGN spectrum (scale-free) |
| predicted_ratio | :func:`linrelu.predict_trainability`'s predicted L_T/L_0 (T8 mse / T9 ce) |
| dead_fraction | dead units (0 on every census input), mean |
| dormant_0.025, dormant_0.1 | ReDo's τ-dormant ratio (score a_u / mean_v a_v ≤ τ), mean |
| feature_rank | exact rank of the features (numpy's tolerance), mean |
| srank | srank_δ on σ, δ = 0.01 (Kumar et al. 2021), mean |
| srank_sq | srank_δ on σ² (Dohare et al.'s "approximate rank"), mean |
| feature_erank | effective rank of the features (Roy–Vetterli), mean |
| duplicate_fraction | units with |corr| > 0.95 to another unit of the layer, mean |
| weight_abs_1/2/3 | mean |W| of the first three weight arrays |
| weight_abs_out | mean |W| of the output layer's weights |
| param_distance | ‖θ − θ₀‖₂ (θ₀ the run's initialization) |
| weight_norm | ‖θ‖₂ |
| grad_norm | ‖∇L‖₂ on the probe set |

The GGN quantities exist at the tasks with a spectrum (every ``spectrum_every`` tasks); the
others at every task (:mod:`linrelu.continual.metrics`, the census inputs). **Two conventions**
(row ids say which): ``E10.<quantity>_start_<stream>``: measured at the start of task i (Dohare
et al.: on the new task's inputs, before training on it), target = the online accuracy reached on
task i; ``E10.<quantity>_end_<stream>`` (tiers that record task-end metrics, ``end_metrics``):
measured at the end of task i (lop-jax; on task i's inputs, after training), target = the online
accuracy on task i + 1, which starts from that network (the accuracy of task i itself would be
circular).

Two scores per quantity, each **within agent** (one run configuration at a time, then the mean
over them, because a pooled R² across agents mixes between-method differences in; THEORY.md,
"Predicting plasticity needs a control for time"):
- **held-out R²**: leave one seed out, fit acc ≈ a + b·q on the other seeds, R² on the left-out
  seed (:func:`continual_runs.held_out_r2`); mean over folds;
- **partial R²** after regressing both q and accuracy on a quadratic in the task index (the
  control for time; :func:`continual_runs.partial_r2`).

**Intervals** (issue 36): every score has a 95 % percentile bootstrap interval, ``BOOTSTRAP``
= 1000 resamples. A resample draws, within each run configuration, its seeds with replacement and
then, for each drawn seed, that seed's tasks with replacement (the same resample for every
quantity of a run; the GGN quantities use the drawn tasks that have a spectrum); the held-out R²
of a resample leaves out each distinct drawn seed in turn (a seed drawn twice is never on both
sides), and is undefined when one seed is drawn S times (that run then sits out that resample's
mean). The resamples are seeded (``BOOTSTRAP_SEED`` and the run's label), so reruns give the same
intervals. A resample repeats points, which biases an R² upward on few points (a point estimate
can then lie below its percentile interval); with hundreds of tasks per seed the bias is small.

Criterion (issue 17's bars, with issue 36's intervals; fixed in this file before the
``--remedies`` run): a quantity *predicts plasticity* on a stream ⇔ mean within-agent held-out
R² ≥ 0.3 **and** mean within-agent partial R² ≥ 0.1. REPRODUCED when both intervals lie above
their bars (lower ends ≥ bars); NOT REPRODUCED when either interval lies below its bar (upper end
< bar); otherwise UNDECIDED (an interval straddles its bar). Each row also prints issue 17's
verdict on the point estimates alone (the criterion before the intervals were added).
"""

from __future__ import annotations

import zlib

import numpy as np

from linrelu.experiments.base import Claim, Experiment, save_figure
from linrelu.experiments.continual_runs import (
    as_float,
    by_stream,
    config_label,
    continual_cells,
    eps_key,
    online_accuracy,
    run_cell,
    run_length_note,
    series,
)

FIGURE = "fig_plasticity_predictors"
HELD_OUT_MIN = 0.3
PARTIAL_MIN = 0.1
PAPER_EPS = {"permuted_mnist": 0.01, "class_pairs": 0.03}
#: the metric list, fixed before the --remedies run (module docstring's table)
GGN_QUANTITIES = ("eps_rank", "lambda_max", "stable_rank", "spectral_erank", "predicted_ratio")
FIELD_QUANTITIES = ("dead_fraction", "dormant_0.025", "dormant_0.1", "feature_rank", "srank",
                    "srank_sq", "feature_erank", "duplicate_fraction", "weight_abs_1",
                    "weight_abs_2", "weight_abs_3", "weight_abs_out", "param_distance",
                    "weight_norm", "grad_norm")
QUANTITIES = GGN_QUANTITIES + FIELD_QUANTITIES
PHASES = ("start", "end")
BOOTSTRAP = 1000
BOOTSTRAP_SEED = 36
LEVEL = 0.95
_RECORD_KEY = {"feature_erank": ("erank", None), "dormant_0.025": ("dormant_ratio@0.025", None),
               "dormant_0.1": ("dormant_ratio@0.1", None),
               "weight_abs_1": ("weight_mean_abs", 0), "weight_abs_2": ("weight_mean_abs", 1),
               "weight_abs_3": ("weight_mean_abs", 2), "weight_abs_out": ("weight_mean_abs", -1)}


def cells(mode: str) -> list:
    return continual_cells(mode)


def quantity(result: dict, name: str, stream: str, phase: str = "start") -> np.ndarray:
    """Per-task values of a quantity of the module docstring's table at ``phase`` ("start" or
    "end") (NaN where not measured)."""
    if name not in QUANTITIES:
        raise ValueError(f"name: expected one of {QUANTITIES}, received {name!r}")
    if phase not in PHASES:
        raise ValueError(f"phase: expected one of {PHASES}, received {phase!r}")
    if not all(phase in r for r in result["records"]):
        return np.full(len(result["records"]), np.nan)
    if name == "eps_rank":
        return series(result, phase, "eps_rank_norm", eps_key(PAPER_EPS.get(stream, 0.01)))
    key, sub = _RECORD_KEY.get(name, (name, None))
    return series(result, phase, key, sub)


def points(result: dict, name: str, stream: str, phase: str):
    """(task index for the time control, q, target accuracy) of one run at the tasks where both
    are finite: start → (i, q_start[i], acc[i]); end → (i + 1, q_end[i], acc[i + 1])."""
    q, acc = quantity(result, name, stream, phase), online_accuracy(result)
    t = np.arange(q.size, dtype=np.float64)
    if phase == "end":
        q, acc, t = q[:-1], acc[1:], t[1:]
    ok = np.isfinite(q) & np.isfinite(acc)
    return t[ok], q[ok], acc[ok]


# --- weighted scores (a bootstrap resample = integer weights on the points) --------------------


def _held_out(W, x, y, seed_of):
    """Held-out R² (leave one seed out, line fit on the others, R² on it; mean over the seeds
    with weight) for each row of weights W (B, N); NaN where < 2 seeds have weight or a fit has
    no spread. With unit weights: :func:`continual_runs.held_out_r2`. Computed from weighted
    sums (n, Σx, Σy, Σx², Σxy, Σy²) per seed."""
    seeds = np.unique(seed_of)
    cols = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=1)  # (N, 6)
    stats = np.stack([(W[:, seed_of == s] @ cols[seed_of == s]).T for s in seeds])  # (S, 6, B)
    tot = stats.sum(0)
    r2 = np.full((len(seeds), W.shape[0]), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(len(seeds)):
            n, sx, sy, sxx, sxy, syy = stats[i]
            N, Sx, Sy, Sxx, Sxy, _ = tot - stats[i]
            den = N * Sxx - Sx * Sx
            b = (N * Sxy - Sx * Sy) / den
            a = (Sy - b * Sx) / N
            ss_res = syy - 2 * a * sy - 2 * b * sxy + a * a * n + 2 * a * b * sx + b * b * sxx
            ss_tot = syy - sy * sy / n
            ok = (n > 0) & (N > 0) & (den > 1e-12 * np.maximum(N * Sxx, 1e-300)) & (ss_tot > 0)
            r2[i] = np.where(ok, 1.0 - ss_res / ss_tot, np.nan)
    present = stats[:, 0, :] > 0  # (S, B)
    valid = present.sum(0) >= 2
    defined = valid & ~np.any(present & np.isnan(r2), axis=0)
    out = np.where(present, np.nan_to_num(r2), 0.0).sum(0) / np.maximum(present.sum(0), 1)
    return np.where(defined, out, np.nan)


def _partial(W, x, y, t, degree: int = 2):
    """Partial R² (q and accuracy each regressed on a degree-2 polynomial in the task index by
    weighted least squares, then the weighted squared correlation of the residuals) for each
    row of W. With unit weights: :func:`continual_runs.partial_r2`. From weighted sums: with
    A = Vᵀ diag(w) V, c_x = A⁻¹ Vᵀ diag(w) x, Σ w r_x r_y = Σ w x y − c_x·(Vᵀ w y) − c_y·(Vᵀ w x)
    + c_xᵀ A c_y."""
    scale = max(float(np.ptp(t)), 1.0)
    V = np.vander((t - t.min()) / scale, degree + 1)
    k = degree + 1
    A = (W @ (V[:, :, None] * V[:, None, :]).reshape(len(t), -1)).reshape(-1, k, k)
    bx, by = W @ (V * x[:, None]), W @ (V * y[:, None])
    out = np.full(W.shape[0], np.nan)
    try:
        cx = np.linalg.solve(A, bx[..., None])[..., 0]
        cy = np.linalg.solve(A, by[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return out
    quad = lambda u, v: np.einsum("bi,bij,bj->b", u, A, v)  # noqa: E731
    sxx = W @ (x * x) - 2 * np.sum(cx * bx, 1) + quad(cx, cx)
    syy = W @ (y * y) - 2 * np.sum(cy * by, 1) + quad(cy, cy)
    sxy = W @ (x * y) - np.sum(cx * by, 1) - np.sum(cy * bx, 1) + quad(cx, cy)
    ok = (sxx > 1e-12 * np.maximum(W @ (x * x), 1e-300)) & (syy > 1e-12 * np.maximum(
        W @ (y * y), 1e-300))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ok, sxy * sxy / (sxx * syy), np.nan)


def resample_weights(seed_points: list, label: str, B: int = BOOTSTRAP) -> np.ndarray:
    """(B, Σ n_s) integer weights: per resample, the seeds drawn with replacement, then each
    drawn seed's n_s points drawn with replacement (module docstring); seeded by
    ``BOOTSTRAP_SEED`` and ``label``. ``seed_points`` = [n_s per seed]."""
    rng = np.random.default_rng([BOOTSTRAP_SEED, zlib.crc32(label.encode())])
    S = len(seed_points)
    draws = rng.integers(S, size=(B, S))
    copies = (draws[:, :, None] == np.arange(S)).sum(1)  # (B, S): how often each seed is drawn
    cols = [rng.multinomial(copies[:, s] * n, np.full(n, 1.0 / n)) if n else np.zeros((B, 0))
            for s, n in enumerate(seed_points)]
    return np.concatenate(cols, axis=1).astype(np.float64)


def run_scores(seeds: list, label: str, W=None) -> dict:
    """Point scores and bootstrap replicates of one run configuration. ``seeds`` = [(t, q, acc)
    per seed, on *all* the run's tasks, NaN where q is not measured]; ``W`` the resample weights
    over those tasks (:func:`resample_weights`; drawn here when None)."""
    n = [s[0].size for s in seeds]
    W = resample_weights(n, label) if W is None else W
    t = np.concatenate([s[0] for s in seeds])
    x = np.concatenate([s[1] for s in seeds])
    y = np.concatenate([s[2] for s in seeds])
    seed_of = np.concatenate([np.full(k, i) for i, k in enumerate(n)])
    ok = np.isfinite(x) & np.isfinite(y)
    t, x, y, seed_of, W = t[ok], x[ok], y[ok], seed_of[ok], W[:, ok]
    # both scores are invariant to x ↦ (x − m)/s and y ↦ (y − m'): standardized for round-off
    x = (x - x.mean()) / (x.std() if x.size and x.std() > 0 else 1.0)
    y = y - y.mean() if y.size else y
    one = np.ones((1, x.size))
    return {"held_out": float(_held_out(one, x, y, seed_of)[0]),
            "partial": float(_partial(one, x, y, t)[0]),
            "held_out_boot": _held_out(W, x, y, seed_of), "partial_boot": _partial(W, x, y, t),
            "points": int(x.size)}


def combine(runs: dict) -> dict:
    """Means over the run configurations of the point scores and of each resample's scores
    (a run whose score is undefined in a resample sits that resample out), with the 95 %
    percentile intervals of the means."""
    out = {"num_runs": len(runs)}
    for k in ("held_out", "partial"):
        pts = [r[k] for r in runs.values() if np.isfinite(r[k])]
        out[k] = float(np.mean(pts)) if pts else float("nan")
        out["runs_scored" if k == "held_out" else "runs_partial"] = len(pts)
        if not runs:
            out[k + "_ci"] = [float("nan"), float("nan")]
            continue
        boot = np.stack([r[k + "_boot"] for r in runs.values()])
        ok = np.isfinite(boot)
        count = ok.sum(0)
        means = np.where(ok, boot, 0.0).sum(0)[count > 0] / count[count > 0]
        lo, hi = ((float(np.quantile(means, (1 - LEVEL) / 2)),
                   float(np.quantile(means, (1 + LEVEL) / 2))) if means.size >= 0.9 * boot.shape[1]
                  else (float("nan"), float("nan")))
        out[k + "_ci"] = [lo, hi]
    out["points"] = int(sum(r["points"] for r in runs.values()))
    return out


def verdict(score: dict) -> str:
    """"pass", "fail" or "undecided" by the criterion of the module docstring (intervals).
    A score without finite intervals (too few runs, seeds or points, or a quantity that never
    varies) cannot be decided: "undecided"."""
    (hl, hh), (pl, ph) = score["held_out_ci"], score["partial_ci"]
    if not all(np.isfinite(v) for v in (hl, hh, pl, ph)):
        return "undecided"
    if hl >= HELD_OUT_MIN and pl >= PARTIAL_MIN:
        return "pass"
    if hh < HELD_OUT_MIN or ph < PARTIAL_MIN:
        return "fail"
    return "undecided"


def predicts(score: dict) -> bool:
    """Issue 17's criterion on the point estimates alone (reported beside the verdict)."""
    return bool(np.isfinite(score["held_out"]) and np.isfinite(score["partial"])
                and score["held_out"] >= HELD_OUT_MIN and score["partial"] >= PARTIAL_MIN)


def _run_label(cell: dict) -> str:
    return f"{cell['agent']} @ {cell['agent_options']['lr']:g}"


def stream_summary(name: str, pairs: list) -> dict:
    runs = {}
    for c, r in pairs:
        runs.setdefault(_run_label(c), []).append(r)
    phases = [p for p in PHASES if all(all(p in rec for rec in r["records"]) for _, r in pairs)]
    table, weights = {}, {}
    for phase in phases:
        for qname in QUANTITIES:
            scored = {}
            for label, rs in runs.items():
                if len(rs) < 2:
                    continue
                seeds = []
                for r in rs:
                    q, acc = quantity(r, qname, name, phase), online_accuracy(r)
                    t = np.arange(q.size, dtype=np.float64)
                    if phase == "end":
                        q, acc, t = q[:-1], acc[1:], t[1:]
                    seeds.append((t, q, acc))
                if not all(np.sum(np.isfinite(s[1]) & np.isfinite(s[2])) > 2 for s in seeds):
                    continue
                key = f"{name}/{phase}/{label}"  # one resample per run and phase, every quantity
                if key not in weights:
                    weights[key] = resample_weights([s[0].size for s in seeds], key)
                scored[label] = run_scores(seeds, key, weights[key])
            table[f"{qname}_{phase}"] = {"quantity": qname, "phase": phase, **combine(scored)}
    return {"label": config_label(pairs[0][0], with_step=False),
            "note": run_length_note(pairs[0][0]), "table": table, "phases": phases}


def _fmt_ci(v, ci) -> str:
    return f"{as_float(v):.3f} [{as_float(ci[0]):.3f}, {as_float(ci[1]):.3f}]"


def summarize(cells_: list, results: list):
    streams = {name: stream_summary(name, pairs)
               for name, pairs in by_stream(cells_, results).items()}
    claims = []
    for name, s in streams.items():
        head = (s["note"] + ". ") if s["note"] else ""
        for key, sc in s["table"].items():
            v = verdict(sc)
            when = ("at task start predicts the online accuracy reached on the task"
                    if sc["phase"] == "start" else
                    "at the end of a task predicts the online accuracy on the next task")
            claims.append(Claim(
                f"E10.{key}_{name}", f"{name}: {sc['quantity']} {when} (within agent, held "
                f"out by seed, controlled for time)",
                head + f"held-out R² {_fmt_ci(sc['held_out'], sc['held_out_ci'])}, partial R² "
                f"(task index regressed out) {_fmt_ci(sc['partial'], sc['partial_ci'])} "
                f"(95 % bootstrap over seeds and tasks, {BOOTSTRAP} resamples); mean over "
                f"{sc['runs_scored']} of {sc['num_runs']} runs, {sc['points']} points; on the "
                f"point estimates alone (issue 17): "
                f"{'predicts' if predicts(sc) else 'does not predict'}",
                f"held-out R² ≥ {HELD_OUT_MIN} and partial R² ≥ {PARTIAL_MIN}, both intervals "
                f"clear of the bars (else UNDECIDED)", v == "pass" and not s["note"], FIGURE,
                kind="finding", withheld="TOO SHORT" if s["note"] else
                ("UNDECIDED" if v == "undecided" else "")))
    return {"streams": streams, "quantities": list(QUANTITIES), "phases": list(PHASES),
            "bootstrap": BOOTSTRAP,
            "criteria": {"held_out": HELD_OUT_MIN, "partial": PARTIAL_MIN}}, claims


def plot(summary: dict, figdir) -> list:
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(s, p) for s in summary["streams"].values() for p in s.get("phases", ["start"])]
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=(6.5 * max(1, len(panels)), 7),
                             squeeze=False)
    for ax, (s, phase) in zip(axes[0], panels):
        rows = [(k, v) for k, v in s["table"].items() if v["phase"] == phase]
        names = [v["quantity"] for _, v in rows]
        y = np.arange(len(rows))
        for off, key, label in ((-0.2, "held_out", "held-out R² (within agent, leave one seed "
                                 "out)"), (0.2, "partial", "partial R² (task index regressed "
                                                          "out)")):
            val = np.array([as_float(v[key]) for _, v in rows])
            ci = np.array([[as_float(c) for c in v[key + "_ci"]] for _, v in rows]).reshape(-1, 2)
            err = np.abs(np.nan_to_num(np.stack([val - ci[:, 0], ci[:, 1] - val]), nan=0.0))
            ax.barh(y + off, np.nan_to_num(val, nan=0.0), height=0.4, xerr=err, label=label,
                    error_kw={"lw": 0.8})
        ax.axvline(summary["criteria"]["held_out"], color="tab:blue", ls=":", lw=1)
        ax.axvline(summary["criteria"]["partial"], color="tab:orange", ls=":", lw=1)
        ax.set_yticks(y, names, fontsize=7)
        ax.set_xlim(-1, 1)
        ax.set_xlabel("R² for the online accuracy " + ("reached on the task" if phase == "start"
                                                        else "on the next task"))
        head = f"at task {phase}: " + s["label"] + (f". {s['note']}" if s["note"] else "")
        ax.set_title(textwrap.fill(head, 90), fontsize=7)
        ax.legend(fontsize=6)
    fig.suptitle("Which quantity predicts plasticity? (95 % bootstrap intervals; dotted: the "
                 "criteria)")
    return save_figure(fig, figdir, FIGURE)


EXPERIMENT = Experiment(
    id="E10", figure=FIGURE,
    title="predictors of the accuracy reached, at task start and task end: GGN ε-rank, λ_max, "
          "stable rank, T8/T9 prediction and the field's metrics (dormant ratios, srank, feature "
          "rank, duplicates, |W| per layer, ‖θ − θ₀‖, norms): within agent, held out, "
          "time-controlled, with bootstrap intervals",
    mirrors="beyond the paper (THEORY.md: Baveja et al. 2025; a control for time; issue 36: the "
            "field's metrics)",
    cells=cells, run_cell=run_cell, summarize=summarize, plot=plot,
    claim_ids=(("E10.<quantity>_<start|end>_<stream>", "held-out within-agent R² ≥ 0.3 and "
                "partial R² ≥ 0.1, both 95 % bootstrap intervals clear of the bars"),),
    tiers=("quick", "long", "remedies", "full"))
