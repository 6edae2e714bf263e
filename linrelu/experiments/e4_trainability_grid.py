"""E4 fig_trainability_grid: predicted vs realized τ-trainability at every task start.

For each stream (teacher_regression with mse, random_label_digits with ce), width × depth and
agent (bp, l2_er), tasks are learned in sequence (linrelu.continual). A third stream,
dead_unit_digits (ce), makes trainability vary for a reason the theory speaks to: every task
starts from a fresh init in which a fraction ``DEAD_FRACTIONS[t]`` of each hidden layer's units is
dead (incoming weights and bias zeroed, so z = 0 on every input and, with φ′(0) = 0, the unit
never recovers); T5b puts their Jacobian columns in null(Ĝ), so curvature rank falls with the
dead fraction. At every task start,
BEFORE training, :func:`linrelu.analysis.diagnose.predict_trainability` predicts whether ``STEPS``
full-batch GD steps of the agent's step size reach L_T ≤ τ L_0 (T8 on K with the actual
residual for mse, T9 with the actual gradient for ce). Then the task is trained with
``train_task(batch_size = n, epochs = STEPS)``, i.e. exactly STEPS full-batch steps with the same
step size, and the realized L_T/L_0 (training loss, float64 evaluation) is compared.

Two answers are recorded per task start: the local model's (``predicted_trainable``: the
linearized network / T9, what the theory predicts) and the verdict on real GD (``verdict``: "yes"
/ "no" only where the linearization check of :mod:`linrelu.analysis.diagnose` measured the
linearization to
hold along the path, else "undetermined").

Non-MLP rows (stream ``architectures``, :mod:`linrelu.experiments.architectures`): a residual
LayerNorm MLP, a Transformer encoder, an MLP-Mixer and (full mode only, for cost) the paper's
ConvNet on ``ARCH_N`` digits (fresh init per task start), each with ce (true labels) and mse
(one-hot targets), at the step sizes ``ARCH_MULTIPLIERS`` × 1/λ_max(G); realized = ``STEPS``
steps of plain full-batch GD in float32 (an implementation independent of the check's float64
one). The verdict's check runs on these rows and on the bp task starts of the MLP streams (plain
GD); l2_er task starts get the model's answer only (``check=False``, verdict undetermined).

Balanced designs (issue 34). τ per stream is the median realized L_T/L_0 of a pilot of this grid
(the same cells with τ = 0.1 / 0.5, run at commit edbc857), so that about half of each stream's
task starts are trainable: teacher_regression 0.04 (pilot: 50 % of 72 trainable), random_label
0.8 (53 % of 72), dead_unit 0.85 (38 % of 24); the non-MLP rows use ce τ = 0.5 and mse τ = 0.1
(a pilot at n = 32, two seeds, ConvNet included: 58 % resp. 50 % of 24 trainable). Per loss, at
least a third of the task starts is expected on each side; the summary reports the realized
balance.

Honest mismatches between prediction and training, kept on purpose and reported:
- the prediction is for the linearized (mse) or local quadratic (ce) model of the plain loss;
  the real net moves away from both;
- ``train_task`` runs in float32 and ``l2_er`` adds its L2 and effective-rank penalties to the
  objective (the prediction and the verdict's check ignore them), so l2_er task starts are not
  checked and are left out of the verdict claims.

Claims are per loss (issue 22: a pooled score over a perfect mse half and a chance-level ce half
passed before). The criteria below were fixed in code before the run that produced the table:
- mse (T8, MLP streams): balanced accuracy ≥ 0.8 and ROC AUC of −predicted L_T/L_0 ≥ 0.8.
- ce (MLP streams): balanced accuracy ≥ 0.8; ROC AUC of −predicted L_T/L_0 (the linearized
  network, T3) ≥ 0.8 with the 95 % bootstrap interval over task starts above 0.5; and, for T9
  itself, the ROC AUC of the quadratic model's unclipped decrease fraction (L_0 − q(Δ_T))/L_0
  with its bootstrap interval above 0.5 (T9 ranks ce tasks above chance) — reported as a finding
  either way.
- E4.verdict.mlp (check): on the MLP streams' plain-GD task starts (agent bp), every definite
  verdict agrees with the realized outcome, with at least one definite verdict per loss.
- E4.verdict.arch (check): on the non-MLP rows, every definite verdict agrees with float32 GD,
  with at least one definite verdict.
- E4.arch.model_balanced_accuracy (finding): the local model's answer alone (no check) has
  balanced accuracy ≥ 0.8 on the non-MLP rows of each loss.
The undetermined rates are reported in the measured text. The pooled BA/AUC over both losses
stay in the summary as information only.
"""

