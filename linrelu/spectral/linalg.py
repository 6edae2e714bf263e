"""Dense linear algebra shared by the spectral code: eigensolvers, symmetric products, and the
choice between the host's BLAS/LAPACK (numpy) and XLA for them on the CPU backend.

Why a host path at all: numpy's OpenBLAS has syrk (D Dᵀ at half the flops) and LAPACK's
two-stage eigensolver (~1.6× syevd at n ≈ 2500 on one CPU, benchmarks/RESULTS.md). Whether that
beats XLA depends on the machine: on one 2-core Xeon OpenBLAS's dgemm ran at 1.3× XLA's, on a
2-core EPYC at 0.7× (and ``OPENBLAS_CORETYPE`` can pin OpenBLAS to an older kernel). So no
constant decides it: each choice (:data:`CHOICES`) is made per process by measurement at first
use (:func:`measure_backends`: a few tens of milliseconds, cached), and can be overridden by an
argument (``backend=``) or an environment variable (``LINRELU_GRAM_BACKEND``,
``LINRELU_EIGH_BACKEND``: ``host``, ``xla`` or ``auto``). :func:`backend_report` shows the
choices and the timings behind them. On an accelerator copying to the host would cost more than
it saves, so the host path is used only when JAX's backend is the CPU and inputs are concrete.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import glob
import mmap
import os
import time

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


# --- host-vs-XLA choices, by measurement ---------------------------------------------------------
#: Each host-vs-XLA choice: its environment variable and what its probe times.
CHOICES = {
    "gram": ("LINRELU_GRAM_BACKEND",
             "one layer of the closed-form Gram: backward GEMM (1280×512)(512×512) and the "
             "symmetric product D Dᵀ of D (1280×512) (host: syrk; XLA: lower block triangle)"),
    "eigh": ("LINRELU_EIGH_BACKEND",
             "eigenvalues of a 384×384 symmetric matrix (host: LAPACK 2-stage syevd, 1 BLAS "
             "thread; XLA: jnp.linalg.eigvalsh)"),
}
BACKENDS = ("host", "xla")
_PROBE_REPEATS = 3
_measured: dict = {}  # choice -> measure_backends result (per process)


def check_backend(value, name: str = "backend") -> str:
    """``value`` if it is 'auto', 'host' or 'xla'; else ValueError naming ``name``."""
    if not isinstance(value, str) or value.strip().lower() not in ("auto", *BACKENDS):
        raise ValueError(f"{name}: expected one of 'auto', 'host', 'xla', received {value!r}")
    return value.strip().lower()


def _check_choice(choice) -> str:
    if choice not in CHOICES:
        raise ValueError(f"choice: expected one of {sorted(CHOICES)}, received {choice!r}")
    return choice


def requested_backend(choice: str, backend=None) -> tuple[str, str]:
    """(backend, where it came from): the ``backend`` argument if not None/'auto', else the
    choice's environment variable if set and not 'auto', else ('auto', 'measurement')."""
    env = CHOICES[_check_choice(choice)][0]
    if backend is not None:
        value = check_backend(backend)
        if value != "auto":
            return value, "argument backend="
    value = os.environ.get(env, "")
    if value.strip() and check_backend(value, f"environment variable {env}") != "auto":
        return check_backend(value), f"environment variable {env}"
    return "auto", "measurement"


def _wall_time(fn) -> float:
    t0 = time.perf_counter()
    jax.block_until_ready(fn())
    return time.perf_counter() - t0


def _gram_probe():
    rng = np.random.default_rng(0)
    D, W = rng.standard_normal((1280, 512)), rng.standard_normal((512, 512))
    spans = row_blocks(128, 10)

    def host():
        E = D @ W.T
        return E @ E.T  # numpy calls syrk for A @ A.T

    def xla(D, W):
        E = D @ W.T
        return symmetric_from_lower({(I, J): E[a * 10:b * 10] @ E[c * 10:d * 10].T
                                     for I, (a, b) in enumerate(spans)
                                     for J, (c, d) in enumerate(spans[:I + 1])}, len(spans))

    return host, _compiled(xla, jnp.asarray(D), jnp.asarray(W))


