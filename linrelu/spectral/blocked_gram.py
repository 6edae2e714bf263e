"""The Gram J Jᵀ of any JAX model f(params, X) → (n, k), by blocks of per-sample Jacobians.

K = J Jᵀ (n·k × n·k, row i·k + c) for a model that acts on samples independently (row i of
f(params, X) depends on X[i] only). With the samples split into blocks B_1..B_b,

    K[B_I, B_J] = J_{B_I} J_{B_J}ᵀ,   J_{B} = per-sample Jacobians of the rows in B (|B|·k × p),

each J_B computed by a loop (``lax.map``) over samples of ``jacrev`` of the one-sample model
(k reverse passes per sample: n·k·(cost of a backward pass) for all of J, against n²·k for
``jacrev`` of the whole batch, whose every cotangent back-propagates through all n samples).
Only the lower block triangle is computed. Peak memory O((n·r)² + 2·|B|·r·p) with |B| chosen from
a byte budget; when all of J fits the budget it is formed once, otherwise blocks are recomputed
(cost factor (b+1)/2).

Mixed Grams QᵀKQ (Q = blockdiag(Q_i), Q_i ∈ R^{k×r}) mix each sample's Jacobian rows first:
J̃_i = Q_iᵀ J_i. This is how G = (1/n) S K S and the ce reduction (r = k − 1) are computed
(see :mod:`linrelu.spectral.gram`).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from linrelu.models.network import precision_inside
from linrelu.spectral.linalg import symmetric_from_lower

#: Default byte budget for the Jacobian blocks held at once (the n·r × n·r result is extra).
DEFAULT_MEMORY_BUDGET = 2 * 1024**3


@partial(jax.jit, static_argnums=0)
def _jacobian_rows(apply, params, Xb, Qb):
    """J̃_B (|B|·r × p) in ravel_pytree column order; ``Qb=None`` means Q_i = I_k."""
    def per_sample(x):
        return jax.jacrev(lambda p: apply(p, x[None])[0])(params)

    # lax.map (a loop over the block's samples), not vmap: vmapping a conv net's per-sample
    # weight gradients turns them into batched convolutions that XLA:CPU runs superlinearly
    # slowly (paper ConvNet, 32×32×3, 64 samples: 13.5 s with vmap, 2.0 s with lax.map).
    jac = jax.lax.map(per_sample, Xb)  # pytree, leaves (|B|, k, *leaf_shape)
    leaves = jax.tree_util.tree_leaves(jac)
    m, k = Xb.shape[0], leaves[0].shape[1]
    J = jnp.concatenate([leaf.reshape(m, k, -1) for leaf in leaves], axis=2)  # (|B|, k, p)
    if Qb is not None:
        J = jnp.einsum("iap,iar->irp", J, Qb)
    return J.reshape(m * J.shape[1], -1)


def block_size(n: int, r: int, p: int, memory_budget: int) -> int:
    """Samples per block so that two blocks of J̃ rows (and jacrev's per-sample workspace,
    counted as one more copy) fit ``memory_budget`` bytes of float64."""
    per_sample = 3 * r * p * 8
    return int(max(1, min(n, memory_budget // max(per_sample, 1))))


def _one_by_one(apply, params, X):
    """Every row of ``apply`` evaluated on its sample alone: one vmapped pass of the one-sample
    model (inside, each call sees a batch of 1); a model that vmap cannot batch is evaluated by
    ``lax.map``, the loop the Gram itself runs."""
    one = lambda x: apply(params, x[None])[0]
    try:
        return np.asarray(jax.vmap(one)(X))
    except Exception:  # noqa: BLE001 - e.g. a callback without a vmap rule: loop instead
        pass
    try:
        return np.asarray(jax.lax.map(one, X))
    except Exception as err:  # the user's model: report it as the input it cannot take
        msg = " ".join(str(err).split())[:300]
        raise ValueError(f"net: expected a model that can be evaluated on one sample at a time "
                         f"(per-sample Jacobians), received one for which net(params, "
                         f"X[i:i + 1]) raised {type(err).__name__}: {msg}") from err


def check_separable(apply, params, X, batch=None) -> None:
    """ValueError unless every row i of f(params, X) equals f evaluated on X[i] alone.

    The block Gram needs per-sample Jacobians, which are the rows of J only if sample i's output
    depends on X[i] alone (it does not for, e.g., BatchNorm in training mode). All n rows are
    compared, so a coupling that shows in any row is found. ``batch``: f(params, X) when the
    caller has it already (a generic model's logits, evaluated by
    :func:`linrelu.models.network.resolve`). Cost: at most two forward passes over the n samples
    (the
    batch one, unless given, and one vmapped pass of the one-sample model), against the n·k
    per-sample backward passes of the Gram it guards; memory that of one forward pass over X.

    Relative tolerance (to the largest output) 1e-9 for a model that computes in float64:
    evaluations of the same sample in a batch of 1 or of n differ by round-off (~1e-15
    relative), a real coupling by far more. A model that computes in float32 inside
    (:func:`linrelu.models.network.precision_inside`) gets 1e3 × its ε (1.2e-4 for float32): XLA may
    reduce a batch in another order than a single sample, and float32 outputs then differ by a
    few ulps (1.25e-7 measured on a two-layer Flax model with XLA's optimizations on, the
    default), while a batch coupling such as BatchNorm in training mode changes outputs by O(1).
    For float16 / bfloat16 models (1e3 ε ≈ 1 to 8) the check can only catch couplings of that
    size.
    """
    if X.shape[0] < 2:
        return
    both = np.asarray(apply(params, X) if batch is None else batch)
    each = _one_by_one(apply, params, X)
    scale = max(float(np.abs(both).max()), 1e-300)
    diff = np.abs(both - each).reshape(both.shape[0], -1).max(axis=1)
    err = float(diff.max())
    if err <= 1e-9 * scale:
        return
    # trace the model for its precision only here: a separable float64 model never needs it
    eps = precision_inside(apply, params, X[:2])
    if not (eps > np.finfo(np.float64).eps and err <= 1e3 * eps * scale):
        raise ValueError(
            "net: expected a model whose output row i depends on X[i] only (per-sample "
            f"Jacobians), received one whose outputs change with the batch (relative "
            f"difference {err / scale:.2e} between batch and one-by-one evaluation, largest in "
            f"row {int(diff.argmax())} of {both.shape[0]}); evaluate the model in inference "
            "mode (e.g. BatchNorm with running statistics)")


def blocked_mixed_grams(apply, params, X, Qs: tuple, *,
                        memory_budget=DEFAULT_MEMORY_BUDGET) -> tuple:
    """(:func:`blocked_mixed_gram` of each mixing Q in ``Qs``): one Gram per Q, each exactly as
    :func:`blocked_mixed_gram` computes it alone."""
    return tuple(blocked_mixed_gram(apply, params, X, Q, memory_budget=memory_budget)
                 for Q in Qs)


def blocked_mixed_gram(apply, params, X, Q=None, *, memory_budget=DEFAULT_MEMORY_BUDGET):
    """Qᵀ K Q (n·r × n·r, row i·r + c) of the model ``apply`` without forming the Jacobian.

    ``X`` (n, …) as the model expects it; ``Q`` (n, k, r) or None (then r = k).
    """
    n = X.shape[0]
    p = ravel_pytree(params)[0].size
    k = int(jax.eval_shape(lambda: apply(params, X[:1])).shape[1])
    r = k if Q is None else Q.shape[2]
    size = block_size(n, r, p, memory_budget)
    starts = list(range(0, n, size))
    pad = starts[-1] + size - n  # pad the last block with copies of row 0: one compiled shape

    def rows(I):
        a = starts[I]
        Xb = X[a:a + size]
        Qb = None if Q is None else Q[a:a + size]
        if Xb.shape[0] < size:
            Xb = jnp.concatenate([Xb, jnp.repeat(X[:1], pad, axis=0)])
            Qb = None if Qb is None else jnp.concatenate([Qb, jnp.repeat(Q[:1], pad, axis=0)])
        return _jacobian_rows(apply, params, Xb, Qb)[: (min(a + size, n) - a) * r]

    cache_all = len(starts) * size * r * p * 8 * 2 <= memory_budget
    cache = {}
    lower = {}
    for I in range(len(starts)):
        J_I = cache.get(I)
        if J_I is None:
            J_I = rows(I)
        if cache_all:
            cache[I] = J_I
        for J in range(I + 1):
            J_J = J_I if J == I else (cache[J] if J in cache else rows(J))
            lower[I, J] = J_I @ J_J.T
    return symmetric_from_lower(lower, len(starts))
