"""The loss-of-plasticity measurements the field uses, for any model and any training loop.

:func:`plasticity_metrics` measures one network on a batch of inputs X; :class:`PlasticityRecorder`
appends its results to a JSON Lines file from a user's own loop (resuming after a crash), and
:func:`linrelu.plotting.plot_plasticity` draws them. Notation: h_l(X) is hidden layer l's
(rows, m_l) activation matrix (:func:`linrelu.hidden_features`: rows = inputs, columns = units;
a conv map (n, H, W, C) is read as (n·H·W, C), a unit = a channel), σ_1 ≥ … ≥ σ_r its singular
values (r = min(rows, m_l)), a_u = mean_x |h_u(x)|.

Per hidden layer (``per_layer``), and aggregated (top level: unit ratios pooled over every
hidden unit, Σ_l count_l / Σ_l m_l; ranks averaged over the layers, (1/L) Σ_l rank_l):

- ``dead_fraction``: units with h_u(x) = 0 on every input
(:func:`linrelu.analysis.features.dead_mask`).
- ``dormant_ratio@τ``: the τ-dormant units of ReDo (Sokar et al. 2023, "The Dormant Neuron
  Phenomenon in Deep RL", Def. 3.1): score_u = a_u / ((1/m) Σ_v a_v), dormant ⇔ score_u ≤ τ
  (τ = 0, 0.025, 0.1 in ReDo; Plasticine uses 0.025). A layer with Σ_v a_v = 0 has every score 0
  (every unit dormant), as ReDo's code (score / (mean + 1e-9)) gives. τ = 0 is the dead fraction.
- ``feature_rank``: the exact rank #{i : σ_i > tol}, tol = σ_1 · max(rows, m) · ε_float64 (numpy's
  ``matrix_rank`` default, used by Dohare et al. 2024's ``online_expr.py`` through torch), or
  ``rank_tol`` when given.
- ``srank``: srank_δ(h) = min{k : Σ_{i≤k} σ_i ≥ (1 − δ) Σ_i σ_i} (Kumar et al. 2021,
  "Implicit Under-Parameterization", δ = 0.01: this, on σ, is Kumar's; Dohare et al.'s code calls
  it the "abs approximate rank"; Plasticine calls it "stable rank"). 0 when h = 0.
- ``srank_sq``: the same on σ²: min{k : Σ_{i≤k} σ_i² ≥ (1 − δ) Σ_i σ_i²} (Dohare et al. 2024's
  "approximate rank", prop = 0.99 = 1 − δ). 0 when h = 0.
- ``effective_rank``: Roy & Vetterli 2007, exp(−Σ_i q_i log q_i), q = σ/Σσ; 0 when h = 0
  (:func:`linrelu.effective_rank`, the continual engine's ``erank``).
- ``duplicate_fraction``: units u with |corr_x(h_u, h_v)| > 0.95 for some other unit v of the
  same layer (Pearson correlation over the rows; Joudaki et al. 2025). A constant unit (the same
  value on every row, e.g. a dead one) has no correlation: it is never a duplicate nor the
  partner of one, and it stays in the denominator m.

None of these is the GGN "stable rank" Σλ/λ_max of :mod:`linrelu.spectral.spectra` (``ggn`` below):
``srank`` is a feature-matrix quantity.

On the parameters θ (any pytree):

- ``weight_mean_abs``: per weight array (every leaf with ≥ 2 axes, biases excluded, in
  ``jax.tree_util`` order, named in ``weight_names``), mean_{ij} |W_ij| (Dohare et al. 2024 track
  the per-layer Σ|W|; the mean divides it by the size); top level ``weight_mean_abs``: the mean
  of |w| over the entries of all of them.
- ``param_distance`` (with ``params0``): ‖θ − θ₀‖₂ over every leaf, weights and biases
  (Plasticine's L2 distance from initialization).
- ``grad_norm`` (with ``targets``): ‖∇_θ L(θ)‖₂, L = (1/n) Σ_i ℓ(f(x_i), y_i) the mean ``loss``
  ("mse": ½‖f − y‖², "ce": −log softmax(f)_y; :mod:`linrelu.spectral.losses`), the continual
  engine's
  ``grad_norm``.
- ``ggn`` (with ``spectrum=True`` and targets): the exact GGN spectrum's summaries on (X,
  targets) (:func:`linrelu.spectral.spectra.spectrum_summary`: ε-ranks, stable rank Σλ/λ_max,
  spectral erank, λ_max); costs an n·k × n·k eigenproblem.
"""

from __future__ import annotations

import json
import os

import jax
import jax.numpy as jnp
import numpy as np

