"""``python -m benchmarks.low_precision [--seeds N]``: how accurate the Gram of a model that
computes below float64 inside is; the measurement behind
``linrelu.models.network.LOW_PRECISION_GRAM_ERROR`` (the accuracy the float32-inside warning
states).

Models: Flax ReLU MLPs of ``nn.Dense`` layers (hidden widths and output size in ``ARCHS``) on
n = 16 standard-normal inputs of dimension 8, each with ``dtype`` = float32, float16 or bfloat16
(the computation dtype) and float64 params, seeds 0..N−1. Reference: the Gram of the same model
with ``dtype=float64`` (same params). Error: max |K − K_ref| / max |K_ref| of
``lr.jacobian_gram``. Prints one markdown row per dtype: unit roundoff u = ε/2, median and
maximum error over every (architecture, seed), and the maximum over u. Nothing is written to a
file; the committed numbers are quoted where they are used.
"""

from __future__ import annotations

import argparse
import sys
import warnings

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)  # our own program: the reference is float64

ARCHS = ((16, 3), (64, 64, 3), (256, 256, 10))
DTYPES = ("float32", "float16", "bfloat16")
N, D = 16, 8


def _model(widths, dtype):
    import flax.linen as nn

    class MLP(nn.Module):
        @nn.compact
        def __call__(self, x):
            for w in widths[:-1]:
                x = nn.relu(nn.Dense(w, dtype=dtype)(x))
            return nn.Dense(widths[-1], dtype=dtype)(x)

    return MLP()


def measure(seeds: int) -> dict:
    """{dtype: [relative Gram error per (architecture, seed)]}."""
    import linrelu as lr

    errors = {d: [] for d in DTYPES}
    for widths in ARCHS:
        for seed in range(seeds):
            X = np.random.default_rng(seed).normal(size=(N, D))
            ref = _model(widths, jnp.float64)
            params = ref.init(jax.random.PRNGKey(seed), X)["params"]
            K_ref = lr.jacobian_gram(lambda p, x, m=ref: m.apply({"params": p}, x), params, X)
            for d in DTYPES:
                low = _model(widths, jnp.dtype(d))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # the warning this measurement calibrates
                    K = lr.jacobian_gram(lambda p, x, m=low: m.apply({"params": p}, x),
                                         params, X)
                errors[d].append(float(np.abs(K - K_ref).max() / np.abs(K_ref).max()))
    return errors


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds per architecture")
    args = parser.parse_args(argv)
    errors = measure(args.seeds)
    from benchmarks.workers import cpu_name

    print(f"jax {jax.__version__} on {jax.default_backend()} ({cpu_name()}); "
          f"architectures {ARCHS}, n = {N}, d = {D}, {args.seeds} seeds each")
    print("| dtype | unit roundoff u | median error | max error | max / u |")
    print("|---|---|---|---|---|")
    for d in DTYPES:
        u = float(jnp.finfo(jnp.dtype(d)).eps) / 2
        e = np.asarray(errors[d])
        print(f"| {d} | {u:.2e} | {np.median(e):.1e} | {e.max():.1e} | {e.max() / u:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
