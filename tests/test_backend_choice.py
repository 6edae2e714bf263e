"""Issue 21: the host-vs-XLA choices of linrelu.spectral.linalg (closed-form Gram, eigensolver) are
made by
measurement per process and can be overridden (argument ``backend=``, environment variables
``LINRELU_GRAM_BACKEND`` / ``LINRELU_EIGH_BACKEND``). No timing is asserted: the machine is shared.

Tolerance 1e-12 relative for host vs XLA: both backends run the same engine (same products, same
order, same elementwise steps); only the BLAS kernels differ (syrk vs XLA's blocked dot: different
summation order and FMA use inside each dot product). Each entry is a sum of O(L·m) products of
O(1) numbers, so the two differ by ~ε·√(L·m)·max|K| ≲ 1e-14 relative at these widths (measured
≤ 1e-15 at width 4096 in benchmarks/RESULTS.md); a genuine difference between the backends (a
dropped block, a transposed block, a wrong mask) is ≳ 1e-3 relative. The two eigensolvers are
different algorithms, each backward stable: |λ̂ − λ| ≲ c·n·ε·‖A‖ ≈ 1e-13‖A‖ at n = 300.
"""

from unittest import mock

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import linrelu as lr
from linrelu.spectral import closed_form_gram, linalg

TOL = 1e-12


def rel(A, B) -> float:
    A, B = np.asarray(A, np.float64), np.asarray(B, np.float64)
    return float(np.abs(A - B).max() / np.abs(B).max())


def no_measurement(*_a, **_k):
    raise AssertionError("an override must not trigger the measurement")


@pytest.fixture
def clean_env(monkeypatch):
    for env, _ in linalg.CHOICES.values():
        monkeypatch.delenv(env, raising=False)
    return monkeypatch


@pytest.mark.parametrize("sizes,n", [((5, 7, 6, 3), 9), ((3, 2048, 2048, 4), 5)])
@pytest.mark.parametrize("Q_cols", [None, 2])
def test_forced_backends_give_the_same_gram(clean_env, sizes, n, Q_cols):
    """Each backend forced by the argument: same K (and same mixed Gram QᵀKQ) to 1e-12."""
    net = lr.MLP(sizes, sigma_b=0.1)
    params = net.init(jax.random.PRNGKey(1))
    rng = np.random.default_rng(1)
    X = jnp.asarray(rng.normal(size=(n, sizes[0])))
    Q = None if Q_cols is None else jnp.asarray(rng.normal(size=(n, sizes[-1], Q_cols)))
    clean_env.setattr(linalg, "measure_backends", no_measurement)
    K_host = closed_form_gram.mixed_gram(net, params, X, Q, backend="host")
    K_xla = closed_form_gram.mixed_gram(net, params, X, Q, backend="xla")
    assert isinstance(K_host, np.ndarray) and not isinstance(K_xla, np.ndarray)  # which ran
    assert rel(K_host, K_xla) <= TOL
    if Q is None and sizes[1] < 100:  # and both equal the independent autodiff Gram
        assert rel(K_host, lr.jacobian_gram_autodiff(net, params, X)) <= 1e-10


@pytest.mark.parametrize("value", ["host", "xla", " XLA "])
def test_environment_override_is_honoured(clean_env, value):
    """The env var decides for wide and narrow nets alike, without measuring; the argument beats
    the env var."""
    clean_env.setenv("LINRELU_GRAM_BACKEND", value)
    clean_env.setattr(linalg, "measure_backends", no_measurement)
    want = value.strip().lower()
    for sizes in ((2, 16, 3), (2, 4096, 3)):
        net = lr.MLP(sizes)
        params = net.init(jax.random.PRNGKey(0))
        X = jnp.ones((2, 2))
        assert closed_form_gram.gram_backend(net, params, X) == want
        K = closed_form_gram.mixed_gram(net, params, X)
        assert isinstance(K, np.ndarray) == (want == "host")
        other = "xla" if want == "host" else "host"
        assert closed_form_gram.gram_backend(net, params, X, backend=other) == other
    assert linalg.backend_report(measure=False)["gram"]["source"] == (
        "environment variable LINRELU_GRAM_BACKEND")


def test_argument_override_is_honoured_over_the_measurement(clean_env):
    net = lr.MLP((2, 4096, 3))
    params, X = net.init(jax.random.PRNGKey(0)), jnp.ones((2, 2))
    for measured in ("host", "xla"):
        with mock.patch.dict(linalg._measured, {"gram": {"choice": measured}}):
            assert closed_form_gram.gram_backend(net, params, X) == measured
            assert closed_form_gram.gram_backend(net, params, X, backend="auto") == measured
            for forced in ("host", "xla"):
                assert closed_form_gram.gram_backend(net, params, X, backend=forced) == forced


