"""Subprocess: one timing cell of the generic-model benchmark; prints one JSON line.

Run in its own process so VmHWM (peak resident memory) belongs to this computation alone.
Usage: python -m benchmarks._generic_cell '{"model": "convnet"|"mlp", "method": ..., ...}'

Methods: "blocked" (linrelu.jacobian_gram on the model as a callable: per-sample Jacobian
blocks), "jacrev" (J = jax.jacrev of the whole batch's flattened outputs, then J Jᵀ: what a user
writes without linrelu), "closed_form" (linrelu.jacobian_gram on the MLP itself: T5).
Timing: one warm-up call (compilation excluded; for the blocked method on large n, a call on
``warmup_n`` samples = one block, which compiles the same programs), then the median of
``repeats`` calls, each forced with ``jax.block_until_ready``.
"""

import json
import sys
import time

from benchmarks.peak_memory import peak_rss_gib


def main(cfg: dict) -> dict:
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.flatten_util import ravel_pytree

    jax.config.update("jax_enable_x64", True)  # our own program: float64 throughout
    import linrelu as lr

    rng = np.random.default_rng(0)
    n = cfg["n"]
    if cfg["model"] == "convnet":
        from linrelu.models.convnet import ConvNet

        net = ConvNet(in_shape=tuple(cfg["in_shape"]), out_dim=cfg["k"])
        params = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64),
                                        net.init(jax.random.PRNGKey(0)))
        f = net.apply
        X = jnp.asarray(rng.random((n, *cfg["in_shape"])))
    else:
        net = lr.MLP((cfg["d"], *[cfg["width"]] * cfg["depth"], cfg["k"]))
        params = net.init(jax.random.PRNGKey(0))
        from linrelu.models.mlp import apply_fn

        f = apply_fn(net)
        X = jnp.asarray(rng.random((n, cfg["d"])))
    p = int(ravel_pytree(params)[0].size)

    if cfg["method"] == "blocked":
        budget = cfg.get("budget")
        run = lambda Xs=X: lr.jacobian_gram(f, params, Xs, memory_budget=budget)
    elif cfg["method"] == "closed_form":
        run = lambda: lr.jacobian_gram(net, params, X)
    else:
        flat, unravel = ravel_pytree(params)

        @jax.jit
        def run_jit(flat):
            J = jax.jacrev(lambda t: f(unravel(t), X).reshape(-1))(flat)
            return J @ J.T

        run = lambda: run_jit(flat)
    t0 = time.perf_counter()
    if cfg["method"] == "blocked" and cfg.get("warmup_n"):
        # every block has the same shape (the last one is padded), so a warm-up on one block's
        # worth of samples compiles everything the full call runs
        jax.block_until_ready(run(X[: cfg["warmup_n"]]))
        K = None
    else:
        K = jax.block_until_ready(run())
    first = time.perf_counter() - t0
    times = []
    for _ in range(cfg.get("repeats", 2)):
        t0 = time.perf_counter()
        K = jax.block_until_ready(run())
        times.append(time.perf_counter() - t0)
    K = np.asarray(K)
    return {**cfg, "p": p, "nk": int(K.shape[0]), "first_s": first,
            "median_s": float(np.median(times)), "times": times,
            "trace": float(np.trace(K)), "peak_rss_gib": peak_rss_gib(),
            "backend": jax.default_backend()}


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
