"""E1 fig_gram_ggn_equivalence: the GGN spectrum equals the loss-weighted Gram's (T1, T2).

For each width × depth × loss cell, at a fresh init:

- T1: the nonzero eigenvalues of the p × p GGN Ĝ = (1/n) Jᵀ H J are computed on the parameter
  side — densely from :func:`linrelu.ggn_matrix` (autodiff Jacobian) when p is small enough,
  otherwise by Lanczos (``scipy.sparse.linalg.eigsh``) on the matrix-free operator
  v ↦ (1/n) Jᵀ H (J v) built from jvp/vjp — and compared with those of the n·k × n·k loss-weighted
  Gram G from the closed form T5 (:func:`linrelu.ggn_eigenvalues`). The two computations share
  no code beyond the forward pass. The number r of nonzero eigenvalues is fixed a priori, not
  read off either spectrum: r = rank H = n·k for mse (H = I) and n(k − 1) for ce (each
  H_i = diag p_i − p_i p_iᵀ has rank k − 1 when p_i > 0), given rank J = n·k (p ≥ n·k, generic
  inputs). The top r eigenvalues of both sides are matched; the rest must vanish.
- T2: the bracket (a/n) λ_i(PKP) ≤ λ_i(G) ≤ (b/n) λ_i(PKP) from
  :func:`linrelu.spectral_equivalence_bracket`.
"""

from __future__ import annotations

import numpy as np

from linrelu.experiments.base import Claim, Experiment, save_figure, to_jsonable

FIGURE = "fig_gram_ggn_equivalence"
WIDTHS = (8, 32, 128)
DEPTHS = (1, 2, 3)
LOSSES = ("mse", "ce")
# The dense p × p eigenproblem costs O(p³) and 8p² bytes; above this p the cell uses Lanczos
# instead (quick: p = 2403 for width 32 × depth 3 would take ~5–10 s on a loaded core of the 2-core
# AMD EPYC, 2026-11-25; full
# mode affords it; width 128 × depth 2 has p = 17 667 and is always Lanczos).
DENSE_MAX_PARAMS = {"quick": 1400, "full": 2500}
# Eigenvalue thresholds, relative to λ_max(G):
IDENTITY_TOL = 1e-8  # the criterion for matched nonzero eigenvalues
# Dense eigvalsh of Ĝ has backward error ≈ p ε ‖Ĝ‖ ≤ 2500 · 2.2e-16 ≈ 6e-13 ‖Ĝ‖, so the p − r
# structural zeros must come out below 1e-10 λ_max; a missing zero would be O(λ_min) ≥ 1e-4.
NULL_TOL = 1e-10
# T2 bounds compare three eigvalsh outputs of n·k × n·k matrices, each with backward error
# ≈ nk ε ‖·‖ ≈ 30 · 2.2e-16 ≈ 7e-15 relative to λ_max; a slack of 1e-12 λ_max absorbs that
# round-off (mse has lower = exact = upper exactly in exact arithmetic) while any genuine
# violation would be of the size of the bracket itself (≥ 1e-4 λ_max here).
BRACKET_SLACK = 1e-12


def cells(mode: str) -> list:
    seeds = (0,) if mode == "quick" else (0, 1, 2)
    n = 8 if mode == "quick" else 10
    out = []
    for seed in seeds:
        for depth in DEPTHS:
            for width in WIDTHS:
                p = num_params(5, width, depth, 3)
                method = "dense" if p <= DENSE_MAX_PARAMS[mode] else "lanczos"
                for loss in LOSSES:
                    out.append({"width": width, "depth": depth, "loss": loss, "n": n, "k": 3,
                                "d": 5, "sigma_w": 2**0.5, "sigma_b": 0.1, "seed": seed,
                                "ggn": method})
    return out


def num_params(d: int, width: int, depth: int, k: int) -> int:
    """p of the MLP (d, width × depth, k): weights and biases of every layer."""
    sizes = (d,) + (width,) * depth + (k,)
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True))