from __future__ import annotations

import numpy as np

from linrelu.experiments.base import Claim, Experiment, save_figure, to_jsonable

FIGURE = "fig_trainability_grid"
STREAMS = {  # stream → (loss, stream options, agent step size, τ); τ: module docstring
    "teacher_regression": ("mse", {"n_train": 64, "n_probe": 64, "in_dim": 16, "out_dim": 1},
                           0.25, 0.04),
    "random_label_digits": ("ce", {"n_train": 64, "n_probe": 64}, 1.0, 0.8),
    "dead_unit_digits": ("ce", {"n_train": 64, "n_probe": 64}, 1.0, 0.85),
}
#: Non-MLP rows: architectures (quick / full), samples, step multipliers of 1/λ_max(G), τ per loss.
ARCH_STREAM = "architectures"
ARCH_NAMES = ("resmlp", "encoder", "mixer", "convnet")
#: quick mode leaves the ConvNet out: its two cells took 50 s of E4's 223 s in the pilot (2-core
#: AMD EPYC, 2026-12-06)
#: (float64 convolutions, 100 GD steps twice per task start); it is in the calibration
#: (docs/calibration.md) and in full mode
ARCH_NAMES_QUICK = ("resmlp", "encoder", "mixer")
ARCH_N = {"quick": 32, "full": 64}
ARCH_MULTIPLIERS = (0.25, 1.0, 4.0)
ARCH_TAU = {"ce": 0.5, "mse": 0.1}
AGENTS = ("bp", "l2_er")
STEPS = 100
#: dead_unit_digits: the fraction of each hidden layer's units dead at the start of task t
#: (a fresh init per task; permuted_digits tasks), bp only.
DEAD_FRACTIONS = (0.0, 0.5, 0.75, 0.875, 0.9375, 0.97)
DEAD_WIDTHS = (32, 128)
DEAD_DEPTHS = (1, 2)  # quick mode (keeps E4's cost near what it was before the stream)
BOOTSTRAP = 2000  # resamples of the task starts for the ce AUC interval
LOSS_OF = {s: v[0] for s, v in STREAMS.items()}


def cells(mode: str) -> list:
    if mode == "quick":
        widths, depths, tasks, seeds = (32, 128, 512), (1, 2, 3), 4, (0,)
    else:
        widths, depths, tasks, seeds = (32, 128, 512, 2048), (1, 2, 3, 4), 12, (0, 1, 2)
    # Both agents share a cell: same network shape, so the Gram / forward jits compile once.
    out = [{"stream": s, "width": w, "depth": L, "agents": list(AGENTS), "num_tasks": tasks,
            "seed": seed} for seed in seeds for s in STREAMS if s != "dead_unit_digits"
           for w in widths for L in depths]
    dead_widths = DEAD_WIDTHS if mode == "quick" else DEAD_WIDTHS + (512,)
    dead_depths = DEAD_DEPTHS if mode == "quick" else depths
    out += [{"stream": "dead_unit_digits", "width": w, "depth": L, "agents": ["bp"],
             "num_tasks": len(DEAD_FRACTIONS), "seed": seed}
            for seed in seeds for w in dead_widths for L in dead_depths]
    for seed in seeds:
        for arch in ARCH_NAMES_QUICK if mode == "quick" else ARCH_NAMES:
            out += [{"stream": ARCH_STREAM, "arch": arch, "loss": loss, "n": ARCH_N[mode],
                     "multipliers": list(ARCH_MULTIPLIERS), "seed": seed}
                    for loss in ("ce", "mse")]
    return out


def loss_of(cell: dict) -> str:
    """The loss of a cell (an architectures cell names it; a stream implies it)."""
    return cell.get("loss") or LOSS_OF.get(cell["stream"], "ce")