def test_xla_is_used_where_the_host_path_is_impossible(clean_env):
    """Under jit the env var cannot send the Gram to the host; the argument says so."""
    net = lr.MLP((2, 8, 3))
    params = net.init(jax.random.PRNGKey(0))
    clean_env.setenv("LINRELU_GRAM_BACKEND", "host")
    K = jax.jit(lambda X: closed_form_gram.mixed_gram(net, params, X))(jnp.ones((2, 2)))
    assert K.shape == (6, 6)
    with pytest.raises(ValueError, match=r"backend: expected 'auto' or 'xla'.*received 'host'"):
        jax.jit(lambda X: closed_form_gram.mixed_gram(net, params, X, backend="host"))(
            jnp.ones((2, 2)))


def test_bad_backend_values_name_the_argument(clean_env):
    net = lr.MLP((2, 8, 3))
    params, X = net.init(jax.random.PRNGKey(0)), jnp.ones((2, 2))
    with pytest.raises(ValueError, match=r"backend: expected one of 'auto', 'host', 'xla', "
                                         r"received 'gpu'"):
        closed_form_gram.mixed_gram(net, params, X, backend="gpu")
    with pytest.raises(ValueError, match=r"backend: .*received 3"):
        linalg.eigvalsh_desc_fast(np.eye(3), backend=3)
    clean_env.setenv("LINRELU_GRAM_BACKEND", "numpy")
    with pytest.raises(ValueError, match=r"environment variable LINRELU_GRAM_BACKEND: expected "
                                         r"one of 'auto', 'host', 'xla', received 'numpy'"):
        closed_form_gram.mixed_gram(net, params, X)
    with pytest.raises(ValueError, match=r"choice: expected one of \['eigh', 'gram'\]"):
        linalg.choose_backend("fft")


@pytest.mark.parametrize("n", [5, 300])
def test_forced_eigensolvers_agree_and_env_override_is_honoured(clean_env, n):
    rng = np.random.default_rng(n)
    A = rng.normal(size=(n, n))
    A = A + A.T
    clean_env.setattr(linalg, "measure_backends", no_measurement)
    ref = np.linalg.eigvalsh(A)[::-1]
    calls = {"host": 0, "xla": 0}
    host, xla = linalg._host_eigvalsh, linalg._xla_eigvalsh

    def count(name, fn):
        def wrapped(*a):
            calls[name] += 1
            return fn(*a)
        return wrapped

    clean_env.setattr(linalg, "_host_eigvalsh", count("host", host))
    clean_env.setattr(linalg, "_xla_eigvalsh", count("xla", xla))
    for b in ("host", "xla"):
        ev = linalg.eigvalsh_desc_fast(A, backend=b)
        assert calls[b] == 1, b
        assert np.abs(ev - ref).max() <= TOL * np.abs(ref).max()
    clean_env.setenv("LINRELU_EIGH_BACKEND", "xla")
    linalg.eigvalsh_desc_fast(A)
    assert calls == {"host": 1, "xla": 2}


def test_measurement_is_cached_and_reported(clean_env):
    """The measurement runs once per process and the report shows the choice and both timings
    (values not asserted: the machine is shared)."""
    clean_env.setattr(linalg, "_measured", {})
    first = linalg.measure_backends("gram", repeats=1)
    assert first["choice"] in ("host", "xla")
    assert first["host_s"] > 0 and first["xla_s"] > 0
    assert linalg.measure_backends("gram") is first  # cached
    report = linalg.backend_report(measure=False)
    assert report["gram"]["backend"] == first["choice"]
    assert report["gram"]["source"] == "measurement"
    assert report["eigh"]["host_s"] is None  # not measured yet, and measure=False keeps it so
    text = linalg.format_backend_report(measure=False)
    assert "LINRELU_GRAM_BACKEND" in text and "LINRELU_EIGH_BACKEND" in text


def test_off_the_cpu_backend_nothing_is_measured_and_xla_is_chosen(clean_env):
    clean_env.setattr(linalg, "_measured", {})
    with mock.patch.object(linalg.jax, "default_backend", lambda: "gpu"):
        res = linalg.measure_backends("eigh")
    assert res["choice"] == "xla" and res["host_s"] is None
