"""Dense linear algebra shared by the spectral code: eigensolvers, symmetric products, and the
policy for when to leave XLA for the host's BLAS/LAPACK.

Why a host path at all: on a CPU, XLA's dot reaches ~0.7–0.8 of OpenBLAS's dgemm rate and has no
syrk (D Dᵀ at half the flops); LAPACK's two-stage eigensolver is ~1.6× faster than syevd at
n ≈ 2500 (benchmarks/RESULTS.md). On a GPU none of that holds and copying to the host would cost
more than it saves, so the host path is used only when JAX's backend is the CPU.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import glob
import os

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg

from linrelu.validation import is_traced


def on_cpu_backend() -> bool:
    """True when JAX computes on the CPU (then numpy arrays and jax arrays share memory)."""
    return jax.default_backend() == "cpu"


def use_host_blas(*trees) -> bool:
    """Host BLAS is allowed iff the backend is the CPU and no input is a tracer (inside jit)."""
    return on_cpu_backend() and not any(
        is_traced(x) for x in jax.tree_util.tree_leaves(trees))


def eigvalsh_desc(M) -> np.ndarray:
    """Eigenvalues of a symmetric matrix (symmetrized first), largest first, float64 numpy."""
    M = np.asarray(M, dtype=np.float64)
    return np.linalg.eigvalsh(0.5 * (M + M.T))[::-1]


@functools.cache
def two_stage_eigvalsh_routine():
    """LAPACKE_dsyevd_2stage from numpy's bundled OpenBLAS (ILP64), or None if not found.

    Eigenvalues only (jobz = 'N', the only mode LAPACK's 2-stage drivers support): the
    tridiagonal reduction goes dense → band (level-3 BLAS) → tridiagonal (cache-resident bulge
    chasing) instead of syevd's one-stage dsytrd, half of whose flops are memory-bound dsymv.
    """
    pattern = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs",
                           "libscipy_openblas64_*.so")
    for path in sorted(glob.glob(pattern)):
        try:
            fn = ctypes.CDLL(path).scipy_LAPACKE_dsyevd_2stage64_
        except (OSError, AttributeError):
            continue
        fn.restype = ctypes.c_int64
        fn.argtypes = [ctypes.c_int, ctypes.c_char, ctypes.c_char, ctypes.c_int64,
                       ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p]
        return fn
    return None


def single_blas_thread():
    """Limit BLAS to one thread (a no-op context if threadpoolctl is missing).

    The tridiagonal reduction is latency-bound: with 2 OpenBLAS threads on an oversubscribed
    2-core machine it ran ~10× slower than with 1 (2560²: 8.8 s vs 0.83 s), while on an idle one
    2 threads are only ~1.6× faster (benchmarks/RESULTS.md): 1 thread is the robust choice.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def eigvalsh_desc_fast(M) -> np.ndarray:
    """Eigenvalues of a symmetric matrix (lower triangle read), largest first; float64 numpy.

    On the CPU backend: LAPACK's 2-stage divide and conquer on the host (backward stable like
    syevd: |λ̂ − λ| ≲ c·n·ε‖M‖). On an accelerator: ``jnp.linalg.eigvalsh`` where M lives.
    """
    if not on_cpu_backend() and isinstance(M, jax.Array):
        return np.asarray(jnp.linalg.eigvalsh(M, symmetrize_input=True))[::-1].copy()
    A = np.array(M, dtype=np.float64, order="F", copy=True)
    n = A.shape[0]
    if n < 256:  # tiny: the solver choice is irrelevant, skip the thread-limit bookkeeping
        return np.linalg.eigvalsh(A, UPLO="L")[::-1].copy()
    fn = two_stage_eigvalsh_routine()
    with single_blas_thread():
        if fn is None:
            w = scipy.linalg.eigh(A, lower=True, eigvals_only=True, driver="evd",
                                  overwrite_a=True, check_finite=False)
        else:
            w = np.empty(n)
            info = fn(102, b"N", b"L", n, A.ctypes.data, n, w.ctypes.data)  # 102: column-major
            if info != 0:
                raise np.linalg.LinAlgError(f"dsyevd_2stage failed with info = {info}")
    return w[::-1].copy()


def row_blocks(n: int, rows_per_sample: int, target_rows: int = 640) -> list:
    """Split n samples into contiguous (start, stop) blocks of about ``target_rows`` rows
    (n·rows_per_sample in all), never splitting a sample's rows.

    Used for the lower block triangle of D Dᵀ: with b blocks only b(b+1)/2 of the b² products
    are computed; blocks of ~640 rows keep each product a large GEMM (measured: 4 blocks at
    2560 rows cost ~0.63 of the one-GEMM product on this CPU).
    """
    b = max(1, min(n, round(n * rows_per_sample / target_rows)))
    edges = [round(i * n / b) for i in range(b + 1)]
    return [(edges[i], edges[i + 1]) for i in range(b) if edges[i + 1] > edges[i]]


def symmetric_from_lower(blocks: dict, nblocks: int):
    """Assemble a symmetric matrix from its lower block triangle {(I, J): block, I ≥ J}."""
    xp = np if all(isinstance(b, np.ndarray) for b in blocks.values()) else jnp
    rows = []
    for I in range(nblocks):
        rows.append(xp.concatenate(
            [blocks[I, J] if I >= J else blocks[J, I].T for J in range(nblocks)], axis=1))
    return xp.concatenate(rows, axis=0)
