"""Subprocess: GGN nonzero spectrum (ce) of one net; prints one JSON line with times and peak RSS.

Run in its own process so VmHWM (peak resident memory) belongs to this computation alone.
Usage: python -m benchmarks._ggn_big WIDTH DEPTH N K
"""

import json
import sys
import time

from benchmarks.peak_memory import peak_rss_gib


def main(width: int, depth: int, n: int, k: int) -> dict:
    import jax
    import numpy as np

    jax.config.update("jax_enable_x64", True)  # our own program: float64 throughout
    import linrelu as lr
    from linrelu.spectral.gram import reduced_loss_weighted_gram
    from linrelu.spectral.linalg import eigvalsh_desc_fast

    d = 64
    net = lr.MLP((d, *([width] * depth), k))
    rng = np.random.default_rng(0)
    X = rng.random((n, d))
    y = rng.integers(0, k, n)
    # warm-up on a toy net of the same depth: compiles the few jitted helpers (softmax Hessian
    # square roots); the host-BLAS path itself has nothing to compile
    small = lr.MLP((d, *([8] * depth), k))
    lr.ggn_eigenvalues(small, small.init(jax.random.PRNGKey(1)), X, y, "ce")  # same n, k

    t0 = time.perf_counter()
    params = jax.block_until_ready(net.init(jax.random.PRNGKey(0)))  # the only copy of θ
    t_init = time.perf_counter() - t0
    t0 = time.perf_counter()
    G_r, zeros = reduced_loss_weighted_gram(net, params, X, y, "ce")
    t_gram = time.perf_counter() - t0
    t0 = time.perf_counter()
    ev = eigvalsh_desc_fast(G_r)
    t_eig = time.perf_counter() - t0
    return {"width": width, "depth": depth, "n": n, "k": k, "num_params": net.num_params,
            "init_s": t_init, "gram_s": t_gram, "eig_s": t_eig, "total_s": t_gram + t_eig,
            "reduced_size": int(G_r.shape[0]), "exact_zeros": int(zeros),
            "lambda_max": float(ev[0]), "peak_rss_gib": peak_rss_gib()}


if __name__ == "__main__":
    print(json.dumps(main(*(int(a) for a in sys.argv[1:5]))))