from linrelu.analysis.features import dead_mask, effective_rank, hidden_features
from linrelu.precision import float64
from linrelu.validation import check_loss, check_targets, describe, infer_loss

DEFAULT_TAU = (0.0, 0.025, 0.1)
DEFAULT_DELTA = 0.01
#: |corr| above which two units of a layer are duplicates (Joudaki et al. 2025).
DUPLICATE_CORR = 0.95


def _check_number(value, name: str, lo: float, hi: float, hi_open: bool) -> float:
    ok = (not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
          and np.isfinite(value) and lo <= value and (value < hi if hi_open else value <= hi))
    if not ok:
        interval = f"[{lo}, {hi})" if hi_open else f"[{lo}, {hi}]"
        raise ValueError(f"{name}: expected a finite number in {interval}, received "
                         f"{describe(value)}")
    return float(value)


def _check_tau(tau) -> tuple:
    taus = (tau,) if np.isscalar(tau) else tau
    if not isinstance(taus, (tuple, list)) or not taus:
        raise ValueError(f"tau: expected a number >= 0 or a non-empty sequence of them, "
                         f"received {describe(tau)}")
    return tuple(_check_number(t, "tau", 0.0, np.inf, True) for t in taus)


def tau_key(tau: float) -> str:
    """The key of the τ-dormant ratio in :func:`plasticity_metrics`' dict: ``dormant_ratio@τ``."""
    return f"dormant_ratio@{float(tau)!r}"


def dormant_scores(h) -> np.ndarray:
    """ReDo's score_u = a_u / ((1/m) Σ_v a_v), a_u = mean_x |h_u(x)|, of one (rows, m) layer
    (module docstring); all zeros when the layer is identically 0."""
    a = np.mean(np.abs(np.asarray(h, np.float64)), axis=0)
    mean = a.mean()
    return np.zeros_like(a) if mean == 0.0 else a / mean


def srank(singular_values, delta: float = DEFAULT_DELTA, *, squared: bool = False) -> int:
    """srank_δ = min{k : Σ_{i≤k} s_i ≥ (1 − δ) Σ_i s_i} with s = σ (Kumar et al. 2021) or, with
    ``squared``, s = σ² (Dohare et al. 2024's "approximate rank"); σ sorted in any order (they
    are sorted largest first); 0 when every σ is 0. 0 ≤ δ < 1."""
    delta = _check_number(delta, "delta", 0.0, 1.0, True)
    s = np.sort(np.abs(np.asarray(singular_values, np.float64)).ravel())[::-1]
    if s.size == 0 or not np.all(np.isfinite(s)):
        raise ValueError(f"singular_values: expected a non-empty finite array, received "
                         f"{describe(singular_values)}")
    s = s * s if squared else s
    c = np.cumsum(s)
    if c[-1] == 0.0:
        return 0
    return int(np.argmax(c >= (1.0 - delta) * c[-1])) + 1


def exact_rank(singular_values, shape, tol=None) -> int:
    """#{i : σ_i > tol}, tol = σ_max · max(shape) · ε_float64 by default (numpy ``matrix_rank``)."""
    s = np.asarray(singular_values, np.float64)
    if tol is None:
        tol = (s.max(initial=0.0)) * max(shape) * np.finfo(np.float64).eps
    return int(np.count_nonzero(s > tol))


def duplicate_mask(h, threshold: float = DUPLICATE_CORR) -> np.ndarray:
    """Boolean (m,) mask: unit u has |corr(h_u, h_v)| > ``threshold`` with another unit v of the
    layer; constant units (max = min over the rows) are never duplicates (module docstring)."""
    h = np.asarray(h, np.float64)
    varying = h.max(axis=0) > h.min(axis=0)
    out = np.zeros(h.shape[1], bool)
    idx = np.flatnonzero(varying)
    if idx.size < 2:
        return out
    Z = h[:, idx] - h[:, idx].mean(axis=0)
    Z = Z / np.linalg.norm(Z, axis=0)
    C = np.abs(Z.T @ Z)
    np.fill_diagonal(C, 0.0)
    out[idx] = np.any(C > threshold, axis=1)
    return out


def layer_metrics(h, *, tau=DEFAULT_TAU, delta: float = DEFAULT_DELTA, rank_tol=None) -> dict:
    """The per-layer metrics of the module docstring for one (rows, m) activation matrix."""
    h = np.asarray(h, np.float64)
    sv = np.linalg.svd(h, compute_uv=False)
    scores = dormant_scores(h)
    out = {"units": int(h.shape[1]), "dead_fraction": float(dead_mask(h).mean())}
    for t in _check_tau(tau):
        out[tau_key(t)] = float(np.mean(scores <= t))
    out.update(feature_rank=exact_rank(sv, h.shape, rank_tol), srank=srank(sv, delta),
               srank_sq=srank(sv, delta, squared=True), effective_rank=effective_rank(h),
               duplicate_fraction=float(duplicate_mask(h).mean()))
    return out


