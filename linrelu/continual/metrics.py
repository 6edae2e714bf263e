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
- scale-free summaries (:mod:`linrelu.spectral.spectra`): ``rel_eps_rank_norm[ρ]`` (|λ| > ρ·λ_max,
over
  the attainable rank), ``stable_rank`` = Σλ/λ_max, ``spectral_erank`` (Roy–Vetterli of λ);
- ``lambda_max`` = λ_1(G) = λ_max(Ĝ);
- ``predicted_ratio``: :func:`linrelu.predict_trainability` on the probe set (T8 for mse, T9 for
  ce; its default step 1/λ_max(G) and 100 steps): the predicted L_T/L_0 (lower = more trainable).

Any model (:mod:`linrelu.models.network`'s one protocol) goes to the spectral API as it is: an MLP
through
the closed-form paths, any other model through the generic ones with its ``apply`` and its
``features`` (a conv layer's units are what ``m.features`` reports).
"""

from __future__ import annotations

from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np

from linrelu.analysis.features import feature_census
from linrelu.continual.model import model_features
from linrelu.continual.streams import Task
from linrelu.continual.train import as_float64, check_model_task, evaluate_model
from linrelu.models.mlp import MLP
from linrelu.models.network import resolve
from linrelu.precision import float64
from linrelu.spectral.equivalence import eigenvalues_from_reduced
from linrelu.spectral.gram import network_task_grams
from linrelu.spectral.spectra import (  # noqa: F401  (re-exported: linrelu.continual)
    DEFAULT_EPS_LADDER,
    REL_EPS_LADDER,
    attainable_rank,
    spectrum_summary,
)

CENSUS = ("train", "probe")


def weight_norm(params) -> float:
    """‖θ‖₂ = (Σ_l ‖W_l‖_F² + ‖b_l‖²)^{1/2} (every leaf of the params pytree)."""
    return float(np.sqrt(sum(np.sum(np.asarray(leaf, np.float64) ** 2)
                             for leaf in jax.tree_util.tree_leaves(params))))


@lru_cache(maxsize=64)
def census_programs(model, loss: str):
    """(features, gradient) of a model, jit-compiled once per (model, loss): the census runs at
    every task start on thousands of inputs. features is None for a model without them.
    :func:`linrelu.continual.run_continual` builds them at entry, so a task start reuses them."""
    from linrelu.spectral.losses import mean_loss

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
    census_inputs and the field's metrics per layer (:func:`field_census`: dormant ratios,
    feature rank, srank on σ and σ², duplicate fraction); weight_mean_abs per weight array
    (:func:`weight_metrics`; ``param_distance`` when the engine passes ``params0``); with
    ``accuracies`` loss, accuracy, test_loss, test_accuracy at ``params``
    (:func:`linrelu.continual.run_continual` leaves them out at a task start: a fresh
    permutation's accuracy is chance, and the task's accuracies are recorded after training).
    With ``spectrum``: also ggn_eigenvalues (list, largest first), :func:`spectrum_summary`'s
    keys and (``predict``) predicted_ratio / predicted_trainable.
    """
    model = check_model_task(net, task)
    eps_ladder = check_metric_options(eps_ladder, census)
    if isinstance(model, MLP):  # its (W, b) list; the spectral API takes the model itself
        params = model.check_params(params)
    return measure(model, as_float64(params), task, eps_ladder, spectrum=spectrum,
                   census=census, predict=predict, accuracies=accuracies)


def check_metric_options(eps_ladder, census):
    """``eps_ladder`` as a tuple of floats after checking it and ``census`` (ValueError naming
    the argument)."""
    eps_ladder = tuple(float(e) for e in eps_ladder)
    if not eps_ladder or any(not (np.isfinite(e) and e > 0) for e in eps_ladder):
        raise ValueError(f"eps_ladder: expected a non-empty sequence of finite numbers > 0, "
                         f"received {eps_ladder!r}")
    if census not in CENSUS and not (isinstance(census, int) and not isinstance(census, bool)
                                     and census >= 1):
        raise ValueError(f"census: expected one of {CENSUS} or a number of training inputs "
                         f">= 1, received {census!r}")
    return eps_ladder


def probe_network(model, params, task: Task):
    """The model resolved on ``task``'s probe set at ``params``
    (:func:`linrelu.models.network.resolve`: checked, float64): what the spectrum, the
    trainability prediction and the SLQ density of one task start share."""
    with float64():
        return resolve(model, params, task.X_probe)


def measure_start(model, params, task: Task, eps_ladder: tuple, *, spectrum: bool,
                  census="train", network: bool = False, params0=None):
    """``(metrics, nw)`` at a task start (:func:`measure` without accuracies): the probe network
    ``nw`` (:func:`probe_network`) is resolved once when the spectrum needs it or ``network``
    asks for it (the engine's SLQ density uses it too), else None."""
    nw = probe_network(model, params, task) if spectrum or network else None
    return measure(model, params, task, eps_ladder, spectrum=spectrum, census=census,
                   accuracies=False, nw=nw, params0=params0), nw


def measure(model, params, task: Task, eps_ladder: tuple, *, spectrum: bool = True,
            census="train", predict: bool = True, accuracies: bool = True, nw=None,
            params0=None) -> dict:
    """:func:`task_start_metrics` on checked input: ``model`` from
    :func:`linrelu.continual.model.as_model` fitting ``task``, ``params`` float64 (an MLP's
    list of (W, b)), ``eps_ladder`` and ``census`` from :func:`check_metric_options`. ``nw``:
    :func:`probe_network` of (model, params, task) when the caller has it (the spectrum and the
    prediction then use it; resolved here when needed otherwise). ``params0``: the run's first
    parameters (same structure), for ``param_distance`` (:func:`weight_metrics`)."""
    from linrelu.analysis.diagnose import predict_trainability

    X_census = (task.X if census == "train" else task.X_probe if census == "probe"
                else task.X[:census])
    y_probe = task.y_probe.astype(np.int32) if task.loss == "ce" else task.y_probe
    out = {}
    features_fn, grad_fn = census_programs(model, task.loss)
    census_out = {}
    with float64():
        if features_fn is not None:
            hidden = [np.asarray(h, np.float64) for h in features_fn(
                params, jnp.asarray(X_census, jnp.float64))]  # one compiled forward
            erank, dead = feature_census(hidden, int(X_census.shape[0]))
            census_out = {"erank": [float(e) for e in erank],
                          "dead_fraction": [float(d) for d in dead],
                          "census_inputs": int(X_census.shape[0]),
                          **field_census(hidden, int(X_census.shape[0]))}
        num_params = sum(int(np.size(a)) for a in jax.tree_util.tree_leaves(params))
        out["grad_norm"] = weight_norm(grad_fn(params, jnp.asarray(task.X_probe, jnp.float64),
                                               jnp.asarray(y_probe)))
        if spectrum:
            nw = probe_network(model, params, task) if nw is None else nw
            # one pass over the probe network: K for the prediction, G_r for the spectrum
            grams = network_task_grams(nw, task.y_probe, task.loss)
            ev = np.asarray(eigenvalues_from_reduced(grams.reduced, grams.zeros), np.float64)
            out["ggn_eigenvalues"] = [float(v) for v in ev]
            out.update(spectrum_summary(
                ev, attainable_rank(task.X_probe.shape[0], task.out_dim, task.loss), eps_ladder))
            if predict:
                pred = predict_trainability(nw, nw.params, nw.X, task.y_probe, task.loss,
                                            gram=grams.K)
                out["predicted_ratio"] = float(pred.predicted_ratio)
                out["predicted_trainable"] = bool(pred.model_trainable)
    if accuracies:
        train = evaluate_model(model, params, task.X, task.y, task.loss)
        test = evaluate_model(model, params, task.X_test, task.y_test, task.loss)
        out.update(loss=train["loss"], accuracy=train["accuracy"], test_loss=test["loss"],
                   test_accuracy=test["accuracy"])
    return {
        **out,
        "num_params": int(num_params),
        **census_out,
        "weight_norm": weight_norm(params),
        **weight_metrics(params, params0),
    }


#: the field's unit and rank metrics of :func:`linrelu.plasticity_metrics` recorded per hidden
#: layer in the census (:func:`field_census`), with their τ and δ (its defaults)
FIELD_KEYS = ("dormant_ratio@0.025", "dormant_ratio@0.1", "feature_rank", "srank", "srank_sq",
              "duplicate_fraction")


def field_census(hidden, n: int) -> dict:
    """{key: [per hidden layer]} for :data:`FIELD_KEYS`: :func:`linrelu.analysis.plasticity.
    layer_metrics` (ReDo's τ-dormant ratio at τ = 0.025 and 0.1, exact feature rank at numpy's
    tolerance, srank_δ on σ (Kumar et al.) and on σ² (Dohare et al.), δ = 0.01, duplicate
    fraction |corr| > 0.95; formulas and sources there) of each layer's (n, m_l) activations
    (a conv map: rows = n·H·W, units = channels). The dead fraction and effective rank are the
    census' own ``dead_fraction`` and ``erank``."""
    from linrelu.analysis.features import hidden_features
    from linrelu.analysis.plasticity import layer_metrics

    layers = [layer_metrics(h, tau=(0.025, 0.1))
              for h in hidden_features(None, None, np.zeros((n, 1)), list(hidden))]
    return {k: [float(m[k]) for m in layers] for k in FIELD_KEYS}


def weight_metrics(params, params0=None) -> dict:
    """``weight_mean_abs``: mean_ij |W_ij| of each weight array (leaves with ≥ 2 axes, in
    ``jax.tree_util`` order; Dohare et al. track the per-layer Σ|W|); with ``params0`` also
    ``param_distance`` = ‖θ − θ₀‖₂ over every leaf (Plasticine's distance from initialization;
    the engine passes the run's first parameters)."""
    out = {"weight_mean_abs": [float(np.mean(np.abs(np.asarray(a, np.float64))))
                               for a in jax.tree_util.tree_leaves(params) if np.ndim(a) >= 2]}
    if params0 is not None:
        out["param_distance"] = float(np.sqrt(sum(
            np.sum((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)
            for a, b in zip(jax.tree_util.tree_leaves(params),
                            jax.tree_util.tree_leaves(params0)))))
    return out


# The same measurements at the end of a task (after its training budget).
task_end_metrics = task_start_metrics