def kill_units(params, fraction: float, key) -> list:
    """params with ``round(fraction · m_l)`` units of every hidden layer dead (at most m_l − 1):
    their incoming weights and bias are zeroed, so z = 0 for every input, h = relu(0) = 0, and no
    gradient reaches them (φ′(0) = 0)."""
    import jax

    out = [(W, b) for W, b in params]
    for l in range(len(params) - 1):
        W, b = out[l]
        m = W.shape[1]
        dead = min(int(round(fraction * m)), m - 1)
        key, sub = jax.random.split(key)
        units = np.asarray(jax.random.permutation(sub, m))[:dead]
        mask = np.ones(m)
        mask[units] = 0.0
        out[l] = (W * mask[None, :], b * mask)
    return out


def _verdict_fields(pred) -> dict:
    c = pred.check
    return {"verdict": pred.verdict, "verdict_reason": pred.verdict_reason,
            "check_real_ratio": None if c is None else c.real_ratio,
            "drift": None if c is None else c.drift,
            "tolerance": None if c is None else c.tolerance}


def run_cell(cell: dict) -> dict:
    if cell["stream"] == ARCH_STREAM:
        return run_arch_cell(cell)
    import jax

    from linrelu import MLP
    from linrelu.analysis.diagnose import predict_trainability
    from linrelu.continual import make_agent, make_stream, start_task, train_task

    loss, options, lr, tau = STREAMS[cell["stream"]]
    dead_stream = cell["stream"] == "dead_unit_digits"
    stream = make_stream("permuted_digits" if dead_stream else cell["stream"], seed=cell["seed"],
                         num_tasks=cell["num_tasks"], **options)
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
            dead = 0.0
            if dead_stream:
                dead = DEAD_FRACTIONS[task.index]
                params = kill_units(net.init(k_start), dead, k_start)
            # the verdict's check (STEPS float64 GD steps) only where training is plain GD
            pred = predict_trainability(net, params, task.X, task.y, loss, lr=lr, steps=STEPS,
                                        tau=tau, check=agent_name == "bp")
            params, info = train_task(net, params, task, agent, epochs=STEPS,
                                      batch_size=task.X.shape[0], key=k_train)
            realized = info["loss"] / pred.initial_loss
            records.append({"agent": agent_name, "task": task.index, "L0": pred.initial_loss,
                            "predicted_ratio": pred.predicted_ratio,
                            "t9_decrease_fraction": pred.quadratic_decrease_fraction,
                            "t9_overshoot": pred.quadratic_overshoot, "dead_fraction": dead,
                            "predicted_trainable": pred.model_trainable,
                            "decided_by": pred.decided_by, "realized_ratio": realized,
                            "realized_trainable": bool(realized <= tau),
                            "final_loss": info["loss"], **_verdict_fields(pred)})
    return to_jsonable({**cell, "tau": tau, "records": records})


def _float32_gd(apply, loss: str, steps: int):
    """Plain full-batch GD in float32, written apart from the check's (float64) run: (params, X,
    targets, lr) → (L_0, L_steps)."""
    import jax

    from linrelu.spectral.losses import mean_loss

    def run(params, X, targets, lr):
        def loss_at(p):
            return mean_loss(apply(p, X), targets, loss)

        def body(p, _):
            g = jax.grad(loss_at)(p)
            return jax.tree_util.tree_map(lambda a, b: a - lr * b, p, g), None
        last, _ = jax.lax.scan(body, params, None, length=steps)
        return loss_at(params), loss_at(last)
    return jax.jit(run)


_F32_RUNS = {}