_POOLED = ("dead_fraction", "duplicate_fraction")
_AVERAGED = ("feature_rank", "srank", "srank_sq", "effective_rank")


def _weights(params) -> tuple[list, list]:
    leaves = jax.tree_util.tree_flatten_with_path(params)[0]
    named = [(jax.tree_util.keystr(p), np.asarray(a, np.float64)) for p, a in leaves
             if np.ndim(a) >= 2]
    return [n for n, _ in named], [a for _, a in named]


def _param_distance(params, params0) -> float:
    a, ta = jax.tree_util.tree_flatten(params)
    b, tb = jax.tree_util.tree_flatten(params0)
    if ta != tb or any(np.shape(x) != np.shape(y) for x, y in zip(a, b)):
        raise ValueError(f"params0: expected a pytree of the same structure and shapes as "
                         f"params ({ta}), received {tb}")
    return float(np.sqrt(sum(np.sum((np.asarray(x, np.float64) - np.asarray(y, np.float64)) ** 2)
                             for x, y in zip(a, b))))


def _grad_norm(model, params, X, targets, loss) -> tuple[float, object, str]:
    from linrelu.models.network import resolve
    from linrelu.spectral.losses import mean_loss

    with float64():
        net = resolve(model, params, X)
        loss = infer_loss(targets, "targets") if loss is None else check_loss(loss)
        y = jnp.asarray(check_targets(targets, net.n, net.k, loss))
        g = jax.grad(lambda p: mean_loss(net.apply(p, net.X), y, loss))(net.params)
        return float(np.sqrt(sum(np.sum(np.asarray(x, np.float64) ** 2)
                                 for x in jax.tree_util.tree_leaves(g)))), net, loss


def plasticity_metrics(model, params, X, *, params0=None, targets=None, loss=None,
                       tau=DEFAULT_TAU, delta: float = DEFAULT_DELTA, features=None,
                       rank_tol=None, spectrum: bool = False) -> dict:
    """The field's plasticity metrics of ``model`` at ``params`` on inputs ``X`` (module
    docstring for every formula and its source). JSON-able dict:

    - top level, aggregated over the hidden layers: ``dead_fraction``, ``dormant_ratio@τ`` for
      each τ in ``tau``, ``duplicate_fraction`` (pooled: Σ_l count_l / Σ_l m_l);
      ``feature_rank``, ``srank``, ``srank_sq``, ``effective_rank`` (mean over layers);
      ``weight_mean_abs``; ``param_distance`` with ``params0``; ``grad_norm`` with ``targets``;
      ``layers`` (L), ``inputs`` (rows of X);
    - ``per_layer``: the same unit and rank metrics as lists over l = 1..L, plus ``units``;
    - ``weight_mean_abs_per_array`` and ``weight_names``: mean |W| of each weight array;
    - ``ggn`` (``spectrum=True``, needs ``targets``): the GGN spectrum summaries.

    ``model``: any model of the one protocol (:mod:`linrelu.models.network`: a
    :class:`linrelu.MLP`, an
    object with ``apply`` and ``features``, a bare ``f(params, X)``); its hidden units come from
    its ``features`` or from ``features=`` (a callable ``features(params, X)`` or a list of
    per-layer arrays, :mod:`linrelu.analysis.features`). ``targets`` (ce: int labels (n,); mse: (n,
    k))
    with ``loss`` in {"mse", "ce"} (None: inferred from the targets, as
    :func:`linrelu.diagnose`
    does). ``tau``: a number ≥ 0 or a sequence of them; ``delta`` in [0, 1); ``rank_tol``: an
    absolute tolerance for ``feature_rank`` (None: numpy's). Bad input: ValueError naming the
    argument.
    """
    taus = _check_tau(tau)
    delta = _check_number(delta, "delta", 0.0, 1.0, True)
    if rank_tol is not None:
        rank_tol = _check_number(rank_tol, "rank_tol", 0.0, np.inf, True)
    if not isinstance(spectrum, bool):
        raise ValueError(f"spectrum: expected True or False, received {describe(spectrum)}")
    if spectrum and targets is None:
        raise ValueError("targets: expected the targets of X since spectrum=True (the GGN needs "
                         "them), received None")
    hidden = hidden_features(model, params, X, features)
    layers = [layer_metrics(h, tau=taus, delta=delta, rank_tol=rank_tol) for h in hidden]
    units = np.array([m["units"] for m in layers], np.float64)
    keys = [*_POOLED[:1], *(tau_key(t) for t in taus), *_POOLED[1:], *_AVERAGED]
    per_layer = {k: [m[k] for m in layers] for k in ["units", *keys]}
    out = {"layers": len(layers), "inputs": int(np.shape(X)[0])}
    for k in keys:
        v = np.array(per_layer[k], np.float64)
        out[k] = float(v @ units / units.sum()) if k not in _AVERAGED else float(v.mean())
    names, weights = _weights(params)
    if weights:
        out["weight_mean_abs"] = float(sum(np.abs(w).sum() for w in weights)
                                       / sum(w.size for w in weights))
    if params0 is not None:
        out["param_distance"] = _param_distance(params, params0)
    if targets is not None:
        out["grad_norm"], net, loss = _grad_norm(model, params, X, targets, loss)
        if spectrum:
            from linrelu.spectral.equivalence import ggn_eigenvalues
            from linrelu.spectral.spectra import attainable_rank, spectrum_summary

            ev = ggn_eigenvalues(model, params, X, targets, loss)
            out["ggn"] = spectrum_summary(ev, attainable_rank(net.n, net.k, loss))
    elif loss is not None:
        check_loss(loss)
    out["per_layer"] = per_layer
    out["weight_names"] = names
    out["weight_mean_abs_per_array"] = [float(np.abs(w).mean()) for w in weights]
    return out


