"""``python -m benchmarks.calibration [--seeds N] [--out PATH]``: the trainability verdict of
:func:`linrelu.predict_trainability` against plain gradient descent, on a set of architectures;
writes the table to ``docs/calibration.md``.

Calibration set (8×8 digits from scikit-learn, n = 64 images per case, a fresh random subset and
a fresh init per seed; ce on the labels, mse on one-hot targets):

- ``mlp-64x2``: ``linrelu.MLP`` 64-64-64-10 (NTK parameterization, closed-form Gram);
- ``mlp-256``: ``linrelu.MLP`` 64-256-10;
- ``convnet``: the paper's ConvNet (``linrelu.models.convnet.ConvNet``, 8×8×1, "SAME");
- ``resmlp-ln``: a Flax residual MLP, width 32, two pre-LayerNorm ReLU blocks, LayerNorm head;
- ``encoder``: a Flax Transformer-encoder classifier: one token per image row, width 16, a
  learned position table drawn N(0, 1), one pre-LN block (2-head self-attention, GELU MLP 32),
  LayerNorm of the token mean, P = 2698 (issue 34's class of model);
- ``mixer``: an Equinox MLP-Mixer: 16 tokens of 4 pixels, 16 channels, one block (token and
  channel MLPs of width 32, GELU, pre-LN), LayerNorm of the token mean, P = 2490.

For each (architecture, loss, seed) the step is η = m/λ_max(G) for m in ``MULTIPLIERS`` (m = 1 is
the default of ``lr.diagnose``; m = 4 is beyond the linearized network's stability edge for mse),
T = 100 steps, τ = 0.5 for ce and 0.1 for mse (chosen so that both outcomes occur). Reference:
plain full-batch GD θ ← θ − η∇L(θ) in float64, written here (a Python loop over a jitted
``jax.grad``), the same η and T; the task is τ-trainable iff L_T ≤ τ L_0. Reported per case: the
linearized network's predicted L_T/L_0, the real one, the local model's answer (the verdict
before issue 34), the verdict (yes / no / undetermined), the measured drift and the tolerance;
and per architecture and overall: how often the model's answer was right, how many verdicts were
definite, how many of those agree with GD, and the undetermined rate.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)  # our own program: the reference GD is float64

ROOT = Path(__file__).resolve().parents[1]
ARCHS = ("mlp-64x2", "mlp-256", "convnet", "resmlp-ln", "encoder", "mixer")
MULTIPLIERS = (0.25, 1.0, 4.0)
TAU = {"ce": 0.5, "mse": 0.1}
STEPS = 100
N = 64


def _flax_resmlp():
    import flax.linen as nn

    class ResMLP(nn.Module):
        @nn.compact
        def __call__(self, x):
            h = nn.Dense(32)(x)
            for _ in range(2):
                h = h + nn.Dense(32)(nn.relu(nn.Dense(32)(nn.LayerNorm()(h))))
            return nn.Dense(10)(nn.LayerNorm()(h))

    return ResMLP()


def _flax_encoder():
    import flax.linen as nn

    class Encoder(nn.Module):
        @nn.compact
        def __call__(self, x):
            h = nn.Dense(16)(x.reshape(x.shape[0], 8, 8))  # one token per image row
            h = h + self.param("pos", nn.initializers.normal(1.0), (8, 16), jnp.float32)
            h = h + nn.MultiHeadDotProductAttention(num_heads=2)(nn.LayerNorm()(h))
            h = h + nn.Dense(16)(nn.gelu(nn.Dense(32)(nn.LayerNorm()(h))))
            return nn.Dense(10)(nn.LayerNorm()(h.mean(axis=1)))

    return Encoder()


def _equinox_mixer(key):
    import equinox as eqx

    class Block(eqx.Module):
        ln1: eqx.nn.LayerNorm
        tok: eqx.nn.MLP
        ln2: eqx.nn.LayerNorm
        ch: eqx.nn.MLP

        def __init__(self, key):
            k1, k2 = jax.random.split(key)
            self.ln1, self.ln2 = eqx.nn.LayerNorm(16), eqx.nn.LayerNorm(16)
            self.tok = eqx.nn.MLP(16, 16, 32, 1, activation=jax.nn.gelu, key=k1)
            self.ch = eqx.nn.MLP(16, 16, 32, 1, activation=jax.nn.gelu, key=k2)

        def __call__(self, h):  # (tokens, channels)
            h = h + jax.vmap(self.tok, in_axes=1, out_axes=1)(jax.vmap(self.ln1)(h))
            return h + jax.vmap(self.ch)(jax.vmap(self.ln2)(h))

    class Mixer(eqx.Module):
        embed: eqx.nn.Linear
        block: Block
        ln: eqx.nn.LayerNorm
        head: eqx.nn.Linear

        def __init__(self, key):
            k = jax.random.split(key, 3)
            self.embed, self.block = eqx.nn.Linear(4, 16, key=k[0]), Block(k[1])
            self.ln, self.head = eqx.nn.LayerNorm(16), eqx.nn.Linear(16, 10, key=k[2])

        def __call__(self, x):  # one image, (64,)
            h = self.block(jax.vmap(self.embed)(x.reshape(16, 4)))
            return self.head(jax.vmap(self.ln)(h).mean(axis=0))

    return Mixer(key)


def make(arch: str, seed: int):
    """(net, params, prepare) for ``arch``: ``net`` what linrelu takes, ``apply(params, X)`` the
    logits, ``prepare`` maps the (n, 64) digits to the model's input."""
    import linrelu as lr

    key = jax.random.PRNGKey(seed)
    if arch.startswith("mlp"):
        sizes = (64, 64, 64, 10) if arch == "mlp-64x2" else (64, 256, 10)
        net = lr.MLP(sizes)
        return net, net.init(key), net.apply, (lambda X: X)
    if arch == "convnet":
        from linrelu.models.convnet import ConvNet

        net = ConvNet(in_shape=(8, 8, 1), out_dim=10)
        return net, net.init(key), net.apply, (lambda X: X.reshape(-1, 8, 8, 1))
    if arch in ("resmlp-ln", "encoder"):
        m = _flax_resmlp() if arch == "resmlp-ln" else _flax_encoder()
        params = m.init(key, jnp.zeros((1, 64), jnp.float32))["params"]

        def apply(p, X, m=m):
            return m.apply({"params": p}, X)
        return apply, params, apply, (lambda X: X)
    if arch == "mixer":
        import equinox as eqx

        params, static = eqx.partition(_equinox_mixer(key), eqx.is_array)

        def apply(p, X, static=static):
            return jax.vmap(eqx.combine(p, static))(X)
        return apply, params, apply, (lambda X: X)
    raise ValueError(f"arch: expected one of {ARCHS}, received {arch!r}")


