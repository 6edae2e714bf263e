"""Continual backprop: which units are replaced, how many, and what replacement does to the net.

The references below re-implement Dohare et al.'s algorithm with numpy loops (one unit at a time),
independently of linrelu.continual.cbp's vectorized masks.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import linrelu
from linrelu.continual import Task, init_agent_state, make_agent, train_task_with_state
from linrelu.continual import train as training
from linrelu.continual.cbp import (
    advance,
    advance_schedule,
    cbp_update,
    contribution_utility,
    init_cbp_state,
    replace_units,
    replacement_possible,
    select_units,
    zero_optimizer_state,
)
from linrelu.models.convnet import ConvNet
from linrelu.spectral.losses import mean_loss


def _reference_cbp(util_seq, rate, decay, maturity):
    """Per step: ages += 1; u = ηu + (1−η)y; û = u/(1−η^age); eligible = age > M;
    c += ρ·#eligible; replace ⌊c⌋ eligible units of smallest û one by one (ties: lowest index)."""
    m = len(util_seq[0])
    u, age, c = np.zeros(m), np.zeros(m, int), 0.0
    replaced = []
    for y in util_seq:
        age += 1
        u = decay * u + (1 - decay) * y
        u_hat = u / (1 - decay ** age)
        eligible = [i for i in range(m) if age[i] > maturity]
        c += rate * len(eligible)
        r = int(np.floor(c))
        c -= r
        chosen = []
        for _ in range(r):
            candidates = [i for i in eligible if i not in chosen]
            if not candidates:
                break
            chosen.append(min(candidates, key=lambda i: (u_hat[i], i)))
        for i in chosen:
            u[i], age[i] = 0.0, 0
        replaced.append(sorted(chosen))
    return replaced


@pytest.mark.parametrize("rate,decay,maturity", [(1 / 16, 0.5, 3), (0.25, 0.9, 1),
                                                 (1 / 8, 0.0, 0)])
def test_selection_matches_the_reference_loop(rate, decay, maturity):
    # ρ a power of two: ρ·#eligible is exact in float32, so ⌊c⌋ cannot differ by round-off
    rng = np.random.default_rng(0)
    m, T = 6, 40
    util_seq = rng.uniform(0, 1, size=(T, m)).astype(np.float32)
    util_seq[:, 2] *= 0.01  # a persistently low-utility unit
    expected = _reference_cbp(util_seq.astype(np.float64), rate, decay, maturity)
    state = init_cbp_state([m])
    got = []
    for y in util_seq:
        state, masks = select_units(state, [jnp.asarray(y)], replacement_rate=rate,
                                    decay_rate=decay, maturity_threshold=maturity)
        got.append(list(np.flatnonzero(np.asarray(masks[0]))))
    assert got == expected
    total = sum(len(r) for r in got)
    assert total > 3 and any(2 in r for r in got)


def test_count_is_the_accumulated_rate_and_immature_units_are_never_replaced():
    m = 8
    state = init_cbp_state([m])
    counts = []
    for t in range(1, 21):
        y = jnp.arange(m, dtype=jnp.float32) + 1.0
        state, masks = select_units(state, [y], replacement_rate=1 / 32, decay_rate=0.9,
                                    maturity_threshold=4)
        counts.append(int(np.asarray(masks[0]).sum()))
        if t <= 4:  # nobody is older than M = 4 yet
            assert counts[-1] == 0
    # from t = 5 all 8 units are eligible until one is replaced: c grows by 8/32 = 1/4 per step,
    # so the first replacement is at t = 8 (c = 1), of unit 0 (lowest utility), then unit 0 is
    # immature again (7 eligible: c grows 7/32) ...
    assert counts[:7] == [0] * 7 and counts[7] == 1
    c, age, expected = 0.0, np.zeros(m, int), []
    for _ in range(20):  # the same bookkeeping by hand
        age += 1
        eligible = age > 4
        c += eligible.sum() / 32
        r = int(c)
        c -= r
        idx = np.flatnonzero(eligible)[:r]  # utilities increase with the index
        age[idx] = 0
        expected.append(r)
    assert counts == expected
    # rate 0 never replaces, however old and useless the units
    state = init_cbp_state([m])
    for _ in range(50):
        state, masks = select_units(state, [jnp.zeros(m)], replacement_rate=0.0,
                                    decay_rate=0.9, maturity_threshold=0)
        assert not np.asarray(masks[0]).any()


