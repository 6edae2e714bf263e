"""Per-task-start (and end) plasticity and curvature metrics, all in float64.

For a network θ and a task with training set X (n examples), probe set (X_p, y_p) of n_p
examples and k outputs, every call records the *census* (cheap, every task):

- ``erank`` (Roy–Vetterli) and ``dead_fraction`` per hidden layer, on the census inputs: the
  task's whole training set by default (``census="train"``), or its first N training inputs
  (``census=N``, a random subset: a task's rows are in random order); THEORY.md: a unit counts as
  dead only when silent on ≥ 1000 inputs, a 50-image probe overstates death;
  ``census_inputs`` = how many;
- ``weight_norm`` = ‖θ‖₂ over all weights and biases; ``grad_norm`` = ‖∇_θ L(θ)‖₂ of the
  probe-set loss (the gradient T9 uses);
- ``loss``, ``accuracy`` on the training set (and ``test_*`` on its test set) at θ;

and, when ``spectrum=True`` (every task in quick mode, every K tasks in ``--long``), the exact
GGN spectrum on the probe set:

- ``ggn_eigenvalues``: the n_p·k eigenvalues of the loss-weighted Gram G = (1/n) H^{1/2} K H^{1/2},
  largest first; by T1 exactly the nonzero spectrum of the probe-set GGN Ĝ (p × p) padded with
  zeros (dropped from the experiments' records, which keep the summaries below);
- ``eps_rank[ε]`` = #{i : |λ_i(G)| > ε} (= rank_ε(Ĝ) by T1), ``eps_rank_norm[ε]`` = rank_ε /
  ``attainable_rank``: n_p·k for mse, n_p·(k − 1) for ce (H_i 𝟙 = 0, so rank G ≤ n_p(k − 1);
  normalizing by n_p·k would cap a binary task at 0.5);
- scale-free summaries (:mod:`linrelu.spectra`): ``rel_eps_rank_norm[ρ]`` (|λ| > ρ·λ_max, over
  the attainable rank), ``stable_rank`` = Σλ/λ_max, ``spectral_erank`` (Roy–Vetterli of λ);
- ``lambda_max`` = λ_1(G) = λ_max(Ĝ);
- ``predicted_ratio``: :func:`linrelu.predict_trainability` on the probe set (T8 for mse, T9 for
  ce; its default step 1/λ_max(G) and 100 steps): the predicted L_T/L_0 (lower = more trainable).

Any model (:mod:`linrelu.network`'s one protocol) goes to the spectral API as it is: an MLP through
the closed-form paths, any other model through the generic ones with its ``apply`` and its
``features`` (a conv layer's units are what ``m.features`` reports).
"""

from __future__ import annotations

from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np

from linrelu.continual.model import model_features
from linrelu.continual.streams import Task
from linrelu.continual.train import as_float64, check_model_task, evaluate
from linrelu.equivalence import ggn_eigenvalues
from linrelu.features import dead_unit_fractions, hidden_effective_ranks
from linrelu.mlp import MLP
from linrelu.precision import float64
from linrelu.spectra import (
    eps_rank_ladder,
    relative_eps_rank,
    spectral_effective_rank,
    stable_rank,
)

DEFAULT_EPS_LADDER = (1e-4, 1e-3, 1e-2, 1e-1)
#: ρ of the scale-free relative ε-ranks #{|λ| > ρ λ_max} / attainable rank.
REL_EPS_LADDER = (1e-2, 1e-3, 1e-4)
CENSUS = ("train", "probe")


def weight_norm(params) -> float:
    """‖θ‖₂ = (Σ_l ‖W_l‖_F² + ‖b_l‖²)^{1/2} (every leaf of the params pytree)."""
    return float(np.sqrt(sum(np.sum(np.asarray(leaf, np.float64) ** 2)
                             for leaf in jax.tree_util.tree_leaves(params))))


def attainable_rank(n_probe: int, k: int, loss: str) -> int:
    """The largest rank G can have on n_p probe inputs: n_p·k (mse), n_p·(k − 1) (ce)."""
    return n_probe * k if loss == "mse" else n_probe * (k - 1)


def spectrum_summary(ev, attainable: int, eps_ladder=DEFAULT_EPS_LADDER,
                     rel_eps_ladder=REL_EPS_LADDER) -> dict:
    """The spectral keys of the module docstring from G's eigenvalues ``ev`` (JSON-able)."""
    ev = np.asarray(ev, np.float64)
    if attainable < 1:
        raise ValueError(f"attainable: expected a rank >= 1, received {attainable!r}")
    return {
        "lambda_max": float(np.max(ev)),
        "eps_rank": {repr(float(e)): int(r) for e, r in eps_rank_ladder(ev, eps_ladder).items()},
        "eps_rank_norm": {repr(float(e)): int(r) / attainable
                          for e, r in eps_rank_ladder(ev, eps_ladder).items()},
        "rel_eps_rank_norm": {repr(float(r)): relative_eps_rank(ev, r) / attainable
                              for r in rel_eps_ladder},
        "stable_rank": stable_rank(ev),
        "spectral_erank": spectral_effective_rank(ev),
        "gram_dim": int(ev.size),
        "attainable_rank": int(attainable),
    }


