"""E2 fig_ntk_convergence: the empirical NTK Gram converges to Θ ⊗ I_k at rate m^{-1/2} (T7).

Each cell draws one fresh net of ``depth`` hidden layers of equal width m, computes its exact Gram
K_emp = J Jᵀ by the closed form T5 (:func:`linrelu.jacobian_gram`) and the relative error
‖K_emp − Θ ⊗ I_k‖_F / ‖Θ ⊗ I_k‖_F against the analytic kernel (:func:`linrelu.ntk_analytic`).
Per depth, log(error) is regressed on log(m) by ordinary least squares with the seeds as
replicates; the slope's 95 % confidence interval is the t-interval slope ± t_{0.975, N−2} · SE.
T7 predicts slope −½ (fluctuations of a sum of m i.i.d. terms, each O(1/m)).
"""

from __future__ import annotations

import numpy as np

from linrelu.experiments.base import Claim, Experiment, save_figure, to_jsonable

FIGURE = "fig_ntk_convergence"
DEPTHS = (1, 2, 3, 4)
SLOPE_RANGE = (-0.65, -0.35)  # the pass band around the predicted −½
SIGMA_W, SIGMA_B = 2**0.5, 0.1


def widths(mode: str) -> tuple:
    """Log-spaced widths: 16 … 4096 (×4) in quick mode, 16 … 8192 (×2) in full mode."""
    return tuple(16 * 4**i for i in range(5)) if mode == "quick" else tuple(
        16 * 2**i for i in range(10))


def cells(mode: str) -> list:
    seeds = range(3) if mode == "quick" else range(8)
    n = 10 if mode == "quick" else 16
    return [{"depth": depth, "width": width, "seed": seed, "n": n, "k": 2, "d": 6,
             "sigma_w": SIGMA_W, "sigma_b": SIGMA_B, "data_seed": 0}
            for depth in DEPTHS for width in widths(mode) for seed in seeds]


def inputs(n: int, d: int, data_seed: int) -> np.ndarray:
    """n standard Gaussian inputs in R^d (shared by every cell with the same data_seed)."""
    return np.random.default_rng(data_seed).normal(size=(n, d))


def relative_frobenius_error(K, target) -> float:
    """‖K − T‖_F / ‖T‖_F."""
    K, target = np.asarray(K, dtype=np.float64), np.asarray(target, dtype=np.float64)
    return float(np.linalg.norm(K - target) / np.linalg.norm(target))


def run_cell(cell: dict) -> dict:
    import jax

    import linrelu

    X = inputs(cell["n"], cell["d"], cell["data_seed"])
    k = cell["k"]
    net = linrelu.MLP((cell["d"],) + (cell["width"],) * cell["depth"] + (k,),
                      sigma_w=cell["sigma_w"], sigma_b=cell["sigma_b"])
    K = linrelu.jacobian_gram(net, net.init(jax.random.PRNGKey(cell["seed"])), X)
    theta = linrelu.ntk_analytic(X, None, cell["depth"], cell["sigma_w"], cell["sigma_b"])
    return to_jsonable({"rel_error": relative_frobenius_error(K, np.kron(theta, np.eye(k)))})


def loglog_slope(x, y, level: float = 0.95) -> dict:
    """OLS fit log y = a + s log x; returns slope s, its standard error and t-interval."""
    from scipy import stats

    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    fit = stats.linregress(lx, ly)
    dof = len(lx) - 2
    half = float(stats.t.ppf(0.5 + level / 2, dof) * fit.stderr) if dof > 0 else float("inf")
    return {"slope": float(fit.slope), "intercept": float(fit.intercept),
            "stderr": float(fit.stderr), "ci": [float(fit.slope) - half, float(fit.slope) + half],
            "n_points": len(lx)}


