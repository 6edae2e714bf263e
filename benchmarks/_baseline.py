"""The direct closed-form Gram as it was before issue 8 (one jitted XLA program, full Δ Δᵀ
products, loss weighting by an einsum with K): kept only as the "before" column of the benchmark.
"""

from functools import partial

import jax
import jax.numpy as jnp

from linrelu.spectral.closed_form_gram import backward_signals, feature_gram, forward_ingredients


@partial(jax.jit, static_argnums=(0,))
def direct_gram(net, params, X):
    n, k, L = X.shape[0], net.out_dim, net.depth
    acts, derivs, _ = forward_ingredients(net, params, X)
    deltas = dict(backward_signals(net, [W for W, _ in params], derivs))
    K = jnp.kron(feature_gram(net, acts[L], L + 1), jnp.eye(k, dtype=X.dtype))
    for l in range(1, L + 1):
        B = (deltas[l] @ deltas[l].T).reshape(n, k, n, k)
        F = feature_gram(net, acts[l - 1], l)
        K = K + (F[:, None, :, None] * B).reshape(n * k, n * k)
    return K


@partial(jax.jit, static_argnums=(2,))
def direct_weight_gram(K, S, n):
    k = S.shape[1]
    G = jnp.einsum("iac,iajb,jbd->icjd", S, K.reshape(n, k, n, k), S) / n
    return G.reshape(n * k, n * k)