class PlasticityRecorder:
    """Appends :func:`plasticity_metrics` records to a JSON Lines file from your own loop.

    ``PlasticityRecorder(path, every=1, seed=0)``; ``record(step, model, params, X, **kwargs)``
    measures and appends one line ``{"step": step, "seed": seed, **metrics}`` when ``step`` is a
    multiple of ``every`` and (step, seed) is not in the file yet, and returns the record (None
    when it skipped). ``step``: an int ≥ 0, a training step or a task index.

    Durability: each record is one ``write`` of one line, then ``flush`` and ``os.fsync``, so a
    record returned is on disk. A new recorder on an existing file reads it and resumes: the
    (step, seed) pairs present are skipped (so rerunning a loop from its start after a crash
    re-measures nothing and loses nothing); a last line cut short by a crash mid-write is removed
    (that record was never returned) and is measured again. ``records``: the file's records.
    Several seeds may share one file (distinct ``seed``) or use one file each.
    """

    def __init__(self, path, every: int = 1, *, seed: int = 0):
        if not isinstance(path, (str, os.PathLike)):
            raise ValueError(f"path: expected a file path, received {describe(path)}")
        for name, v, lo in (("every", every, 1), ("seed", seed, 0)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise ValueError(f"{name}: expected an integer >= {lo}, received {describe(v)}")
        self.path, self.every, self.seed = os.fspath(path), int(every), int(seed)
        self.records = read_records(self.path, repair=True) if os.path.exists(self.path) else []
        self._done = {(r.get("step"), r.get("seed")) for r in self.records}

    def __contains__(self, step) -> bool:
        return (step, self.seed) in self._done

    def record(self, step, model, params, X, **metrics_kwargs):
        """Measure and append (class docstring); None when skipped."""
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
            raise ValueError(f"step: expected an integer >= 0, received {describe(step)}")
        step = int(step)
        if step % self.every or step in self:
            return None
        rec = {"step": step, "seed": self.seed,
               **plasticity_metrics(model, params, X, **metrics_kwargs)}
        line = json.dumps(rec) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        self.records.append(rec)
        self._done.add((step, self.seed))
        return rec


def read_records(path, *, repair: bool = False) -> list:
    """The records of a :class:`PlasticityRecorder` file. A last line without its newline (a
    write cut short) is dropped, and with ``repair`` removed from the file; any other line that
    is not a JSON object raises ValueError naming ``path``."""
    with open(path, "rb") as f:
        data = f.read()
    complete = data.rfind(b"\n") + 1
    if complete < len(data) and repair:
        with open(path, "r+b") as f:
            f.truncate(complete)
            f.flush()
            os.fsync(f.fileno())
    out = []
    for i, line in enumerate(data[:complete].decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"path: expected JSON Lines records, received a bad line {i} in "
                             f"{path!r} ({err})") from None
        if not isinstance(rec, dict):
            raise ValueError(f"path: expected a JSON object per line, received line {i} of "
                             f"{path!r}: {describe(rec)}")
        out.append(rec)
    return out