def summarize(cells_: list, results: list):
    per_depth = {}
    for c, r in zip(cells_, results, strict=True):
        d = per_depth.setdefault(str(c["depth"]), {"width": [], "seed": [], "rel_error": []})
        d["width"].append(c["width"])
        d["seed"].append(c["seed"])
        d["rel_error"].append(r["rel_error"])
    for d in per_depth.values():
        d["fit"] = loglog_slope(d["width"], d["rel_error"])
    lo, hi = SLOPE_RANGE
    slopes = {L: d["fit"]["slope"] for L, d in per_depth.items()}
    ok = all(lo <= s <= hi for s in slopes.values())
    measured = "; ".join(
        f"depth {L}: {d['fit']['slope']:.3f} [{d['fit']['ci'][0]:.3f}, {d['fit']['ci'][1]:.3f}]"
        for L, d in per_depth.items())
    all_w = sorted({w for d in per_depth.values() for w in d["width"]})
    n_seeds = len({s for d in per_depth.values() for s in d["seed"]})
    summary = {"per_depth": per_depth, "slope_range": list(SLOPE_RANGE),
               "widths": all_w, "n_seeds": n_seeds}
    claims = [Claim(
        "E2.slope",
        f"T7: ‖K_emp − Θ⊗I‖_F/‖Θ⊗I‖_F ∝ m^(-1/2): OLS log-log slope per depth "
        f"(widths {all_w[0]}–{all_w[-1]}, {n_seeds} seeds; 95% t-interval)",
        measured, f"every slope in [{lo}, {hi}]", ok, FIGURE)]
    return to_jsonable(summary), claims


def plot(summary: dict, figdir) -> list:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), gridspec_kw={"width_ratios": [2, 1]})
    ax = axes[0]
    colors = plt.get_cmap("viridis")(np.linspace(0, 0.85, len(summary["per_depth"])))
    for color, (L, d) in zip(colors, summary["per_depth"].items(), strict=True):
        w, e = np.asarray(d["width"], float), np.asarray(d["rel_error"], float)
        ax.scatter(w, e, s=12, color=color, alpha=0.6)
        grid = np.unique(w)
        ax.plot(grid, [np.exp(np.mean(np.log(e[w == g]))) for g in grid], "o-", color=color,
                ms=4, lw=1.2, label=f"depth {L} (slope {d['fit']['slope']:.2f})")
        ax.plot(grid, np.exp(d["fit"]["intercept"]) * grid ** d["fit"]["slope"], ":",
                color=color, lw=1)
    grid = np.asarray(summary["widths"], float)
    ref = 2.0 * grid ** -0.5
    ax.plot(grid, ref, "k--", lw=1, label="∝ m^(-1/2)")
    ax.set(xscale="log", yscale="log", xlabel="hidden width m",
           ylabel="‖K_emp − Θ⊗I‖_F / ‖Θ⊗I‖_F",
           title=f"empirical NTK → analytic NTK ({summary['n_seeds']} seeds per point; "
                 f"line: geometric mean)")
    ax.legend(fontsize=8)

    ax = axes[1]
    lo, hi = summary["slope_range"]
    ax.axhspan(lo, hi, color="tab:green", alpha=0.15, label="pass band")
    ax.axhline(-0.5, color="k", ls="--", lw=1, label="T7: −1/2")
    for i, d in enumerate(summary["per_depth"].values()):
        f = d["fit"]
        ax.errorbar([i], [f["slope"]], yerr=[[f["slope"] - f["ci"][0]], [f["ci"][1] - f["slope"]]],
                    fmt="o", color=colors[i], capsize=4)
    ax.set_xticks(range(len(summary["per_depth"])),
                  [f"depth {L}" for L in summary["per_depth"]])
    ax.set(ylabel="fitted log-log slope (95% CI)", title="convergence rate per depth")
    ax.legend(fontsize=8)
    fig.suptitle("E2: finite-width NTK Gram at initialization vs the infinite-width kernel (T7)")
    return save_figure(fig, figdir, FIGURE)


EXPERIMENT = Experiment(
    id="E2", figure=FIGURE,
    title="relative Frobenius error of the empirical NTK vs width, depths 1–4, log-log slope",
    mirrors="THEORY T7",
    cells=cells, run_cell=run_cell, summarize=summarize, plot=plot,
    claim_ids=(("E2.slope", "fitted log-log slope per depth in [-0.65, -0.35]"),),
)
