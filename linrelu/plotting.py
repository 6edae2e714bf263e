"""Figures of recorded measurements (computing lives elsewhere: :mod:`linrelu.analysis.plasticity`).

Importing this module does not import matplotlib; :func:`plot_plasticity` does, with the Agg
backend when no backend was chosen yet.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from linrelu.validation import describe

#: Top-level record keys that are bookkeeping, not metrics.
_NOT_METRICS = ("step", "seed", "layers", "inputs")


def _load(source) -> list:
    from linrelu.analysis.plasticity import read_records

    if isinstance(source, (str, os.PathLike)):
        return read_records(os.fspath(source))
    if isinstance(source, (list, tuple)) and source and all(
            isinstance(s, (str, os.PathLike)) for s in source):
        return [r for s in source for r in read_records(os.fspath(s))]
    if isinstance(source, (list, tuple)) and all(isinstance(r, dict) for r in source):
        return list(source)
    raise ValueError(f"path_or_records: expected a JSON Lines path, a list of paths or a list of "
                     f"record dicts, received {describe(source)}")


def _is_number(v) -> bool:
    return (not isinstance(v, bool) and isinstance(v, (int, float))
            and np.isfinite(v))


def plot_plasticity(path_or_records, out_png, *, metrics=None, ncols: int = 4):
    """One panel per metric against ``step``, seeds as bands: the median over seeds (line) and
    their min–max (shaded), at each step some seed recorded. Returns ``out_png``.

    ``path_or_records``: a :class:`linrelu.PlasticityRecorder` file, a list of them (e.g. one
    per seed) or a list of record dicts, each with ``step``, ``seed`` and metric values.
    ``metrics``: the top-level numeric keys to draw (None: every one present in some record, in
    first-seen order: ``dead_fraction``, ``dormant_ratio@τ``, ranks, weight and gradient norms).
    ValueError naming the argument for no records, a record without ``step``, or an unknown
    metric.
    """
    records = _load(path_or_records)
    if not records:
        raise ValueError("path_or_records: expected at least one record, received none")
    if any("step" not in r for r in records):
        raise ValueError("path_or_records: expected a 'step' in every record, received a record "
                         "without one")
    present = list(dict.fromkeys(k for r in records for k, v in r.items()
                                 if k not in _NOT_METRICS and _is_number(v)))
    if metrics is None:
        metrics = present
    elif isinstance(metrics, str) or not all(m in present for m in metrics) or not metrics:
        raise ValueError(f"metrics: expected a non-empty list of numeric record keys among "
                         f"{present}, received {metrics!r}")
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols: expected an integer >= 1, received {describe(ncols)}")
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seeds = sorted({r.get("seed", 0) for r in records})
    cols = min(ncols, len(metrics))
    rows = -(-len(metrics) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    for ax, name in zip(axes.ravel(), metrics):
        by_step: dict = {}
        for r in records:
            if _is_number(r.get(name)):
                by_step.setdefault(r["step"], {})[r.get("seed", 0)] = float(r[name])
        steps = sorted(by_step)
        vals = [list(by_step[s].values()) for s in steps]
        med = [float(np.median(v)) for v in vals]
        ax.plot(steps, med, lw=1.5, marker="." if len(steps) < 30 else None)
        if len(seeds) > 1:
            ax.fill_between(steps, [min(v) for v in vals], [max(v) for v in vals], alpha=0.3)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(metrics):]:
        ax.set_visible(False)
    band = f"median and min–max over {len(seeds)} seeds" if len(seeds) > 1 else "1 seed"
    fig.suptitle(f"plasticity metrics ({band})", fontsize=10)
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return out_png


#: File types :func:`plot_diagnosis` writes (matplotlib picks the format from the suffix).
PLOT_SUFFIXES = (".png", ".pdf", ".svg")


def check_plot_path(out) -> str:
    """``out`` as a str when a figure can be written there: a ``.png``/``.pdf``/``.svg`` name in
    an existing, writable folder; ValueError naming ``out`` otherwise (checked before any work)."""
    if not isinstance(out, (str, os.PathLike)) or not os.fspath(out):
        raise ValueError(f"out: expected a file name ending in {'/'.join(PLOT_SUFFIXES)}, "
                         f"received {describe(out)}")
    out = os.fspath(out)
    if os.path.splitext(out)[1].lower() not in PLOT_SUFFIXES:
        raise ValueError(f"out: expected a file name ending in {'/'.join(PLOT_SUFFIXES)}, "
                         f"received {out!r}")
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise ValueError(f"out: expected a file in an existing folder, received {out!r} (no "
                         f"folder {folder!r})")
    if os.path.isdir(out) or not os.access(folder, os.W_OK):
        raise ValueError(f"out: expected a writable file path, received {out!r}")
    return out


def plot_diagnosis(report, out, *, plasticity=None) -> str:
    """Draw a :func:`linrelu.diagnose` report and write it to ``out`` (.png, .pdf or .svg);
    returns ``out``. Nothing is computed here: the figure shows what the report holds.

    - Left: the spectrum of the loss-weighted Gram G (its nonzero eigenvalues are the GGN's, T1)
      as a CDF, F(λ) = #{i : λ_i ≤ λ} / (n·k), on a log λ axis (zero eigenvalues drawn at the
      left edge), with the ε marks of the report: solid lines at the absolute ε of its ladder,
      dotted lines at the relative ε = r·λ_max, each labelled with rank_ε = #{λ_i > ε}.
    - Right: the hidden layers, per layer l: the effective rank, dead units and, with
      ``plasticity`` (the :func:`linrelu.plasticity_metrics` dict), its ranks and unit fractions,
      every value divided by the layer's width so that all lie in [0, 1].

    ``report``: a :class:`linrelu.analysis.diagnose.DiagnosisReport` or its ``to_dict()``.
    ValueError naming the argument for a report without eigenvalues or a bad ``out``
    (:func:`check_plot_path`).
    """
    out = check_plot_path(out)
    rep = report.to_dict() if hasattr(report, "to_dict") else report
    if not isinstance(rep, dict) or not rep.get("eigenvalues"):
        raise ValueError(f"report: expected a DiagnosisReport or its to_dict() with eigenvalues, "
                         f"received {describe(report)}")
    if plasticity is not None and not isinstance(plasticity, dict):
        raise ValueError(f"plasticity: expected the plasticity_metrics dict or None, received "
                         f"{describe(plasticity)}")
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ev = np.sort(np.asarray(rep["eigenvalues"], np.float64))
    lam_max = float(rep["lambda_max"])
    N = ev.size
    # below N·ε_machine·λ_max an eigenvalue of G is round-off, indistinguishable from 0
    # (linrelu.analysis.diagnose): such eigenvalues are drawn at that floor
    floor = N * np.finfo(np.float64).eps * lam_max if lam_max > 0 else 1e-16
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(13, 4.6), width_ratios=(1.1, 1))
    ax.step(np.maximum(ev, floor), np.arange(1, N + 1) / N, where="post", color="k", lw=1.5,
            label=f"eig(G), n·k = {N}")
    ax.set_xscale("log")
    ax.set_xlim(floor / 2, lam_max * 5)
    ax.set_ylim(-0.02, 1.1)
    # (position, rank_ε, line style, colour): absolute ε, then relative ε = r·λ_max
    marks = [(float(e), r, "-", "tab:blue") for e, r in rep.get("eps_rank_abs", {}).items()]
    marks += [(float(e) * lam_max, r, ":", "tab:red")
              for e, r in rep.get("eps_rank_rel", {}).items()]
    for i, (x, rank, ls, col) in enumerate(marks):
        if not floor < x < lam_max * 5:
            continue
        ax.axvline(x, color=col, ls=ls, lw=0.8)
        ax.text(x, 1.02 if ls == "-" else 0.04 + 0.06 * (i % 2), f"{rank}", color=col,
                fontsize=6, ha="center", rotation=0,
                bbox={"fc": "white", "ec": "none", "pad": 0.5})
    ax.plot([], [], color="tab:blue", lw=0.8, label="absolute ε (label: rank_ε)")
    ax.plot([], [], color="tab:red", ls=":", lw=0.8, label="relative ε = r·λ_max (rank_ε)")
    ax.set_xlabel(f"eigenvalue λ of G (below N·ε_mach·λ_max = {floor:.1e}: round-off, drawn "
                  f"there); λ_max = {lam_max:.4g}", fontsize=8)
    ax.set_ylabel("fraction of eigenvalues ≤ λ")
    ax.set_title(f"GGN spectrum (Gram G, {rep.get('gram_method', '')}), loss {rep['loss']}, "
                 f"n = {rep['n']}, k = {rep['k']}", fontsize=8)
    ax.legend(fontsize=7, loc="center left")
    _plot_layers(bx, rep, plasticity)
    pred = rep.get("prediction") or {}
    head = "linrelu diagnose"
    if pred.get("verdict") is not None:
        head += (f": L_T ≤ τ·L_0 with τ = {pred['tau']:g} after T = {pred['steps']} GD steps of "
                 f"{pred['lr']:.3g}? {pred['verdict']} (predicted L_T/L_0 = "
                 f"{pred['predicted_ratio']:.3g})")
    fig.suptitle(head, fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def _plot_layers(ax, rep: dict, plasticity) -> None:
    """Grouped bars per hidden layer, each value / the layer's width (plot_diagnosis)."""
    layers = rep.get("layers") or []
    series = {}
    if plasticity is not None and plasticity.get("per_layer"):
        per = plasticity["per_layer"]
        units = np.asarray(per["units"], np.float64)
        for key, vals in per.items():
            if key == "units":
                continue
            v = np.asarray(vals, np.float64)
            series[key if "fraction" in key or "ratio" in key else f"{key} / width"] = (
                v if "fraction" in key or "ratio" in key else v / units)
    elif layers:
        units = np.array([layer["units"] for layer in layers], np.float64)
        series["effective_rank / width"] = np.array([layer["effective_rank"] for layer in layers])
        series["effective_rank / width"] = series["effective_rank / width"] / units
        series["dead units / width"] = np.array([layer["dead_units"] for layer in layers]) / units
    if not series:
        ax.text(0.5, 0.5, "no hidden features: the model does not say what its hidden units "
                "are\n(pass features= in Python, or a factory returning them)", ha="center",
                va="center", fontsize=8, transform=ax.transAxes)
        ax.set_axis_off()
        return
    L = len(next(iter(series.values())))
    width = 0.8 / len(series)
    for j, (name, v) in enumerate(series.items()):
        ax.bar(np.arange(1, L + 1) + (j - (len(series) - 1) / 2) * width, v, width, label=name)
    ax.set_xticks(np.arange(1, L + 1))
    ax.set_xlabel("hidden layer (width: " + ", ".join(f"{int(u)}" for u in units) + ")")
    ax.set_ylabel("value (ranks divided by the width)")
    ax.set_ylim(0, 1.05)
    ax.set_title("feature metrics per hidden layer (on the --data inputs)", fontsize=8)
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))
