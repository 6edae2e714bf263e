"""Losses, their output gradients and output Hessians (THEORY.md, Conventions).

    L(θ) = (1/n) Σ_i ℓ(f(x_i), y_i)
    mse: ℓ = ½‖f − y‖²           ∇_f ℓ = f − y             H_i = I_k
    ce:  ℓ = −log softmax(f)_y    ∇_f ℓ = p − e_y           H_i = diag(p_i) − p_i p_iᵀ
    with p_i = softmax(f_i).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from linrelu.precision import in_float64
from linrelu.validation import check_logits, check_loss, check_targets, returns_numpy


def mean_loss(logits, targets, loss: str):
    """Unvalidated mean loss L = (1/n) Σ_i ℓ(f_i, y_i) (for use inside jit / grad)."""
    if loss == "mse":
        return 0.5 * jnp.mean(jnp.sum((logits - targets) ** 2, axis=-1))
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, targets[:, None].astype(jnp.int32), axis=-1))


@returns_numpy
@in_float64
def loss_value(logits, targets, loss: str):
    """Mean loss L = (1/n) Σ_i ℓ(f_i, y_i) for ``loss`` in {"mse", "ce"}."""
    check_loss(loss)
    logits = check_logits(logits)
    n, k = logits.shape
    targets = check_targets(targets, n, k, loss)
    return mean_loss(logits, jnp.asarray(targets), loss)


@returns_numpy
@in_float64
def output_gradients(logits, targets, loss: str):
    """Per-sample ∂ℓ/∂f (n, k): mse f − y; ce softmax(f) − onehot(y). (Not divided by n.)"""
    check_loss(loss)
    logits = check_logits(logits)
    n, k = logits.shape
    targets = check_targets(targets, n, k, loss)
    if loss == "mse":
        return logits - jnp.asarray(targets, dtype=logits.dtype)
    return jax.nn.softmax(logits, axis=-1) - jax.nn.one_hot(jnp.asarray(targets), k,
                                                             dtype=logits.dtype)


def output_hessians_unchecked(logits, loss: str):
    """H_i of :func:`output_hessians` without validation (for use inside jit)."""
    n, k = logits.shape
    if loss == "mse":
        return jnp.broadcast_to(jnp.eye(k, dtype=logits.dtype), (n, k, k))
    p = jax.nn.softmax(logits, axis=-1)
    return jax.vmap(jnp.diag)(p) - p[:, :, None] * p[:, None, :]


@returns_numpy
@in_float64
def output_hessians(logits, loss: str):
    """H_i = ∇²_f ℓ(f(x_i)), shape (n, k, k): mse I_k; ce diag(p_i) − p_i p_iᵀ.

    Neither depends on the targets (for ce the label enters only the gradient).
    """
    check_loss(loss)
    logits = check_logits(logits)
    return output_hessians_unchecked(logits, loss)


@returns_numpy
@in_float64
def output_hessian_sqrt(logits, loss: str):
    """Symmetric PSD square roots H_i^{1/2}, shape (n, k, k), by a batched k×k eigh.

    Round-off can make the smallest eigenvalue of diag(p) − ppᵀ (exactly 0, eigenvector 𝟙)
    slightly negative; it is clipped to 0 before the square root so no NaN can appear.
    """
    check_loss(loss)
    logits = check_logits(logits)
    if loss == "mse":
        return output_hessians_unchecked(logits, loss)
    w, V = jnp.linalg.eigh(output_hessians_unchecked(logits, loss))
    return jnp.einsum("nab,nb,ncb->nac", V, jnp.sqrt(jnp.clip(w, 0.0, None)), V)
