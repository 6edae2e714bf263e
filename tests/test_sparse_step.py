"""The sparse first-layer SGD step (linrelu.continual.train.sparse_width): its input encoding, its
forward pass, and whole training runs against NumPy loops written out here (plain SGD with and
without L2, with the lazily carried decay across block boundaries, and the separate ER schedule
in blocks with a remainder)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import np_mlp_grad

import linrelu
from linrelu.continual import Task, make_agent, mean_erank, train_task
from linrelu.continual import train as training
from linrelu.models.mlp import (
    forward_trace,
    sparse_first_preactivation,
    sparse_inputs,
    trace_from_first_preactivation,
)
from linrelu.precision import float64


def _sparse_matrix(n, d, density, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * (rng.random((n, d)) < density)
    X[0] = 0.0  # an all-zero row
    return X


def test_sparse_inputs_against_a_row_by_row_loop():
    X = _sparse_matrix(7, 11, 0.3, 0)
    idx, vals = sparse_inputs(X, width=9)
    assert idx.shape == vals.shape == (7, 9) and idx.dtype == np.int32
    for i in range(7):
        cols = np.nonzero(X[i])[0]
        np.testing.assert_array_equal(idx[i, :cols.size], cols)
        np.testing.assert_array_equal(vals[i, :cols.size], X[i, cols])
        np.testing.assert_array_equal(idx[i, cols.size:], 0)   # padding: column 0, value 0
        np.testing.assert_array_equal(vals[i, cols.size:], 0.0)
    most = int(np.count_nonzero(X, axis=1).max())
    assert sparse_inputs(X)[0].shape == (7, most)
    with pytest.raises(ValueError, match="width"):
        sparse_inputs(X, width=most - 1)
    with pytest.raises(ValueError, match="X"):
        sparse_inputs(X[0])


@pytest.mark.parametrize("parameterization", ["ntk", "standard"])
def test_sparse_forward_equals_the_dense_trace(parameterization):
    net = linrelu.MLP((11, 6, 5, 3), sigma_b=0.4, parameterization=parameterization)
    params = net.init(jax.random.PRNGKey(1))
    X = _sparse_matrix(5, 11, 0.4, 1)
    idx, vals = sparse_inputs(X)
    with float64():
        (W1, b1) = params[0]
        z1 = sparse_first_preactivation(net, jnp.asarray(W1)[idx], b1, jnp.asarray(vals))
        got = trace_from_first_preactivation(net, params, z1, X)
        want = forward_trace(net, params, jnp.asarray(X))
    # float64, sums of ≤ 11 terms in another order: round-off ~1e-16 relative
    for a, b in zip(got.preacts, want.preacts):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    for a, b in zip(got.acts[1:], want.acts[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def _np_sgd(params, X, Y, order, lr, l2, sigma_w, sigma_b):
    """Minibatch-1 SGD on L = ½‖f(x) − y‖² + (l2/2)‖θ‖², 1-hidden-layer NTK MLP, hand backprop."""
    p = [[np.asarray(a, np.float64) for a in pair] for pair in params]
    for i in order:
        g = np_mlp_grad(p, X[i:i + 1], Y[i:i + 1], sigma_w, sigma_b, l2)
        p = [[a - lr * ga for a, ga in zip(ps, gs)] for ps, gs in zip(p, g)]
    return p


@pytest.mark.parametrize("name,l2,block", [("bp", 0.0, 100), ("l2", 0.05, 100), ("l2", 0.05, 3)])
def test_sparse_sgd_matches_a_numpy_loop(monkeypatch, name, l2, block):
    """Plain SGD (and L2's decay carried as a scale, formed again every ``block`` steps) on
    sparse inputs takes the sparse path and lands where the dense recursion lands."""
    n = 10 + block % 7  # distinct task sizes: the trainer is cached per (…, n, …)
    monkeypatch.setattr(training, "SCALE_BLOCK", block)
    net = linrelu.MLP((12, 5, 2), sigma_b=0.5)
    params = net.init(jax.random.PRNGKey(2))
    X = _sparse_matrix(n, 12, 0.2, 2)
    Y = np.random.default_rng(3).normal(size=(n, 2))
    task = Task(0, X, Y, X, Y, X, Y, "mse", 2)
    agent = make_agent(name, lr=0.05, l2=l2)
    assert training.sparse_width(net, agent, X) is not None
    key = jax.random.PRNGKey(5)
    out, info = train_task(net, params, task, agent, epochs=2, batch_size=1, key=key)
    order = np.concatenate([np.asarray(jax.random.permutation(k, n))
                            for k in jax.random.split(key, 2)])
    want = _np_sgd(params, X, Y, order, 0.05, l2, net.sigma_w, net.sigma_b)
    # float32 training vs the float64 recursion over 2n ≤ 32 steps: round-off ~1e-6 relative
    for (W, b), (rW, rb) in zip(out, want):
        np.testing.assert_allclose(W, rW, rtol=2e-5, atol=2e-6)
        np.testing.assert_allclose(b, rb, rtol=2e-5, atol=2e-6)
    assert np.abs(np.asarray(out[0][0]) - np.asarray(params[0][0])).max() > 1e-3  # it moved


def test_separate_er_steps_in_blocks_with_a_remainder():
    """er_every = 3 on 7 examples: ER steps before steps 0, 3 and 6 on examples [0:3], [3:6] and
    [4:7] of the epoch's order (the last window clipped to the task), as documented; with a loss
    step of 1e-12 the result is those three ER steps."""
    net = linrelu.MLP((16, 6, 5, 3), parameterization="standard", sigma_b=0.0)
    X = _sparse_matrix(7, 16, 0.2, 4)
    X[0, :3] = 1.0  # no all-zero row here: every ER window has full-rank features
    y = np.random.default_rng(4).integers(0, 3, 7)
    task = Task(0, X, y, X, y, X, y, "ce", 3)
    params = net.init(jax.random.PRNGKey(0))
    agent = make_agent("er", lr=1e-12, er_mode="separate", er_lr=0.05, er_every=3)
    assert training.sparse_width(net, agent, X) is not None
    key = jax.random.PRNGKey(4)
    out, _ = train_task(net, params, task, agent, epochs=1, batch_size=1, key=key)
    order = np.asarray(jax.random.permutation(jax.random.split(key, 1)[0], 7))

    def er_steps(starts):
        with float64():
            p = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float32), params)
            for start in starts:
                Xer = jnp.asarray(X[order[start:start + 3]], jnp.float32)
                g = jax.grad(lambda q, Xer=Xer: -mean_erank(net.features(q, Xer)))(p)
                p = jax.tree_util.tree_map(lambda a, d: a - 0.05 * d, p, g)
        return jax.tree_util.tree_leaves(p)

    for a, b in zip(jax.tree_util.tree_leaves(out), er_steps((0, 3, 4))):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)  # float32 training
    # the schedule without the remainder's ER step lands elsewhere: the check can fail
    assert max(float(np.abs(np.asarray(a) - b).max())
               for a, b in zip(jax.tree_util.tree_leaves(out), er_steps((0, 3)))) > 1e-4


def test_sparse_width_rule():
    net = linrelu.MLP((12, 5, 2), sigma_b=0.5)
    sparse_X, dense_X = _sparse_matrix(9, 12, 0.2, 5), np.ones((9, 12))
    bp = make_agent("bp", lr=0.05)
    width = training.sparse_width(net, bp, sparse_X)
    most = int(np.count_nonzero(sparse_X, axis=1).max())
    assert width % training.SPARSE_WIDTH_QUANTUM == 0 and width >= most
    assert training.sparse_width(net, bp, dense_X) is None                      # too dense
    one_dense_row = sparse_X.copy()
    one_dense_row[1] = 1.0
    assert training.sparse_width(net, bp, one_dense_row) is None                # densest row
    assert training.sparse_width(net, make_agent("bp", lr=0.05, optimizer="momentum"),
                                 sparse_X) is None                              # momentum
    assert training.sparse_width(net, make_agent("bp", lr=0.05, clip_norm=1.0),
                                 sparse_X) is None                              # clipping
    assert training.sparse_width(net, make_agent("er", lr=0.05, er_mode="objective"),
                                 sparse_X) is None                              # ER in the loss
    assert training.sparse_width(net, make_agent("l2", lr=1.0, l2=0.5),
                                 sparse_X) is None                              # lr·λ·B > 1
    # an encoding (idx, vals) keeps its own width when wider than its densest row asks for
    idx, vals = sparse_inputs(sparse_X.astype(np.float32), width + 32)
    assert training.sparse_width(net, bp, (idx, vals)) == width + 32
    assert training.sparse_width(net, bp, sparse_inputs(sparse_X.astype(np.float32))) == width
    from linrelu.models.convnet import ConvNet

    images = np.zeros((9, 8, 8, 1))
    images[:, 0, 0, 0] = 1.0  # sparse images: the ConvNet still takes the dense step
    assert training.sparse_width(ConvNet((8, 8, 1), 2), bp, images) is None


def test_every_task_of_a_stream_gets_one_sparse_width():
    """A stream encodes its tasks at its pool's width: tasks of 60 of the 4000 pool images,
    whose densest rows differ, share one width (one compiled trainer), never narrower than a
    task needs."""
    from linrelu.continual import make_stream

    net = linrelu.MLP((784, 8, 10))
    bp = make_agent("bp", lr=0.01)
    stream = make_stream("permuted_mnist", seed=0, num_tasks=6, n_train=60, n_test=10,
                         n_probe=4)
    widths, needed = set(), set()
    for task in stream:
        widths.add(training.sparse_width(net, bp, task.X_sparse))
        needed.add(training.sparse_width(net, bp, task.X))  # from the dense rows alone
    assert len(widths) == 1 and len(needed) > 1  # the tasks alone would ask for several
    assert widths.pop() >= max(needed)