def _problem(cell):
    """Network, params, inputs and targets of one cell (inputs and targets from the cell seed)."""
    import jax

    import linrelu

    n, k, d = cell["n"], cell["k"], cell["d"]
    rng = np.random.default_rng(1000 + cell["seed"])
    X = rng.normal(size=(n, d))
    targets = rng.normal(size=(n, k)) if cell["loss"] == "mse" else rng.integers(0, k, n)
    net = linrelu.MLP((d,) + (cell["width"],) * cell["depth"] + (k,),
                      sigma_w=cell["sigma_w"], sigma_b=cell["sigma_b"])
    params = net.init(jax.random.PRNGKey(cell["seed"]))
    return net, params, X, targets


def expected_rank(n: int, k: int, loss: str) -> int:
    """rank H = n·k (mse, H = I) or n(k − 1) (ce: each diag p − ppᵀ has null space span 𝟙)."""
    return n * k if loss == "mse" else n * (k - 1)


def ggn_eigenvalues_dense(net, params, X, targets, loss) -> np.ndarray:
    """All p eigenvalues of the p × p GGN from :func:`linrelu.ggn_matrix`, largest first."""
    import linrelu

    M = np.asarray(linrelu.ggn_matrix(net, params, X, targets, loss), dtype=np.float64)
    return np.linalg.eigvalsh(0.5 * (M + M.T))[::-1]


def ggn_operator(net, params, X, loss):
    """Matrix-free Ĝv = (1/n) Jᵀ H (J v) on flat parameter vectors (jvp, then vjp)."""
    import jax
    import jax.numpy as jnp

    from linrelu.models.mlp import forward, ravel_params, unravel_params
    from linrelu.spectral.losses import output_hessians_unchecked

    X = jnp.asarray(X, dtype=jnp.float64)
    flat0 = ravel_params(params)
    n = X.shape[0]

    def f(flat):
        return forward(net, unravel_params(net, flat), X)

    H = output_hessians_unchecked(f(flat0), loss)  # (n, k, k)
    _, vjp = jax.vjp(f, flat0)

    @jax.jit
    def matvec(v):
        Jv = jax.jvp(f, (flat0,), (v,))[1]
        return vjp(jnp.einsum("iab,ib->ia", H, Jv) / n)[0]

    return matvec, flat0.shape[0]


def ggn_eigenvalues_lanczos(net, params, X, loss, count: int) -> np.ndarray:
    """The ``count`` largest eigenvalues of the p × p GGN by Lanczos on :func:`ggn_operator`."""
    from scipy.sparse.linalg import LinearOperator, eigsh

    matvec, p = ggn_operator(net, params, X, loss)
    op = LinearOperator((p, p), matvec=lambda v: np.asarray(matvec(np.ravel(v))),
                        dtype=np.float64)
    # Ĝ has rank `count`, so a Krylov space of dimension > count holds its whole range:
    # ARPACK converges to full precision (tol=0) in a few restarts. Fixed v0: deterministic.
    v0 = np.random.default_rng(0).normal(size=p)
    vals = eigsh(op, k=count, which="LA", tol=0, ncv=min(p - 1, 2 * count + 20), v0=v0,
                 return_eigenvectors=False)
    return np.sort(vals)[::-1]