def _compiled(fn, *args):
    """``fn(*args)`` compiled ahead of time (compilation is not part of the timing)."""
    exe = jax.jit(fn).lower(*args).compile()
    return lambda: exe(*args)


def _eigh_probe():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((384, 384))
    A = A + A.T
    jA = jnp.asarray(A)
    return (lambda: _host_eigvalsh(A)), _compiled(_xla_eigvalsh, jA)


def measure_backends(choice: str, repeats: int = _PROBE_REPEATS) -> dict:
    """Time ``choice``'s probe (:data:`CHOICES`) on both backends, once per process (cached).

    The XLA side is compiled ahead of time (compilation excluded), then ``repeats`` calls are
    timed interleaved host, XLA, host, … so that a change of machine load hits both; the faster
    median wins (XLA on a tie: one program, no host round trip). If the first pair differs by more
    than 3×, that pair decides (a slow backend is not run again just to confirm it).
    Returns {'choice', 'host_s', 'xla_s', 'host_times', 'xla_times', 'probe', 'cpu_backend'};
    off the CPU backend nothing is timed ('xla')."""
    _check_choice(choice)
    if choice in _measured:
        return _measured[choice]
    if not on_cpu_backend():
        res = {"choice": "xla", "host_s": None, "xla_s": None, "host_times": [],
               "xla_times": [], "probe": "not measured: JAX's backend is not the CPU",
               "cpu_backend": False}
    else:
        with jax.enable_x64(True):
            host, xla = _gram_probe() if choice == "gram" else _eigh_probe()
            th, tx = [], []
            for _ in range(repeats):
                th.append(_wall_time(host))
                tx.append(_wall_time(xla))
                if max(th[0], tx[0]) > 3 * min(th[0], tx[0]):
                    break
        h, x = float(np.median(th)), float(np.median(tx))
        res = {"choice": "host" if h < x else "xla", "host_s": h, "xla_s": x,
               "host_times": th, "xla_times": tx, "probe": CHOICES[choice][1],
               "cpu_backend": True}
    _measured[choice] = res
    return res


def choose_backend(choice: str, backend=None) -> str:
    """'host' or 'xla' for ``choice`` ('gram' or 'eigh'): the override (argument, then
    environment variable) if any, else the per-process measurement (:func:`measure_backends`).
    Whether the host path is *possible* (CPU backend, concrete inputs) is the caller's check."""
    value, _ = requested_backend(choice, backend)
    return value if value != "auto" else measure_backends(choice)["choice"]


def backend_report(measure: bool = True) -> dict:
    """Every host-vs-XLA choice of this process: {choice: {'backend', 'source', 'host_s',
    'xla_s', 'probe', 'env'}}. ``measure=False`` reports only what was measured so far."""
    out = {}
    for choice, (env, _) in CHOICES.items():
        value, source = requested_backend(choice)
        m = measure_backends(choice) if measure else _measured.get(choice)
        out[choice] = {"backend": value if value != "auto" else (m or {}).get("choice"),
                       "source": source, "host_s": (m or {}).get("host_s"),
                       "xla_s": (m or {}).get("xla_s"), "probe": (m or {}).get("probe"),
                       "env": env}
    return out


def format_backend_report(measure: bool = True) -> str:
    """:func:`backend_report` as one line per choice (for ``info``-style output)."""
    lines = []
    for choice, r in backend_report(measure).items():
        times = ("not measured" if r["host_s"] is None else
                 f"probe host {r['host_s'] * 1e3:.1f} ms, xla {r['xla_s'] * 1e3:.1f} ms")
        lines.append(f"{choice}: {r['backend']} (by {r['source']}; {times}; "
                     f"override: {r['env']}=host|xla|auto)")
    return "\n".join(lines)


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


