"""Exactness of the fast paths of issue 8 against independent references.

Fast paths: the host-BLAS Gram (numpy syrk), the blocked lower-triangle XLA Gram used under
tracing, the loss-weighted Gram built from H^{1/2}-mixed backward signals, the ce reduction of
ggn_eigenvalues (n exact zeros split off) and the 2-stage eigensolver.
References: the autodiff Jacobian Gram J Jᵀ, the dense product (1/n) Sᵀ K S with S the block
diagonal of the per-sample H_i^{1/2} (scipy.linalg.block_diag), the p × p autodiff GGN and numpy's
eigvalsh.

Tolerance 1e-10 relative (the issue's bar): every entry is a sum of O(L·m) products of O(1)
numbers, so float64 round-off is ~1e-16·√(L·m) ≲ 1e-14 relative here; a real mistake (a missing
layer, a wrong mask, a mixed-up row order i·k + c) changes entries by ≳ 1e-3 relative.
"""

from unittest import mock

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import ntk_params
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.linalg import block_diag

import linrelu as lr
from linrelu.spectral import closed_form_gram, gram, linalg

TOL = 1e-10
EXAMPLES = 10


def host_path_for_every_width():
    """Make the dispatch choose the host BLAS path even for the tiny test nets (the documented
    override; without it the choice would depend on this machine's measurement)."""
    return mock.patch.dict("os.environ", {"LINRELU_GRAM_BACKEND": "host"})


@pytest.mark.parametrize("measured", ["host", "xla"])
def test_dispatch_uses_the_measured_backend_only_for_wide_concrete_nets_on_cpu(measured):
    """The host path returns numpy, the XLA path a jax array: the type tells which ran. Wide nets
    follow the per-process measurement (faked here), narrow ones always run on XLA."""
    wide, narrow = lr.MLP((2, 4096, 3)), lr.MLP((2, 16, 3))
    X = jnp.ones((2, 2))
    with mock.patch.dict(linalg._measured, {"gram": {"choice": measured}}), \
            mock.patch.dict("os.environ", {"LINRELU_GRAM_BACKEND": "auto"}):
        K_wide = closed_form_gram.mixed_gram(wide, wide.init(jax.random.PRNGKey(0)), X)
        K_narrow = closed_form_gram.mixed_gram(narrow, narrow.init(jax.random.PRNGKey(0)), X)
    assert isinstance(K_wide, np.ndarray) == (measured == "host")
    assert not isinstance(K_narrow, np.ndarray)
    assert linalg.use_host_blas(X)
    jax.jit(lambda X: assert_traced_not_host(X))(X)
    with mock.patch.object(linalg.jax, "default_backend", lambda: "gpu"):
        assert not linalg.use_host_blas(X)  # on an accelerator: never copy to the host


def assert_traced_not_host(X):
    assert not linalg.use_host_blas(X)
    return X


def rel_err(A, B) -> float:
    A, B = np.asarray(A, np.float64), np.asarray(B, np.float64)
    return float(np.abs(A - B).max() / max(np.abs(B).max(), 1e-300))


@st.composite
def cases(draw, max_width=12, max_n=9):
    depth = draw(st.integers(0, 3))
    sizes = (draw(st.integers(1, 5)), *[draw(st.integers(1, max_width)) for _ in range(depth)],
             draw(st.integers(1, 4)))
    net = lr.MLP(sizes, sigma_w=draw(st.sampled_from([1.0, 2**0.5])),
                 sigma_b=draw(st.sampled_from([0.0, 0.3])))
    seed = draw(st.integers(0, 2**16))
    n = draw(st.integers(1, max_n))
    rng = np.random.default_rng(seed)
    params = ntk_params(sizes, rng)  # numpy draws: jax.random compiled a program per shape
    X = rng.normal(size=(n, sizes[0]))
    loss = draw(st.sampled_from(["ce", "mse"]))
    loss = "mse" if sizes[-1] == 1 else loss  # ce with k = 1 is refused (issue 20, item 8)
    targets = (rng.integers(0, sizes[-1], size=n) if loss == "ce"
               else rng.normal(size=(n, sizes[-1])))
    return net, params, X, targets, loss


@settings(max_examples=EXAMPLES, deadline=None)
@given(cases())
def test_host_and_traced_grams_equal_the_autodiff_gram(case):
    net, params, X, _, _ = case
    K_ref = lr.jacobian_gram_autodiff(net, params, X)
    K_host = closed_form_gram.mixed_gram_host(net, params, jnp.asarray(X))  # numpy/OpenBLAS
    K_xla = closed_form_gram.mixed_gram_xla(net, params, jnp.asarray(X))  # one XLA program
    assert rel_err(K_host, K_ref) <= TOL
    assert rel_err(K_xla, K_ref) <= TOL
    with host_path_for_every_width():  # the public function through the host dispatch
        assert rel_err(lr.jacobian_gram(net, params, X), K_ref) <= TOL