def run_cell(cell: dict) -> dict:
    import linrelu

    net, params, X, targets = _problem(cell)
    n, k, loss = cell["n"], cell["k"], cell["loss"]
    r = expected_rank(n, k, loss)
    eig_G = linrelu.ggn_eigenvalues(net, params, X, targets, loss)  # n·k, largest first
    p, method = net.num_params, cell["ggn"]
    if method == "dense":
        eig_full = ggn_eigenvalues_dense(net, params, X, targets, loss)
        eig_Ghat, rest = eig_full[:r], eig_full[r:]
        null_dev = float(np.max(np.abs(rest)) / eig_G[0]) if rest.size else 0.0
    else:
        eig_Ghat = ggn_eigenvalues_lanczos(net, params, X, loss, r)
        null_dev = None
    matched = eig_G[:r]
    rel_dev = np.abs(eig_Ghat - matched) / matched
    # G's own eigenvalues beyond the a-priori rank must vanish as well (ce: the 𝟙 directions).
    g_null_dev = float(np.max(np.abs(eig_G[r:])) / eig_G[0]) if r < n * k else 0.0
    br = linrelu.spectral_equivalence_bracket(net, params, X, targets, loss)
    scale = float(np.max(br.upper))
    violation = max(float(np.max(br.lower - br.exact)), float(np.max(br.exact - br.upper)))
    return to_jsonable({
        "num_params": p, "method": method, "rank": r,
        "eig_G": eig_G, "eig_Ghat": eig_Ghat,
        "max_rel_dev": float(np.max(rel_dev)), "min_matched_over_max": float(matched[-1] /
                                                                            matched[0]),
        "null_dev": null_dev, "g_null_dev": g_null_dev,
        "bracket": {"lower": br.lower, "exact": br.exact, "upper": br.upper,
                    "a": br.a, "b": br.b},
        "bracket_violation": violation / scale,
    })


def _label(c):
    return f"w{c['width']} L{c['depth']} {c['loss']} s{c['seed']}"


def summarize(cells_: list, results: list):
    rows = []
    for c, r in zip(cells_, results, strict=True):
        rows.append({"label": _label(c), "width": c["width"], "depth": c["depth"],
                     "loss": c["loss"], "seed": c["seed"], "num_params": r["num_params"],
                     "method": r["method"], "eig_G": r["eig_G"][:r["rank"]],
                     "eig_Ghat": r["eig_Ghat"], "max_rel_dev": r["max_rel_dev"],
                     "null_dev": r["null_dev"], "g_null_dev": r["g_null_dev"],
                     "bracket_violation": r["bracket_violation"]})
    worst = max(rows, key=lambda row: row["max_rel_dev"])
    dense = [row for row in rows if row["null_dev"] is not None]
    worst_null = max(max(row["null_dev"] for row in dense), max(r["g_null_dev"] for r in rows))
    worst_br = max(rows, key=lambda row: row["bracket_violation"])
    # Bracket illustration: the widest dense ce cell of seed 0 at depth 2, or any ce cell.
    ce = [(c, r) for c, r in zip(cells_, results, strict=True) if c["loss"] == "ce"]
    pick = next(((c, r) for c, r in ce if c["depth"] == 2 and c["width"] == 32
                 and c["seed"] == 0), ce[0] if ce else (cells_[0], results[0]))
    summary = {
        "rows": rows,
        "bracket_cell": {"label": _label(pick[0]), **pick[1]["bracket"]},
        "max_rel_dev": worst["max_rel_dev"], "max_rel_dev_cell": worst["label"],
        "max_null_dev": worst_null, "max_bracket_violation": worst_br["bracket_violation"],
        "n_cells": len(rows), "n_dense": len(dense),
    }
    n_lanczos = len(rows) - len(dense)
    claims = [
        Claim("E1.identity",
              "T1: nonzero eigenvalues of the p×p GGN equal those of the nk×nk loss-weighted "
              f"Gram ({len(dense)} dense + {n_lanczos} Lanczos cells, widths {WIDTHS} × depths "
              f"{DEPTHS} × mse/ce)",
              f"max relative deviation {worst['max_rel_dev']:.2e} ({worst['label']})",
              f"<= {IDENTITY_TOL:g}", worst["max_rel_dev"] <= IDENTITY_TOL, FIGURE),
        Claim("E1.null",
              "T1: the remaining p − rank(H) GGN eigenvalues (dense cells) and the n ce "
              "eigenvalues of G beyond rank(H) are zero",
              f"max |λ|/λ_max = {worst_null:.2e}",
              f"<= {NULL_TOL:g} (dense eigvalsh backward error ≈ p·ε)",
              worst_null <= NULL_TOL, FIGURE),
        Claim("E1.bracket",
              "T2: (a/n) λ_i(PKP) <= λ_i(G) <= (b/n) λ_i(PKP) for every i in every cell",
              f"largest violation {worst_br['bracket_violation']:.2e} × λ_max "
              f"({worst_br['label']})",
              f"<= {BRACKET_SLACK:g} × λ_max (round-off slack)",
              worst_br["bracket_violation"] <= BRACKET_SLACK, FIGURE),
    ]
    return to_jsonable(summary), claims


