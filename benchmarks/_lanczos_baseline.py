"""The Lanczos step before issue 8 (kept only as the "before" column of the benchmark).

It reorthogonalized twice against all order+1 rows of V, most of them still zero, i.e. it read
the whole basis four times per step. linrelu.spectral.lanczos now projects only on the filled rows
and
repeats the pass only when needed; outputs agree to round-off (checked in the benchmark).
"""

from functools import partial

import jax
import jax.numpy as jnp


@partial(jax.jit, static_argnums=(0, 3))
def lanczos_arrays_before(matvec, flat, v0, order):
    p = v0.shape[0]
    V = jnp.zeros((order + 1, p), dtype=v0.dtype).at[0].set(v0 / jnp.linalg.norm(v0))

    def body(j, carry):
        V, alpha, beta = carry
        v = V[j]
        w = matvec(flat, v)
        w = w - jnp.where(j > 0, beta[jnp.maximum(j - 1, 0)], 0.0) * V[jnp.maximum(j - 1, 0)]
        a = jnp.dot(w, v)
        w = w - a * v
        for _ in range(2):
            w = w - V.T @ (V @ w)
        b = jnp.linalg.norm(w)
        V = V.at[j + 1].set(w / jnp.where(b > 0, b, 1.0))
        return V, alpha.at[j].set(a), beta.at[j].set(b)

    alpha = jnp.zeros(order, dtype=v0.dtype)
    beta = jnp.zeros(order, dtype=v0.dtype)
    _, alpha, beta = jax.lax.fori_loop(0, order, body, (V, alpha, beta))
    return alpha, beta