def plain_gd(apply, params, X, y, loss: str, lr: float, steps: int) -> float:
    """L_T/L_0 of θ ← θ − lr ∇L(θ), float64, a Python loop (independent of linrelu's check)."""
    from linrelu.spectral.losses import mean_loss

    Xj = jnp.asarray(X, jnp.float64)
    yj = jnp.asarray(y, jnp.float64) if loss == "mse" else jnp.asarray(y, jnp.int32)
    p = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), params)
    vg = jax.jit(jax.value_and_grad(lambda q: mean_loss(apply(q, Xj), yj, loss)))
    L0 = None
    for _ in range(steps):
        value, grad = vg(p)
        L0 = float(value) if L0 is None else L0
        p = jax.tree_util.tree_map(lambda a, g: a - lr * g, p, grad)
    return float(vg(p)[0]) / L0


def run(seeds: int, archs=ARCHS, log=print) -> list:
    """One row per (architecture, loss, seed, multiplier)."""
    import linrelu as lr
    from linrelu.data import load_digits_data

    X_all, y_all = load_digits_data()
    rows = []
    for arch in archs:
        for seed in range(seeds):
            for loss in ("ce", "mse"):
                t0 = time.perf_counter()
                net, params, apply, prep = make(arch, seed)
                idx = np.random.default_rng(1000 + seed).choice(len(X_all), N, replace=False)
                X = prep(np.asarray(X_all[idx]))
                y = np.asarray(y_all[idx]) if loss == "ce" else np.eye(10)[y_all[idx]]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # float32 params inside: stated in the doc
                    K = lr.jacobian_gram(net, params, X)
                    base = lr.predict_trainability(net, params, X, y, loss, gram=K,
                                                   check=False)
                    for m in MULTIPLIERS:
                        tau = TAU[loss]
                        pred = lr.predict_trainability(net, params, X, y, loss, lr=m * base.lr,
                                                       steps=STEPS, tau=tau, gram=K, check=True)
                        real = plain_gd(apply, params, X, y, loss, pred.lr, STEPS)
                        truth = bool(np.isfinite(real) and real <= tau)
                        c = pred.check
                        rows.append({
                            "arch": arch, "P": int(sum(np.size(a) for a in
                                                       jax.tree_util.tree_leaves(params))),
                            "loss": loss, "seed": seed, "m": m, "tau": tau,
                            "predicted": pred.predicted_ratio, "real": real,
                            "model": bool(pred.model_trainable), "verdict": pred.verdict,
                            "drift": c.drift, "tolerance": c.tolerance, "truth": truth,
                            "check_real": c.real_ratio})
                log(f"{arch} seed {seed} {loss}: {time.perf_counter() - t0:.1f} s")
    return rows