def run_arch_cell(cell: dict) -> dict:
    """One non-MLP architecture and loss: a task start per step multiplier (module docstring)."""
    import jax
    import jax.numpy as jnp

    from linrelu import float64, jacobian_gram
    from linrelu.analysis.diagnose import predict_trainability
    from linrelu.data import load_digits_data
    from linrelu.experiments.architectures import model

    loss, tau = cell["loss"], ARCH_TAU[cell["loss"]]
    init, apply = model(cell["arch"])
    X_all, y_all = load_digits_data()
    records = []
    key = (cell["arch"], loss)
    if key not in _F32_RUNS:
        _F32_RUNS[key] = _float32_gd(apply, loss, STEPS)
    gd32 = _F32_RUNS[key]
    for task, mult in enumerate(cell["multipliers"]):
        seed = 1000 * cell["seed"] + task
        idx = np.random.default_rng(seed).choice(len(X_all), cell["n"], replace=False)
        X = np.asarray(X_all[idx])
        y = np.asarray(y_all[idx]) if loss == "ce" else np.eye(10)[y_all[idx]]
        params = init(jax.random.PRNGKey(seed))
        with float64():
            K = jacobian_gram(apply, params, X)
            base = predict_trainability(apply, params, X, y, loss, steps=STEPS, tau=tau, gram=K,
                                        check=False)
            pred = predict_trainability(apply, params, X, y, loss, lr=mult * base.lr,
                                        steps=STEPS, tau=tau, gram=K, check=True)
        y32 = jnp.asarray(y, jnp.float32) if loss == "mse" else jnp.asarray(y, jnp.int32)
        L0, LT = gd32(params, jnp.asarray(X, jnp.float32), y32, jnp.float32(pred.lr))
        realized = float(LT) / float(L0)
        records.append({"agent": "gd", "task": task, "multiplier": mult, "lr": pred.lr,
                        "L0": pred.initial_loss, "predicted_ratio": pred.predicted_ratio,
                        "t9_decrease_fraction": pred.quadratic_decrease_fraction,
                        "t9_overshoot": pred.quadratic_overshoot, "dead_fraction": 0.0,
                        "predicted_trainable": pred.model_trainable,
                        "decided_by": pred.decided_by,
                        "realized_ratio": realized if np.isfinite(realized) else "nan",
                        "realized_trainable": bool(np.isfinite(realized) and realized <= tau),
                        "final_loss": float(LT), **_verdict_fields(pred)})
    return to_jsonable({**cell, "agents": ["gd"], "tau": tau, "records": records})


def auc(truth, score) -> float | None:
    """ROC AUC of ``score`` for the positives in ``truth`` (Mann–Whitney, ties count ½);
    None where a class is missing."""
    truth = np.asarray(truth, bool)
    score = np.asarray(score, np.float64)
    pos, neg = score[truth], score[~truth]
    if pos.size == 0 or neg.size == 0:
        return None
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (pos.size * neg.size))


def balanced_accuracy(truth, pred) -> float | None:
    """Mean of the true-positive and true-negative rates; None where a class is missing."""
    truth, pred = np.asarray(truth, bool), np.asarray(pred, bool)
    if truth.all() or not truth.any():
        return None
    return float(0.5 * (np.mean(pred[truth]) + np.mean(~pred[~truth])))


def bootstrap_auc(truth, score, resamples: int = BOOTSTRAP, seed: int = 0):
    """95 % percentile interval of the AUC over task starts resampled with replacement
    (resamples with one class only are skipped); (None, None) where the AUC is undefined."""
    truth = np.asarray(truth, bool)
    score = np.asarray(score, np.float64)
    if truth.all() or not truth.any():
        return None, None
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(resamples):
        i = rng.integers(0, truth.size, truth.size)
        a = auc(truth[i], score[i])
        if a is not None:
            vals.append(a)
    lo, hi = np.percentile(vals, [2.5, 97.5])
    return float(lo), float(hi)


def _score_value(x, key):
    v = x[key]
    return np.nan if isinstance(v, str) else float(v)


def _scores(records, score_key="predicted_ratio", sign=-1.0):
    """(balanced accuracy, ROC AUC, accuracy) of the prediction; None where a class is missing.

    The AUC ranks by ``sign · record[score_key]`` (high = predicted trainable)."""
    if not records:
        return None, None, None
    truth = np.array([r["realized_trainable"] for r in records])
    pred = np.array([r["predicted_trainable"] for r in records])
    score = sign * np.array([_score_value(r, score_key) for r in records])
    score = np.nan_to_num(score, nan=-np.inf)
    return balanced_accuracy(truth, pred), auc(truth, score), float(np.mean(truth == pred))


