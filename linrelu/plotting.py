"""Figures of recorded measurements (computing lives elsewhere: :mod:`linrelu.plasticity`).

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
    from linrelu.plasticity import read_records

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
