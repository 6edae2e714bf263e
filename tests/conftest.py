"""Shared test fixtures and strategies.

Hypothesis profiles: "default" (used by `pytest`) runs every core property on 25 random
networks (random values; architectures mostly from a pool, :func:`networks`); "ci" is the same
with derandomize=True so CI failures reproduce exactly.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

# The tests are float64 programs (every tolerance assumes float64 round-off): enable it for the
# whole test process here, before linrelu is imported, instead of relying on an import to flip
# the global flag.
jax.config.update("jax_enable_x64", True)

import linrelu  # noqa: E402

# The property tests compile a fresh XLA program for every random network shape; compile time,
# not run time, dominates the suite. Skipping XLA's optimization passes cuts it by about a third
# and changes no result beyond round-off (the tolerances below are 10³–10⁵ × round-off). Outside
# the tests, the library, paper_repro.py and the benchmarks run fully optimized.
jax.config.update("jax_disable_most_optimizations", True)
# ... and so do the subprocesses the tests start (paper_repro.py, the CLI, the README's
# examples, the benchmarks' cells), which inherit this environment. Measured one at a time on the
# 2-core EPYC (2026-11-26), optimized vs not: the README's four examples 12.0 / 21.7 / 7.9 /
# 24.9 s vs 10.4 / 11.6 / 6.5 / 19.6 s (half of the Flax example was compiling flax's
# truncated-normal init); both benchmark entry points at toy sizes 37.7 vs 29.2 s. No subprocess
# of the suite trains a ConvNet (in-process ConvNet training: fixture optimized_xla).
os.environ["JAX_DISABLE_MOST_OPTIMIZATIONS"] = "1"

# One persistent XLA compilation cache per test run, shared by the pytest-xdist workers and by
# the subprocesses the tests start (paper_repro.py, the CLI, benchmarks): a program that two
# workers, two tests or two fresh closures compile (same HLO, same options) compiles once. It
# holds compiled programs only, never a result, and is removed when the run ends
# (pytest_sessionfinish). The controller (or a lone pytest process) creates it; the xdist
# workers, started after this file is imported, inherit its path through the environment.
if "LINRELU_TEST_XLA_CACHE" not in os.environ:
    os.environ["LINRELU_TEST_XLA_CACHE"] = tempfile.mkdtemp(prefix="linrelu-test-xla-cache-")
    _OWNS_XLA_CACHE = True
else:
    _OWNS_XLA_CACHE = False
os.environ["JAX_COMPILATION_CACHE_DIR"] = os.environ["LINRELU_TEST_XLA_CACHE"]
os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "-1"
jax.config.update("jax_compilation_cache_dir", os.environ["LINRELU_TEST_XLA_CACHE"])
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)


@pytest.fixture
def optimized_xla():
    """XLA's optimization passes back on for one test. Unoptimized programs compile faster but
    can run far slower: unoptimized convolution gradients ran ~40× slower on CPU (0.5 s per
    step of the ConvNet; the ConvNet tests of test_engine_generic.py use this), and the tiny
    ``--full`` class-pair run (the paper's ConvNet, HVPs for SLQ) took 92 s unoptimized and
    28 s optimized (2-core EPYC, 2026-11-26, whole suite under ``-n 2``). The whole suite
    optimized took 1002 s against 857 s unoptimized, most tests being as fast or faster
    unoptimized and a few ConvNet / Gram tests 10–40 % slower (per-test comparisons are blurred
    by the shared compilation cache: the first test to compile a program pays for it)."""
    before = jax.config.read("jax_disable_most_optimizations")
    jax.config.update("jax_disable_most_optimizations", False)
    try:
        yield
    finally:
        jax.config.update("jax_disable_most_optimizations", before)


def pytest_sessionfinish(session, exitstatus):
    if _OWNS_XLA_CACHE:
        shutil.rmtree(os.environ["LINRELU_TEST_XLA_CACHE"], ignore_errors=True)

# One BLAS thread for numpy/scipy in the test process. XLA's worker threads keep spinning for a
# while after every jax call; OpenBLAS's own threads then fight them for the cores, and a
# 500 × 500 eigvalsh right after a jax call took 2–3 s instead of 0.03 s (two cores; worse under
# `-n auto`, where two workers share them). The limit changes no result beyond round-off (the
# tolerances are 10³–10⁵ × round-off). pytest's plugins import numpy (so OpenBLAS) before this
# file, too early for OPENBLAS_NUM_THREADS; threadpoolctl (a scikit-learn dependency) sets it at
# run time. A benchmark that asks for N threads (benchmarks.blas_threads) still gets them inside
# its own `with` block.
threadpool_limits(limits=1, user_api="blas")

settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True,
    print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")


#: Architectures (d, hidden widths, k, n, loss, σ_w, σ_b) that ``networks`` draws 4 times in 5
#: (values random): XLA compiles one program per network shape and σ (≈ 1–3 s, the suite's main
#: cost), so repeating shapes lets most examples reuse a compiled program, while every fifth
#: example is a fully random architecture. Edge cases: n = 1, width 1, k = 1 (mse), depth 4,
#: width 64, σ_b = 0.
ARCHITECTURES = (
    (1, (1,), 1, 1, "mse", 1.0, 0.0),
    (3, (5,), 2, 4, "ce", 1.4142135623730951, 0.5),
    (8, (64,), 5, 12, "mse", 2.0, 1.0),
    (4, (7, 3), 3, 6, "ce", 0.7, 0.1),
    (2, (16, 16), 1, 9, "mse", 1.0, 0.0),
    (5, (3, 9, 4), 4, 5, "ce", 1.3, 0.8),
    (6, (12, 2, 12), 2, 12, "mse", 1.9, 0.3),
    (3, (4, 4, 4, 4), 3, 3, "ce", 1.0, 1.0),
    (7, (32, 8, 2, 5), 5, 7, "mse", 0.6, 0.0),
    (1, (2, 1), 2, 2, "ce", 1.5, 0.0),
    (8, (10, 20), 5, 11, "ce", 1.2, 0.4),
    (2, (6,), 3, 1, "mse", 1.7, 0.9),
)


def _shrunk(sizes, max_params):
    """Halve the hidden widths until p ≤ max_params (deterministic: a pooled shape stays one)."""
    if max_params is not None:
        while sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])) > max_params:
            sizes = [sizes[0]] + [max(1, w // 2) for w in sizes[1:-1]] + [sizes[-1]]
    return sizes


@st.composite
def networks(draw, max_width=64, max_depth=4, max_n=12, max_k=5, max_params=None,
             min_depth=1, losses=("mse", "ce")):
    """A random (net, params, X, targets, loss) in the ranges of the core issue.

    Four examples in five take their architecture from :data:`ARCHITECTURES` (those within the
    ranges asked for), the fifth a fully random one; params, inputs and targets are always random.
    ``max_params`` keeps p small where a test needs p × p matrices (autodiff Hessians): widths
    are redrawn smaller rather than filtered, so Hypothesis never rejects examples.
    """
    pool = [a for a in ARCHITECTURES
            if min_depth <= len(a[1]) <= max_depth and max(a[1]) <= max_width
            and a[3] <= max_n and a[2] <= max_k and a[4] in losses]
    if pool and draw(st.integers(0, 4)) > 0:
        d, widths, k, n, loss, sigma_w, sigma_b = draw(st.sampled_from(pool))
        sizes = _shrunk([d, *widths, k], max_params)
    else:
        depth = draw(st.integers(min_depth, max_depth))
        d = draw(st.integers(1, 8))
        loss = draw(st.sampled_from(losses))
        # ce with k = 1 is refused (issue 20, item 8: its loss, gradient and GGN are identically 0)
        k = draw(st.integers(2 if loss == "ce" else 1, max(max_k, 2)))
        n = draw(st.integers(1, max_n))
        widths = [draw(st.integers(1, max_width)) for _ in range(depth)]
        sizes = _shrunk([d, *widths, k], max_params)
        sigma_w = draw(st.floats(0.5, 2.0))
        sigma_b = draw(st.floats(0.0, 1.0))
    seed = draw(st.integers(0, 2**31 - 1))
    net = linrelu.MLP(tuple(sizes), sigma_w=sigma_w, sigma_b=sigma_b)
    rng = np.random.default_rng(seed)
    params = ntk_params(sizes, rng)
    X = rng.normal(size=(n, d))
    targets = rng.normal(size=(n, k)) if loss == "mse" else rng.integers(0, k, size=n)
    return net, params, X, targets, loss


def ntk_params(sizes, rng):
    """N(0, 1) weights and biases for an MLP of layer ``sizes``, as MLP.init draws them (NTK
    parameterization), but from the numpy Generator ``rng``: jax.random compiles one program per
    layer shape (≈ 0.2 s each, 13 % of a property test)."""
    return [(jnp.asarray(rng.normal(size=(a, b))), jnp.asarray(rng.normal(size=b)))
            for a, b in zip(sizes[:-1], sizes[1:])]


def np_mlp_grad(params, X, Y, sigma_w, sigma_b, l2):
    """Hand backprop of L = ½·mean_i‖f(x_i) − y_i‖² + (l2/2)‖θ‖² for a 1-hidden-layer NTK MLP."""
    (W1, b1), (W2, b2) = params
    n, d = X.shape
    m = W1.shape[1]
    s1, s2 = sigma_w / np.sqrt(d), sigma_w / np.sqrt(m)
    z1 = s1 * X @ W1 + sigma_b * b1
    h = np.maximum(z1, 0)
    f = s2 * h @ W2 + sigma_b * b2
    delta = (f - Y) / n                      # ∂L/∂f
    gW2 = s2 * h.T @ delta
    gb2 = sigma_b * delta.sum(0)
    dz1 = (s2 * delta @ W2.T) * (z1 > 0)
    gW1 = s1 * X.T @ dz1
    gb1 = sigma_b * dz1.sum(0)
    grads = [[gW1, gb1], [gW2, gb2]]
    return [[g + l2 * p for g, p in zip(gs, ps)] for gs, ps in zip(grads, params)]


def rel_err(a, b) -> float:
    """max |a − b| / max(|b|_max, tiny): entrywise error relative to the reference's scale."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = max(float(np.abs(b).max(initial=0.0)), 1e-300)
    return float(np.abs(a - b).max(initial=0.0) / scale)
