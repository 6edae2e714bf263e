"""Parameter-space curvature: GGN, Hessian, its Gauss–Newton residual, HVPs, linearization.

    L(θ)   = (1/n) Σ_i ℓ(f(x_i; θ), y_i)
    Ĝ      = (1/n) Jᵀ H J                                 (GGN, p × p)
    ∇²L    = Ĝ + R,  R = (1/n) Σ_i Σ_c ∂ℓ/∂f_c(x_i) ∇²_θ f_c(x_i)     (T3)
    f_lin(x; θ) = f(x; θ_0) + J_0(x)(θ − θ_0)                 (T3: ∇²L_lin(θ) = (1/n) J_0ᵀ H(θ) J_0)

All p × p matrices use the flat order of ``jax.flatten_util.ravel_pytree(params)`` and are meant
for small nets (they are the references the closed forms are checked against). For large nets
use :func:`linrelu.ggn_eigenvalues` (T1) and :func:`hessian_vector_product` (Lanczos).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from linrelu._checks import check_inputs, check_loss, check_positive, check_targets
from linrelu.gram import _jacobian, _prepare
from linrelu.losses import _loss_value, _output_hessians
from linrelu.mlp import MLP, _apply, unravel_params


def _prepare_task(net, params, X, targets, loss):
    check_loss(loss)
    params, X = _prepare(net, params, X)
    t = check_targets(targets, X.shape[0], net.out_dim, loss)
    t = jnp.asarray(t, dtype=X.dtype) if loss == "mse" else jnp.asarray(t, dtype=jnp.int32)
    return params, X, t


def loss_fn(net: MLP, X, targets, loss: str, l2: float = 0.0):
    """``params ↦ L(θ) + (l2/2)‖θ‖²`` (unvalidated; a function of the params pytree)."""

    def f(params):
        value = _loss_value(_apply(net, params, X), targets, loss)
        if not isinstance(l2, (int, float)) or l2 != 0:  # a traced l2 is always applied
            value = value + 0.5 * l2 * sum(jnp.sum(W**2) + jnp.sum(b**2) for W, b in params)
        return value

    return f


@partial(jax.jit, static_argnums=(0, 4))
def _ggn(net, params, X, targets, loss):
    J = _jacobian(net, params, X)
    n, k = X.shape[0], net.out_dim
    H = _output_hessians(_apply(net, params, X), loss)  # (n, k, k)
    HJ = jnp.einsum("iab,ibp->iap", H, J.reshape(n, k, -1)).reshape(n * k, -1)
    return J.T @ HJ / n


def ggn_matrix(net: MLP, params, X, targets, loss: str):
    """GGN Ĝ = (1/n) Jᵀ H J, p × p, autodiff Jacobian (small nets)."""
    params, X, t = _prepare_task(net, params, X, targets, loss)
    return _ggn(net, params, X, t, loss)


@partial(jax.jit, static_argnums=(0, 4))
def _hessian(net, params, X, targets, loss, l2):
    flat, unravel = ravel_pytree(params)
    f = loss_fn(net, X, targets, loss, l2)
    return jax.hessian(lambda t: f(unravel(t)))(flat)


def hessian_matrix(net: MLP, params, X, targets, loss: str, l2: float = 0.0):
    """Full loss Hessian ∇²(L + (l2/2)‖θ‖²), p × p, by autodiff (small nets).

    ``l2`` is differentiated through, not added as l2·I afterwards, so T6's shift
    eig(∇²(L + κ/2‖θ‖²)) = eig(∇²L) + κ is an actual check.
    """
    check_positive(l2, "l2", allow_zero=True)
    params, X, t = _prepare_task(net, params, X, targets, loss)
    return _hessian(net, params, X, t, loss, jnp.asarray(float(l2), dtype=X.dtype))


@partial(jax.jit, static_argnums=(0, 4))
def _residual(net, params, X, targets, loss):
    flat, unravel = ravel_pytree(params)
    n = X.shape[0]
    g = jax.lax.stop_gradient(jax.grad(lambda z: n * _loss_value(z, targets, loss))(
        _apply(net, params, X)))  # per-sample ∂ℓ/∂f, (n, k)
    return jax.hessian(lambda t: jnp.sum(g * _apply(net, unravel(t), X)) / n)(flat)


def residual_matrix(net: MLP, params, X, targets, loss: str):
    """R = (1/n) Σ_i Σ_c ∂ℓ/∂f_c(x_i) ∇²_θ f_c(x_i) (T3), so that ∇²L = Ĝ + R. Autodiff, p × p."""
    params, X, t = _prepare_task(net, params, X, targets, loss)
    return _residual(net, params, X, t, loss)


def hessian_vector_product(net: MLP, X, targets, loss: str, l2: float = 0.0):
    """A jit-compiled ``hvp(flat_params, v) -> ∇²(L + l2/2‖θ‖²) v`` (forward-over-reverse).

    Flat vectors are in ravel_pytree order; never forms the p × p Hessian.
    """
    check_loss(loss)
    check_positive(l2, "l2", allow_zero=True)
    if not isinstance(net, MLP):
        raise ValueError(f"net: expected a linrelu.MLP, received {type(net).__name__}")
    X = jnp.asarray(check_inputs(X, net.in_dim), dtype=jnp.float64)
    t = check_targets(targets, X.shape[0], net.out_dim, loss)
    t = jnp.asarray(t, dtype=X.dtype) if loss == "mse" else jnp.asarray(t, dtype=jnp.int32)
    unravel = partial(unravel_params, net)
    f = loss_fn(net, X, t, loss, float(l2))

    @jax.jit
    def hvp(flat, v):
        g = lambda th: jax.grad(lambda u: f(unravel(u)))(th)
        return jax.jvp(g, (flat,), (v,))[1]

    return hvp


def linearize(net: MLP, params0):
    """The linearized model of T3: ``f_lin(params, X) = f(X; θ0) + J_0(X)(θ − θ0)``.

    Returned callable takes a params pytree of the same structure and an input matrix; it is
    evaluated with one Jacobian-vector product (no Jacobian is stored).
    """
    return _linearized(net, net.check_params(params0, "params0"))


def _linearized(net: MLP, params0):
    def f_lin(params, X):
        X = jnp.asarray(X, dtype=params0[0][0].dtype)
        dparams = jax.tree_util.tree_map(lambda a, b: a - b, params, params0)
        f0, df = jax.jvp(lambda p: _apply(net, p, X), (params0,), (dparams,))
        return f0 + df

    return f_lin


@partial(jax.jit, static_argnums=(0, 5))
def _linearized_hessian(net, params0, params, X, targets, loss):
    f_lin = _linearized(net, params0)
    flat, unravel = ravel_pytree(params)
    return jax.hessian(lambda th: _loss_value(f_lin(unravel(th), X), targets, loss))(flat)


@partial(jax.jit, static_argnums=(0, 5))
def _linearized_ggn(net, params0, params, X, targets, loss):
    J0 = _jacobian(net, params0, X)
    n, k = X.shape[0], net.out_dim
    H = _output_hessians(_linearized(net, params0)(params, X), loss)
    HJ = jnp.einsum("iab,ibp->iap", H, J0.reshape(n, k, -1)).reshape(n * k, -1)
    return J0.T @ HJ / n


def linearized_hessian_matrix(net: MLP, params0, params, X, targets, loss: str):
    """∇²_θ L_lin(θ) at ``params`` for the model linearized at ``params0`` (autodiff, p × p)."""
    params0 = net.check_params(params0, "params0")
    params, X, t = _prepare_task(net, params, X, targets, loss)
    return _linearized_hessian(net, params0, params, X, t, loss)


def linearized_ggn_matrix(net: MLP, params0, params, X, targets, loss: str):
    """(1/n) J_0ᵀ H(θ) J_0 with J_0 at ``params0`` and H at the linearized outputs at ``params``."""
    params0 = net.check_params(params0, "params0")
    params, X, t = _prepare_task(net, params, X, targets, loss)
    return _linearized_ggn(net, params0, params, X, t, loss)
