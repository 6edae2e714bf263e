"""The continual engine on any model: MLP adapter, ConvNet training, ER schedules."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import linrelu
from linrelu.continual import (
    Task,
    as_model,
    evaluate,
    make_agent,
    make_stream,
    mean_erank,
    regularized_objective,
    run_continual,
    task_start_metrics,
    train_task,
    train_task_with_state,
)
from linrelu.models.convnet import ConvNet

# optimized_xla (conftest): unoptimized convolution gradients run ~40× slower on CPU (0.5 s
# per step of the ConvNet), so the ConvNet tests here compile optimized programs. The paper's
# ConvNet on the class_pairs stream (28×28 images, momentum 0.9, CBP) runs through run_cell in
# test_experiments_e5_e6_e7.py::test_tiny_convnet_cell.


def test_as_model_takes_the_mlp_itself_and_rejects_junk():
    net = linrelu.MLP((3, 4, 2))
    m = as_model(net)
    assert m is net  # one model protocol: the MLP is a model (init, apply, features)
    params = net.init(jax.random.PRNGKey(0))
    X = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_array_equal(m.features(params, X)[0], net.trace(params, X).acts[1])
    np.testing.assert_array_equal(m.apply(params, X), net.apply(params, X))
    conv = ConvNet((8, 8, 1), 2)
    assert as_model(conv) is conv
    with pytest.raises(ValueError, match="net"):
        as_model(object())


def _digits_task(n_train=64):
    return make_stream("permuted_digits", seed=0, num_tasks=1, n_train=n_train, n_test=32,
                       n_probe=8).task(0)


@pytest.mark.usefixtures("optimized_xla")
def test_convnet_learns_a_digits_task_with_momentum_and_flat_inputs():
    """8×8 digits as (n, 64) rows feed the ConvNet (8, 8, 1) directly; momentum SGD learns."""
    task = _digits_task()
    net = ConvNet((8, 8, 1), 10)
    params = net.init(jax.random.PRNGKey(0))
    before = evaluate(net, params, task.X, task.y, "ce")
    agent = make_agent("bp", lr=0.05, optimizer="momentum", momentum=0.9)
    out, info = train_task(net, params, task, agent, epochs=15, batch_size=16,
                           key=jax.random.PRNGKey(1))
    assert out[0][0].dtype == jnp.float64 and info["steps"] == 60
    assert info["loss"] < 0.5 * before["loss"] and info["accuracy"] > before["accuracy"] + 0.3
    with pytest.raises(ValueError, match="task"):
        train_task(ConvNet((8, 8, 1), 2), params, task, agent, epochs=1, batch_size=16,
                   key=jax.random.PRNGKey(1))


@pytest.mark.usefixtures("optimized_xla")
def test_cbp_and_er_train_the_convnet():
    task = _digits_task(32)
    net = ConvNet((8, 8, 1), 10)
    params = net.init(jax.random.PRNGKey(0))
    cbp = make_agent("cbp", lr=0.05, replacement_rate=0.02, maturity_threshold=2)
    _, state, info = train_task_with_state(net, params, None, task, cbp, epochs=4,
                                           batch_size=8, key=jax.random.PRNGKey(1))
    ages = [np.asarray(a) for a in state.cbp.age]
    assert [a.shape for a in ages] == [(32,), (64,), (128,), (128,), (128,)]
    # 16 steps; c_l grows by 0.02·m_l per step once units are mature (age > 2): in the 128-wide
    # layers ≈ 2.5 replacements per step, so some units must have been replaced (age < 16)
    assert all((a < 16).any() for a in ages[2:]) and all(a.max() == 16 for a in ages)
    er = make_agent("er", lr=0.05, er=0.1)
    out, info = train_task(net, params, task, er, epochs=2, batch_size=8,
                           key=jax.random.PRNGKey(1))
    assert np.isfinite(info["loss"])


def test_separate_er_step_then_the_loss_step():
    """er_mode="separate", er_every = 1, one full-batch step: θ₁ = θ₀ + η_er ∇ mean_l erank(h_l),
    then θ₂ = θ₁ − η ∇L(θ₁) (β does not enter the loss). Reference in float64 from jax.grad of
    the pieces; training is float32."""
    net = linrelu.MLP((4, 6, 5, 3))
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 4)), rng.integers(0, 3, 8)
    task = Task(0, X, y, X, y, X, y, "ce", 3)
    params = net.init(jax.random.PRNGKey(0))
    agent = make_agent("er", lr=0.1, er=0.7, er_mode="separate", er_lr=0.05, er_every=1)
    assert agent.er_in_objective == 0.0 and agent.er_separate
    out, _ = train_task(net, params, task, agent, epochs=1, batch_size=8,
                        key=jax.random.PRNGKey(2))
    feats = lambda p: net.trace(p, X).acts[1:]  # noqa: E731  erank is row-order invariant
    g_er = jax.grad(lambda p: mean_erank(feats(p)))(params)
    p1 = jax.tree_util.tree_map(lambda p, g: p + 0.05 * g, params, g_er)
    loss = regularized_objective(net, make_agent("bp", lr=0.1), X, y, "ce")
    p2 = jax.tree_util.tree_map(lambda p, g: p - 0.1 * g, p1, jax.grad(loss)(p1))
    for a, b in zip(jax.tree_util.tree_leaves(out), jax.tree_util.tree_leaves(p2)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)  # float32 vs float64 round-off
    # the ER step moved the weights (so dropping it would fail the check above)
    p_bp, _ = train_task(net, params, task, make_agent("bp", lr=0.1), epochs=1, batch_size=8,
                         key=jax.random.PRNGKey(2))
    assert max(float(jnp.abs(a - b).max()) for a, b in zip(
        jax.tree_util.tree_leaves(out), jax.tree_util.tree_leaves(p_bp))) > 1e-3


def _probe_task(k=3, n=4, seed=0):
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(n, 8, 8, 1)), rng.integers(0, k, n)
    return Task(0, X, y, X, y, X, y, "ce", k)


@pytest.mark.usefixtures("optimized_xla")
def test_convnet_task_start_metrics_against_dense_references():
    """GGN eigenvalues from the nk × nk Gram built from a dense autodiff Jacobian; dead channels
    and effective ranks from the features by numpy."""
    from jax.flatten_util import ravel_pytree

    net = ConvNet((8, 8, 1), 3)
    task = _probe_task()
    params = [(W.astype(jnp.float64), b.astype(jnp.float64))
              for W, b in net.init(jax.random.PRNGKey(0))]
    W, b = params[1]
    params[1] = (W, b.at[5].set(-1e3))  # conv2 channel 5 dead on every input
    m = task_start_metrics(net, params, task, eps_ladder=(1e-3,))
    flat, unravel = ravel_pytree(params)
    J = np.asarray(jax.jit(jax.jacrev(lambda t: net.apply(unravel(t), task.X).reshape(-1)))(flat))
    f = np.asarray(net.apply(params, task.X))
    p = np.exp(f - f.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    S = np.zeros((12, 12))
    for i in range(4):  # H_i^{1/2} of diag(p) − ppᵀ by eigendecomposition
        lam, V = np.linalg.eigh(np.diag(p[i]) - np.outer(p[i], p[i]))
        S[3 * i:3 * i + 3, 3 * i:3 * i + 3] = V @ np.diag(np.sqrt(np.clip(lam, 0, None))) @ V.T
    G = S @ J @ J.T @ S / 4
    ev = np.sort(np.linalg.eigvalsh(G))[::-1]
    # two float64 routes to the same 12 eigenvalues: round-off ~1e-13 of λ_max
    np.testing.assert_allclose(m["ggn_eigenvalues"], ev, rtol=0, atol=1e-10 * ev[0])
    assert m["num_params"] == net.num_params == flat.size and m["gram_dim"] == 12
    F = [np.asarray(h) for h in net.features(params, task.X)]
    assert m["dead_fraction"] == pytest.approx([np.mean(np.all(h == 0, axis=0)) for h in F])
    assert m["dead_fraction"][1] >= 1 / 64
    for e, h in zip(m["erank"], F):
        s = np.linalg.svd(h, compute_uv=False)
        q = s[s > 0] / s.sum()
        assert e == pytest.approx(float(np.exp(-np.sum(q * np.log(q)))), rel=1e-9)


@pytest.mark.usefixtures("optimized_xla")
def test_run_continual_convnet_carries_params_and_state_across_tasks():
    stream = make_stream("permuted_digits", seed=0, num_tasks=2, n_train=32, n_test=16,
                         n_probe=4)
    net = ConvNet((8, 8, 1), 10)
    agent = make_agent("cbp", lr=0.05, optimizer="momentum", replacement_rate=0.01,
                       maturity_threshold=2)
    rec = run_continual(net, stream, agent, epochs=2, batch_size=8, seed=0, slq_tasks=[1],
                        slq_options={"order": 6, "num_runs": 1})
    assert [r["task"] for r in rec] == [0, 1] and "slq" in rec[1]
    assert rec[0]["start"]["num_params"] == net.num_params
    # task 1 starts where task 0 ended (no reset): its ε-free metrics on task 1's data differ
    # from task 0's, but the weight norm is the same params
    assert rec[1]["start"]["weight_norm"] == pytest.approx(rec[0]["end"]["weight_norm"], rel=1e-12)
    reset = run_continual(linrelu.MLP((64, 8, 10)), stream, make_agent("reset", lr=0.05),
                          epochs=1, batch_size=8, seed=0)  # (a cheap net suffices here)
    assert reset[1]["start"]["weight_norm"] != pytest.approx(reset[0]["end"]["weight_norm"])
    with pytest.raises(ValueError, match="checkpoint_dir"):
        run_continual(net, stream, agent, epochs=1, batch_size=8, seed=0, checkpoint_dir=3)