def plot(summary: dict, figdir) -> list:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
    ax = axes[0]
    colors = {w: c for w, c in zip(WIDTHS, ("tab:blue", "tab:orange", "tab:green"),
                                   strict=True)}
    markers = {"mse": "o", "ce": "^"}
    seen = set()
    lo, hi = np.inf, 0.0
    for row in summary["rows"]:
        g, gh = np.asarray(row["eig_G"]), np.asarray(row["eig_Ghat"])
        lo, hi = min(lo, g.min()), max(hi, g.max())
        key = (row["width"], row["loss"])
        ax.scatter(g, gh, s=14, marker=markers[row["loss"]],
                   color=colors.get(row["width"], "gray"), alpha=0.6,
                   label=f"width {row['width']}, {row['loss']}" if key not in seen else None)
        seen.add(key)
    ax.plot([lo, hi], [lo, hi], "k--", lw=0.8, label="y = x")
    ax.set(xscale="log", yscale="log", xlabel="eigenvalue of G (n·k × n·k, closed form T5)",
           ylabel="eigenvalue of Ĝ (p × p GGN)",
           title=f"T1: nonzero spectra coincide (max rel. dev. {summary['max_rel_dev']:.1e})")
    ax.legend(fontsize=7, ncol=2)

    ax = axes[1]
    rows = summary["rows"]
    x = np.arange(len(rows))
    dev = np.maximum([row["max_rel_dev"] for row in rows], 1e-17)
    ax.bar(x, dev, color=["tab:purple" if row["method"] == "dense" else "tab:gray"
                          for row in rows])
    ax.axhline(IDENTITY_TOL, color="r", ls="--", lw=1, label=f"criterion {IDENTITY_TOL:g}")
    ax.set(yscale="log", ylabel="max relative deviation of matched eigenvalues",
           title="per cell (purple: dense p×p, gray: Lanczos)")
    ax.set_xticks(x, [row["label"] for row in rows], rotation=90, fontsize=5)
    ax.legend(fontsize=8)

    ax = axes[2]
    b = summary["bracket_cell"]
    ex = np.asarray(b["exact"])
    keep = ex > NULL_TOL * ex.max()
    idx = np.arange(1, keep.sum() + 1)
    ax.fill_between(idx, np.asarray(b["lower"])[keep], np.asarray(b["upper"])[keep],
                    color="tab:blue", alpha=0.25, label="T2 bracket [(a/n)λ(PKP), (b/n)λ(PKP)]")
    ax.plot(idx, ex[keep], "k.-", lw=1, label="λ_i(G)")
    ax.set(yscale="log", xlabel="index i (largest first)", ylabel="eigenvalue",
           title=f"T2 bracket, {b['label']} (a = {b['a']:.3f}, b = {b['b']:.3f})")
    ax.legend(fontsize=8)
    fig.suptitle("E1: Gram–GGN spectral equivalence at initialization")
    return save_figure(fig, figdir, FIGURE)


EXPERIMENT = Experiment(
    id="E1", figure=FIGURE,
    title="eig(GGN) vs eig(loss-weighted Gram) across widths × depths, mse and ce; T2 bracket",
    mirrors="THEORY T1, T2",
    cells=cells, run_cell=run_cell, summarize=summarize, plot=plot,
    claim_ids=(("E1.identity", "matched nonzero eigenvalues of Ĝ and G, rel. dev. <= 1e-8"),
               ("E1.null", "the other eigenvalues vanish"),
               ("E1.bracket", "every T2 bound holds")),
)