def _host_eigvalsh(A) -> np.ndarray:
    """Eigenvalues (ascending) of the lower triangle of A: LAPACK 2-stage, one BLAS thread."""
    A = np.array(A, dtype=np.float64, order="F", copy=True)
    n = A.shape[0]
    if n == 0:  # LAPACK rejects lda = 0 (info −6): an empty matrix has no eigenvalues
        return np.empty(0)
    fn = two_stage_eigvalsh_routine()
    with single_blas_thread():
        if fn is None:
            return scipy.linalg.eigh(A, lower=True, eigvals_only=True, driver="evd",
                                     overwrite_a=True, check_finite=False)
        w = np.empty(n)
        info = fn(102, b"N", b"L", n, A.ctypes.data, n, w.ctypes.data)  # 102: column-major
        if info != 0:
            raise np.linalg.LinAlgError(f"dsyevd_2stage failed with info = {info}")
    return w


#: Eigenvalues (ascending) of the lower triangle, one XLA program where the array lives.
_xla_eigvalsh = jax.jit(functools.partial(jnp.linalg.eigvalsh, UPLO="L", symmetrize_input=False))


def eigvalsh_desc_fast(M, backend=None) -> np.ndarray:
    """Eigenvalues of a symmetric matrix (lower triangle read), largest first; float64 numpy.

    On the CPU backend the solver is the host's LAPACK 2-stage divide and conquer (backward
    stable like syevd: |λ̂ − λ| ≲ c·n·ε‖M‖) or XLA's eigvalsh, whichever :func:`choose_backend`
    picks for 'eigh' (``backend``: 'auto' (default), 'host' or 'xla'; env
    ``LINRELU_EIGH_BACKEND``). On an accelerator: ``jnp.linalg.eigvalsh`` where M lives.
    """
    requested, _ = requested_backend("eigh", backend)  # validates backend= first
    if not on_cpu_backend() and isinstance(M, jax.Array):
        return np.asarray(jnp.linalg.eigvalsh(M, symmetrize_input=True))[::-1].copy()
    n = np.shape(M)[0]
    if n < 256 and requested == "auto":  # tiny: the solver choice is irrelevant
        return np.linalg.eigvalsh(np.asarray(M, dtype=np.float64), UPLO="L")[::-1].copy()
    if choose_backend("eigh", backend) == "xla":
        with jax.enable_x64(True):
            w = np.asarray(_xla_eigvalsh(jnp.asarray(M, dtype=jnp.float64)))
        return w[::-1].copy()
    return _host_eigvalsh(M)[::-1].copy()


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


def fresh_array(size: int, dtype=np.float64) -> np.ndarray:
    """A flat numpy array of ``size`` zeros on fresh anonymous pages that the kernel fills at
    once (Linux: ``mmap`` with ``MAP_POPULATE``; elsewhere ``np.zeros``).

    Why: numpy asks for transparent huge pages for every large array; on a host whose memory is
    fragmented (after another library freed many buffers, e.g. an XLA program), each huge-page
    fault can wait for the kernel to compact memory, and page by page faults are slow on a
    virtual machine. Populated small pages cost neither (benchmarks/RESULTS.md, DISPATCH).
    The pages go back to the system when the array (and every view of it) is freed."""
    nbytes = int(size) * np.dtype(dtype).itemsize
    populate = getattr(mmap, "MAP_POPULATE", None)
    if populate is None or nbytes == 0:
        return np.zeros(size, dtype)
    buf = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | populate)
    return np.frombuffer(buf, dtype, size)


def symmetric_from_lower(blocks: dict, nblocks: int):
    """Assemble a symmetric matrix from its lower block triangle {(I, J): block, I ≥ J}."""
    xp = np if all(isinstance(b, np.ndarray) for b in blocks.values()) else jnp
    rows = []
    for I in range(nblocks):
        rows.append(xp.concatenate(
            [blocks[I, J] if I >= J else blocks[J, I].T for J in range(nblocks)], axis=1))
    return xp.concatenate(rows, axis=0)
