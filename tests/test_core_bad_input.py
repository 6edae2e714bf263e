"""Every public core function rejects bad input with a ValueError that names the argument."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import linrelu as lr

NET = lr.MLP((3, 4, 2), sigma_b=0.5)
PARAMS = NET.init(jax.random.PRNGKey(0))
X = np.random.default_rng(0).normal(size=(5, 3))
Y_CE = np.array([0, 1, 1, 0, 1])
Y_MSE = np.zeros((5, 2))

X_FUNCS = {
    "jacobian_gram": lambda X: lr.jacobian_gram(NET, PARAMS, X),
    "jacobian_gram_layers": lambda X: lr.jacobian_gram_layers(NET, PARAMS, X),
    "jacobian_gram_autodiff": lambda X: lr.jacobian_gram_autodiff(NET, PARAMS, X),
    "jacobian": lambda X: lr.jacobian(NET, PARAMS, X),
    "dead_units": lambda X: lr.dead_units(NET, PARAMS, X),
    "hidden_effective_ranks": lambda X: lr.hidden_effective_ranks(NET, PARAMS, X),
    "MLP.apply": lambda X: NET.apply(PARAMS, X),
    "MLP.trace": lambda X: NET.trace(PARAMS, X),
}
TASK_FUNCS = {
    "loss_weighted_gram": lambda X, t, loss: lr.loss_weighted_gram(NET, PARAMS, X, t, loss),
    "ggn_matrix": lambda X, t, loss: lr.ggn_matrix(NET, PARAMS, X, t, loss),
    "hessian_matrix": lambda X, t, loss: lr.hessian_matrix(NET, PARAMS, X, t, loss),
    "residual_matrix": lambda X, t, loss: lr.residual_matrix(NET, PARAMS, X, t, loss),
    "ggn_eigenvalues": lambda X, t, loss: lr.ggn_eigenvalues(NET, PARAMS, X, t, loss),
    "spectral_equivalence_bracket":
        lambda X, t, loss: lr.spectral_equivalence_bracket(NET, PARAMS, X, t, loss),
    "hessian_vector_product": lambda X, t, loss: lr.hessian_vector_product(NET, X, t, loss),
}


def _with_ce_labels(task_fn):
    """A function of X alone: valid ce labels for however many rows X has."""
    return lambda X: task_fn(X, np.zeros(len(X), dtype=int), "ce")


ALL_X = {**X_FUNCS, **{name: _with_ce_labels(f) for name, f in TASK_FUNCS.items()}}


def _nan_X():
    A = X.copy()
    A[2, 1] = np.nan
    return A


def _inf_X():
    A = X.copy()
    A[0, 0] = np.inf
    return A


@pytest.mark.parametrize("name", sorted(ALL_X))
@pytest.mark.parametrize("bad, match", [
    (lambda: X[0], r"X: expected a 2-D array"),
    (lambda: X[:, :, None], r"X: expected a 2-D array"),
    (lambda: X[:, :2], r"X: expected 3 features"),
    (_nan_X, r"X: expected finite values, received 1 NaN/Inf"),
    (_inf_X, r"X: expected finite values"),
    (lambda: X[:0], r"X: expected at least one row"),
])
def test_bad_inputs_name_the_argument(name, bad, match):
    with pytest.raises(ValueError, match=match):
        ALL_X[name](bad())


@pytest.mark.parametrize("name", sorted(TASK_FUNCS))
@pytest.mark.parametrize("targets, loss, match", [
    (np.array([0, 1, 2, 0, 1]), "ce",
     r"targets: for loss='ce' expected integer labels in \[0, 2\)"),
    (np.array([0, 1, -1, 0, 1]), "ce", r"targets: .*received values in \[-1, 1\]"),
    (np.array([0.0, 1.5, 1, 0, 1]), "ce", r"targets: .*non-integer"),
    (np.array([0, 1, 1]), "ce", r"targets: for loss='ce' expected integer labels of shape \(5,\)"),
    (np.zeros((5, 3)), "mse", r"targets: for loss='mse' expected real targets of shape \(5, 2\)"),
    (np.zeros(5), "mse", r"targets: for loss='mse' expected real targets"),
    (np.full((5, 2), np.nan), "mse", r"targets: expected finite values"),
    (Y_CE, "hinge", r"loss: expected one of \('mse', 'ce'\), received 'hinge'"),
])
def test_bad_targets_and_loss(name, targets, loss, match):
    with pytest.raises(ValueError, match=match):
        TASK_FUNCS[name](X, targets, loss)


def test_valid_inputs_pass_for_every_function():
    """The bad-input tests are not vacuous: the same calls succeed on good input."""
    for f in X_FUNCS.values():
        f(X)
    for f in TASK_FUNCS.values():
        f(X, Y_CE, "ce")
        f(X, Y_MSE, "mse")


@pytest.mark.parametrize("eps", [0.0, -1.0, float("nan"), float("inf")])
def test_eps_must_be_positive(eps):
    with pytest.raises(ValueError, match="eps: expected a finite number > 0"):
        lr.eps_rank(np.ones(3), eps)


def test_eigenvalue_and_feature_checks():
    with pytest.raises(ValueError, match="eigenvalues: expected a 1-D array"):
        lr.eps_rank(np.ones((2, 2)), 0.1)
    with pytest.raises(ValueError, match="eigenvalues: expected finite values"):
        lr.eps_rank(np.array([1.0, np.nan]), 0.1)
    with pytest.raises(ValueError, match="eigenvalues: expected at least one"):
        lr.eps_rank(np.array([]), 0.1)
    with pytest.raises(ValueError, match="features: expected a 2-D array"):
        lr.effective_rank(np.ones(3))
    with pytest.raises(ValueError, match="features: expected finite values"):
        lr.effective_rank(np.array([[1.0, np.inf]]))
    with pytest.raises(ValueError, match="features: expected a non-empty array"):
        lr.effective_rank(np.ones((0, 3)))


def test_logits_and_loss_functions():
    with pytest.raises(ValueError, match="logits: expected a non-empty 2-D array"):
        lr.output_hessians(np.ones(3), "ce")
    with pytest.raises(ValueError, match="logits: expected finite values"):
        lr.loss_value(np.array([[np.nan, 0.0]]), np.array([0]), "ce")
    with pytest.raises(ValueError, match="loss: expected one of"):
        lr.output_hessians(np.ones((2, 2)), "mae")
    with pytest.raises(ValueError, match="targets: for loss='ce'"):
        lr.output_gradients(np.ones((2, 2)), np.array([0, 5]), "ce")


@pytest.mark.parametrize("kwargs, match", [
    (dict(layer_sizes=(3,)), "layer_sizes: expected a sequence of at least two"),
    (dict(layer_sizes=(3, 0, 2)), "layer_sizes: expected"),
    (dict(layer_sizes=(3, 2.5, 2)), "layer_sizes: expected"),
    (dict(layer_sizes=(3, 2), sigma_w=0.0), "sigma_w: expected a finite number > 0"),
    (dict(layer_sizes=(3, 2), sigma_w=float("nan")), "sigma_w: expected a finite number"),
    (dict(layer_sizes=(3, 2), sigma_b=-1.0), "sigma_b: expected a finite number >= 0"),
])
def test_mlp_rejects_bad_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lr.MLP(**kwargs)


def test_params_are_checked():
    with pytest.raises(ValueError, match=r"params: expected a list of 2 \(W, b\) tuples"):
        lr.jacobian_gram(NET, PARAMS[:1], X)
    bad = [(PARAMS[0][0].T, PARAMS[0][1]), PARAMS[1]]
    with pytest.raises(ValueError, match=r"params\[0\]: expected W_1 of shape \(3, 4\)"):
        lr.jacobian_gram(NET, bad, X)
    nan = [(PARAMS[0][0].at[0, 0].set(np.nan), PARAMS[0][1]), PARAMS[1]]
    with pytest.raises(ValueError, match="params: expected finite values, received NaN/Inf in W_1"):
        lr.ggn_eigenvalues(NET, nan, X, Y_CE, "ce")
    with pytest.raises(ValueError, match="net: expected a linrelu.MLP"):
        lr.jacobian_gram("not a net", PARAMS, X)
    with pytest.raises(ValueError, match="l2: expected a finite number >= 0"):
        lr.hessian_matrix(NET, PARAMS, X, Y_CE, "ce", l2=-0.1)
    with pytest.raises(ValueError, match="key: expected a jax.random key"):
        NET.init(3)
