"""E7 fig_plasticity_metrics (paper Figs. 3 and 7): loss of plasticity per paper stream and agent
(bp, l2, er, l2_er, cbp, reset), and, in ``--long``, bp beside Dohare et al.'s published
width-100 curve (``fig_dohare_anchor``).

Per run (agent, step, seed) and task: the **online accuracy** (each prediction made before that
example's update, Dohare et al.'s measure), the held-out accuracy after training, and at every
task start the dead fraction and feature effective rank on the task's whole training set (mean
over hidden layers) and, where a spectrum was taken, the exact normalized GGN ε-rank (T1).

Loss of plasticity, criterion fixed in this file before the ``--long`` run (issue 17): with
W = max(1, ⌊T/10⌋) tasks, a run's **drop** = (the best mean online accuracy over any W
consecutive tasks) − (the mean over its last W tasks) (:func:`continual_runs.plasticity_drop`);
the drop of an agent is the seed mean with a 95 % Student-t interval over seeds.
- ``E7.bp_loses_plasticity_<stream>``: at the comparison step, bp's drop ≥ DROP (0.01, one point
  of accuracy) and its interval's lower end > 0.
- ``E7.<agent>_keeps_plasticity_<stream>`` for l2_er, cbp and reset: the agent's drop < DROP;
  in the ``--remedies`` tier (tiers/remedies.toml) the same row for each of its remedies, snp,
  redo, cbp_1e-4 and cbp_1e-5 (cbp at replacement rates 1e-4 and 1e-5; 1e-6 is ``--long``'s
  cbp), in place of l2_er/cbp/reset (criterion fixed before that tier's first run).
- ``E7.pilot_step_permuted_mnist`` (check, ``--long``): the configured ``agent_step`` is the step
  that :func:`continual_runs.choose_agent_step` picks from bp's drops (the pilot rule).
Rows of runs too short to expect the phenomenon (< 1 M steps: quick mode's 12-task runs) print
"TOO SHORT" in place of a verdict (:attr:`Claim.withheld`).

**Preview of the ``--long`` verdict** (quick mode, quick.toml ``[preview]``, issue 37): one bp
and one l2_er run at the ``--long`` protocol, shorter (125 tasks, 500 000 steps) and one seed
each, so no interval over seeds. Its rows ``E7.preview_bp_loses_plasticity_permuted_mnist`` and
``E7.preview_l2_er_keeps_plasticity_permuted_mnist`` use the drop above with W = ⌊T/10⌋ and print
a verdict only with a margin (criteria fixed in this file before the preview's first run):
- a run of fewer than ``PREVIEW_MIN_STEPS`` (500 000) steps: "TOO SHORT";
- bp: drop ≥ ``PREVIEW_BP_LOSES`` (0.05, five times DROP) → REPRODUCED; drop < DROP →
  NOT REPRODUCED; in between "UNDECIDED";
- l2_er: drop < DROP → REPRODUCED; drop ≥ ``PREVIEW_KEEPER_LOSES`` (0.03) → NOT REPRODUCED; in
  between "UNDECIDED".
The bands are wide because a verdict printed by one seed must not flip on another seed or CPU
(float32 training on another CPU is, for this purpose, another seed). The length was chosen, and
these margins fixed, after one probe run of bp (seed 0, --long's protocol, 250 tasks; 2-core AMD
EPYC, 2026-12-06), whose drop was 0.107 over its first 100 tasks, 0.113 over 125 and 0.145 over
250; --long's bp drop at step 0.01 is 0.217 [0.164, 0.270] over 3 M steps (3 seeds). With the
margins fixed, the preview as configured gave drops of bp 0.113 and l2_er 0.003 (seed 0, the
quick run's seed) and bp 0.112, l2_er 0.002 (seed 1), each far from its undecided band (same
machine and day).

Previous criterion (issue 14, reported beside the new one in each row): accuracy over the last
⌊T/5⌋ tasks / that over the first ⌊T/5⌋ ≤ 0.9 (bp) or ≥ 0.95 (l2_er); issue 14 read it on the
training-set accuracy after each task, which ``--long`` does not record, so the rows compute it
on the online accuracy.
The best window is biased upward by noise (a maximum over windows); with 750 tasks and W = 75
that bias is small; on 10 class-pair tasks (W = 1) it is not, one more reason those rows are
marked short.

Dohare et al. (Nature 2024), Online Permuted MNIST, MLP 784-100-100-100-10, SGD 0.003, minibatch
1, 60 000 images per task (THEORY.md, ±0.3 points): 93.3 % at task 1, ≈ 92 % at 12, ≈ 90 % at 45,
≈ 88 % at 110. Our tasks have 4000 images (MNIST-5k), so the anchor figure compares by steps as
well as by tasks.
"""