def _np_mlp(net, params, X):
    h = np.asarray(X, np.float64)
    for l, (W, b) in enumerate(params, start=1):
        z = net.sigma_w / np.sqrt(h.shape[1]) * h @ np.asarray(W) + net.sigma_b * np.asarray(b)
        h = np.maximum(z, 0) if l < len(params) else z
    return h


def test_replacement_mlp_weights_and_function():
    net = linrelu.MLP((5, 6, 7, 3), sigma_b=0.3)
    params = net.init(jax.random.PRNGKey(0))
    fresh = net.init(jax.random.PRNGKey(1))
    masks = [jnp.array([0, 1, 0, 0, 1, 0], bool), jnp.array([0, 0, 0, 1, 0, 0, 0], bool)]
    new = replace_units(params, masks, fresh)
    P, F, N = ([[np.asarray(a) for a in pair] for pair in t] for t in (params, fresh, new))
    # layer 1 units 1, 4: incoming column and bias from fresh; outgoing rows of W_2 zero
    for u in (1, 4):
        np.testing.assert_array_equal(N[0][0][:, u], F[0][0][:, u])
        assert N[0][1][u] == F[0][1][u]
        assert np.all(N[1][0][u, :] == 0)
    # layer 2 unit 3: incoming column of W_2 fresh except the rows of replaced layer-1 units
    keep = [0, 2, 3, 5]
    np.testing.assert_array_equal(N[1][0][keep, 3], F[1][0][keep, 3])
    assert np.all(N[2][0][3, :] == 0)
    # everything else untouched
    np.testing.assert_array_equal(np.delete(N[0][0], [1, 4], axis=1),
                                  np.delete(P[0][0], [1, 4], axis=1))
    np.testing.assert_array_equal(N[2][1], P[2][1])
    np.testing.assert_array_equal(np.delete(N[2][0], 3, axis=0), np.delete(P[2][0], 3, axis=0))
    # function right after replacement = old net with the replaced units' outgoing weights zeroed
    X = np.random.default_rng(0).normal(size=(9, 5))
    Z = [[a.copy() for a in pair] for pair in P]
    Z[1][0][[1, 4], :] = 0
    Z[2][0][3, :] = 0
    np.testing.assert_allclose(np.asarray(net.apply(new, X)), _np_mlp(net, Z, X), rtol=1e-12,
                               atol=1e-12)


def test_replacing_dead_units_leaves_the_function_unchanged():
    net = linrelu.MLP((4, 6, 3))
    params = net.init(jax.random.PRNGKey(2))
    W, b = params[0]
    W = jnp.abs(W)  # every unit alive on positive inputs (σ_b = 0) …
    params[0] = (W.at[:, 2].set(-W[:, 2]), b)  # … except unit 2, dead on all of them
    X = np.abs(np.random.default_rng(1).normal(size=(10, 4)))
    assert np.all(np.asarray(net.trace(params, X).acts[1])[:, 2] == 0)
    y = contribution_utility(params, [np.asarray(h) for h in net.trace(params, X).acts[1:]])
    assert float(y[0][2]) == 0.0 and np.all(np.delete(np.asarray(y[0]), 2) > 0)
    state = init_cbp_state([6])
    agent = make_agent("cbp", lr=0.1, replacement_rate=1 / 6, decay_rate=0.5,
                       maturity_threshold=0)
    feats = list(net.trace(params, X).acts[1:])
    new, state, _, masks = cbp_update(net, agent, params, state, feats,
                                      jax.random.PRNGKey(3))
    assert list(np.flatnonzero(np.asarray(masks[0]))) == [2]  # lowest utility: the dead unit
    assert not np.array_equal(np.asarray(new[0][0][:, 2]), np.asarray(params[0][0][:, 2]))
    assert int(state.age[0][2]) == 0 and int(state.age[0][0]) == 1
    np.testing.assert_allclose(net.apply(new, X), net.apply(params, X), rtol=1e-13, atol=1e-13)


