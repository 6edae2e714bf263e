"""The NTK Gram K = J Jᵀ and the loss-weighted Gram G = (1/n) H^{1/2} K H^{1/2} of any network.

Two paths behind one API (``net`` as in :mod:`linrelu.models.network`):

- ``linrelu.MLP``: the closed form T5 (:mod:`linrelu.spectral.closed_form_gram`), memory O((nk)² +
n·k·m),
  no Jacobian and no autodiff.
- any JAX model ``f(params, X)``: blocks of per-sample Jacobians
(:mod:`linrelu.spectral.blocked_gram`),
  memory O((nk)² + block·k·p) under a byte budget (``memory_budget``).

Both return rows/columns indexed i·k + c (``f(X).reshape(-1)`` order), in float64, and agree with
``jax.jacrev`` J Jᵀ to round-off. All public functions run under
:func:`linrelu.precision.float64` whatever the caller's ``jax_enable_x64``.

ce reduction (T1 with H_i 𝟙 = 0). With V ∈ R^{k×(k−1)} orthonormal spanning 𝟙^⊥ and
Q_i = H_i^{1/2} V, S_i = H_i^{1/2} = Q_i Vᵀ, so S = Q 𝒱ᵀ with 𝒱 = blockdiag(V) having orthonormal
columns and G = (1/n) S K S = 𝒱 [(1/n) Qᵀ K Q] 𝒱ᵀ: eig(G) = eig((1/n) QᵀKQ) ∪ {0}^n. The
n(k−1)-square reduced Gram costs (1 − 1/k)² of the Gram and (1 − 1/k)³ of the eigensolver.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from linrelu.models.network import Network, resolve
from linrelu.precision import in_float64
from linrelu.spectral.blocked_gram import (
    DEFAULT_MEMORY_BUDGET,
    blocked_mixed_grams,
    check_separable,
)
from linrelu.spectral.closed_form_gram import gram_layers, mixed_grams
from linrelu.spectral.losses import output_hessian_sqrt
from linrelu.validation import as_numpy, check_loss, check_targets, returns_numpy


def _budget(memory_budget) -> int:
    if memory_budget is None:
        return DEFAULT_MEMORY_BUDGET
    if isinstance(memory_budget, bool) or not isinstance(memory_budget, (int, np.integer)) \
            or memory_budget < 1:
        raise ValueError(f"memory_budget: expected a positive number of bytes, received "
                         f"{memory_budget!r}")
    return int(memory_budget)


def network_mixed_gram(nw: Network, Q=None, memory_budget=None):
    """Qᵀ K Q of a resolved network: T5 for an MLP, per-sample Jacobian blocks otherwise."""
    return network_mixed_grams(nw, (Q,), memory_budget)[0]


def network_mixed_grams(nw: Network, Qs: tuple, memory_budget=None) -> tuple:
    """(Q₁ᵀKQ₁, Q₂ᵀKQ₂, …) of a resolved network for the mixings ``Qs`` (each (n, k, r), or None
    for K itself): one Gram per mixing, the generic model's separability checked once."""
    if nw.mlp is not None:
        return mixed_grams(nw.mlp, nw.mlp.layers_of(nw.params), nw.X, Qs)
    check_separable(nw.apply, nw.params, nw.X, nw.logits)
    return blocked_mixed_grams(nw.apply, nw.params, nw.X, Qs,
                               memory_budget=_budget(memory_budget))


@in_float64
def jacobian_gram(net, params, X, *, memory_budget=None):
    """NTK Gram K = J Jᵀ, shape (n·k, n·k), row/column index i·k + c; the Jacobian is never formed.

    MLP: closed form T5 (exact). Other models: per-sample Jacobian blocks within
    ``memory_budget`` bytes (default 2 GiB; the (n·k)² result is extra). Returns a float64 numpy
    array (the host engine's own result as it is, without a copy).
    """
    _budget(memory_budget)
    K = network_mixed_gram(resolve(net, params, X), None, memory_budget)
    return K if isinstance(K, np.ndarray) and K.dtype == np.float64 else as_numpy(K)


@returns_numpy
@in_float64
def jacobian_gram_layers(net, params, X, split_bias: bool = False):
    """The L+1 per-layer terms of T5 for an MLP (they sum to :func:`jacobian_gram`).

    Term l is (F_l ⊗ 𝟙𝟙ᵀ) ⊙ B_l with F_l = s_l² H_{l−1}H_{l−1}ᵀ + t² and B_l = Δ_l Δ_lᵀ: the
    contribution of (W_l, b_l) to J Jᵀ. With ``split_bias=True`` each entry is a pair (weight
    term, bias term) (T5a: the weight term's rank is ≤ rank(H_{l−1}) · rank(Δ_l)).
    """
    nw = resolve(net, params, X)
    if nw.mlp is None:
        raise ValueError("net: expected a linrelu.MLP (per-layer T5 terms exist only for MLPs), "
                         f"received {type(net).__name__}")
    return list(gram_layers(nw.mlp, nw.mlp.layers_of(nw.params), nw.X, bool(split_bias)))


@partial(jax.jit, static_argnums=0)
def _full_jacobian(apply, params, X):
    flat, unravel = ravel_pytree(params)
    return jax.jacrev(lambda t: apply(unravel(t), X).reshape(-1))(flat)


