"""Gram–GGN spectral equivalence (THEORY.md T1, T2).

T1. With A = n^{-1/2} H^{1/2} J: Ĝ = AᵀA (p × p) and G = AAᵀ (n·k × n·k) share their nonzero
    eigenvalues with multiplicity, so the GGN spectrum of a p-parameter net is an n·k × n·k
    eigenproblem: eig(Ĝ) = eig(G) ∪ {0}^{p − nk}.
T2. If aP ≼ H ≼ bP for an orthogonal projector P with H = PHP, then
    (a/n) λ_i(PKP) ≤ λ_i(G) ≤ (b/n) λ_i(PKP) (Ostrowski-type bracket, i-th largest).
    mse: a = b = 1, P = I. ce (lemma T2a): P = blockdiag(I_k − 𝟙𝟙ᵀ/k), a = min p_ic,
    b = min(max p_ic, ½).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import glob
import os
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
import scipy.linalg

from linrelu.gram import _apply, _ggn_factor_gram, _gram, _prepare, loss_weighted_gram


def _eigvalsh_desc(M) -> np.ndarray:
    """Eigenvalues of a symmetric matrix, largest first, as float64 numpy."""
    M = np.asarray(M, dtype=np.float64)
    return np.linalg.eigvalsh(0.5 * (M + M.T))[::-1]


@functools.cache
def _two_stage_eigvalsh():
    """LAPACKE_dsyevd_2stage from numpy's bundled OpenBLAS (ILP64), or None if not found.

    Eigenvalues only (jobz = 'N', the only mode LAPACK's 2-stage drivers support): the
    tridiagonal reduction goes dense → band (level-3 BLAS) → tridiagonal (cache-resident bulge
    chasing) instead of syevd's one-stage dsytrd, half of whose flops are memory-bound dsymv.
    Measured ~1.6× faster than numpy's eigvalsh at n = 2560 on this CPU (benchmarks/).
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


def _single_blas_thread():
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


def _eigvalsh_desc_fast(M) -> np.ndarray:
    """Eigenvalues of a symmetric matrix (lower triangle read), largest first; float64 numpy.

    Same eigenproblem as :func:`_eigvalsh_desc`, solved by LAPACK's 2-stage divide and conquer
    (backward stable like syevd: |λ̂ − λ| ≲ c·n·ε‖M‖).
    """
    A = np.array(M, dtype=np.float64, order="F", copy=True)
    n = A.shape[0]
    if n < 256:  # tiny: the solver choice is irrelevant, skip the thread-limit bookkeeping
        return np.linalg.eigvalsh(A, UPLO="L")[::-1].copy()
    fn = _two_stage_eigvalsh()
    with _single_blas_thread():
        if fn is None:
            w = scipy.linalg.eigh(A, lower=True, eigvals_only=True, driver="evd",
                                  overwrite_a=True, check_finite=False)
        else:
            w = np.empty(n)
            info = fn(102, b"N", b"L", n, A.ctypes.data, n, w.ctypes.data)  # 102: column-major
            if info != 0:
                raise np.linalg.LinAlgError(f"dsyevd_2stage failed with info = {info}")
    return w[::-1].copy()


def ggn_eigenvalues(net, params, X, targets, loss: str) -> np.ndarray:
    """All n·k eigenvalues of G, largest first: the GGN's spectrum without its p − nk zeros (T1).

    Cost: one closed-form Gram (T5) and one (n·k)² eigenproblem; the p × p GGN is never formed.
    For ce (k ≥ 2) the n eigenvalues that are exactly 0 (H_i 𝟙 = 0) are split off first and the
    n(k−1)-square rest is solved (see :func:`linrelu.gram._ggn_factor_gram`); the returned
    zeros are exact, the others agree with eigvalsh(G) to round-off.
    """
    G_r, zeros = _ggn_factor_gram(net, params, X, targets, loss)
    ev = _eigvalsh_desc_fast(G_r)
    if zeros:
        ev = np.sort(np.concatenate([ev, np.zeros(zeros)]))[::-1]
    return ev


class EquivalenceBracket(NamedTuple):
    """T2 bracket: ``lower[i] ≤ exact[i] ≤ upper[i]`` for the i-th largest eigenvalue of G."""

    lower: np.ndarray
    exact: np.ndarray
    upper: np.ndarray
    a: float
    b: float


def softmax_bracket_constants(logits, loss: str) -> tuple[float, float]:
    """(a, b) of T2: mse (1, 1); ce (min p_ic, min(max p_ic, ½)) (lemma T2a)."""
    if loss == "mse":
        return 1.0, 1.0
    p = np.asarray(jnp.exp(logits - jnp.max(logits, axis=1, keepdims=True)))
    p = p / p.sum(axis=1, keepdims=True)
    return float(p.min()), float(min(p.max(), 0.5))


def centering_projector(n: int, k: int) -> np.ndarray:
    """P = blockdiag(I_k − 𝟙𝟙ᵀ/k) (n·k × n·k): the projector onto the range of the ce Hessian."""
    return np.kron(np.eye(n), np.eye(k) - np.full((k, k), 1.0 / k))


def spectral_equivalence_bracket(net, params, X, targets, loss: str) -> EquivalenceBracket:
    """Eigenvalues of G with the T2 bracket from the plain Gram K (largest first)."""
    params, Xa = _prepare(net, params, X)
    n, k = Xa.shape[0], net.out_dim
    K = _gram(net, params, Xa)
    G = loss_weighted_gram(net, params, X, targets, loss, gram=K)
    a, b = softmax_bracket_constants(_apply(net, params, Xa), loss)
    K = np.asarray(K)
    if loss == "ce":
        P = centering_projector(n, k)
        K = P @ K @ P
    ev = _eigvalsh_desc(K)
    return EquivalenceBracket(a * ev / n, _eigvalsh_desc(G), b * ev / n, a, b)