def per_loss_claims(by_loss: dict) -> list:
    """The pre-registered per-loss claims (module docstring) from ``by_loss[loss]`` holding
    balanced_accuracy, auc, n, and for ce auc_ci, t9_auc, t9_auc_ci."""
    def fmt(v):
        return "undefined (one class)" if v is None else f"{v:.3f}"

    def ci(c):
        return "undefined" if c is None or c[0] is None else f"[{c[0]:.3f}, {c[1]:.3f}]"

    claims = []
    m = by_loss.get("mse")
    if m is not None:
        claims += [
            Claim("E4.mse.balanced_accuracy", "T8 at task start predicts τ-trainability of "
                  "mse tasks", f"balanced accuracy {fmt(m['balanced_accuracy'])} over {m['n']} "
                  f"mse task starts ({m['realized_trainable']} realized trainable)",
                  "≥ 0.8 on the mse task starts", m["balanced_accuracy"] is not None
                  and m["balanced_accuracy"] >= 0.8, FIGURE),
            Claim("E4.mse.auc", "T8's predicted L_T/L_0 ranks mse tasks by realized "
                  "trainability", f"ROC AUC {fmt(m['auc'])} over {m['n']} mse task starts",
                  "≥ 0.8 on the mse task starts", m["auc"] is not None and m["auc"] >= 0.8,
                  FIGURE),
        ]
    c = by_loss.get("ce")
    if c is not None:
        ba_ok = c["balanced_accuracy"] is not None and c["balanced_accuracy"] >= 0.8
        auc_ok = (c["auc"] is not None and c["auc"] >= 0.8 and c["auc_ci"][0] is not None
                  and c["auc_ci"][0] > 0.5)
        t9_ok = c["t9_auc_ci"][0] is not None and c["t9_auc_ci"][0] > 0.5
        pooled = by_loss.get("pooled", {})
        pooled_txt = (f"; pooled over both losses (information only): BA "
                      f"{fmt(pooled.get('balanced_accuracy'))}, AUC {fmt(pooled.get('auc'))}"
                      if pooled else "")
        claims += [
            Claim("E4.ce.balanced_accuracy", "the prediction at task start (T9 ε-bound, else "
                  "the linearized network's GD) predicts τ-trainability of ce tasks",
                  f"balanced accuracy {fmt(c['balanced_accuracy'])} over {c['n']} ce task "
                  f"starts ({c['realized_trainable']} realized trainable)"
                  + ("" if ba_ok else " — NOT a PASS") + pooled_txt,
                  "≥ 0.8 on the ce task starts", ba_ok, FIGURE, kind="finding"),
            Claim("E4.ce.auc", "the linearized network's predicted L_T/L_0 (T3, from K) ranks "
                  "ce tasks by realized trainability",
                  f"ROC AUC {fmt(c['auc'])}, 95 % bootstrap interval {ci(c['auc_ci'])} over "
                  f"{c['n']} ce task starts" + ("" if auc_ok else " — NOT a PASS"),
                  "AUC ≥ 0.8 and bootstrap interval above 0.5", auc_ok, FIGURE,
                  kind="finding"),
            Claim("E4.ce.t9_auc", "T9's quadratic-model decrease (L_0 − q(Δ_T))/L_0 at task "
                  "start ranks ce tasks above chance",
                  f"ROC AUC {fmt(c['t9_auc'])}, 95 % bootstrap interval {ci(c['t9_auc_ci'])} "
                  f"over {c['n']} ce task starts; the quadratic model overshoots L_0 on "
                  f"{c['t9_overshoot']} of them" + ("" if t9_ok else " — NOT a PASS: T9 does "
                                                    "not rank ce tasks above chance"),
                  "bootstrap interval above 0.5", t9_ok, FIGURE, kind="finding"),
        ]
    return claims


def loss_summary(records) -> dict:
    """Scores of one loss's task starts (plus the ce bootstrap intervals and T9's AUC)."""
    ba, a, acc = _scores(records)
    out = {"balanced_accuracy": ba, "auc": a, "accuracy": acc, "n": len(records),
           "realized_trainable": int(sum(x["realized_trainable"] for x in records))}
    if records and all("t9_decrease_fraction" in x for x in records):
        truth = np.array([x["realized_trainable"] for x in records])
        score = -np.array([_score_value(x, "predicted_ratio") for x in records])
        t9 = np.nan_to_num(np.array([_score_value(x, "t9_decrease_fraction") for x in records]),
                           nan=-np.inf)
        out |= {"auc_ci": bootstrap_auc(truth, np.nan_to_num(score, nan=-np.inf)),
                "t9_auc": auc(truth, t9), "t9_auc_ci": bootstrap_auc(truth, t9),
                "t9_overshoot": int(sum(bool(x["t9_overshoot"]) for x in records))}
    return out


