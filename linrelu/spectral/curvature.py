"""Parameter-space curvature of any network: GGN, Hessian, its Gauss–Newton residual, HVPs,
linearization.

    L(θ)   = (1/n) Σ_i ℓ(f(x_i; θ), y_i)
    Ĝ      = (1/n) Jᵀ H J                                 (GGN, p × p)
    ∇²L    = Ĝ + R,  R = (1/n) Σ_i Σ_c ∂ℓ/∂f_c(x_i) ∇²_θ f_c(x_i)     (T3)
    f_lin(x; θ) = f(x; θ_0) + J_0(x)(θ − θ_0)                 (T3: ∇²L_lin(θ) = (1/n) J_0ᵀ H(θ) J_0)

``net`` is a linrelu.MLP or any model f(params, X) (:mod:`linrelu.models.network`); everything here
is
autodiff on the model's forward pass, so both kinds go through the same code. All p × p matrices
use the flat order of ``jax.flatten_util.ravel_pytree(params)`` and are meant for small models
(they are the references the closed forms are checked against). For large ones use
:func:`linrelu.ggn_eigenvalues` (T1) and :func:`hessian_vector_product` (Lanczos). Everything runs
in float64 (:func:`linrelu.precision.float64`).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from linrelu.models.mlp import MLP, apply_fn, unravel_params
from linrelu.models.network import check_model_params, model_apply, resolve, to_float64
from linrelu.precision import float64, in_float64
from linrelu.spectral.losses import mean_loss, output_hessians_unchecked
from linrelu.validation import (
    check_inputs,
    check_loss,
    check_positive,
    check_targets,
    returns_numpy,
)


def _resolve_task(net, params, X, targets, loss):
    check_loss(loss)
    nw = resolve(net, params, X)
    t = check_targets(targets, nw.n, nw.k, loss)
    t = jnp.asarray(t, dtype=jnp.float64) if loss == "mse" else jnp.asarray(t, dtype=jnp.int32)
    return nw, t


def l2_norm_squared(params):
    """‖θ‖² over every leaf of the params pytree."""
    return sum(jnp.sum(a**2) for a in jax.tree_util.tree_leaves(params))


def loss_fn(net, X, targets, loss: str, l2=0.0):
    """``params ↦ L(θ) + (l2/2)‖θ‖²`` for an MLP or a model f(params, X) (unvalidated;
    jittable)."""
    apply = model_apply(net)

    def f(params):
        value = mean_loss(apply(params, X), targets, loss)
        if not isinstance(l2, (int, float)) or l2 != 0:  # a traced l2 is always applied
            value = value + 0.5 * l2 * l2_norm_squared(params)
        return value

    return f


@partial(jax.jit, static_argnums=(0, 4))
def _ggn(apply, params, X, targets, loss):
    flat, unravel = ravel_pytree(params)
    J = jax.jacrev(lambda t: apply(unravel(t), X).reshape(-1))(flat)
    logits = apply(params, X)
    n, k = logits.shape
    H = output_hessians_unchecked(logits, loss)  # (n, k, k)
    HJ = jnp.einsum("iab,ibp->iap", H, J.reshape(n, k, -1)).reshape(n * k, -1)
    return J.T @ HJ / n


@returns_numpy
@in_float64
def ggn_matrix(net, params, X, targets, loss: str):
    """GGN Ĝ = (1/n) Jᵀ H J, p × p, autodiff Jacobian (small models)."""
    nw, t = _resolve_task(net, params, X, targets, loss)
    return _ggn(nw.apply, nw.params, nw.X, t, loss)


@partial(jax.jit, static_argnums=(0, 4))
def _hessian(apply, params, X, targets, loss, l2):
    flat, unravel = ravel_pytree(params)
    f = loss_fn(apply, X, targets, loss, l2)
    return jax.hessian(lambda t: f(unravel(t)))(flat)


@returns_numpy
@in_float64
def hessian_matrix(net, params, X, targets, loss: str, l2: float = 0.0):
    """Full loss Hessian ∇²(L + (l2/2)‖θ‖²), p × p, by autodiff (small models).

    ``l2`` is differentiated through, not added as l2·I afterwards, so T6's shift
    eig(∇²(L + κ/2‖θ‖²)) = eig(∇²L) + κ is an actual check.
    """
    check_positive(l2, "l2", allow_zero=True)
    nw, t = _resolve_task(net, params, X, targets, loss)
    return _hessian(nw.apply, nw.params, nw.X, t, loss, jnp.asarray(float(l2), jnp.float64))


@partial(jax.jit, static_argnums=(0, 4))
def _residual(apply, params, X, targets, loss):
    flat, unravel = ravel_pytree(params)
    n = X.shape[0]
    g = jax.lax.stop_gradient(jax.grad(lambda z: n * mean_loss(z, targets, loss))(
        apply(params, X)))  # per-sample ∂ℓ/∂f, (n, k)
    return jax.hessian(lambda t: jnp.sum(g * apply(unravel(t), X)) / n)(flat)


@returns_numpy
@in_float64
def residual_matrix(net, params, X, targets, loss: str):
    """R = (1/n) Σ_i Σ_c ∂ℓ/∂f_c(x_i) ∇²_θ f_c(x_i) (T3), so that ∇²L = Ĝ + R. Autodiff, p × p."""
    nw, t = _resolve_task(net, params, X, targets, loss)
    return _residual(nw.apply, nw.params, nw.X, t, loss)


def hessian_vector_product(net, X, targets, loss: str, l2: float = 0.0, *, params=None):
    """A jit-compiled ``hvp(flat_params, v) -> ∇²(L + l2/2‖θ‖²) v`` (forward-over-reverse).

    Flat vectors are in ravel_pytree order; the p × p Hessian is never formed. For an MLP the
    flat vector is unravelled by layer sizes; for any other model ``params`` (a template pytree
    of the model's structure, e.g. the current params) is required to unravel it. The returned
    function computes in float64 whatever the caller's ``jax_enable_x64``.
    """
    check_loss(loss)
    check_positive(l2, "l2", allow_zero=True)
    with float64():
        if isinstance(net, MLP) and (params is None or isinstance(params, (list, tuple))):
            X = jnp.asarray(check_inputs(X, net.in_dim), dtype=jnp.float64)
            n, k, apply = X.shape[0], net.out_dim, apply_fn(net)
            unravel = partial(unravel_params, net)
        else:
            if params is None:
                raise ValueError("params: expected a template params pytree for a generic "
                                 "model (to unravel flat vectors), received None")
            nw = resolve(net, params, X)
            X, n, k, apply = nw.X, nw.n, nw.k, nw.apply
            unravel = ravel_pytree(nw.params)[1]
        t = check_targets(targets, n, k, loss)
        t = jnp.asarray(t, jnp.float64) if loss == "mse" else jnp.asarray(t, jnp.int32)
        f = loss_fn(apply, X, t, loss, float(l2))

        @jax.jit
        def _hvp(flat, v):
            g = lambda th: jax.grad(lambda u: f(unravel(u)))(th)
            return jax.jvp(g, (flat,), (v,))[1]

    def hvp(flat, v):
        with float64():
            return _hvp(jnp.asarray(flat, jnp.float64), jnp.asarray(v, jnp.float64))

    return hvp


def linearize(net, params0):
    """The linearized model of T3: ``f_lin(params, X) = f(X; θ0) + J_0(X)(θ − θ0)``.

    ``net`` is an MLP or any model f(params, X); the returned callable takes a params pytree of
    the same structure and inputs X and is evaluated with one Jacobian-vector product (no
    Jacobian is stored). It is itself a model: every linrelu function accepts it as ``net``.
    """
    apply = model_apply(net)
    if apply is None:
        raise ValueError("net: expected a linrelu.MLP, a model with apply(params, X) or a "
                         f"callable f(params, X), received {type(net).__name__}")
    with float64():
        params0 = _check_params0(net, params0)
    return _linearized(apply, params0)


def _linearized(apply, params0):
    def f_lin(params, X):
        X = jnp.asarray(X, dtype=jax.tree_util.tree_leaves(params0)[0].dtype)
        dparams = jax.tree_util.tree_map(lambda a, b: a - b, params, params0)
        f0, df = jax.jvp(lambda p: apply(p, X), (params0,), (dparams,))
        return f0 + df

    return f_lin


@partial(jax.jit, static_argnums=(0, 5))
def _linearized_hessian(apply, params0, params, X, targets, loss):
    f_lin = _linearized(apply, params0)
    flat, unravel = ravel_pytree(params)
    return jax.hessian(lambda th: mean_loss(f_lin(unravel(th), X), targets, loss))(flat)


@partial(jax.jit, static_argnums=(0, 5))
def _linearized_ggn(apply, params0, params, X, targets, loss):
    flat0, unravel = ravel_pytree(params0)
    J0 = jax.jacrev(lambda t: apply(unravel(t), X).reshape(-1))(flat0)
    logits = _linearized(apply, params0)(params, X)
    n, k = logits.shape
    H = output_hessians_unchecked(logits, loss)
    HJ = jnp.einsum("iab,ibp->iap", H, J0.reshape(n, k, -1)).reshape(n * k, -1)
    return J0.T @ HJ / n


def _check_params0(net, params0):
    if isinstance(net, MLP):
        layers = net.check_params(params0, "params0")
        return to_float64(params0 if net.in_source_form(params0) else layers)
    return to_float64(check_model_params(params0, "params0"))


@returns_numpy
@in_float64
def linearized_hessian_matrix(net, params0, params, X, targets, loss: str):
    """∇²_θ L_lin(θ) at ``params`` for the model linearized at ``params0`` (autodiff, p × p)."""
    params0 = _check_params0(net, params0)
    nw, t = _resolve_task(net, params, X, targets, loss)
    return _linearized_hessian(nw.apply, params0, nw.params, nw.X, t, loss)


@returns_numpy
@in_float64
def linearized_ggn_matrix(net, params0, params, X, targets, loss: str):
    """(1/n) J_0ᵀ H(θ) J_0 with J_0 at ``params0`` and H at the linearized outputs at ``params``."""
    params0 = _check_params0(net, params0)
    nw, t = _resolve_task(net, params, X, targets, loss)
    return _linearized_ggn(nw.apply, params0, nw.params, nw.X, t, loss)