from __future__ import annotations

import numpy as np

from linrelu.experiments.base import Claim, Experiment, save_figure
from linrelu.experiments.continual_runs import (
    by_run,
    choose_agent_step,
    comparison_step,
    config_label,
    continual_cells,
    eps_key,
    mean_ci,
    online_accuracy,
    plasticity_drop,
    preview_cells,
    run_cell,
    run_length_note,
    run_steps,
    series,
    tier_config,
)

FIGURE = "fig_plasticity_metrics"
ANCHOR_FIGURE = "fig_dohare_anchor"
EPS = 1e-3
DROP = 0.01
KEEPERS = ("l2_er", "cbp", "reset")
#: the --remedies tier's agents (tiers/remedies.toml): their rows replace KEEPERS' in a stream
#: that ran any of them (criterion as KEEPERS', fixed before that tier's first run)
REMEDIES = ("snp", "redo", "cbp_1e-4", "cbp_1e-5")
#: The preview of --long's verdict (module docstring): the margins its verdicts need.
PREVIEW_MIN_STEPS = 500_000
PREVIEW_BP_LOSES = 0.05
PREVIEW_KEEPER_LOSES = 0.03
PREVIEW_AGENTS = ("bp", "l2_er")
OLD_BP_MAX_RETAINED = 0.9
OLD_L2ER_MIN_RETAINED = 0.95
#: Dohare et al.'s width-100 bp at step 0.003: (task, online accuracy), 60 000 steps per task.
DOHARE_WIDTH100 = ((1, 0.933), (12, 0.92), (45, 0.90), (110, 0.88))
DOHARE_STEPS_PER_TASK = 60_000
METRICS = (("online_accuracy", "online accuracy on the task", ("train", "online_accuracy", None)),
           ("test_accuracy", "held-out accuracy after the task", ("train", "test_accuracy", None)),
           ("dead_fraction", "dead-unit fraction at task start (mean over layers, training set)",
            ("start", "dead_fraction", None)),
           ("erank", "feature effective rank at task start (mean over layers)",
            ("start", "erank", None)),
           ("eps_rank", f"exact GGN ε-rank / attainable rank at task start (ε = {EPS:g})",
            ("start", "eps_rank_norm", eps_key(EPS))))


def cells(mode: str) -> list:
    """The tier's shared continual cells, then its preview cells (quick: one bp and one l2_er
    run at the --long protocol; :func:`continual_runs.preview_cells`)."""
    return continual_cells(mode) + preview_cells(mode)


def stream_key(cell: dict) -> str:
    """The stream a cell's run belongs to in E7's summary: its stream name, with ``_preview``
    for a preview cell (one that carries another tier's ``protocol``)."""
    return cell["stream"] + ("_preview" if cell.get("protocol") else "")


