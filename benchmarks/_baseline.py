"""The direct closed-form Gram as it was before issue 8 (one jitted XLA program, full Δ Δᵀ
products, loss weighting by an einsum with K): kept only as the "before" column of the benchmark.
"""

from functools import partial

import jax
import jax.numpy as jnp

from linrelu.gram import _backward_signals, _feature_gram, _features_and_masks


@partial(jax.jit, static_argnums=(0,))
def direct_gram(net, params, X):
    n, k, L = X.shape[0], net.out_dim, net.depth
    acts, masks = _features_and_masks(net, params, X)
    deltas = _backward_signals(net, params, masks)
    K = jnp.kron(_feature_gram(net, acts[L], L + 1), jnp.eye(k, dtype=X.dtype))
    for l in range(1, L + 1):
        B = (deltas[l] @ deltas[l].T).reshape(n, k, n, k)
        F = _feature_gram(net, acts[l - 1], l)
        K = K + (F[:, None, :, None] * B).reshape(n * k, n * k)
    return K


@partial(jax.jit, static_argnums=(2,))
def direct_weight_gram(K, S, n):
    k = S.shape[1]
    G = jnp.einsum("iac,iajb,jbd->icjd", S, K.reshape(n, k, n, k), S) / n
    return G.reshape(n * k, n * k)
