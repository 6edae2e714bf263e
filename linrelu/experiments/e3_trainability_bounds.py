"""E3 fig_trainability_bounds: realized GD loss vs the exact T8 curve vs the T8 ε-bounds.

(a) Linearized nets f_lin (T3) trained by full-batch GD on mse: the realized L_t/L_0 must equal
    ``mse_loss_curve`` (K at init, the actual residual) to 1e-8 relative at every step and lie
    inside ``mse_loss_bounds`` at every step for every ε of the ladder.
(b) Real ReLU nets (widths 16…1024, depths 1–3) trained the same way: the T8 curve is only the
    linearized prediction; the gap max_t |realized − predicted| should shrink as width grows
    (lazy / NTK regime).

Setup: n = 32 Gaussian inputs in d = 8, k = 2 outputs from a random ReLU teacher, float64,
step η = n/λ_max(K) (THEORY's step condition ηλ_max ≤ n at equality), T = 100 steps.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from linrelu.experiments.base import Claim, Experiment, save_figure, to_jsonable

FIGURE = "fig_trainability_bounds"
N, D, K_OUT, STEPS = 32, 8, 2, 100
EPS_REL = (1e-1, 1e-2, 1e-3, 1e-4, 1e-6)  # ε = r · λ_max(K); all satisfy ηε ≤ n
WIDTHS_REAL = (16, 64, 256, 1024)
DEPTHS = (1, 2, 3)
# Slack for "inside the bounds": the realized ratio carries float64 round-off of the GD loop
# (≲ 1e-13 observed), so a violation smaller than 1e-10 is not a violation of the theorem.
BOUND_SLACK = 1e-10


def cells(mode: str) -> list:
    seeds = (0,) if mode == "quick" else (0, 1, 2)
    lin_widths = (64,) if mode == "quick" else (16, 64, 256)
    out = [{"part": "linearized", "width": w, "depth": L, "seed": s}
           for s in seeds for L in DEPTHS for w in lin_widths]
    out += [{"part": "real", "width": w, "depth": L, "seed": s}
            for s in seeds for L in DEPTHS for w in WIDTHS_REAL]
    return out


def _task(seed: int):
    """Inputs on the sphere of radius √d and targets of a random width-32 ReLU teacher."""
    rng = np.random.default_rng(1000 + seed)
    X = rng.standard_normal((N, D))
    X *= np.sqrt(D) / np.linalg.norm(X, axis=1, keepdims=True)
    W1, W2 = rng.standard_normal((D, 32)), rng.standard_normal((32, K_OUT))
    Y = np.sqrt(2 / 32) * np.maximum(np.sqrt(2 / D) * X @ W1, 0) @ W2
    return X, Y


def _gd_losses(model, params, X, Y, lr: float, steps: int) -> np.ndarray:
    """Full-batch GD on L = (1/2n)‖model(θ, X) − Y‖²; returns L_0..L_steps."""
    Xj, Yj = jnp.asarray(X), jnp.asarray(Y)

    def loss(p):
        return 0.5 * jnp.mean(jnp.sum((model(p, Xj) - Yj) ** 2, axis=1))

    @jax.jit
    def run(p):
        def step(p, _):
            value, g = jax.value_and_grad(loss)(p)
            return jax.tree_util.tree_map(lambda a, b: a - lr * b, p, g), value

        p, values = jax.lax.scan(step, p, None, length=steps)
        return jnp.append(values, loss(p))

    return np.asarray(run(params))


def run_cell(cell: dict) -> dict:
    from linrelu import MLP, jacobian_gram, linearize
    from linrelu.analysis.trainability import mse_loss_bounds, mse_loss_curve
    from linrelu.models.mlp import forward

    net = MLP((D,) + (cell["width"],) * cell["depth"] + (K_OUT,), 2**0.5, 0.1)
    params = net.init(jax.random.PRNGKey(cell["seed"]))
    X, Y = _task(cell["seed"])
    Kmat = np.asarray(jacobian_gram(net, params, X))
    lam, U = np.linalg.eigh(Kmat)
    lam = np.clip(lam, 0, None)  # K is PSD; negatives are eigvalsh round-off (~1e-15 λ_max)
    r0 = (np.asarray(net.apply(params, X)) - Y).reshape(-1)
    c = U.T @ r0
    lr = N / lam[-1]
    predicted = mse_loss_curve(lam, c, lr, STEPS, N)
    if cell["part"] == "linearized":
        f_lin = linearize(net, params)
        losses = _gd_losses(f_lin, params, X, Y, lr, STEPS)
    else:
        losses = _gd_losses(lambda p, Xj: forward(net, p, Xj), params, X, Y, lr, STEPS)
    realized = losses / losses[0]
    eps = np.asarray(EPS_REL) * lam[-1]
    lower, upper = mse_loss_bounds(lam, c, lr, STEPS, N, eps)  # (T+1, len(eps))
    rel_err = np.abs(realized - predicted) / np.maximum(predicted, 1e-300)
    inside = (lower <= realized[:, None] + BOUND_SLACK) & (realized[:, None] <= upper + BOUND_SLACK)
    return to_jsonable({
        **cell, "lr": lr, "lam_max": lam[-1], "realized": realized, "predicted": predicted,
        "max_rel_err": float(rel_err.max()), "gap": float(np.max(np.abs(realized - predicted))),
        "bound_checks": int(inside.size), "bound_violations": int(inside.size - inside.sum()),
        "eps": eps, "lower": lower[:, 1], "upper": upper[:, 1],  # ε = 1e-2 λ_max for the plot
        "final_ratio": realized[-1], "final_predicted": predicted[-1]})


def summarize(cell_list: list, results: list):
    lin = [r for r in results if r["part"] == "linearized"]
    real = [r for r in results if r["part"] == "real"]
    max_err = max(r["max_rel_err"] for r in lin)
    checks = sum(r["bound_checks"] for r in lin)
    violations = sum(r["bound_violations"] for r in lin)
    gap_by_width = {w: float(np.mean([r["gap"] for r in real if r["width"] == w]))
                    for w in WIDTHS_REAL}
    gap_by_wd = {f"{w},{L}": float(np.mean([r["gap"] for r in real
                                           if r["width"] == w and r["depth"] == L]))
                 for w in WIDTHS_REAL for L in DEPTHS}
    example = next(r for r in lin if r["depth"] == 2) if any(r["depth"] == 2 for r in lin) \
        else lin[0]
    curves = {f"{r['width']},{r['depth']}": {"realized": r["realized"],
                                            "predicted": r["predicted"]}
              for r in real if r["seed"] == min(x["seed"] for x in real)}
    summary = {"max_rel_err": max_err, "bound_checks": checks, "bound_violations": violations,
               "gap_by_width": {str(w): g for w, g in gap_by_width.items()},
               "gap_by_width_depth": gap_by_wd, "example": {
                   k: example[k] for k in ("realized", "predicted", "lower", "upper", "width",
                                           "depth")},
               "real_curves": curves, "widths": list(WIDTHS_REAL), "depths": list(DEPTHS)}
    small, large = gap_by_width[WIDTHS_REAL[0]], gap_by_width[WIDTHS_REAL[-1]]
    gaps_txt = ", ".join(f"m={w}: {g:.3g}" for w, g in gap_by_width.items())
    claims = [
        Claim("E3.linearized_exact", "GD on the linearized net follows the exact T8 curve",
              f"max relative error {max_err:.2e} over {len(lin)} nets × {STEPS + 1} steps",
              "≤ 1e-8 at every step", max_err <= 1e-8, FIGURE),
        Claim("E3.linearized_bounds", "the realized linearized loss lies inside the T8 ε-bounds",
              f"{violations} violations in {checks} (step, ε) checks (slack {BOUND_SLACK:g})",
              "0 violations, every step, every ε of the ladder", violations == 0, FIGURE),
        Claim("E3.width_gap", "real ReLU nets approach the T8 prediction as width grows",
              f"mean max_t |realized − predicted| of L_t/L_0: {gaps_txt}",
              f"gap at m={WIDTHS_REAL[-1]} < gap at m={WIDTHS_REAL[0]}", large < small, FIGURE),
    ]
    return summary, claims


def plot(summary: dict, figdir) -> list:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ex = summary["example"]
    t = np.arange(len(ex["realized"]))
    ax = axes[0]
    ax.fill_between(t, ex["lower"], ex["upper"], color="C0", alpha=0.2,
                    label="T8 bounds, ε = 1e-2·λ_max")
    ax.plot(t, ex["predicted"], "k-", lw=2, label="exact T8 curve")
    ax.plot(t[::4], np.asarray(ex["realized"])[::4], "C3o", ms=3, label="GD on f_lin")
    ax.set_yscale("log")
    ax.set_xlabel("GD step t")
    ax.set_ylabel("L_t / L_0")
    ax.set_title(f"(a) linearized net, width {ex['width']}, depth {ex['depth']}\n"
                 f"max rel. error {summary['max_rel_err']:.1e}, "
                 f"{summary['bound_violations']} bound violations")
    ax.legend(fontsize=8)
    ax = axes[1]
    for i, w in enumerate(summary["widths"]):
        cur = summary["real_curves"].get(f"{w},2")
        if cur is None:
            continue
        ax.plot(cur["realized"], color=f"C{i}", label=f"real, m={w}")
        ax.plot(cur["predicted"], color=f"C{i}", ls="--")
    ax.set_yscale("log")
    ax.set_xlabel("GD step t")
    ax.set_ylabel("L_t / L_0")
    ax.set_title("(b) real ReLU nets, depth 2 (solid) vs T8 prediction (dashed)")
    ax.legend(fontsize=8)
    ax = axes[2]
    for j, L in enumerate(summary["depths"]):
        ws = summary["widths"]
        ax.plot(ws, [summary["gap_by_width_depth"][f"{w},{L}"] for w in ws], "o-",
                color=f"C{j}", label=f"depth {L}")
    ws = np.asarray(summary["widths"], float)
    ax.plot(ws, [summary["gap_by_width"][str(int(w))] for w in ws], "k^-", lw=2,
            label="mean over depths")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("width m")
    ax.set_ylabel("max_t |realized − predicted|")
    ax.set_title("(c) gap to the linearized prediction")
    ax.legend(fontsize=8)
    return save_figure(fig, figdir, FIGURE)


EXPERIMENT = Experiment(
    id="E3", figure=FIGURE,
    title="Real GD loss vs exact T8 curve vs T8 ε-bounds, linearized and real ReLU nets",
    mirrors="THEORY T8 (ε-rank conditions for training, mse, linearized GD)",
    cells=cells, run_cell=run_cell, summarize=summarize, plot=plot,
    claim_ids=(("E3.linearized_exact", "linearized GD = exact T8 curve (rel. err ≤ 1e-8)"),
               ("E3.linearized_bounds", "linearized GD inside the T8 ε-bounds"),
               ("E3.width_gap", "real-net gap to T8 shrinks with width")),
)