def test_convnet_channel_replacement_zeroes_every_reading_weight():
    net = ConvNet((8, 8, 1), 2)  # SAME: 8 → 4 → 2 → 1, vec(h_3) has 1·1·128 rows
    params = net.init(jax.random.PRNGKey(0))
    rng = np.random.default_rng(0)
    params = [(W, jnp.asarray(0.1 * rng.normal(size=b.shape), W.dtype)) for W, b in params]
    fresh = net.init(jax.random.PRNGKey(1))
    masks = [jnp.zeros(m, bool) for m in net.widths]
    masks[0] = masks[0].at[5].set(True)    # conv1 channel 5
    masks[2] = masks[2].at[17].set(True)   # conv3 channel 17 → dense rows r with r % 128 == 17
    masks[3] = masks[3].at[9].set(True)    # dense unit 9
    new = [[np.asarray(a) for a in pair] for pair in replace_units(params, masks, fresh)]
    old = [[np.asarray(a) for a in pair] for pair in params]
    assert np.all(new[1][0][:, :, 5, :] == 0)           # conv2 reads channel 5 of conv1
    np.testing.assert_array_equal(new[0][0][..., 5], np.asarray(fresh[0][0][..., 5]))
    assert new[0][1][5] == 0.0                           # fresh bias: Flax init, zero
    rows = [r for r in range(net.flat_dim) if r % 128 == 17]
    assert np.all(new[3][0][rows, :] == 0)
    assert np.all(new[4][0][9, :] == 0)
    # the function equals the old net with exactly those reading weights zeroed
    Z = [[a.copy() for a in pair] for pair in old]
    Z[1][0][:, :, 5, :] = 0
    Z[3][0][rows, :] = 0
    Z[4][0][9, :] = 0
    X = rng.normal(size=(4, 8, 8, 1)).astype(np.float32)
    np.testing.assert_allclose(net.apply([tuple(p) for p in new], X),
                               net.apply([tuple(map(jnp.asarray, p)) for p in Z], X),
                               rtol=1e-5, atol=1e-6)  # float32 params


def test_momentum_state_of_replaced_units_is_zeroed():
    net = linrelu.MLP((3, 4, 2))
    params = [tuple(p) for p in net.init(jax.random.PRNGKey(0))]
    tx = optax.sgd(0.1, momentum=0.9)
    state = tx.init(params)
    g = jax.tree_util.tree_map(jnp.ones_like, params)
    _, state = tx.update(g, state, params)  # trace = 1 everywhere
    masks = [jnp.array([False, True, False, False])]
    new = zero_optimizer_state(state, params, masks)
    trace = [[np.asarray(a) for a in pair] for pair in new[0].trace]
    assert np.all(trace[0][0][:, 1] == 0) and trace[0][1][1] == 0 and np.all(trace[1][0][1] == 0)
    assert np.all(np.delete(trace[0][0], 1, axis=1) == 1) and np.all(trace[1][1] == 1)


def test_training_with_cbp_replaces_and_bp_equals_cbp_at_rate_zero():
    net = linrelu.MLP((4, 8, 8, 3))
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(16, 4)), rng.integers(0, 3, 16)
    task = Task(0, X, y, X, y, X, y, "ce", 3)
    params = net.init(jax.random.PRNGKey(0))
    agent = make_agent("cbp", lr=0.1, replacement_rate=0.05, maturity_threshold=5)
    _, state, _ = train_task_with_state(net, params, None, task, agent, epochs=10,
                                        batch_size=4, key=jax.random.PRNGKey(1))
    ages = np.concatenate([np.asarray(a) for a in state.cbp.age])
    # 40 steps; from step 6 on ≤ 16 units eligible, ≈ 0.8 replacements per step in total. A
    # replaced unit starts with zero outgoing weights, hence low utility, and is often replaced
    # again once mature: a few units cycle, the others keep age 40.
    assert 2 <= (ages < 40).sum() < 16 and ages.max() == 40
    assert np.all(ages[ages < 40] <= 40 - 6)  # no replacement before maturity (age > 5)
    off = make_agent("cbp", lr=0.1, replacement_rate=0.0)
    assert off.cbp is False and init_agent_state(net, params, off).cbp is None
    p_off, _, _ = train_task_with_state(net, params, None, task, off, epochs=3, batch_size=4,
                                        key=jax.random.PRNGKey(1))
    p_bp, _, _ = train_task_with_state(net, params, None, task, make_agent("bp", lr=0.1),
                                       epochs=3, batch_size=4, key=jax.random.PRNGKey(1))
    for a, b in zip(jax.tree_util.tree_leaves(p_off), jax.tree_util.tree_leaves(p_bp)):
        np.testing.assert_array_equal(a, b)