def verdict_summary(records) -> dict:
    """Definite verdicts vs realized outcomes: counts, agreement and the undetermined rate.

    Records without a ``verdict`` (results from before the linearization check) count as
    undetermined."""
    definite = [x for x in records if x.get("verdict") in ("yes", "no")]
    agree = sum((x["verdict"] == "yes") == bool(x["realized_trainable"]) for x in definite)
    n = len(records)
    return {"n": n, "definite": len(definite), "agree": int(agree),
            "definite_yes": sum(x["verdict"] == "yes" for x in definite),
            "realized_trainable": int(sum(bool(x["realized_trainable"]) for x in records)),
            "agreement": agree / len(definite) if definite else None,
            "undetermined_rate": (n - len(definite)) / n if n else None}


def _fmt3(v) -> str:
    return "undefined (one class)" if v is None else f"{v:.3f}"


def verdict_claims(summary: dict) -> list:
    """E4.verdict.mlp, E4.verdict.arch and E4.arch.model_balanced_accuracy (module docstring)."""
    def rate(v):
        return "—" if v is None else f"{v:.0%}"

    def text(v, what):
        return (f"{what}: {v['definite']} definite verdicts of {v['n']} task starts "
                f"({v['definite_yes']} yes), {v['agree']} agree with the realized outcome; "
                f"undetermined {rate(v['undetermined_rate'])}; realized trainable "
                f"{v['realized_trainable']}/{v['n']}")

    claims = []
    mlp = summary.get("verdicts", {}).get("mlp", {})
    if mlp:
        ok = all(v["definite"] >= 1 and v["agree"] == v["definite"] for v in mlp.values())
        claims.append(Claim(
            "E4.verdict.mlp", "every definite verdict (linearization measured to hold over the "
            "budget) on the MLP streams' plain-GD task starts agrees with training",
            "; ".join(text(v, loss) for loss, v in mlp.items()) + ("" if ok else " — FAILS"),
            "all definite verdicts agree, ≥ 1 definite verdict per loss", ok, FIGURE))
    arch = summary.get("verdicts", {}).get("arch")
    if arch:
        ok = arch["definite"] >= 1 and arch["agree"] == arch["definite"]
        per = "; ".join(f"{name} {rate(v['undetermined_rate'])} undetermined"
                        for name, v in summary.get("arch_by_name", {}).items())
        claims.append(Claim(
            "E4.verdict.arch", "every definite verdict on the non-MLP architectures (residual "
            "LayerNorm MLP, Transformer encoder, MLP-Mixer, ConvNet) agrees with float32 GD",
            text(arch, "non-MLP rows") + (f" ({per})" if per else "") + ("" if ok else
                                                                        " — FAILS"),
            "all definite verdicts agree, ≥ 1 definite verdict", ok, FIGURE))
        model = summary.get("arch_model", {})
        if model:
            vals = [v["balanced_accuracy"] for v in model.values()]
            ok = all(v is not None and v >= 0.8 for v in vals)
            claims.append(Claim(
                "E4.arch.model_balanced_accuracy", "the local model's answer alone (T8 / T9 at "
                "θ_0, no check) predicts τ-trainability of the non-MLP rows",
                "; ".join(f"{loss}: balanced accuracy {_fmt3(v['balanced_accuracy'])} over "
                          f"{v['n']} task starts ({v['realized_trainable']} trainable)"
                          for loss, v in model.items())
                + ("" if ok else " — NOT a PASS: the linearization does not describe these "
                   "models over the budget"),
                "≥ 0.8 per loss", ok, FIGURE, kind="finding"))
    return claims