@lru_cache(maxsize=64)
def _compiled(model, loss: str):
    """(features, gradient) of a model, jit-compiled once per (model, loss): the census runs at
    every task start on thousands of inputs. features is None for a model without them."""
    from linrelu.losses import mean_loss

    features = model_features(model)
    features = None if features is None else jax.jit(features)
    grad = jax.jit(jax.grad(lambda p, X, y: mean_loss(model.apply(p, X), y, loss)))
    return features, grad


def task_start_metrics(net, params, task: Task, eps_ladder=DEFAULT_EPS_LADDER, *,
                       spectrum: bool = True, census: str = "train",
                       predict: bool = True, accuracies: bool = True) -> dict:
    """The metrics of the module docstring at ``params`` for ``task`` (JSON-able dict).

    Always: weight_norm, grad_norm, num_params, and, for a model with ``features``
    (:mod:`linrelu.continual.model`; all but a :func:`linrelu.wrap_model` object without a
    selector and a bare function), erank [per layer], dead_fraction [per layer],
    census_inputs; with ``accuracies`` loss, accuracy, test_loss, test_accuracy at ``params``
    (:func:`linrelu.continual.run_continual` leaves them out at a task start: a fresh
    permutation's accuracy is chance, and the task's accuracies are recorded after training).
    With ``spectrum``: also ggn_eigenvalues (list, largest first), :func:`spectrum_summary`'s
    keys and (``predict``) predicted_ratio / predicted_trainable.
    """
    from linrelu.diagnose import predict_trainability

    model = check_model_task(net, task)
    eps_ladder = tuple(float(e) for e in eps_ladder)
    if not eps_ladder or any(not (np.isfinite(e) and e > 0) for e in eps_ladder):
        raise ValueError(f"eps_ladder: expected a non-empty sequence of finite numbers > 0, "
                         f"received {eps_ladder!r}")
    if census not in CENSUS and not (isinstance(census, int) and not isinstance(census, bool)
                                     and census >= 1):
        raise ValueError(f"census: expected one of {CENSUS} or a number of training inputs "
                         f">= 1, received {census!r}")
    if isinstance(model, MLP):  # its (W, b) list; the spectral API takes the model itself
        params = model.check_params(params)
    X_census = (task.X if census == "train" else task.X_probe if census == "probe"
                else task.X[:census])
    y_probe = task.y_probe.astype(np.int32) if task.loss == "ce" else task.y_probe
    out = {}
    features_fn, grad_fn = _compiled(model, task.loss)
    census_out = {}
    with float64():
        params = as_float64(params)
        if features_fn is not None:
            hidden = [np.asarray(h, np.float64) for h in features_fn(
                params, jnp.asarray(X_census, jnp.float64))]  # one compiled forward
            erank = hidden_effective_ranks(model, params, X_census, features=hidden)
            dead = dead_unit_fractions(model, params, X_census, features=hidden)
            census_out = {"erank": [float(e) for e in erank],
                          "dead_fraction": [float(d) for d in dead],
                          "census_inputs": int(X_census.shape[0])}
        num_params = sum(int(np.size(a)) for a in jax.tree_util.tree_leaves(params))
        out["grad_norm"] = weight_norm(grad_fn(params, jnp.asarray(task.X_probe, jnp.float64),
                                               jnp.asarray(y_probe)))
        if spectrum:
            ev = np.asarray(ggn_eigenvalues(model, params, task.X_probe, task.y_probe,
                                            task.loss), np.float64)
            out["ggn_eigenvalues"] = [float(v) for v in ev]
            out.update(spectrum_summary(
                ev, attainable_rank(task.X_probe.shape[0], task.out_dim, task.loss), eps_ladder))
            if predict:
                pred = predict_trainability(model, params, task.X_probe, task.y_probe,
                                            task.loss)
                out["predicted_ratio"] = float(pred.predicted_ratio)
                out["predicted_trainable"] = bool(pred.model_trainable)
    if accuracies:
        train = evaluate(model, params, task.X, task.y, task.loss)
        test = evaluate(model, params, task.X_test, task.y_test, task.loss)
        out.update(loss=train["loss"], accuracy=train["accuracy"], test_loss=test["loss"],
                   test_accuracy=test["accuracy"])
    return {
        **out,
        "num_params": int(num_params),
        **census_out,
        "weight_norm": weight_norm(params),
    }


# The same measurements at the end of a task (after its training budget).
task_end_metrics = task_start_metrics