def _fmt(x) -> str:
    if not np.isfinite(x):
        return "inf" if x > 0 else "nan"
    return f"{x:.3g}" if abs(x) < 1e4 else f"{x:.2e}"


def summarize(rows) -> dict:
    """Per architecture and overall: cases, trainable, model right, definite, agree."""
    out = {}
    for name in list(dict.fromkeys(r["arch"] for r in rows)) + ["all"]:
        rs = [r for r in rows if name in ("all", r["arch"])]
        definite = [r for r in rs if r["verdict"] != "undetermined"]
        out[name] = {
            "cases": len(rs), "trainable": sum(r["truth"] for r in rs),
            "model_right": sum(r["model"] == r["truth"] for r in rs),
            "definite": len(definite),
            "agree": sum((r["verdict"] == "yes") == r["truth"] for r in definite),
            "undetermined_rate": 1 - len(definite) / len(rs)}
    return out


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}"


def _commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, text=True, capture_output=True).stdout.strip()
        return head + (" with uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def markdown(rows, seconds: float, seeds: int, run_at: str, commit: str) -> str:
    from linrelu.analysis.diagnose import DRIFT_SAFETY

    s = summarize(rows)
    a = s["all"]
    lines = [
        "# Calibration of the trainability verdict",
        "",
        "Generated by `python -m benchmarks.calibration` (do not edit by hand). "
        f"Run {run_at} on {_machine()}; jax {jax.__version__}, numpy {np.__version__}; "
        f"linrelu at commit {commit}; {seeds} seed(s); {seconds:.0f} s.",
        "",
        "`lr.diagnose` (and `python -m linrelu diagnose`, `lr.predict_trainability(..., "
        "check=True)`) says *yes* or *no* only where the linearization was measured to hold: "
        "the real float64 GD "
        f"loss path stays within the tolerance (margin |log(predicted/τ)| / {DRIFT_SAFETY:g}) "
        "of the linearized network's predicted path at every step; otherwise *undetermined* "
        "(linrelu/analysis/diagnose.py, module docstring). "
        "Reference: plain float64 full-batch GD written "
        f"in the benchmark, the same step and T = {STEPS} steps; τ-trainable iff L_T ≤ τ L_0 "
        f"(τ = {TAU['ce']} for ce, {TAU['mse']} for mse). Steps η = m/λ_max(G), m in "
        f"{', '.join(f'{m:g}' for m in MULTIPLIERS)}; n = {N} digits per case.",
        "",
        f"**Overall: {a['definite']} definite verdicts of {a['cases']} cases, {a['agree']} agree "
        f"with GD ({_rate(a['agree'], a['definite'])}); undetermined "
        f"{a['undetermined_rate']:.0%}. The local model's answer alone (the verdict before issue "
        f"34) was right on {a['model_right']} of {a['cases']} "
        f"({_rate(a['model_right'], a['cases'])}).**",
        "",
        "| architecture | cases | GD trainable | model's answer right | definite | definite "
        "agree | undetermined |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, v in s.items():
        lines.append(f"| {name} | {v['cases']} | {v['trainable']} | {v['model_right']} | "
                     f"{v['definite']} | {v['agree']} | {v['undetermined_rate']:.0%} |")
    lines += [
        "",
        "Per case (predicted and real are L_T/L_0; drift = max_t |log real_t − log "
        "predicted_t| of the check, its own float64 GD):",
        "",
        "| architecture | P | loss | seed | m | τ | predicted | real (GD) | model | verdict | "
        "drift | tolerance | agrees |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        agrees = "—" if r["verdict"] == "undetermined" else \
            ("yes" if (r["verdict"] == "yes") == r["truth"] else "**NO**")
        lines.append(
            f"| {r['arch']} | {r['P']} | {r['loss']} | {r['seed']} | {r['m']:g} | {r['tau']:g} | "
            f"{_fmt(r['predicted'])} | {_fmt(r['real'])} | {'yes' if r['model'] else 'no'} | "
            f"{r['verdict']} | {_fmt(r['drift'])} | {_fmt(r['tolerance'])} | {agrees} |")
    return "\n".join(lines) + "\n"


def _rate(a: int, b: int) -> str:
    return "—" if b == 0 else f"{a / b:.0%}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.calibration", description=__doc__
                                 .split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=2, help="seeds per architecture and loss")
    ap.add_argument("--archs", default=",".join(ARCHS), help="comma-separated subset")
    ap.add_argument("--out", default=str(ROOT / "docs" / "calibration.md"))
    ap.add_argument("--rows", default=None, help="also write the rows as JSON to this path")
    ap.add_argument("--from-rows", default=None,
                    help="render the table from a --rows file instead of running")
    args = ap.parse_args(argv)
    archs = tuple(a for a in args.archs.split(",") if a)
    unknown = [a for a in archs if a not in ARCHS]
    if unknown or args.seeds < 1:
        ap.error(f"--archs: expected names from {ARCHS} and --seeds ≥ 1, received "
                 f"{args.archs!r}, {args.seeds}")
    t0 = time.perf_counter()
    if args.from_rows:
        saved = json.loads(Path(args.from_rows).read_text())
        rows, seconds, seeds = saved["rows"], saved["seconds"], saved["seeds"]
        run_at, commit = saved["run_at"], saved["commit"]
    else:
        run_at, commit = _now(), _commit()
        rows = run(args.seeds, archs, log=lambda m: print(m, file=sys.stderr, flush=True))
        seconds, seeds = time.perf_counter() - t0, args.seeds
        if args.rows:
            Path(args.rows).write_text(json.dumps({"rows": rows, "seconds": seconds,
                                                   "seeds": seeds, "run_at": run_at,
                                                   "commit": commit}))
    text = markdown(rows, seconds, seeds, run_at, commit)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    s = summarize(rows)["all"]
    print(f"{out}: {s['definite']} definite of {s['cases']}, {s['agree']} agree; undetermined "
          f"{s['undetermined_rate']:.0%}")
    return 0 if s["agree"] == s["definite"] else 1


if __name__ == "__main__":
    sys.exit(main())
