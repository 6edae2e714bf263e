"""Continual backprop (Dohare et al., "Loss of plasticity in deep continual learning", Nature 2024).

After every optimizer step, for every hidden layer l with units u = 1..m_l (neurons of a dense
layer, channels of a conv layer), with a_l the unit ages and u_l the utilities:

    a_l ← a_l + 1
    u_l ← η u_l + (1 − η) · y_l,   y_{l,u} = mean_{x ∈ B} |h_{l,u}(x)| · Σ |outgoing weights of u|
    û_l = u_l / (1 − η^{a_l})                         (bias correction, as Adam's)
    E_l = {u : a_{l,u} > M}                             (mature, "eligible" units)
    c_l ← c_l + ρ |E_l|;   r = ⌊c_l⌋;   c_l ← c_l − r
    R_l = the r units of E_l with the smallest û (ties: lowest index first)
    for u ∈ R_l: incoming weights and bias ← a fresh draw of the model's init distribution,
                 outgoing weights ← 0, u_{l,u} ← 0, a_{l,u} ← 0,
                 optimizer state (momentum) of those incoming and outgoing weights ← 0.

ρ = replacement rate (default 1e-6), η = utility decay (0.99), M = maturity threshold (100):
the defaults of the authors' config (THEORY.md, "The paper's experiments"). y is the paper's
*contribution utility* (|activation| times the summed magnitude of the outgoing weights); the
batch mean over the minibatch B that produced the step's gradient (its features at the weights
before the step), the outgoing weights after the step, as in Dohare et al.'s reference code.
For a conv channel, h_{l,u}(x) is :meth:`linrelu.models.convnet.ConvNet.features`' spatial mean of
the
channel's output map (≥ 0 after ReLU, so mean |h| = mean h over positions and samples) and its
outgoing weights are every next-layer weight reading that channel.

Replacement keeps the network's function up to the removed units' contributions: a replaced unit
has zero outgoing weights, so its new incoming weights do not act on the output; right after
replacement f equals the network with the old incoming weights and the replaced units' outgoing
weights zeroed (exactly f itself when the replaced units were dead). Incoming reinitialisation
runs for all layers first, then outgoing zeroing, so a weight joining two replaced units ends 0.
(Dohare et al.'s code also adds the removed unit's running mean contribution to the next layer's
bias for their mean-corrected utilities; the contribution utility needs no such correction and
we do not apply it.)

Layout (the *layered* model convention): ``params`` is a list of L+1 pairs (W_l, b_l); the units
of hidden layer l are the last axis of W_l and the axis of b_l; ``W_{l+1}.reshape(-1, m_l, out)``
has them on its middle axis (dense (m_l, out); conv kernel (kh, kw, m_l, out); a dense layer
after a flatten of (H, W, m_l) maps, channel fastest); ``features(params, X)`` returns the L hidden
layers' (n, m_l) activations. :class:`linrelu.MLP` and :class:`linrelu.models.convnet.ConvNet`
follow it.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from linrelu.validation import describe


class CBPState(NamedTuple):
    """Per hidden layer: utilities u_l (m_l,), ages a_l (m_l,) int32, pending count c_l ()."""

    utility: list
    age: list
    pending: list


def hidden_widths(model, params) -> list:
    """(m_1, …, m_L) of a layered model, checking the layout of the module docstring."""
    if not isinstance(params, (list, tuple)) or len(params) < 2 or not all(
            isinstance(p, (list, tuple)) and len(p) == 2 for p in params):
        raise ValueError(f"params: continual backprop expects a list of at least two (W, b) "
                         f"pairs (a layered model), received {describe(params)}")
    widths = [int(np.shape(W)[-1]) for W, _ in params[:-1]]
    for l, ((W, b), m) in enumerate(zip(params[:-1], widths), start=1):
        W_next = params[l][0]
        if tuple(np.shape(b)) != (m,) or np.size(W_next) % (m * np.shape(W_next)[-1]):
            raise ValueError(f"params[{l - 1}]: expected unit axis last with b of shape ({m},) "
                             f"and the next layer's weights divisible into ({m}, out) blocks, "
                             f"received W {np.shape(W)}, b {np.shape(b)}, next W "
                             f"{np.shape(W_next)}")
    return widths


def init_cbp_state(widths, dtype=jnp.float32) -> CBPState:
    """Zero utilities, zero ages and zero pending counts for hidden widths (m_1, …, m_L)."""
    return CBPState(utility=[jnp.zeros(m, dtype) for m in widths],
                    age=[jnp.zeros(m, jnp.int32) for m in widths],
                    pending=[jnp.zeros((), dtype) for _ in widths])


def _outgoing(W_next, m):
    """W_{l+1} as (A, m_l, out): the middle axis indexes layer l's units."""
    return W_next.reshape(-1, m, W_next.shape[-1])