def test_blocked_lower_triangle_equals_autodiff(monkeypatch):
    """Force 1..5 sample blocks (uneven sizes) so every block pair and the mirroring is used."""
    net = lr.MLP((4, 9, 7, 3), sigma_b=0.2)
    params = net.init(jax.random.PRNGKey(3))
    X = np.random.default_rng(3).normal(size=(11, 4))
    K_ref = lr.jacobian_gram_autodiff(net, params, X)
    for b in range(1, 6):
        edges = [round(i * 11 / b) for i in range(b + 1)]
        monkeypatch.setattr(closed_form_gram, "row_blocks",
                            lambda n, r, e=edges: list(zip(e[:-1], e[1:], strict=True)))
        closed_form_gram.mixed_gram_xla.clear_cache()  # retrace with the patched blocks
        K = closed_form_gram.mixed_gram_xla(net, params, jnp.asarray(X))
        assert rel_err(K, K_ref) <= TOL, b


@pytest.mark.parametrize("n,r", [(1, 10), (7, 1), (64, 10), (256, 10), (512, 9), (1000, 3)])
def test_sample_blocks_partition_the_samples(n, r):
    spans = linalg.row_blocks(n, r)
    assert spans[0][0] == 0 and spans[-1][1] == n
    assert all(a < b for a, b in spans)
    assert all(spans[i][1] == spans[i + 1][0] for i in range(len(spans) - 1))


@settings(max_examples=EXAMPLES, deadline=None)
@given(cases())
def test_loss_weighted_gram_from_mixed_signals_equals_S_K_S(case):
    """G = (1/n) S K S, reference: dense block-diagonal S times the autodiff K (no gram code)."""
    net, params, X, targets, loss = case
    n = X.shape[0]
    K_ref = np.asarray(lr.jacobian_gram_autodiff(net, params, X))
    S = lr.output_hessian_sqrt(net.apply(params, X), loss)
    S_blocks = block_diag(*np.asarray(S))  # rows/columns i·k + c, like K
    G_ref = S_blocks.T @ K_ref @ S_blocks / n
    G_fast = lr.loss_weighted_gram(net, params, X, targets, loss)
    assert rel_err(G_fast, G_ref) <= TOL
    # the path from a precomputed K (gram=...) as well
    assert rel_err(lr.loss_weighted_gram(net, params, X, targets, loss, gram=K_ref), G_ref) <= TOL
    with host_path_for_every_width():
        assert rel_err(lr.loss_weighted_gram(net, params, X, targets, loss), G_ref) <= TOL
    # and the traced path of the same mixed Gram
    G_xla = closed_form_gram.mixed_gram_xla(net, params, jnp.asarray(X), S) / n
    assert rel_err(G_xla, G_ref) <= TOL


@settings(max_examples=EXAMPLES, deadline=None)
@given(cases(max_width=8, max_n=6))
def test_ggn_eigenvalues_equal_the_p_by_p_autodiff_ggn(case):
    """T1 with the fast path: top min(p, nk) eigenvalues of the p × p GGN, then exact zeros."""
    net, params, X, targets, loss = case
    ev_p = np.linalg.eigvalsh(np.asarray(lr.ggn_matrix(net, params, X, targets, loss)))[::-1]
    with host_path_for_every_width():
        ev_host = lr.ggn_eigenvalues(net, params, X, targets, loss)
    ev = lr.ggn_eigenvalues(net, params, X, targets, loss)
    assert rel_err(ev_host, ev) <= TOL if np.any(ev) else np.all(ev_host == 0)
    n, k = X.shape[0], net.out_dim
    assert ev.shape == (n * k,)
    assert np.all(np.diff(ev) <= 0)
    m = min(ev.size, ev_p.size)
    scale = max(abs(ev_p[0]), 1e-300)
    assert np.abs(ev[:m] - ev_p[:m]).max() <= TOL * scale
    assert np.abs(ev[m:]).max(initial=0.0) <= TOL * scale
    if loss == "ce":  # H_i 𝟙 = 0: at least n eigenvalues are returned as exact zeros
        assert np.count_nonzero(ev == 0.0) >= n


@settings(max_examples=EXAMPLES, deadline=None)
@given(cases())
def test_ce_factor_gram_plus_zeros_has_the_spectrum_of_G(case):
    net, params, X, _, _ = case
    assume(net.out_dim >= 2)  # ce with k = 1 is refused (issue 20, item 8)
    targets = np.arange(X.shape[0]) % net.out_dim  # labels (the case may hold mse targets)
    G = np.asarray(lr.loss_weighted_gram(net, params, X, targets, "ce"))
    G_r, zeros = gram.reduced_loss_weighted_gram(net, params, X, targets, "ce")
    n, k = X.shape[0], net.out_dim
    assert zeros == (n if k >= 2 else 0)
    assert G_r.shape[0] + zeros == n * k
    ev = np.sort(np.concatenate([np.linalg.eigvalsh(G_r), np.zeros(zeros)]))
    ev_ref = np.linalg.eigvalsh(G)
    assert np.abs(ev - ev_ref).max() <= TOL * max(np.abs(ev_ref).max(), 1e-300) + 1e-300