def test_replacement_possible_bounds_every_replacement_of_the_next_steps():
    """replacement_possible(state, s) is True whenever the bookkeeping run s more steps from
    ``state`` selects a unit (it may be True without one: a bound), and it is False somewhere."""
    agent = make_agent("cbp", lr=0.1, replacement_rate=0.01, maturity_threshold=3)
    rng = np.random.default_rng(0)
    widths, s = (8, 5), 10
    seen_false = 0
    for _ in range(60):
        state = init_cbp_state(widths)._replace(
            age=[jnp.asarray(rng.integers(0, 6, m), jnp.int32) for m in widths],
            pending=[jnp.asarray(rng.uniform(0, 1), jnp.float32) for _ in widths])
        bound = bool(replacement_possible(agent, state, s))
        st, any_due = state, False
        for _ in range(s):
            st, masks = select_units(st, [jnp.asarray(rng.random(m), jnp.float32)
                                          for m in widths],
                                     replacement_rate=0.01, decay_rate=0.9, maturity_threshold=3)
            any_due |= any(bool(k.any()) for k in masks)
        assert bound or not any_due
        seen_false += not bound
    assert seen_false > 5


def test_advance_schedule_equals_steps_of_bookkeeping_without_a_replacement():
    """Ages and pending counts moved over s steps at once equal s steps of ``advance`` (ages
    exactly; counts up to float32 round-off), units maturing inside the window included."""
    agent = make_agent("cbp", lr=0.1, replacement_rate=1e-3, maturity_threshold=4)
    rng = np.random.default_rng(2)
    widths = (9, 6)
    state = init_cbp_state(widths)._replace(
        age=[jnp.asarray(rng.integers(0, 9, m), jnp.int32) for m in widths],
        pending=[jnp.asarray(rng.uniform(0, 0.5), jnp.float32) for _ in widths])
    st = state
    for _ in range(7):
        st, counts, _ = advance(st, [jnp.zeros(m, jnp.float32) for m in widths],
                                replacement_rate=1e-3, decay_rate=0.9, maturity_threshold=4)
        assert all(float(r) == 0 for r in counts)
    got = advance_schedule(agent, state, 7)
    for a, b in zip(got.age, st.age):
        np.testing.assert_array_equal(a, b)
    # float32 counts: 7 additions of ≤ 9e-3 against one, round-off ≤ 7 · 6e-8
    for a, b, c in zip(got.pending, st.pending, state.pending):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
        assert float(b) - float(c) > 1e-3  # counts grew: the check can fail
    for a, b in zip(got.utility, state.utility):
        np.testing.assert_array_equal(a, b)