def contribution_utility(params, features) -> list:
    """y_l = mean_B |h_l| · Σ |outgoing weights| per unit (m_l,), for each hidden layer."""
    out = []
    for l, h in enumerate(features):
        m = h.shape[1]
        mags = jnp.sum(jnp.abs(_outgoing(params[l + 1][0], m)), axis=(0, 2))
        out.append(jnp.mean(jnp.abs(h), axis=0) * mags)
    return out


def advance(state: CBPState, utilities, *, replacement_rate: float, decay_rate: float,
            maturity_threshold: int):
    """The bookkeeping half of a CBP step (ages, utilities, pending counts; module docstring).

    Returns ``(state, counts, scores)``: counts[l] = r (how many units of layer l to replace now,
    a float holding an integer) and scores[l] (m_l,) = û on eligible units, +inf elsewhere (the
    units to replace are the r smallest scores; :func:`choose_units`)."""
    new_u, new_a, new_c, counts, scores = [], [], [], [], []
    for u, a, c, y in zip(state.utility, state.age, state.pending, utilities):
        a = a + 1
        u = decay_rate * u + (1 - decay_rate) * y.astype(u.dtype)
        u_hat = u / (1 - jnp.power(jnp.asarray(decay_rate, u.dtype), a.astype(u.dtype)))
        eligible = a > maturity_threshold
        c = c + replacement_rate * jnp.sum(eligible).astype(c.dtype)
        r = jnp.floor(c)
        new_u.append(u)
        new_a.append(a)
        new_c.append(c - r)
        counts.append(r)
        scores.append(jnp.where(eligible, u_hat, jnp.inf))
    return CBPState(new_u, new_a, new_c), counts, scores


def choose_units(counts, scores) -> list:
    """masks[l] (m_l,) bool: the counts[l] units of smallest score (ties: lowest index first),
    among finite scores only."""
    masks = []
    for r, score in zip(counts, scores):
        m = score.shape[0]
        order = jnp.argsort(score, stable=True)
        rank = jnp.zeros(m, jnp.int32).at[order].set(jnp.arange(m, dtype=jnp.int32))
        masks.append(jnp.isfinite(score) & (rank < r))
    return masks


def reset_chosen(state: CBPState, masks) -> CBPState:
    """Utilities and ages of the chosen units set to 0."""
    return CBPState([jnp.where(k, 0, u) for k, u in zip(masks, state.utility)],
                    [jnp.where(k, 0, a) for k, a in zip(masks, state.age)], list(state.pending))


def select_units(state: CBPState, utilities, *, replacement_rate: float, decay_rate: float,
                 maturity_threshold: int):
    """One CBP bookkeeping step: returns ``(state, masks)`` with masks[l] (m_l,) bool marking the
    units to replace (module docstring; the returned state already has them reset)."""
    state, counts, scores = advance(state, utilities, replacement_rate=replacement_rate,
                                    decay_rate=decay_rate, maturity_threshold=maturity_threshold)
    masks = choose_units(counts, scores)
    return reset_chosen(state, masks), masks


def _set_units(tree, masks, fresh=None) -> list:
    """Incoming weights/bias of masked units ← ``fresh`` (or 0), then their outgoing weights ← 0."""
    out = [list(pair) for pair in tree]
    for l, mask in enumerate(masks):
        W, b = out[l]
        W_new = jnp.zeros_like(W) if fresh is None else fresh[l][0].astype(W.dtype)
        b_new = jnp.zeros_like(b) if fresh is None else fresh[l][1].astype(b.dtype)
        out[l] = [jnp.where(mask, W_new, W), jnp.where(mask, b_new, b)]
    for l, mask in enumerate(masks):
        W_next = out[l + 1][0]
        view = _outgoing(W_next, mask.shape[0])
        out[l + 1][0] = jnp.where(mask[None, :, None], 0, view).reshape(W_next.shape)
    return [tuple(pair) for pair in out]


def replace_units(params, masks, fresh) -> list:
    """params with the masked units' incoming weights and biases taken from ``fresh`` (same
    layout, e.g. ``model.init(key)``) and their outgoing weights zeroed."""
    return _set_units(params, masks, fresh)


