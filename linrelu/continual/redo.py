"""Shrink-and-perturb and ReDo: the two periodic remedies of the ``snp`` and ``redo`` agents.

**Shrink-and-perturb** (Ash & Adams 2020), in the form Dohare et al.'s and the lop-jax code run
it (Dohare lop/algos/bp.py: ``torch.optim.SGD(weight_decay=κ)`` then ``perturb()`` adding
``normal_(0, perturb_scale)`` to every weight and bias; lop-jax permuted_mnist/
train_permuted_mnist.py: ``add_decayed_weights(κ)`` + ``sgd(η)`` then ``perturb_params``): at
every step t

    θ_{t+1} = (1 − ηκ) θ_t − η g_t + σ ε_t,     ε_t ~ N(0, I) on every weight and bias.

The shrink is the weight decay κ in the agent's objective (:mod:`linrelu.continual.agents`);
:func:`perturb` adds the noise. ``perturb_every`` = K > 1 adds, after every K-th step, one draw
with the variance the K per-step draws accumulate under the shrink,

    σ_K² = σ² Σ_{j=0}^{K−1} (1 − ηκ)^{2j}                      (:func:`noise_std`),

so θ has the per-step process's noise variance at every multiple of K; what differs is that the
K − 1 gradients inside a block are taken at weights without the block's partial noise (of size
≤ σ√K per weight). K = 1 is the exact per-step form. (Drawing the noise costs ≈ 19 ns per
parameter on XLA:CPU (2-core AMD EPYC, 2026-12-06) with the default threefry generator, ≈ 1.7 ms
per step for the width-100 MLP's 89 610 parameters, 28× a minibatch-1 SGD step: the reason
for K.)

**ReDo** (Sokar et al. 2023, "The Dormant Neuron Phenomenon in Deep RL"; dopamine
labs/redo/weight_recyclers.py ``NeuronRecycler``; Dohare lop/algos/gntRedo.py): every F steps,
for every hidden layer l with units u,

    a_u = mean over the examples x trained on since the last recycling of |h_u(x)|
          (each at the weights before that example's step),
    s_u = a_u / (mean_v a_v + 1e-9)           (weight_recyclers.py estimate_neuron_score),
    dormant ⇔ s_u ≤ τ,

and each dormant unit gets fresh incoming weights (a draw of the model's ``init``), bias 0,
zero outgoing weights and zero optimizer moments of those weights (``recycle_dead_neurons``:
incoming ``weight_reinit_random``, bias ``zeros_like``, outgoing ``weight_reinit_zero``,
``reset_momentum`` on mu and nu). The accumulated a_u then restart from zero. dopamine scores on
a separate batch of 256 replay samples; with minibatch-1 supervised steps we score on the F·b
examples of the steps since the last recycling (Dohare's GnTredo scores on the minibatch's
activations). Incoming reinitialization runs for all layers before the outgoing zeroing
(:func:`linrelu.continual.cbp.replace_units`), so a weight joining two recycled units ends 0.
Layout: the layered model convention of :mod:`linrelu.continual.cbp`.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from linrelu.continual.cbp import replace_units, zero_optimizer_state

#: dopamine labs/redo/weight_recyclers.py estimate_neuron_score: score /= mean(score) + 1e-9
SCORE_EPS = 1e-9


def perturb(params, key, scale):
    """θ + scale · ε with ε ~ N(0, I) on every leaf: leaf i (in ``jax.tree_util`` order) draws
    ``jax.random.normal(jax.random.split(key, n_leaves)[i], leaf.shape, leaf.dtype)``."""
    leaves, treedef = jax.tree_util.tree_flatten(params)
    keys = jax.random.split(key, len(leaves))
    noisy = [x + jnp.asarray(scale, x.dtype) * jax.random.normal(k, x.shape, x.dtype)
             for x, k in zip(leaves, keys)]
    return jax.tree_util.tree_unflatten(treedef, noisy)


def noise_std(sigma: float, lr, l2: float, every: int):
    """σ_K = σ (Σ_{j<K} (1 − ηκ)^{2j})^{1/2}: the standard deviation of K per-step draws of
    σ·N(0, 1), each shrunk by (1 − ηκ) at every later step (module docstring); σ at K = 1.
    ``lr`` may be traced (a population's step)."""
    a = 1.0 - jnp.asarray(lr, jnp.float32) * l2
    return sigma * jnp.sqrt(jnp.sum(a ** (2.0 * jnp.arange(int(every), dtype=jnp.float32))))


def noise_key(key, step):
    """The key of the noise added after global step ``step`` (1-based count of steps taken)."""
    return jax.random.fold_in(jax.random.fold_in(key, 0x5A), step)


class RedoState(NamedTuple):
    """Per hidden layer: Σ |h_u(x)| over the examples since the last recycling (m_l,); and how
    many examples that is (a scalar)."""

    total: list
    count: jnp.ndarray


def init_redo_state(widths, dtype=jnp.float32) -> RedoState:
    """Zero sums and zero count for hidden widths (m_1, …, m_L)."""
    return RedoState([jnp.zeros(m, dtype) for m in widths], jnp.zeros((), dtype))


def accumulate(state: RedoState, features) -> RedoState:
    """Add a minibatch's hidden activations (list of (b, m_l)) to the sums."""
    total = [t + jnp.sum(jnp.abs(h), axis=0).astype(t.dtype)
             for t, h in zip(state.total, features)]
    return RedoState(total, state.count + features[0].shape[0])


def dormant_masks(state: RedoState, threshold: float) -> list:
    """masks[l] (m_l,) bool: s_u ≤ τ with s_u = a_u / (mean_v a_v + 1e-9), a = total / count."""
    out = []
    for t in state.total:
        a = t / jnp.maximum(state.count, 1)
        out.append(a / (jnp.mean(a) + SCORE_EPS) <= threshold)
    return out


def fresh_incoming(model, key) -> list:
    """``model.init(key)`` with every bias zero (ReDo resets a recycled unit's bias to 0)."""
    return [(W, jnp.zeros_like(b)) for W, b in model.init(key)]


def recycle(model, params, opt_state, masks, key):
    """params with the masked units' incoming weights from ``fresh_incoming(model, key)``, bias 0
    and outgoing weights 0, and ``opt_state`` with those weights' moments zeroed. Returns
    ``(params, opt_state)``."""
    params = [tuple(pair) for pair in params]
    fresh = fresh_incoming(model, key)
    opt_state = zero_optimizer_state(opt_state, params, masks)
    return replace_units(params, masks, fresh), opt_state


def redo_update(model, agent, params, state: RedoState, opt_state, key):
    """One ReDo recycling (jittable): masks from :func:`dormant_masks` at ``agent``'s τ, then
    :func:`recycle`; the sums restart. Returns ``(params, state, opt_state, masks)``."""
    masks = dormant_masks(state, agent.redo_threshold)
    params, opt_state = recycle(model, params, opt_state, masks, key)
    zero = RedoState([jnp.zeros_like(t) for t in state.total], jnp.zeros_like(state.count))
    return params, zero, opt_state, masks