def summarize(cell_list: list, results: list):
    per_cell, grid = [], {}
    mlp_results = [r for r in results if r["stream"] != ARCH_STREAM]
    arch_results = [r for r in results if r["stream"] == ARCH_STREAM]
    for r in mlp_results:
        for agent in r["agents"]:
            recs = [x for x in r["records"] if x["agent"] == agent]
            ba, a, acc = _scores(recs)
            per_cell.append({k: r[k] for k in ("stream", "width", "depth", "seed")}
                            | {"agent": agent, "balanced_accuracy": ba, "auc": a,
                               "accuracy": acc, "tasks": len(recs),
                               "realized_trainable": sum(x["realized_trainable"] for x in recs)})
        grid.setdefault(loss_of(r), {}).setdefault(
            f"{r['width']},{r['depth']}", []).extend(r["records"])
    all_records = [x for r in mlp_results for x in r["records"]]
    by_loss = {}
    for loss in ("mse", "ce"):
        recs = [x for r in mlp_results if loss_of(r) == loss for x in r["records"]]
        if recs:
            by_loss[loss] = loss_summary(recs)
    ba, a, acc = _scores(all_records)
    by_loss["pooled"] = {"balanced_accuracy": ba, "auc": a, "accuracy": acc,
                         "n": len(all_records)}
    grid_scores = {loss: {wd: dict(zip(("balanced_accuracy", "auc", "accuracy"), _scores(recs),
                                       strict=True)) for wd, recs in g.items()}
                   for loss, g in grid.items()}
    by_stream = {}
    for s in STREAMS:
        recs = [x for r in results if r["stream"] == s for x in r["records"]]
        if recs:
            by_stream[s] = dict(zip(("balanced_accuracy", "auc", "accuracy"), _scores(recs),
                                    strict=True)) | {"n": len(recs)}
    scatter = [{"stream": r["stream"], "loss": loss_of(r), "arch": r.get("arch"),
                "predicted": x["predicted_ratio"], "realized": x["realized_ratio"],
                "t9": x.get("t9_decrease_fraction"), "dead": x.get("dead_fraction", 0.0),
                "verdict": x.get("verdict", "undetermined")}
               for r in results for x in r["records"]]
    decided = {}
    for x in all_records:
        decided[x["decided_by"]] = decided.get(x["decided_by"], 0) + 1
    verdicts = {"mlp": {}, "mlp_l2_er": {}}
    for loss in ("mse", "ce"):
        plain = [x for r in mlp_results if loss_of(r) == loss for x in r["records"]
                 if x["agent"] == "bp"]
        if plain:
            verdicts["mlp"][loss] = verdict_summary(plain)
        other = [x for r in mlp_results if loss_of(r) == loss for x in r["records"]
                 if x["agent"] != "bp"]
        if other:
            verdicts["mlp_l2_er"][loss] = verdict_summary(other)
    arch_records = [x for r in arch_results for x in r["records"]]
    arch_model, arch_by_name = {}, {}
    if arch_records:
        verdicts["arch"] = verdict_summary(arch_records)
        for loss in ("ce", "mse"):
            recs = [x for r in arch_results if loss_of(r) == loss for x in r["records"]]
            if recs:
                verdicts[f"arch_{loss}"] = verdict_summary(recs)
                arch_model[loss] = loss_summary(recs)
        for name in ARCH_NAMES:
            recs = [x for r in arch_results if r["arch"] == name for x in r["records"]]
            if recs:
                arch_by_name[name] = verdict_summary(recs)
    summary = {"by_loss": by_loss, "overall": by_loss["pooled"],
               "by_stream": by_stream, "grid": grid_scores, "per_cell": per_cell,
               "scatter": scatter, "decided_by": decided, "verdicts": verdicts,
               "arch_model": arch_model, "arch_by_name": arch_by_name,
               "widths": sorted({r["width"] for r in mlp_results}),
               "depths": sorted({r["depth"] for r in mlp_results}),
               "taus": {s: v[3] for s, v in STREAMS.items()} | {
                   f"{ARCH_STREAM}_{loss}": t for loss, t in ARCH_TAU.items()},
               "steps": STEPS}
    summary = to_jsonable(summary)
    return summary, per_loss_claims(by_loss) + verdict_claims(summary)