def mean_and_sem(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column mean and standard error s/√S over the S rows (seeds), NaN-aware (tasks without a
    spectrum); SE = 0 for a single seed."""
    rows = np.asarray(rows, np.float64)
    S = rows.shape[0]
    # a task without a spectrum is NaN in every seed: plain mean/std keep it NaN (the plot skips it)
    sem = rows.std(axis=0, ddof=1) / np.sqrt(S) if S > 1 else np.zeros(rows.shape[1])
    return rows.mean(axis=0), sem


def window(num_tasks: int) -> int:
    """W = max(1, ⌊T/10⌋): the last tenth of the tasks."""
    return max(1, num_tasks // 10)


def retained(acc: np.ndarray, w: int) -> float:
    """The issue-14 measure: mean of the last ``w`` / mean of the first ``w``."""
    acc = np.asarray(acc, np.float64)
    return float(acc[-w:].mean() / acc[:w].mean())


def run_summary(runs: list) -> dict:
    """Seed means of every metric and the drop of one (agent, step) over its seeds."""
    c0 = runs[0][0]
    T = c0["num_tasks"]
    w = window(T)
    entry = {"label": f"{c0['agent']} @ {c0['agent_options']['lr']:g}", "agent": c0["agent"],
             "lr": float(c0["agent_options"]["lr"]), "num_seeds": len(runs),
             "steps_per_task": run_steps(c0) // T}
    for key, _, (phase, field, sub) in METRICS:
        m, se = mean_and_sem(np.stack([series(r, phase, field, sub) for _, r in runs]))
        entry[key] = {"mean": m.tolist(), "sem": se.tolist()}
    accs = np.stack([online_accuracy(r) for _, r in runs])
    drops = [plasticity_drop(a, w) for a in accs]
    m, lo, hi = mean_ci(drops)
    # best and late are seed means like the drop, so that best − late = drop exactly
    entry.update(drop_per_seed=drops, drop=m, drop_lo=lo, drop_hi=hi,
                 best=float(np.mean([np.convolve(a, np.ones(w) / w, "valid").max()
                                     for a in accs])),
                 late=float(accs[:, -w:].mean()),
                 old_retained=retained(accs.mean(axis=0), max(1, T // 5)))
    return entry


def stream_summary(pairs: list) -> dict:
    runs = by_run(pairs)
    step = comparison_step(pairs)
    c0 = pairs[0][0]
    preview = c0.get("protocol")
    return {"label": (f"PREVIEW of --{preview}: " if preview else "")
            + config_label(c0, with_step=False), "window": window(c0["num_tasks"]),
            "step": step, "note": "" if preview else run_length_note(c0),
            "num_tasks": c0["num_tasks"], "steps": run_steps(c0), "preview": bool(preview),
            "runs": {f"{a} @ {lr:g}": run_summary(rs) for (a, lr), rs in runs.items()}}


def _fmt(e: dict) -> str:
    ci = (f" [{e['drop_lo']:.3f}, {e['drop_hi']:.3f}]" if np.isfinite(e["drop_lo"]) else "")
    return (f"{e['label']}: online acc best {e['best']:.3f}, last {e['late']:.3f}, drop "
            f"{e['drop']:.3f}{ci} ({e['num_seeds']} seed{'s' if e['num_seeds'] > 1 else ''}; old "
            f"retained {e['old_retained']:.3f})")


def _run_at(s: dict, agent: str, step: float):
    return s["runs"].get(f"{agent} @ {step:g}")


def preview_verdict(agent: str, drop: float, steps: int) -> tuple[bool, str]:
    """(passed, withheld) of a preview row (module docstring): the verdict with its margin, or
    "TOO SHORT" / "UNDECIDED" in its place."""
    if steps < PREVIEW_MIN_STEPS or not np.isfinite(drop):
        return False, "TOO SHORT"
    if agent == "bp":
        if drop >= PREVIEW_BP_LOSES:
            return True, ""
        return (False, "") if drop < DROP else (False, "UNDECIDED")
    if drop < DROP:
        return True, ""
    return (False, "") if drop >= PREVIEW_KEEPER_LOSES else (False, "UNDECIDED")


def preview_claims(name: str, s: dict) -> list:
    """The preview rows of one preview stream (``<stream>_preview``)."""
    stream = name.removesuffix("_preview")
    w, step = s["window"], s["step"]
    long = tier_config("long")[stream]
    long_steps = long["num_tasks"] * long["epochs"] * long["stream_options"]["n_train"] // long[
        "batch_size"]
    head = (f"PREVIEW of --long's E7 row ({s['num_tasks']} tasks, {s['steps']:,} steps per run; "
            f"--long: {len(long['seeds'])} seeds of bp, {long_steps:,} steps per run). Drop = "
            f"best {w}-task window − last {w} tasks of online accuracy; step {step:g}. ")
    out = []
    for agent in PREVIEW_AGENTS:
        e = _run_at(s, agent, step)
        drop = e["drop"] if e else float("nan")
        passed, withheld = preview_verdict(agent, drop, s["steps"])
        if agent == "bp":
            cid, statement = (f"E7.preview_bp_loses_plasticity_{stream}",
                              f"{stream}: plain SGD (bp) loses plasticity (preview)")
            criterion = (f"runs ≥ {PREVIEW_MIN_STEPS:,} steps; drop ≥ {PREVIEW_BP_LOSES} → "
                         f"REPRODUCED, < {DROP} → NOT REPRODUCED, else UNDECIDED")
        else:
            cid, statement = (f"E7.preview_{agent}_keeps_plasticity_{stream}",
                              f"{stream}: {agent} keeps its plasticity (preview)")
            criterion = (f"runs ≥ {PREVIEW_MIN_STEPS:,} steps; drop < {DROP} → REPRODUCED, "
                         f"≥ {PREVIEW_KEEPER_LOSES} → NOT REPRODUCED, else UNDECIDED")
        out.append(Claim(cid, statement, head + (_fmt(e) if e else f"{agent} missing"),
                         criterion, passed, FIGURE, kind="finding", withheld=withheld))
    return out


def summarize(cells_: list, results: list):
    grouped = {}
    for c, r in zip(cells_, results, strict=True):
        grouped.setdefault(stream_key(c), []).append((c, r))
    streams = {name: stream_summary(pairs) for name, pairs in grouped.items()}
    summary = {"streams": streams, "eps": EPS, "labels": {k: lab for k, lab, _ in METRICS},
               "dohare": {"points": DOHARE_WIDTH100, "steps_per_task": DOHARE_STEPS_PER_TASK}}
    claims = []
    for name, s in streams.items():
        if s["preview"]:
            claims += preview_claims(name, s)
            continue
        w, step = s["window"], s["step"]
        short = "TOO SHORT" if s["note"] else ""  # no verdict from a run too short to expect one
        head = ((s["note"] + ". ") if s["note"] else "") + (
            f"Drop = best {w}-task window − last {w} tasks of online accuracy, seed mean [95 % "
            f"t-interval]; comparison step {step:g}. ")
        bp = _run_at(s, "bp", step)
        others = "; ".join(_fmt(e) for e in s["runs"].values() if e["agent"] == "bp"
                           and e["lr"] != step)
        claims.append(Claim(
            f"E7.bp_loses_plasticity_{name}", f"{name}: plain SGD (bp) loses plasticity",
            head + (_fmt(bp) if bp else "bp missing") + (f"; also {others}" if others else "")
            + (f". Old criterion (retained ≤ {OLD_BP_MAX_RETAINED}): "
               f"{'met' if bp and bp['old_retained'] <= OLD_BP_MAX_RETAINED else 'not met'}"
               if bp else ""),
            f"bp's drop ≥ {DROP} and its interval's lower end > 0",
            bool(bp and bp["drop"] >= DROP and np.isfinite(bp["drop_lo"])
                 and bp["drop_lo"] > 0) and not short, FIGURE, kind="finding", withheld=short))
        ran = {e["agent"] for e in s["runs"].values()}
        for agent in REMEDIES if ran & set(REMEDIES) else KEEPERS:
            e = _run_at(s, agent, step)
            old = ""
            if agent == "l2_er" and e:
                old = (f". Old criterion (retained ≥ {OLD_L2ER_MIN_RETAINED}): "
                       f"{'met' if e['old_retained'] >= OLD_L2ER_MIN_RETAINED else 'not met'}")
            claims.append(Claim(
                f"E7.{agent}_keeps_plasticity_{name}", f"{name}: {agent} keeps its plasticity",
                head + (_fmt(e) if e else f"{agent} missing") + old,
                f"{agent}'s drop < {DROP}", bool(e and e["drop"] < DROP) and not short, FIGURE,
                kind="finding", withheld=short))
    pm = streams.get("permuted_mnist")
    table = tier_config_for(cells_)
    if pm is not None and table is not None and "bp_steps" in table:
        bp_drops = {e["lr"]: e["drop"] for e in pm["runs"].values() if e["agent"] == "bp"}
        chosen = choose_agent_step(bp_drops)
        configured = table.get("agent_step")
        claims.append(Claim(
            "E7.pilot_step_permuted_mnist", "the agents are compared at the step the bp pilot "
            "rule picks (the step where bp loses more plasticity)",
            f"bp drops {', '.join(f'{lr:g}: {d:.3f}' for lr, d in sorted(bp_drops.items()))}; "
            f"rule picks {chosen:g}; long.toml agent_step = {configured}",
            "configured agent_step = choose_agent_step(bp drops)",
            configured is not None and float(configured) == chosen, FIGURE))
    return summary, claims


def tier_config_for(cells_: list):
    """The long tier's Permuted-MNIST table when these are its cells, else None."""
    pm = [c for c in cells_ if c["stream"] == "permuted_mnist" and not c.get("protocol")]
    if not pm:
        return None
    table = tier_config("long")["permuted_mnist"]
    same = all(c["agent"] in table["agents"] and c["num_tasks"] == table["num_tasks"]
               and c["width"] == table["width"]
               and c["stream_options"] == table["stream_options"] for c in pm)
    return table if same else None


def plot(summary: dict, figdir) -> list:
    """One column per stream (quick mode: its two streams and the preview of --long), one row per
    metric; each panel is titled with its metric and its y-axis carries a short name, so that
    the labels of stacked panels cannot run into each other."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    # the preview of --long first: quick mode's one column long enough to show the phenomenon
    streams = dict(sorted(summary["streams"].items(), key=lambda kv: not kv[1].get("preview")))
    fig, axes = plt.subplots(len(METRICS), len(streams), figsize=(5.2 * len(streams), 13),
                             squeeze=False)
    for j, s in enumerate(streams.values()):
        for i, (key, label, _) in enumerate(METRICS):
            ax = axes[i, j]
            for e in s["runs"].values():
                m, se = np.asarray(e[key]["mean"], float), np.asarray(e[key]["sem"], float)
                t = np.arange(m.size)
                ok = np.isfinite(m)
                if s["num_tasks"] > 100 and key in ("online_accuracy", "test_accuracy"):
                    k = 10  # 10-task running mean: readable curves over hundreds of tasks
                    m = np.convolve(m, np.ones(k) / k, "valid")
                    se = np.convolve(se, np.ones(k) / k, "valid")
                    t, ok = t[k - 1:], np.isfinite(m)
                ax.plot(t[ok], m[ok], label=f"{e['label']} ({e['num_seeds']} "
                        f"seed{'s' if e['num_seeds'] > 1 else ''})", lw=1,
                        marker="o" if ok.sum() < 20 else None, ms=3)
                ax.fill_between(t[ok], (m - se)[ok], (m + se)[ok], alpha=0.2)
            ax.set_xlabel("task", fontsize=8)
            ax.set_ylabel(SHORT_LABELS[key], fontsize=8)
            ax.set_title(label, fontsize=7)
            ax.tick_params(labelsize=7)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        head = s["label"] + (f"\n{s['note']}" if s["note"] else "")
        axes[0, j].set_title(_wrap(head, 80) + "\n\n" + METRICS[0][1], fontsize=7)
        axes[0, j].legend(fontsize=6)
    fig.suptitle("Plasticity metrics over tasks (mean ± standard error over seeds; accuracies "
                 "of runs with > 100 tasks as 10-task running means)", fontsize=10)
    written = save_figure(fig, figdir, FIGURE)
    anchor = _anchor_run(streams)
    if anchor is not None:
        written += _plot_anchor(anchor, summary["dohare"], figdir)
    return written


SHORT_LABELS = {"online_accuracy": "online accuracy", "test_accuracy": "held-out accuracy",
                "dead_fraction": "dead fraction", "erank": "feature erank",
                "eps_rank": "GGN ε-rank (norm.)"}


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def _anchor_run(streams: dict):
    """bp at step 0.003 on Permuted MNIST with ≥ 1 M steps (the --long tier), else None."""
    s = streams.get("permuted_mnist")
    e = s and s["runs"].get("bp @ 0.003")
    if not e or not s["num_tasks"] * e["steps_per_task"] >= 1_000_000:
        return None
    return e


def _plot_anchor(e: dict, dohare: dict, figdir) -> list:
    import matplotlib.pyplot as plt

    acc = np.asarray(e["online_accuracy"]["mean"], float)
    sem = np.asarray(e["online_accuracy"]["sem"], float)
    tasks = np.arange(1, acc.size + 1)
    pts = np.asarray(dohare["points"], float)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for ax, x_ours, x_theirs, xlabel in (
            (axes[0], tasks, pts[:, 0], "task"),
            (axes[1], tasks * e["steps_per_task"] / 1e6, pts[:, 0] * dohare["steps_per_task"]
             / 1e6, "SGD steps (millions)")):
        ax.plot(x_ours, 100 * acc, lw=0.8, label=f"this project: bp, step 0.003, MNIST-5k, "
                f"{e['steps_per_task']} images/task ({e['num_seeds']} seeds, mean)")
        ax.fill_between(x_ours, 100 * (acc - sem), 100 * (acc + sem), alpha=0.2)
        ax.plot(x_theirs, 100 * pts[:, 1], "ko", label="Dohare et al. 2024 (published, ±0.3): "
                "60 000 images/task")
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("online accuracy (%)")
        ax.legend(fontsize=7)
    axes[0].set_title("by task (our tasks hold 15× fewer images)", fontsize=8)
    axes[1].set_title("by optimizer steps", fontsize=8)
    fig.suptitle("External anchor: width-100 MLP 784-100-100-100-10, SGD 0.003, minibatch 1, "
                 "no clipping")
    return save_figure(fig, figdir, ANCHOR_FIGURE)


EXPERIMENT = Experiment(
    id="E7", figure=FIGURE,
    title="online accuracy, dead units, effective rank and ε-rank over tasks per agent and "
          "stream (and, --long, bp beside Dohare et al.'s width-100 curve)",
    mirrors="paper Figs. 3 and 7; Dohare et al. 2024 Fig. (Online Permuted MNIST)", cells=cells,
    run_cell=run_cell, summarize=summarize, plot=plot,
    claim_ids=(("E7.bp_loses_plasticity_<stream>", "bp's drop (best window − last tenth) ≥ 0.01, "
                "CI lower end > 0"),
               ("E7.<agent>_keeps_plasticity_<stream>", "l2_er / cbp / reset (--remedies: snp / "
                "redo / cbp_1e-4 / cbp_1e-5) drop < 0.01"),
               ("E7.pilot_step_permuted_mnist", "--long: agent_step = the pilot rule's pick"),
               ("E7.preview_bp_loses_plasticity_permuted_mnist", "quick: bp's drop ≥ 0.05 over "
                "≥ 500 000 steps at --long's protocol (< 0.01: not; else UNDECIDED)"),
               ("E7.preview_l2_er_keeps_plasticity_permuted_mnist", "quick: l2_er's drop < 0.01 "
                "(≥ 0.03: not; else UNDECIDED)")),
    tiers=("quick", "long", "remedies", "full"))