@returns_numpy
@in_float64
def jacobian(net, params, X):
    """Autodiff Jacobian J ∈ R^{(n·k) × p} (``jax.jacrev``), rows i·k + c, ravel_pytree columns.

    A reference for small models: memory O(n·k·p).
    """
    nw = resolve(net, params, X)
    return _full_jacobian(nw.apply, nw.params, nw.X)


@returns_numpy
@in_float64
def jacobian_gram_autodiff(net, params, X):
    """Reference K = J Jᵀ from the full autodiff Jacobian (memory O(n·k·p): small models)."""
    J = jacobian(net, params, X)
    return J @ J.T


@partial(jax.jit, static_argnums=(2,))
def loss_weighted_from_gram(K, S, loss_n: int):
    """G = (1/n) S K S for S = blockdiag(S_i) given as (n, k, k) and K (n·k × n·k)."""
    n, k = S.shape[0], S.shape[1]
    G = jnp.einsum("iac,iajb,jbd->icjd", S, K.reshape(n, k, n, k), S) / loss_n
    return G.reshape(n * k, n * k)


def _resolve_task(net, params, X, targets, loss):
    check_loss(loss)
    nw = resolve(net, params, X)
    check_targets(targets, nw.n, nw.k, loss)
    return nw


@returns_numpy
@in_float64
def loss_weighted_gram(net, params, X, targets, loss: str, *, gram=None, memory_budget=None):
    """G = (1/n) H^{1/2} K H^{1/2} (n·k × n·k), H = blockdiag(∇²_f ℓ(f(x_i))) (THEORY, T1).

    Its nonzero eigenvalues are those of the GGN Ĝ = (1/n) Jᵀ H J (T1). ``gram`` may pass a
    precomputed K (from :func:`jacobian_gram`). ``targets`` are validated (shape, label range)
    though H itself does not depend on them.
    """
    nw = _resolve_task(net, params, X, targets, loss)
    S = output_hessian_sqrt(nw.logits, loss)
    if gram is None:
        # G = (1/n) S K S is the Q = S mixed Gram: S enters through the k output directions
        # instead of two (n·k)² × k contractions with K.
        return jnp.asarray(network_mixed_gram(nw, S, memory_budget)) / nw.n
    N = nw.n * nw.k
    if tuple(np.shape(gram)) != (N, N):
        raise ValueError(f"gram: expected shape ({N}, {N}), received {tuple(np.shape(gram))}")
    return loss_weighted_from_gram(jnp.asarray(gram, jnp.float64), S, nw.n)


def centered_basis(k: int) -> np.ndarray:
    """V ∈ R^{k×(k−1)} with orthonormal columns spanning 𝟙^⊥ (so V Vᵀ = I − 𝟙𝟙ᵀ/k)."""
    U = np.linalg.svd(np.eye(k) - 1.0 / k)[0]
    return U[:, : k - 1]


@in_float64
def reduced_loss_weighted_gram(net, params, X, targets, loss: str, *, memory_budget=None):
    """(G_r, z): a matrix G_r and a count z with eig(G) = eig(G_r) ∪ {0}^z exactly.

    ce with k ≥ 2: G_r = (1/n) QᵀKQ with Q_i = H_i^{1/2} V (module docstring), z = n; otherwise
    G_r = G and z = 0. G_r stays where it was computed (numpy on the host path, a jax array
    otherwise).
    """
    nw = _resolve_task(net, params, X, targets, loss)
    Q, zeros = _reduction(nw, loss)
    return network_mixed_gram(nw, Q, memory_budget) / nw.n, zeros


def _reduction(nw: Network, loss: str):
    """(Q, z) of the reduced Gram G_r = (1/n) QᵀKQ: Q = S V and z = n for ce with k ≥ 2, else
    Q = S and z = 0 (S = H^{1/2}, :func:`reduced_loss_weighted_gram`)."""
    S = output_hessian_sqrt(nw.logits, loss)
    if loss != "ce" or nw.k < 2:
        return S, 0
    return jnp.einsum("iab,bc->iac", S, jnp.asarray(centered_basis(nw.k))), nw.n


class TaskGrams(NamedTuple):
    """The Grams of one resolved network on a task: ``K`` = J Jᵀ, and ``reduced``, ``zeros``:
    (G_r, z) of :func:`reduced_loss_weighted_gram` (eig(G) = eig(G_r) ∪ {0}^z)."""

    K: object
    reduced: object
    zeros: int


@in_float64
def network_task_grams(nw: Network, targets, loss: str, memory_budget=None) -> TaskGrams:
    """K and (G_r, z) of a resolved network in one pass: the targets checked once, and for a
    generic model one separability check for both products. Each matrix is
    computed exactly as :func:`jacobian_gram` and :func:`reduced_loss_weighted_gram` compute it
    (the same products in the same order), so the results are those functions' to the bit."""
    check_loss(loss)
    check_targets(targets, nw.n, nw.k, loss)
    Q, zeros = _reduction(nw, loss)
    M, K = network_mixed_grams(nw, (Q, None), memory_budget)
    return TaskGrams(K, M / nw.n, zeros)