def plot(summary: dict, figdir) -> list:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    widths, depths = summary["widths"], summary["depths"]
    fig, axes = plt.subplots(1, 4, figsize=(21, 4.8))

    def fmt(v):
        return "n/a" if v is None else f"{v:.2f}"

    for ax, loss in zip(axes[:2], ("mse", "ce"), strict=True):
        if not widths or not depths:  # no MLP-stream results (e.g. non-MLP rows only)
            ax.set_axis_off()
            continue
        M = np.full((len(depths), len(widths)), np.nan)
        grid = summary["grid"].get(loss, {})
        for i, L in enumerate(depths):
            for j, w in enumerate(widths):
                s = grid.get(f"{w},{L}")
                if s and s["accuracy"] is not None:
                    M[i, j] = s["balanced_accuracy"] if s["balanced_accuracy"] is not None \
                        else s["accuracy"]
                    tag = "BA" if s["balanced_accuracy"] is not None else "acc*"
                    ax.text(j, i, f"{tag} {M[i, j]:.2f}", ha="center", va="center",
                            color="w" if M[i, j] < 0.6 else "k")
        im = ax.imshow(M, vmin=0, vmax=1, cmap="viridis", origin="lower")
        ax.set_xticks(range(len(widths)), [str(w) for w in widths])
        ax.set_yticks(range(len(depths)), [str(L) for L in depths])
        ax.set_xlabel("width")
        ax.set_ylabel("depth")
        s = summary["by_loss"].get(loss, {})
        extra = ""
        if loss == "ce" and s.get("auc_ci"):
            lo, hi = s["auc_ci"]
            extra = f"\nAUC 95% CI [{fmt(lo)}, {fmt(hi)}], T9-quadratic AUC {fmt(s['t9_auc'])}"
        ax.set_title(f"({'ab'[loss == 'ce']}) {loss} ({'T8' if loss == 'mse' else 'T9/T3'}): "
                     f"BA {fmt(s.get('balanced_accuracy'))}, AUC {fmt(s.get('auc'))}, "
                     f"n={s.get('n', 0)}{extra}\nacc* = accuracy where one outcome occurred",
                     fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.046)
    for ax, loss, letter in ((axes[2], "mse", "c"), (axes[3], "ce", "d")):
        markers = {"teacher_regression": ("o", "C0"), "random_label_digits": ("s", "C1"),
                   "dead_unit_digits": ("^", "C2"), ARCH_STREAM: ("D", "C3")}
        for stream, (marker, color) in markers.items():
            pts = [p for p in summary["scatter"] if p["stream"] == stream and p["loss"] == loss]
            if not pts:
                continue
            tau = summary["taus"].get(stream, summary["taus"].get(f"{stream}_{loss}"))
            pr = np.clip(np.array([p["predicted"] for p in pts], float), 1e-4, 2)
            re = np.clip(np.array([p["realized"] for p in pts], float), 1e-4, 2)
            sure = np.array([p.get("verdict", "undetermined") != "undetermined" for p in pts])
            label = "non-MLP architectures" if stream == ARCH_STREAM else stream
            ax.scatter(pr[sure], re[sure], s=14, marker=marker, color=color, alpha=0.8,
                       label=f"{label} (τ = {tau}), definite")
            ax.scatter(pr[~sure], re[~sure], s=14, marker=marker, facecolors="none",
                       edgecolors=color, alpha=0.6, label=f"{label}, undetermined")
            ax.axhline(tau, color=color, ls=":", lw=1)
            ax.axvline(tau, color=color, ls=":", lw=1)
        lims = [1e-4, 2]
        ax.plot(lims, lims, "k--", lw=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(*lims)
        ax.set_ylim(*lims)
        ax.set_xlabel(f"predicted L_T/L_0 (linearized network, T = {summary['steps']}), "
                      "clipped to [1e-4, 2]", fontsize=8)
        ax.set_ylabel("realized L_T/L_0")
        ax.set_title(f"({letter}) {loss}: predicted vs realized (hollow: verdict undetermined)",
                     fontsize=10)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    return save_figure(fig, figdir, FIGURE)


EXPERIMENT = Experiment(
    id="E4", figure=FIGURE,
    title="Predicted (T8/T9 at task start) vs realized τ-trainability across widths and depths",
    mirrors="THEORY T8, T9 (ε-rank conditions) on continual task streams",
    cells=cells, run_cell=run_cell, summarize=summarize, plot=plot,
    claim_ids=(("E4.mse.balanced_accuracy", "mse: balanced accuracy of the T8 prediction ≥ 0.8"),
               ("E4.mse.auc", "mse: ROC AUC of T8's predicted ratio ≥ 0.8"),
               ("E4.ce.balanced_accuracy", "ce: balanced accuracy of the prediction ≥ 0.8"),
               ("E4.ce.auc", "ce: ROC AUC of the linearized ratio ≥ 0.8, bootstrap CI > 0.5"),
               ("E4.ce.t9_auc", "ce: T9 quadratic decrease ranks tasks above chance"),
               ("E4.verdict.mlp", "MLP streams, plain GD: every definite verdict agrees"),
               ("E4.verdict.arch", "non-MLP architectures: every definite verdict agrees"),
               ("E4.arch.model_balanced_accuracy",
                "non-MLP architectures: the local model's answer alone, BA ≥ 0.8 per loss")),
)
