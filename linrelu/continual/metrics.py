"""Per-task-start (and end) plasticity and curvature metrics, all in float64.

For a network θ and a task with probe set (X_p, y_p) of n_p examples and k outputs:

- ``ggn_eigenvalues``: the n_p·k eigenvalues of the loss-weighted Gram G = (1/n) H^{1/2} K H^{1/2}
  on the probe set, largest first. By T1 they are exactly the nonzero spectrum of the probe-set
  GGN Ĝ (p × p) padded with zeros; the p − n_p·k further zeros of Ĝ are not listed.
- ``eps_rank[ε]`` = #{i : |λ_i(G)| > ε} (= rank_ε(Ĝ) by T1) and ``eps_rank_norm[ε]`` =
  rank_ε / (n_p·k): normalized by the Gram dimension (divide ``eps_rank`` by ``num_params`` to
  normalize by the GGN's dimension p instead).
- ``lambda_max`` = λ_1(G) = λ_max(Ĝ).
- ``erank`` (Roy–Vetterli) and ``dead_fraction`` per hidden layer, on the probe inputs.
- ``weight_norm`` = ‖θ‖₂ over all weights and biases.
- ``loss``, ``accuracy`` on the task's training set (and ``test_*`` on its test set) at θ.

Any model (:mod:`linrelu.continual.model`): an MLP goes through the closed-form paths as before;
any other model ``m`` through the generic functions of the spectral API with ``f = m.apply``
(``ggn_eigenvalues(f, params, X, y, loss)``; ``dead_unit_fractions`` and
``hidden_effective_ranks`` with ``features=m.features``), so a conv layer's units are whatever
``m.features`` reports (channels for :class:`linrelu.convnet.ConvNet`).
"""

from __future__ import annotations

import jax
import numpy as np

from linrelu.continual.model import MLPModel
from linrelu.continual.streams import Task
from linrelu.continual.train import as_float64, check_model_task, evaluate
from linrelu.equivalence import ggn_eigenvalues
from linrelu.features import dead_unit_fractions, hidden_effective_ranks, hidden_features
from linrelu.precision import float64
from linrelu.spectra import eps_rank_ladder

DEFAULT_EPS_LADDER = (1e-4, 1e-3, 1e-2, 1e-1)


def weight_norm(params) -> float:
    """‖θ‖₂ = (Σ_l ‖W_l‖_F² + ‖b_l‖²)^{1/2} (every leaf of the params pytree)."""
    return float(np.sqrt(sum(np.sum(np.asarray(leaf, np.float64) ** 2)
                             for leaf in jax.tree_util.tree_leaves(params))))


def task_start_metrics(net, params, task: Task, eps_ladder=DEFAULT_EPS_LADDER) -> dict:
    """All metrics of the module docstring at ``params`` for ``task`` (JSON-able dict).

    Keys: loss, accuracy, test_loss, test_accuracy, ggn_eigenvalues (list, largest first),
    lambda_max, eps_rank {str(ε): int}, eps_rank_norm {str(ε): float}, gram_dim (n_p·k),
    num_params, erank [per layer], dead_fraction [per layer], weight_norm.
    """
    model = check_model_task(net, task)
    eps_ladder = tuple(float(e) for e in eps_ladder)
    if not eps_ladder or any(not (np.isfinite(e) and e > 0) for e in eps_ladder):
        raise ValueError(f"eps_ladder: expected a non-empty sequence of finite numbers > 0, "
                         f"received {eps_ladder!r}")
    # the spectral API takes the MLP itself (closed forms) or any model's apply + features
    if isinstance(model, MLPModel):
        spectral_net, feature_fn = model.net, None
        params = model.net.check_params(params)
    else:
        spectral_net, feature_fn = model.apply, model.features
    with float64():
        params = as_float64(params)
        ev = ggn_eigenvalues(spectral_net, params, task.X_probe, task.y_probe, task.loss)
        hidden = hidden_features(spectral_net, params, task.X_probe, feature_fn)  # one forward
        erank = hidden_effective_ranks(spectral_net, params, task.X_probe, features=hidden)
        dead = dead_unit_fractions(spectral_net, params, task.X_probe, features=hidden)
        num_params = sum(int(np.size(a)) for a in jax.tree_util.tree_leaves(params))
        ev = np.asarray(ev, np.float64)
    train = evaluate(model, params, task.X, task.y, task.loss)
    test = evaluate(model, params, task.X_test, task.y_test, task.loss)
    return {
        "loss": train["loss"], "accuracy": train["accuracy"],
        "test_loss": test["loss"], "test_accuracy": test["accuracy"],
        "ggn_eigenvalues": [float(v) for v in ev],
        "lambda_max": float(ev[0]),
        "eps_rank": {repr(e): int(r) for e, r in eps_rank_ladder(ev, eps_ladder).items()},
        "eps_rank_norm": {repr(e): float(r)
                          for e, r in eps_rank_ladder(ev, eps_ladder, normalized=True).items()},
        "gram_dim": int(ev.size),
        "num_params": int(num_params),
        "erank": [float(e) for e in erank],
        "dead_fraction": [float(d) for d in dead],
        "weight_norm": weight_norm(params),
    }


# The same measurements at the end of a task (after its training budget).
task_end_metrics = task_start_metrics
