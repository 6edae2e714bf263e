"""Float64 policy: spectral work runs in float64 *inside linrelu only*.

``import linrelu`` flips no global switch: a user's own training keeps JAX's default dtype
(float32 unless they enabled ``jax_enable_x64`` themselves). Every public spectral function runs
its body under :func:`float64`, a scoped ``jax.enable_x64(True)`` (a context manager since JAX 0.8
that sets the flag for the current thread only and is part of ``jit``'s cache key, so the same
jitted function compiles separately for the two precisions and never mixes them).

Inputs are converted to float64 on entry (float32 params are upcast exactly); results are
float64. Programs that want float64 everywhere (our tests, ``paper_repro.py``) set
``jax.config.update("jax_enable_x64", True)`` themselves.
"""

from __future__ import annotations

import functools

import jax


def float64():
    """Context manager: float64 JAX arrays inside the block, the caller's setting afterwards."""
    return jax.enable_x64(True)


def in_float64(fn):
    """Decorator: run ``fn`` under :func:`float64` (for public spectral functions)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with float64():
            return fn(*args, **kwargs)

    return wrapper