def zero_optimizer_state(opt_state, params, masks):
    """Zero, in every part of an optax state shaped like ``params`` (momentum traces), the
    entries of the masked units' incoming and outgoing weights."""
    treedef = jax.tree_util.tree_structure(params)
    like = lambda x: jax.tree_util.tree_structure(x) == treedef  # noqa: E731
    fix = lambda x: _set_units(x, masks) if like(x) else x  # noqa: E731
    return jax.tree_util.tree_map(fix, opt_state, is_leaf=like)


#: slack on the pending counts in :func:`replacement_possible`: far above the float32 round-off of
#: the counts' accumulation over a block (≤ 6e-8 per step), far below one count
_COUNT_SLACK = 1e-4


def replacement_possible(agent, state: CBPState, steps: int):
    """Whether some unit can come due for replacement within the next ``steps`` CBP steps from
    ``state`` (a traced bool; jittable): some layer's pending count could reach 1, i.e.
    c_l + ρ m_l · steps ≥ 1 − slack (each step adds ρ |E_l| ≤ ρ m_l). The schedule depends on ages
    and counts only, never on the data, so when this is False every one of those steps selects no
    unit and :func:`cbp_update` with ``may_replace=False`` gives the same result."""
    reach = [c + agent.replacement_rate * a.shape[0] * steps
             for c, a in zip(state.pending, state.age)]
    return jnp.any(jnp.stack([r >= 1.0 - _COUNT_SLACK for r in reach]))


def advance_schedule(agent, state: CBPState, steps: int) -> CBPState:
    """Ages and pending counts after ``steps`` steps in which no unit is replaced (utilities
    untouched): a_l ← a_l + steps, c_l ← c_l + ρ Σ_{t=1..steps} |{u : a_{l,u} + t > M}|, the
    sum counted exactly in integers (Σ_u clip(a_u + steps − M, 0, steps)) and added at once:
    the per-step additions of :func:`advance`, with one rounding instead of ``steps``
    (a float32 difference ≤ steps · 6e-8, far inside :func:`replacement_possible`'s slack)."""
    M = agent.maturity_threshold
    ages = [a + steps for a in state.age]
    pending = [c + agent.replacement_rate * jnp.sum(jnp.clip(a + steps - M, 0, steps)).astype(
        c.dtype) for a, c in zip(state.age, state.pending)]
    return CBPState(list(state.utility), ages, pending)


def cbp_update(model, agent, params, state: CBPState, features, key, opt_state=None, *,
               may_replace: bool = True):
    """One continual-backprop step after an optimizer step (jittable).

    ``features``: the minibatch's hidden activations (list of (b, m_l)); ``key``: for the fresh
    incoming weights. Returns ``(params, state, opt_state, masks)``. Only the bookkeeping
    (:func:`advance`) runs at every step; the ranking of units, the fresh init and the
    replacement run under ``lax.cond`` only when some layer's count r reaches 1 (at ρ = 1e-6
    and 100 eligible units: once in 10⁴ steps), so the step costs about a bp step. Same result
    as :func:`select_units` then replacement at every step (a count r = 0 selects no unit).

    ``may_replace=False`` (static), for the steps of a block in which
    :func:`replacement_possible` ruled a replacement out: only the utilities advance (they depend
    on the data); ages and pending counts do not, and :func:`advance_schedule` moves them over
    the whole block afterwards. The trainer asks once per block of steps: a cond at every step
    keeps XLA from updating the weights in place, and the per-step bookkeeping of ages and counts
    cost ≈ 25 µs per step of the width-100 MLP on XLA:CPU (2-core AMD EPYC, 2026-11-26).
    """
    if not may_replace:
        u = [agent.decay_rate * u + (1 - agent.decay_rate) * y.astype(u.dtype)
             for u, y in zip(state.utility, contribution_utility(params, features))]
        return ([tuple(pair) for pair in params], state._replace(utility=u), opt_state,
                [jnp.zeros(x.shape, bool) for x in u])
    state, counts, scores = advance(state, contribution_utility(params, features),
                                    replacement_rate=agent.replacement_rate,
                                    decay_rate=agent.decay_rate,
                                    maturity_threshold=agent.maturity_threshold)
    due = jnp.any(jnp.stack([r >= 1 for r in counts]))
    none = [jnp.zeros(s.shape, bool) for s in scores]

    def replace(operand):
        p, s, st = operand
        masks = choose_units(counts, scores)
        fresh = model.init(key)
        s = s if s is None else zero_optimizer_state(s, p, masks)
        return replace_units(p, masks, fresh), s, reset_chosen(st, masks), masks

    params = [tuple(pair) for pair in params]
    params, opt_state, state, masks = jax.lax.cond(
        due, replace, lambda operand: (*operand, none), (params, opt_state, state))
    return params, state, opt_state, masks