@pytest.mark.parametrize("size", [0, 1, 2, 37, 300])
def test_two_stage_eigensolver_equals_numpy_eigvalsh(size):
    rng = np.random.default_rng(size)
    A = rng.normal(size=(size, size))
    A = A + A.T
    ev = linalg.eigvalsh_desc_fast(A)
    ref = np.linalg.eigvalsh(A)[::-1]
    assert ev.shape == ref.shape
    if size:
        # backward-stable solvers: |λ̂ − λ| ≲ c·n·ε‖A‖ ≈ 1e-13‖A‖ at n = 300
        assert np.abs(ev - ref).max() <= TOL * np.abs(ref).max()


def test_two_stage_eigensolver_reads_only_the_lower_triangle():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(20, 20))
    A = A + A.T
    garbage_upper = np.tril(A) + np.triu(rng.normal(size=(20, 20)), 1)
    assert rel_err(linalg.eigvalsh_desc_fast(garbage_upper),
                   np.linalg.eigvalsh(A)[::-1]) <= TOL


@pytest.mark.parametrize("loss", ["ce", "mse"])
@pytest.mark.parametrize("generic", [False, True])
def test_task_grams_are_the_separate_grams_to_the_bit_and_match_autodiff(loss, generic):
    """One pass of a task start (issue 35): K and (G_r, z) as jacobian_gram and
    reduced_loss_weighted_gram compute them alone, bit for bit (the continual results stored
    before the change stay valid), and both against the autodiff J Jᵀ (TOL)."""
    from linrelu.models.network import resolve
    from linrelu.spectral.equivalence import eigenvalues_from_reduced

    net = lr.MLP((5, 7, 6, 3))
    params = net.init(jax.random.PRNGKey(1))
    X = np.random.default_rng(1).normal(size=(4, 5))
    y = np.array([0, 2, 1, 2]) if loss == "ce" else np.random.default_rng(2).normal(size=(4, 3))
    model = net if not generic else (lambda p, x: net.apply(p, x))  # a generic model
    nw = resolve(model, params, X)
    grams = gram.network_task_grams(nw, y, loss)
    G_r, zeros = gram.reduced_loss_weighted_gram(model, params, X, y, loss)
    assert np.array_equal(np.asarray(grams.K), lr.jacobian_gram(model, params, X))
    assert np.array_equal(np.asarray(grams.reduced), np.asarray(G_r))
    assert grams.zeros == zeros == (4 if loss == "ce" else 0)
    K_ad = lr.jacobian_gram_autodiff(net, params, X)
    assert np.abs(np.asarray(grams.K) - K_ad).max() <= TOL * np.abs(K_ad).max()
    ev = eigenvalues_from_reduced(grams.reduced, grams.zeros)
    assert np.array_equal(ev, lr.ggn_eigenvalues(model, params, X, y, loss))
    ev_ref = np.linalg.eigvalsh(np.asarray(lr.loss_weighted_gram(net, params, X, y, loss)))[::-1]
    assert np.abs(ev - ev_ref).max() <= TOL * np.abs(ev_ref).max()


@pytest.mark.parametrize("populate", [True, False])
@pytest.mark.parametrize("size", [0, 1, 1000])
def test_fresh_array_is_a_writable_zero_array_of_the_size_asked(size, populate, monkeypatch):
    if not populate:  # a platform without MAP_POPULATE: plain numpy zeros
        monkeypatch.delattr(linalg.mmap, "MAP_POPULATE", raising=False)
    a = linalg.fresh_array(size, np.float64)
    assert a.shape == (size,) and a.dtype == np.float64 and a.flags.writeable
    assert not np.any(a)
    a[:] = np.arange(size)
    assert np.array_equal(a, np.arange(size))


@pytest.mark.parametrize("sizes", [(5, 9, 4, 7, 6, 3), (5, 3)])
def test_host_gram_reuses_its_work_arrays_across_layers_and_agrees_with_autodiff(sizes):
    """Depth 4 (the recursion's two buffers each used twice), distinct widths (a buffer holds
    Δ̃_l of different shapes), and depth 0 (no buffers), with and without an output mixing Q,
    against autodiff."""
    net = lr.MLP(sizes)
    params = net.init(jax.random.PRNGKey(3))
    X = jnp.asarray(np.random.default_rng(3).normal(size=(4, 5)))
    Q = jnp.asarray(np.random.default_rng(4).normal(size=(4, 3, 2)))
    K_ad = lr.jacobian_gram_autodiff(net, params, X)
    with lr.float64():
        K = closed_form_gram.mixed_gram_host(net, params, jnp.asarray(X, jnp.float64))
        M = closed_form_gram.mixed_gram_host(net, params, jnp.asarray(X, jnp.float64), Q)
    Qd = block_diag(*np.asarray(Q))
    assert np.abs(K - K_ad).max() <= TOL * np.abs(K_ad).max()
    assert np.abs(M - Qd.T @ K_ad @ Qd).max() <= TOL * np.abs(M).max()