def test_cbp_in_blocks_matches_a_per_step_loop(monkeypatch):
    """The trainer decides once per block whether a unit can come due (bookkeeping-only steps
    otherwise); that lands where an SGD step followed by select_units / replace_units at every
    step lands: blocks of 10 steps, ρ m · 10 = 0.8, so some blocks are bookkeeping-only and units
    are replaced in others (fresh units from the task's CBP key folded with the step count)."""
    monkeypatch.setattr(training, "CBP_BLOCK", 10)
    net = linrelu.MLP((6, 8, 8, 2))
    rng = np.random.default_rng(1)
    n, epochs, lr = 37, 4, 0.05  # n: a task size no other test trains (a fresh compiled program)
    X, Y = rng.normal(size=(n, 6)), rng.normal(size=(n, 2))
    task = Task(0, X, Y, X, Y, X, Y, "mse", 2)
    params = net.init(jax.random.PRNGKey(0))
    agent = make_agent("cbp", lr=lr, replacement_rate=0.01, maturity_threshold=5)
    key = jax.random.PRNGKey(3)
    out, state, _ = train_task_with_state(net, params, None, task, agent, epochs=epochs,
                                          batch_size=1, key=key)

    order = np.concatenate([np.asarray(jax.random.permutation(k, n))
                            for k in jax.random.split(key, epochs)])
    steps = n // 1
    cbp_key = jax.random.fold_in(key, 0xCB)
    p = [tuple(jnp.asarray(a, jnp.float32) for a in pair) for pair in params]
    st = init_cbp_state([8, 8])
    grad = jax.jit(jax.grad(lambda q, x, y: mean_loss(net.apply(q, x), y, "mse")))
    replaced = fast_blocks = 0
    for t, i in enumerate(order):
        if t % steps % 10 == 0:
            fast_blocks += not bool(replacement_possible(agent, st, min(10, steps - t % steps)))
        x = jnp.asarray(X[i:i + 1], jnp.float32)
        feats = net.features(p, x)
        g = grad(p, x, jnp.asarray(Y[i:i + 1], jnp.float32))
        p = [tuple(a - lr * b for a, b in zip(pa, ga)) for pa, ga in zip(p, g)]
        st, masks = select_units(st, contribution_utility(p, feats), replacement_rate=0.01,
                                 decay_rate=agent.decay_rate, maturity_threshold=5)
        p = replace_units(p, masks, net.init(jax.random.fold_in(cbp_key, t)))
        replaced += sum(int(k.sum()) for k in masks)
    assert replaced >= 10 and fast_blocks >= 3  # both kinds of block occur
    # float32 training, the same steps in another program: round-off ~1e-6 relative
    for a, b in zip(jax.tree_util.tree_leaves(out), jax.tree_util.tree_leaves(p)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    for a, b in zip(state.cbp.age, st.age):
        np.testing.assert_array_equal(a, b)


def test_cbp_bad_input():
    for bad, arg in [(dict(replacement_rate=-1.0), "replacement_rate"),
                     (dict(replacement_rate=2.0), "replacement_rate"),
                     (dict(decay_rate=1.0), "decay_rate"),
                     (dict(maturity_threshold=-1), "maturity_threshold")]:
        with pytest.raises(ValueError, match=arg):
            make_agent("cbp", lr=0.1, **bad)
    a = make_agent("cbp", lr=0.1)
    assert (a.replacement_rate, a.decay_rate, a.maturity_threshold) == (1e-6, 0.99, 100)
    assert make_agent("bp", lr=0.1, replacement_rate=0.5).replacement_rate == 0.0


def test_contribution_utility_by_hand_mlp_and_convnet():
    net = linrelu.MLP((3, 5, 4, 2))
    params = net.init(jax.random.PRNGKey(0))
    H = [np.random.default_rng(l).normal(size=(7, m)) for l, m in enumerate((5, 4))]
    y = contribution_utility(params, [jnp.asarray(h) for h in H])
    for l in range(2):
        W_next = np.asarray(params[l + 1][0])
        hand = [np.abs(H[l][:, u]).mean() * np.abs(W_next[u, :]).sum()
                for u in range(H[l].shape[1])]
        np.testing.assert_allclose(y[l], hand, rtol=1e-12)
    conv = ConvNet((8, 8, 1), 2)
    cp = conv.init(jax.random.PRNGKey(1))
    feats = conv.features(cp, np.random.default_rng(2).normal(size=(3, 8, 8, 1)).astype(np.float32))
    y = contribution_utility(cp, feats)
    K2, D4 = np.asarray(cp[1][0], np.float64), np.asarray(cp[3][0], np.float64)
    F = [np.asarray(f, np.float64) for f in feats]
    for c in (0, 7, 31):  # conv1 channel c is read by conv2's kernel slice [:, :, c, :]
        hand = np.abs(F[0][:, c]).mean() * np.abs(K2[:, :, c, :]).sum()
        assert float(y[0][c]) == pytest.approx(hand, rel=1e-5)  # float32 params
    for c in (0, 100):  # conv3 channel c is read by the dense rows r ≡ c (mod 128)
        hand = np.abs(F[2][:, c]).mean() * np.abs(D4[c::128, :]).sum()
        assert float(y[2][c]) == pytest.approx(hand, rel=1e-5)


def test_cbp_rejects_features_that_do_not_match_the_layers():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class OneFeatureTooFew(linrelu.MLP):
        def features(self, params, X):
            return super().features(params, X)[:1]

    net = OneFeatureTooFew((4, 5, 6, 3))
    X, y = np.zeros((4, 4)), np.zeros(4, int)
    task = Task(0, X, y, X, y, X, y, "ce", 3)
    with pytest.raises(ValueError, match="features"):
        train_task_with_state(net, net.init(jax.random.PRNGKey(0)), None, task,
                              make_agent("cbp", lr=0.1), epochs=1, batch_size=4,
                              key=jax.random.PRNGKey(0))
