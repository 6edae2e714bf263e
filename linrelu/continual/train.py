"""Training one task: minibatch steps of the agent's optimizer on its objective, jit-compiled with
``lax.scan``, for any model (:mod:`linrelu.continual.model`: an MLP or e.g. the ConvNet).

One call of :func:`train_task` runs ``epochs`` epochs; each epoch draws a fresh permutation of
the task's training set and scans over its ``n // batch_size`` full minibatches (the remainder
of a permutation is dropped). Each step: (every ``er_every`` steps, the authors' separate ER step
when ``agent.er_mode == "separate"``), g = ∇J_B(θ), the optax update of
:func:`linrelu.continual.agents.make_optimizer`, then (cbp)
:func:`linrelu.continual.cbp.cbp_update`.
Training is in float32 (speed); the returned params are float64 for spectral work.

How the steps are run (the same operations, fewer of them per step):
- the **sparse first-layer step** (:func:`sparse_width`): plain SGD of an MLP on sparse inputs
  (MNIST: 19 % nonzero pixels) on the CPU gathers and updates only the rows of W_1 a minibatch
  reads;
- **blocks**: with the separate ER step, the sparse L2 step or CBP, an epoch is a scan over
  blocks of steps (``er_every``, ``SCALE_BLOCK``, ``CBP_BLOCK``) rather than one ``lax.cond``
  per step; CBP decides per block whether a unit can come due at all
  (:func:`linrelu.continual.cbp.replacement_possible`).

An :class:`AgentState` carries what outlives a step: the optimizer state (momentum), the CBP
utilities/ages/pending counts and the step counter. :func:`train_task_with_state` threads it
through tasks (the authors' train state persists across tasks: momentum and utilities are not
reset at a task boundary); :func:`train_task` starts from a fresh one.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from linrelu.continual.agents import (
    AgentConfig,
    l2_penalty,
    make_optimizer,
    mean_erank,
    regularized_objective,
)
from linrelu.continual.cbp import (
    advance_schedule,
    cbp_update,
    hidden_widths,
    init_cbp_state,
    replacement_possible,
)
from linrelu.continual.model import as_model, require_features, require_init
from linrelu.continual.redo import (
    accumulate,
    init_redo_state,
    noise_key,
    noise_std,
    perturb,
    redo_update,
)
from linrelu.continual.streams import Task
from linrelu.models.mlp import (
    MLP,
    SPARSE_WIDTH_QUANTUM,
    padded_width,
    sparse_first_preactivation,
    sparse_inputs,
    trace_from_first_preactivation,
)
from linrelu.precision import float64
from linrelu.spectral.losses import mean_loss
from linrelu.validation import check_positive_int, describe


class AgentState(NamedTuple):
    """What an agent carries between steps: optax state, CBP state (or None), step count, ReDo
    state (:class:`linrelu.continual.redo.RedoState`, or None)."""

    opt_state: Any
    cbp: Any
    step: Any
    redo: Any = None


def _input_size(model) -> int | None:
    return getattr(model, "in_dim", None)


def check_model_task(net, task):
    """The model of ``net`` after checking it matches ``task`` (input size and outputs)."""
    model = as_model(net)
    if not isinstance(task, Task):
        raise ValueError(f"task: expected a linrelu.continual.Task, received {describe(task)}")
    d = _input_size(model)
    k = getattr(model, "out_dim", None)
    if (d is not None and int(np.prod(task.X.shape[1:])) != d) or (
            k is not None and task.out_dim != k):
        raise ValueError(f"task: expected inputs of size {d} and {k} outputs to match the "
                         f"model, received X of shape {task.X.shape} and out_dim "
                         f"{task.out_dim}")
    return model


def check_model_stream(model, stream) -> None:
    """:func:`check_model_task` for every task of ``stream`` at once (its tasks share
    ``stream.input_shape`` and ``stream.out_dim``)."""
    d = _input_size(model)
    k = getattr(model, "out_dim", None)
    if (d is not None and stream.in_dim != d) or (k is not None and stream.out_dim != k):
        raise ValueError(f"stream: expected tasks with inputs of size {d} and {k} outputs to "
                         f"match the model, received X of shape (n, "
                         f"{', '.join(map(str, stream.input_shape))}) and out_dim "
                         f"{stream.out_dim}")


def _check_agent(agent):
    if not isinstance(agent, AgentConfig):
        raise ValueError(f"agent: expected an AgentConfig from make_agent, received "
                         f"{describe(agent)}")


def check_agent_model(model, agent: AgentConfig) -> None:
    """What ``agent`` needs of ``model`` beyond ``apply`` (:mod:`linrelu.continual.model`):
    ``features`` for ER (either mode) and continual backprop, ``init`` for continual backprop
    and ``reset``. ValueError naming ``net`` and the agent when the model lacks it."""
    _check_agent(agent)
    if agent.er_in_objective or agent.er_separate:
        require_features(model, f"agent {agent.name!r} regularizes the effective rank of the "
                                f"hidden units")
    if agent.cbp or agent.redo:
        require_features(model, f"agent {agent.name!r} ranks hidden units by their activity")
        require_init(model, f"agent {agent.name!r} re-initializes hidden units from init(key)")
    if agent.reset:
        require_init(model, f"agent {agent.name!r} draws fresh parameters at every task start")


def _cast(params, dtype):
    return jax.tree_util.tree_map(lambda a: jnp.asarray(a, dtype), params)


def float32_matmuls():
    """The scope every training program runs in: matrix products and convolutions in full float32
    on every backend (``jax.default_matmul_precision("float32")``).

    JAX's default precision lets an accelerator round float32 operands of a product to
    TensorFloat-32 (a 10-bit mantissa, relative rounding ≈ 5e-4): on an H200 the ConvNet's lone
    run and the same run as a population member, which cuDNN computes with other algorithms,
    then differed after 4 steps by up to 1.5e-4 on weights of size ≈ 0.2
    (tests/test_population.py on an H200), where float32 round-off gives ≈ 1e-6. XLA:CPU computes
    float32 products in float32 either way (quick mode's results are byte-identical with and
    without this scope)."""
    return jax.default_matmul_precision("float32")


def _as_float32(params):
    return _cast(params, jnp.float32)


def as_float64(params):
    """params with every leaf float64 (inside the float64 scope)."""
    with float64():
        return _cast(params, jnp.float64)


def _canonical(params):
    """Lists of (W, b) pairs become lists of tuples (one pytree structure for params and the
    optimizer's state); any other pytree is returned as is."""
    if isinstance(params, (list, tuple)) and all(
            isinstance(p, (list, tuple)) and len(p) == 2 for p in params):
        return [tuple(p) for p in params]
    return params


def _check_cbp_layout(model, params, X):
    """CBP pairs features(params, X)[l] with the units of params[l]: their widths must agree."""
    widths = hidden_widths(model, params)
    with float64():
        shapes = jax.eval_shape(model.features, _cast(params, jnp.float32),
                                jnp.asarray(X, jnp.float32))
    got = [tuple(s.shape)[1:] for s in shapes]
    if got != [(m,) for m in widths]:
        raise ValueError(f"net: continual backprop expects features(params, X) to give one "
                         f"(n, m_l) array per hidden layer with widths {widths}, received "
                         f"widths {got}")


def init_agent_state(net, params, agent: AgentConfig) -> AgentState:
    """A fresh :class:`AgentState` for float32 training of ``params``."""
    model = as_model(net)
    _check_agent(agent)
    return fresh_agent_state(model, params, agent)


def fresh_agent_state(model, params, agent: AgentConfig) -> AgentState:
    """:func:`init_agent_state` for a ``model`` already resolved by :func:`as_model` and a
    checked ``agent`` (the continual engine's path: it resolves and checks once per run)."""
    params = _as_float32(_canonical(params))
    cbp = init_cbp_state(hidden_widths(model, params)) if agent.cbp else None
    redo = init_redo_state(hidden_widths(model, params)) if agent.redo else None
    return AgentState(make_optimizer(agent).init(params), cbp, jnp.zeros((), jnp.int32), redo)


class OnlineStats(NamedTuple):
    """Running totals over a task's steps of the predictions made *before* each step's update
    (Dohare et al.'s online accuracy): ``correct`` (ce: argmax f = y count; 0 for mse),
    ``loss`` (Σ over steps of batch size × the minibatch's mean loss, i.e. the summed per-example
    loss), ``count`` (examples seen)."""

    correct: Any
    loss: Any
    count: Any


def _zero_stats() -> OnlineStats:
    return OnlineStats(jnp.zeros((), jnp.int32), jnp.zeros((), jnp.float32),
                       jnp.zeros((), jnp.int32))


#: (mean, densest row): the sparse first-layer step (:func:`sparse_width`) is taken when the
#: inputs' mean nonzero fraction per row is at most the first and their densest row's at most the
#: second. benchmarks/RESULTS.md ("Sparse first layer", one thread, AMD EPYC; two runs 2 min
#: apart, the dense step's speed moving 1.5× between them): with every row at one density the
#: sparse step was 1.9–2.9× / 1.3–2.3× / 1.0–1.5× / 0.8–1.4× / 0.56× the dense one's speed at
#: 0.05 / 0.2 / 0.38 / 0.5 / 0.7; 1.55× on a Permuted-MNIST task of MNIST-5k (mean 0.19, densest
#: row 0.34: the padding gathers one cached row). A fixed rule of the data, not a timing
#: probe: the choice changes the result at float32 round-off (the order of a sum), so it must
#: not flip between processes.
SPARSE_MAX_DENSITY = (0.25, 0.5)
#: JAX backends on which the sparse step is taken (sparse_width: slower on a GPU)
SPARSE_BACKENDS = ("cpu",)
#: the sparse step with L2 forms W_1 = c V again every this many steps (sparse_width)
SCALE_BLOCK = 100
#: CBP without ER decides every this many steps whether a unit can come due (block): at the
#: authors' ρ = 1e-6 and 100 mature units, ≈ 1 % of blocks per layer may replace one
CBP_BLOCK = 100


def _sparse_source(task: Task):
    """What :func:`sparse_width` reads for ``task``: its (idx, vals) encoding when the stream
    made one (a third of the bytes of X), else X."""
    return task.X if task.X_sparse is None else task.X_sparse


def sparse_width(model, agent: AgentConfig, X, lr=None) -> int | None:
    """The padded width of the sparse first-layer step for training ``model`` with ``agent`` on
    inputs ``X``, or None for the dense step.

    Sparse when: JAX runs on the CPU (``SPARSE_BACKENDS``; on a GPU the dense step was the
    faster one at every density measured: 0.90× at 0.05, 0.87× at 0.2, 0.62× at 0.7 and 0.82× on
    an MNIST-5k task on an H200, benchmarks/RESULTS.md);
    ``model`` is a :class:`linrelu.MLP`; the agent's update of W_1 is plain SGD
    (optimizer "sgd", no clipping, no ER term in the objective: then W_1's loss gradient
    Σ_i x_i δ_iᵀ is nonzero only on the rows of the minibatch's nonzero pixels); and the rows of
    ``X`` are sparse enough (``SPARSE_MAX_DENSITY``: mean and densest row). The step then
    gathers those rows of W_1, takes the gradient in them and scatter-adds the update:
    the same SGD step as the dense one, summed in another order (float32 round-off).

    With L2 (λ > 0; not with CBP) the decay W_1 ← (1 − lr λ) W_1, which touches all of W_1 at
    every step, is carried as a scalar: W_1 = c V, c ← (1 − lr λ) c and V[rows] −= lr g_rows / c,
    with W_1 = c V formed again every B steps (B = ``er_every`` before each separate ER step,
    else ``SCALE_BLOCK``); only when lr·λ·B ≤ 1, so that c stays ≥ (1 − 1/B)^B ≈ e⁻¹.
    ``X``: the inputs (n, …), or their encoding (idx, vals) (a task's ``X_sparse``: the counts
    are those of its nonzero vals). The width is a multiple of ``SPARSE_WIDTH_QUANTUM`` (one
    compiled program for tasks whose densest rows differ a little); for an encoding it is the
    encoding's own width when that is wider: a stream encodes every task at its pool's width
    (:mod:`linrelu.continual.streams`), so all of its tasks share one compiled program however
    their densest rows differ (a task of 60 of the 4000 pool images asked for 4 widths over 6
    tasks before, each a compile of 3–4 s on the 2-core AMD EPYC, 2026-11-26).
    ``lr``: the step(s) of a population (the largest counts)."""
    lr = agent.lr if lr is None else float(np.max(lr))
    if jax.default_backend() not in SPARSE_BACKENDS or not isinstance(model, MLP) \
            or agent.optimizer != "sgd" \
            or agent.clip_norm is not None \
            or agent.er_in_objective or (agent.l2 and (agent.cbp or lr * agent.l2 * (
                agent.er_every if agent.er_separate else agent.period if agent.period
                else SCALE_BLOCK) > 1)):
        return None
    if isinstance(X, tuple):  # (idx, vals): counting the nonzero vals reads a third of X
        counts, d = np.count_nonzero(np.asarray(X[1]), axis=1), _input_size(model)
    else:
        X = np.asarray(X).reshape(len(X), -1)
        counts, d = np.count_nonzero(X, axis=1), X.shape[1]
    most = int(counts.max(initial=0))
    mean_max, most_max = SPARSE_MAX_DENSITY
    if counts.mean() > mean_max * d or most > most_max * d:
        return None
    width = padded_width(most, SPARSE_WIDTH_QUANTUM)
    return max(width, int(np.shape(X[0])[1])) if isinstance(X, tuple) else width


def _task_program(model, agent: AgentConfig, loss: str, n: int, batch_size: int, epochs: int,
                  sparse: int | None = None):
    """The pieces of one task's training: ``(step, batches, er_step)``.

    ``step(data, carry, i, lr, with_er)`` takes minibatch i of ``data`` = ``batches(...)``
    (Xs, ys, and with ``sparse`` the minibatches' :func:`linrelu.models.mlp.sparse_inputs` idx,
    vals of
    that width); carry = (params, state, key, stats). ``lr`` is a float or a traced scalar."""
    steps = n // batch_size
    er_span = min(agent.er_every, steps)

    def er_inputs(Xs, start):
        """The er_span minibatches from ``start`` on: slices of Xs = X[order] (the dense step's
        minibatches), or with the sparse step Xs = (X, order) and only these rows gathered."""
        if isinstance(Xs, tuple):
            X, order = Xs
            return X[jax.lax.dynamic_slice_in_dim(order, start, er_span, axis=0).reshape(-1)]
        Xer = jax.lax.dynamic_slice_in_dim(Xs, start, er_span, axis=0)
        return Xer.reshape((er_span * batch_size, *Xs.shape[2:]))

    def er_step(params, Xs, i):
        """The authors' separate ER ascent step on the next er_every minibatches."""
        Xer = er_inputs(Xs, jnp.minimum(i, steps - er_span))
        g = jax.grad(lambda p: -mean_erank(model.features(p, Xer)))(params)
        return jax.tree_util.tree_map(lambda p, gp: p - agent.er_lr * gp, params, g)

    def dense_gradient(params, state, data, i, lr):
        Xs, ys = data[:2]
        Xb, yb = Xs[i], ys[i]
        objective = regularized_objective(model, agent, Xb, yb, loss, with_logits=True)
        g, logits = jax.grad(objective, has_aux=True)(params)
        updates, opt_state = make_optimizer(agent, lr).update(g, state.opt_state, params)
        new_params = jax.tree_util.tree_map(lambda p, u: p + u, params, updates)
        features = model.features(params, Xb) if agent.cbp or agent.redo else None
        return new_params, opt_state, logits, features

    def sparse_gradient(params, state, data, i, lr, scale=None):
        """Plain SGD with W_1's gradient taken in the rows the minibatch reads (sparse_width);
        with L2, params[0][0] is V and W_1 = scale · V. Returns the new scale as well."""
        _, ys, idx, vals = data
        ix, v, yb = idx[i], vals[i], ys[i]
        (V, b1), rest = params[0], list(params[1:])
        c = 1.0 if scale is None else scale

        def objective(rows, b1, rest):
            trace = trace_from_first_preactivation(
                model, [(V, b1), *rest], sparse_first_preactivation(model, rows, b1, v))
            value = mean_loss(trace.preacts[-1], yb, loss)
            if agent.l2:  # the dense objective's (λ/2)‖θ‖²; W_1's share is the scale's decay
                value = value + agent.l2 * (0.5 * jnp.sum(b1 ** 2) + l2_penalty(rest))
            return value, (trace.preacts[-1], trace.acts[1:])

        (g_rows, g_b1, g_rest), (logits, features) = jax.grad(
            objective, argnums=(0, 1, 2), has_aux=True)(c * V[ix], b1, rest)
        c_new = None if scale is None else scale * (1.0 - lr * agent.l2)
        step_rows = (-lr * g_rows) if scale is None else (-lr / c_new) * g_rows
        V = V.at[ix.reshape(-1)].add(step_rows.reshape(-1, V.shape[1]))
        sgd = lambda p, g: p + (-lr) * g  # noqa: E731  (optax.sgd's update, then apply)
        new_params = [(V, sgd(b1, g_b1)), *jax.tree_util.tree_map(sgd, rest, g_rest)]
        return new_params, state.opt_state, logits, features, c_new

    def dense_step(params, state, data, i, lr, scale=None):
        return (*dense_gradient(params, state, data, i, lr), scale)

    gradient_step = sparse_gradient if sparse else dense_step

    def periodic(carry, before, lr):
        """snp's noise (:func:`linrelu.continual.redo.perturb`, the variance of K =
        ``perturb_every`` steps) or redo's recycling (:func:`linrelu.continual.redo.redo_update`)
        when a multiple of the agent's period lies in (before, step] (step = the state's count
        of steps taken); carry = (params, state, key, stats)."""
        params, state, key = carry[:3]
        P = agent.period
        due = state.step // P > before // P
        k = noise_key(key, state.step)
        if agent.snp:
            sigma = noise_std(agent.perturb_scale, lr, agent.l2, P)
            params = jax.lax.cond(due, lambda p: perturb(p, k, sigma), lambda p: p, params)
            return (params, *carry[1:])

        def recycle(operand):
            p, rs, opt = operand
            p, rs, opt, _ = redo_update(model, agent, p, rs, opt, k)
            return p, rs, opt

        params, rs, opt = jax.lax.cond(due, recycle, lambda o: o,
                                       (params, state.redo, state.opt_state))
        return (params, state._replace(opt_state=opt, redo=rs), *carry[2:])

    def step(data, carry, i, lr, with_er=True, may_replace=True, with_periodic=True):
        """carry = (params, state, key, stats[, scale]): the scale of the sparse L2 step.
        ``may_replace=False``: CBP's bookkeeping only, for steps at which no unit can be due
        (:func:`linrelu.continual.cbp.replacement_possible`); the same result there.
        ``with_periodic=False``: without snp's noise / redo's recycling after the step (the
        scanned program applies them once per block of ``agent.period`` steps)."""
        params, state, key, stats = carry[:4]
        scale = carry[4] if len(carry) == 5 else None
        if agent.er_separate and with_er:
            params = jax.lax.cond(i % agent.er_every == 0, lambda p: er_step(p, data[0], i),
                                  lambda p: p, params)
        yb = data[1][i]
        new_params, opt_state, logits, features, scale = gradient_step(params, state, data, i,
                                                                       lr, scale)
        cbp_state = state.cbp
        if agent.cbp:  # fresh units drawn from the task's CBP key folded with the step count
            new_params, cbp_state, opt_state, _ = cbp_update(
                model, agent, new_params, cbp_state, features,
                jax.random.fold_in(key, state.step), opt_state, may_replace=may_replace)
        correct = (jnp.sum(jnp.argmax(logits, axis=1) == yb).astype(jnp.int32)
                   if loss == "ce" else jnp.zeros((), jnp.int32))
        stats = OnlineStats(stats.correct + correct,
                            stats.loss + batch_size * mean_loss(logits, yb, loss).astype(
                                jnp.float32),
                            stats.count + batch_size)
        redo_state = accumulate(state.redo, features) if agent.redo else state.redo
        out = (new_params, AgentState(opt_state, cbp_state, state.step + 1, redo_state), key,
               stats)
        if agent.period and with_periodic:
            if scale is not None:
                raise ValueError("with_periodic: the sparse L2 step's scaled W_1 takes the "
                                 "periodic operation at block ends (with_periodic=False)")
            out = periodic(out, state.step, lr)
        return out if scale is None else (*out, scale)

    def batches(X, y, epoch_key, *encoded):
        order = jax.random.permutation(epoch_key, n)[:steps * batch_size]
        order = order.reshape(steps, batch_size)
        # the sparse step reads only (idx, vals); the ER step then gathers its rows of X itself
        # (not all of X[order]: 12.5 MB per 4000-image MNIST task)
        Xs = X[order] if not encoded else (X, order) if agent.er_separate else None
        return (Xs, y[order], *(a[order] for a in encoded))

    step.periodic = periodic
    return step, batches, er_step


def _scanned_program(model, agent, loss, n, batch_size, epochs, sparse=None):
    """``(params32, state, X, y, key, lr, *encoded) -> (params32, state, stats)``: every epoch
    one ``lax.scan`` over the minibatches (MLPs), ``lr`` an argument (traceable); ``encoded`` =
    (idx, vals) of the sparse step (:func:`sparse_width`), else empty."""
    steps = n // batch_size
    step, batches, er_step = _task_program(model, agent, loss, n, batch_size, epochs, sparse)

    scaled = bool(sparse and agent.l2)

    def steps_from(data, carry, first, count, lr, may_replace=True):
        """Steps first, …, first + count − 1 without the ER step (with the sparse L2 step:
        from W_1 = 1 · V, forming W_1 = c V at the end)."""
        body = lambda c, j: (step(data, c, first + j, lr, with_er=False,  # noqa: E731
                                  may_replace=may_replace, with_periodic=False), None)
        if scaled:
            carry = (*carry, jnp.ones((), jnp.float32))
        # unroll 2: the same operations, ≈ 9 % less loop overhead per minibatch-1 step of
        # the width-100 MLP on XLA:CPU (66.5 → 61.3 µs, bit-identical result, 2-core AMD EPYC,
        # 2026-11-26)
        out = jax.lax.scan(body, carry, jnp.arange(count), unroll=2)[0]
        if not scaled:
            return out
        (V, b1), rest = out[0][0], out[0][1:]
        return ([(out[4] * V, b1), *rest], *out[1:4])

    def block(data, carry, first, count, lr):
        """The separate ER step (when the agent has it), then steps first … first + count − 1;
        with CBP, steps that only keep its books when no unit can come due in the block (its
        schedule depends on ages and counts only), else steps that may replace units: one
        ``lax.cond`` per block instead of one per step, and in those blocks ages and counts moved
        once (:func:`linrelu.continual.cbp.advance_schedule`). Measured gain: benchmarks/RESULTS.md,
        "Timing history"."""
        if agent.er_separate:
            carry = (er_step(carry[0], data[0], jnp.asarray(first, jnp.int32)), *carry[1:])
        if agent.period:  # snp / redo: the periodic operation at the block's end
            return step.periodic(steps_from(data, carry, first, count, lr), carry[1].step, lr)
        if not agent.cbp:
            return steps_from(data, carry, first, count, lr)

        def books_only(c):
            params, state, *rest = steps_from(data, c, first, count, lr, may_replace=False)
            return (params, state._replace(cbp=advance_schedule(agent, state.cbp, count)),
                    *rest)

        return jax.lax.cond(replacement_possible(agent, carry[1].cbp, count),
                            lambda c: steps_from(data, c, first, count, lr), books_only, carry)

    def run(params, state, X, y, key, lr, *encoded):
        def epoch(carry, epoch_key):
            data = batches(X, y, epoch_key, *encoded)
            if not (agent.er_separate or scaled or agent.cbp or agent.period):
                return steps_from(data, carry, 0, steps, lr), None
            # the separate ER step at every i with i % er_every == 0, then steps i … i + E − 1:
            # blocks of E steps, each after its ER step (the same operations as an ER step under
            # lax.cond at every step, without the cond, which kept XLA from updating W_1 in
            # place); the sparse L2 step forms W_1 = c V at the end of every block; CBP decides
            # per block whether a unit can come due (block)
            E = (agent.er_every if agent.er_separate else agent.period if agent.period
                 else SCALE_BLOCK if scaled else CBP_BLOCK)
            blocks, rest = divmod(steps, E)
            carry = jax.lax.scan(lambda c, b: (block(data, c, b * E, E, lr), None), carry,
                                 jnp.arange(blocks))[0]
            if rest:
                carry = block(data, carry, blocks * E, rest, lr)
            return carry, None

        # epoch keys as before CBP existed (same minibatch order); CBP draws from a fold-in
        carry = (params, state, jax.random.fold_in(key, 0xCB), _zero_stats())
        params, state, _, stats = jax.lax.scan(epoch, carry, jax.random.split(key, epochs))[0]
        return params, state, stats

    return run


@lru_cache(maxsize=64)
def _trainer(model, agent: AgentConfig, loss: str, n: int, batch_size: int, epochs: int,
             sparse: int | None = None):
    """``(params32, state, X, y, key, *encoded) -> (params32, state, stats)`` running ``epochs``
    epochs (one jitted scan for an MLP, a loop of jitted steps for other models)."""
    steps = n // batch_size
    if isinstance(model, MLP):
        program = _scanned_program(model, agent, loss, n, batch_size, epochs, sparse)
        return jax.jit(lambda p, s, X, y, k, *e: program(p, s, X, y, k, agent.lr, *e))

    step, batches, er_step = _task_program(model, agent, loss, n, batch_size, epochs)
    # Other models (convolutions): one jitted step per minibatch from a Python loop. XLA's CPU
    # backend runs convolution gradients inside a while loop (lax.scan) 12–25× slower than the
    # same step dispatched on its own (ConvNet 28×28×1, minibatch 100: 2.6–5.2 s vs 0.21 s per
    # step, 2-core AMD EPYC, 2026-11-25); the dispatch overhead (~0.1 ms) is negligible at these
    # step costs.
    # The separate ER step is likewise taken outside the jitted step, from Python, rather than
    # under lax.cond: a convolution gradient inside a cond ran ≈ 20 s per 8-step task instead of
    # ≈ 1.5 s (ConvNet 28×28×1, ER on 400 images once per epoch, 2-core AMD EPYC, 2026-11-25). Same
    # order of
    # operations as the scanned path: ER step (when i % er_every == 0), then the loss step.
    jit_batches = jax.jit(batches)
    jit_step = jax.jit(lambda data, carry, i: step(data, carry, i, agent.lr, with_er=False))
    jit_er = jax.jit(er_step)

    def run(params, state, X, y, key):
        carry = (params, state, jax.random.fold_in(key, 0xCB), _zero_stats())
        for epoch_key in jax.random.split(key, epochs):
            data = jit_batches(X, y, epoch_key)
            for i in range(steps):
                i_arr = jnp.asarray(i, jnp.int32)
                if agent.er_separate and i % agent.er_every == 0:
                    carry = (jit_er(carry[0], data[0], i_arr), *carry[1:])
                carry = jit_step(data, carry, i_arr)
        return carry[0], carry[1], carry[3]

    return run


@lru_cache(maxsize=16)
def _population_trainer(model, agent: AgentConfig, loss: str, n: int, batch_size: int,
                        epochs: int, sparse: int | None = None):
    """``(params, states, X, y, keys, lrs, *encoded)`` with a leading population axis on every
    argument: :func:`_scanned_program` vmapped (MLPs), else :func:`_trainer`'s loop of jitted
    steps with every step (and ER step) vmapped over the members."""
    if isinstance(model, MLP):
        return jax.jit(jax.vmap(_scanned_program(model, agent, loss, n, batch_size, epochs,
                                                 sparse)))
    steps = n // batch_size
    step, batches, er_step = _task_program(model, agent, loss, n, batch_size, epochs)
    vbatches = jax.jit(jax.vmap(batches))
    vstep = jax.jit(jax.vmap(lambda data, carry, i, lr: step(data, carry, i, lr, with_er=False),
                             in_axes=(0, 0, None, 0)))
    ver = jax.jit(jax.vmap(er_step, in_axes=(0, 0, None)))

    def run(params, states, X, y, keys, lrs):
        P = keys.shape[0]
        stats = jax.tree_util.tree_map(lambda a: jnp.zeros((P, *a.shape), a.dtype),
                                       _zero_stats())
        carry = (params, states, jax.vmap(lambda k: jax.random.fold_in(k, 0xCB))(keys), stats)
        epoch_keys = jax.vmap(lambda k: jax.random.split(k, epochs))(keys)  # (P, epochs, …)
        for e in range(epochs):
            data = vbatches(X, y, epoch_keys[:, e])
            for i in range(steps):
                i_arr = jnp.asarray(i, jnp.int32)
                if agent.er_separate and i % agent.er_every == 0:
                    carry = (ver(carry[0], data[0], i_arr), *carry[1:])
                carry = vstep(data, carry, i_arr, lrs)
        return carry[0], carry[1], carry[3]

    return run


def _encoded(task: Task, width: int | None) -> tuple:
    """The sparse step's (idx, vals) of the task's training inputs (the stream's ``X_sparse``
    when it has one, with its padding cut or extended to ``width``), or () for the dense step."""
    if width is None:
        return ()
    if task.X_sparse is None:
        X32 = np.asarray(task.X, np.float32)
        idx, vals = sparse_inputs(X32.reshape(X32.shape[0], -1), width)
    else:
        idx, vals = task.X_sparse
        if idx.shape != vals.shape or idx.shape[0] != task.X.shape[0]:
            raise ValueError(f"task: expected X_sparse = (idx, vals) of shape (n, width) with "
                             f"n = {task.X.shape[0]}, received shapes {np.shape(idx)}, "
                             f"{np.shape(vals)}")
        w = idx.shape[1]  # each row's nonzeros come first: columns ≥ width are padding
        idx = idx[:, :width] if w >= width else np.pad(idx, ((0, 0), (0, width - w)))
        vals = vals[:, :width] if w >= width else np.pad(vals, ((0, 0), (0, width - w)))
    return jnp.asarray(idx, jnp.int32), jnp.asarray(vals, jnp.float32)


def _dense_inputs(task: Task, agent: AgentConfig, width: int | None):
    """The float32 inputs the program reads densely: all of X for the dense step or the ER step,
    else a placeholder (the sparse step reads only its encoding)."""
    if width is None or agent.er_separate:
        return jnp.asarray(np.asarray(task.X, np.float32))
    return jnp.zeros((task.X.shape[0], 1), jnp.float32)


def online_info(stats: OnlineStats, loss: str) -> dict:
    """{"online_accuracy" (ce only), "online_loss"} from a task's :class:`OnlineStats`."""
    count = max(int(stats.count), 1)
    out = {"online_loss": float(stats.loss) / count}
    if loss == "ce":
        out["online_accuracy"] = int(stats.correct) / count
    return out


@lru_cache(maxsize=64)
def jitted_apply(model):
    """``jax.jit(model.apply)``, one per model (models are hashable): evaluations on thousands of
    inputs at every task start cost a compiled forward pass, not an op-by-op one."""
    return jax.jit(model.apply)


def evaluate(net, params, X, y, loss: str) -> dict:
    """{"loss": L, "accuracy": …} in float64. ce accuracy = fraction of argmax f = y;
    mse "accuracy" = R² = 1 − Σ‖f − y‖² / Σ‖y − ȳ‖² (ȳ the mean target; 1 is perfect)."""
    return evaluate_model(as_model(net), params, X, y, loss)


def evaluate_model(model, params, X, y, loss: str) -> dict:
    """:func:`evaluate` for a ``model`` already resolved by :func:`as_model`."""
    with float64():
        f = jitted_apply(model)(_cast(params, jnp.float64), jnp.asarray(X, jnp.float64))
        if loss == "ce":
            yj = jnp.asarray(y, jnp.int32)
            return {"loss": float(mean_loss(f, yj, loss)),
                    "accuracy": float(np.mean(np.asarray(jnp.argmax(f, axis=1))
                                              == np.asarray(y)))}
        yj = jnp.asarray(y, jnp.float64)
        ss_res = float(jnp.sum((f - yj) ** 2))
        ss_tot = float(jnp.sum((yj - jnp.mean(yj, axis=0)) ** 2))
        return {"loss": float(mean_loss(f, yj, loss)),
                "accuracy": 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")}


def _check_params(model, params):
    check = getattr(model, "check_params", None)
    return check(params) if callable(check) else params


def train_task_with_state(net, params, state: AgentState | None, task: Task,
                          agent: AgentConfig, *, epochs: int, batch_size: int, key,
                          evaluate_train: bool = True):
    """Train on ``task`` for ``epochs`` epochs from ``state`` (None: :func:`init_agent_state`).

    One task of :func:`linrelu.continual.run_continual`, for writing a task loop by hand:
    ``start_task`` → ``train_task_with_state`` → (diagnose) → next task, passing the returned
    params and state on.

    Arguments: ``net`` any model (:mod:`linrelu.continual.model`: ``apply``; ``features`` for
    ER and cbp; ``init`` for cbp) whose inputs and outputs fit ``task`` (an MLP's ``in_dim`` and
    ``out_dim`` are checked); ``params`` its parameters (any pytree ``net.apply`` takes, any
    float dtype; an MLP's list of (W, b)); ``state`` an :class:`AgentState` from an earlier call
    or :func:`init_agent_state` with the same agent and params structure, or None; ``task`` a
    :class:`linrelu.continual.Task`; ``agent`` from :func:`linrelu.continual.make_agent`;
    ``epochs`` ≥ 1; ``1 ≤ batch_size ≤ n`` (each epoch is ``n // batch_size`` steps over a fresh
    permutation, the remainder dropped); ``key`` a JAX PRNG key (epoch permutations, CBP).
    Training runs in float32, in full float32 products (:func:`float32_matmuls`).

    Returns ``(params, state, info)``: the trained params as float64 (same pytree structure; an
    MLP's as a list of (W, b) tuples), the agent state after the last step and
    info = {"loss", "accuracy"} on the training set after training, "test_loss",
    "test_accuracy" on the task's test set, "steps" (optimizer steps taken), "online_loss" and
    (ce) "online_accuracy": the mean over the task's steps of the loss / accuracy of each
    minibatch's prediction made *before* that step's update (Dohare et al.'s online accuracy).
    For mse, "accuracy" is R² (see :func:`evaluate`). ``evaluate_train=False`` leaves out
    "loss" and "accuracy" (a forward pass over the whole training set; the online accuracy
    already measures the training set as it is learned). Bad input: ValueError naming the
    argument.
    """
    model = check_model_task(net, task)
    check_agent_model(model, agent)
    params = _canonical(_check_params(model, params))
    check_training_options(epochs, batch_size)
    if agent.cbp:
        _check_cbp_layout(model, params, task.X[:1])
    if state is None:
        state = fresh_agent_state(model, params, agent)
    elif not isinstance(state, AgentState):
        raise ValueError(f"state: expected an AgentState (or None), received {describe(state)}")
    return train_checked(model, params, state, task, agent, epochs=epochs,
                         batch_size=batch_size, key=key, evaluate_train=evaluate_train)


def check_training_options(epochs, batch_size) -> None:
    """``epochs`` ≥ 1 and ``batch_size`` ≥ 1 (ValueError naming the argument); each task's
    ``batch_size`` ≤ n is checked by :func:`train_checked`."""
    check_positive_int(epochs, "epochs")
    check_positive_int(batch_size, "batch_size")


def check_cbp_layout(model, params, input_shape) -> None:
    """Continual backprop's pairing of ``features(params, X)[l]`` with the units of
    ``params[l]`` (shapes only) on inputs of shape (1, *input_shape)."""
    _check_cbp_layout(model, _canonical(params), np.zeros((1, *input_shape), np.float32))


def train_checked(model, params, state: AgentState, task: Task, agent: AgentConfig, *,
                  epochs: int, batch_size: int, key, evaluate_train: bool = True):
    """:func:`train_task_with_state` on inputs already checked: ``model`` from :func:`as_model`
    fitting ``task``, ``agent`` checked against it, ``params`` its float parameters (an MLP's
    list of (W, b)), ``state`` an :class:`AgentState`, ``epochs`` and ``batch_size`` positive
    ints (the continual engine checks all of this once per run). ValueError naming
    ``batch_size`` when it exceeds the task's n."""
    params = _canonical(params)
    n = task.X.shape[0]
    if batch_size > n:
        raise ValueError(f"batch_size: expected at most the task's {n} training examples, "
                         f"received {batch_size}")
    width = sparse_width(model, agent, _sparse_source(task))
    run = _trainer(model, agent, task.loss, n, int(batch_size), int(epochs), width)
    y = task.y.astype(np.int32) if task.loss == "ce" else task.y.astype(np.float32)
    # float32 training (in full float32: float32_matmuls); the float64 scope only lets CBP's
    # fresh init draw float64 MLPs
    with float64(), float32_matmuls():
        out, state, stats = run(_as_float32(params), state, _dense_inputs(task, agent, width),
                                jnp.asarray(y), key, *_encoded(task, width))
    out, info = _finish(model, out, task, int(epochs) * (n // int(batch_size)), stats,
                        evaluate_train)
    return out, state, info


def _finish(model, params32, task: Task, steps: int, stats: OnlineStats,
            evaluate_train: bool = True):
    """float64 params and the task's info (module docstring of train_task_with_state)."""
    out = as_float64(params32)
    info = evaluate_model(model, out, task.X, task.y, task.loss) if evaluate_train else {}
    test = evaluate_model(model, out, task.X_test, task.y_test, task.loss)
    info.update(test_loss=test["loss"], test_accuracy=test["accuracy"], steps=steps,
                **online_info(stats, task.loss))
    return out, info


def train_population(net, params: list, states: list, tasks: list, agent: AgentConfig, *,
                     lrs, epochs: int, batch_size: int, keys: list):
    """Train a *population* of P runs of one model and agent as one ``vmap``ped program (an MLP:
    one program for the whole task; another model, e.g. the ConvNet: one vmapped program per
    step, as :func:`train_task_with_state` runs it one jitted step at a time).

    Member p trains ``params[p]`` from ``states[p]`` (None: fresh) on ``tasks[p]`` with step
    ``lrs[p]`` and PRNG key ``keys[p]``; everything else (model, agent, epochs, batch size, the
    tasks' sizes) is shared. Returns ``(params, states, infos)``, lists of P, each member as
    :func:`train_task_with_state` with ``agent`` at step ``lrs[p]`` would return it, up to
    float32 rounding (a batched matmul may sum in another order; tests/test_population.py, run
    on the CPU and on an H200, where it needed :func:`float32_matmuls`).

    When it pays (``python -m benchmarks.population``, benchmarks/RESULTS.md): on an H200, per
    run-step against a lone run, P = 8 / 64 ran at 2.25× / 2.9× (MLP 784-100-100-100-10,
    minibatch 1), 1.75× / 2.1× (width 1000) and 1.10× / 1.12× (the paper's ConvNet on 32×32×3,
    minibatch 100, stepped from Python; all in full float32, :func:`float32_matmuls`); far from
    P× because a minibatch-1 step is latency-bound on the device, lone or batched. On XLA:CPU
    (``python -m benchmarks.population``, width-100 minibatch-1 runs, 2-core AMD EPYC) P = 2–8
    ran at 0.80–0.89× a lone run's rate per run-step and P = 64 at 0.48× (with the sparse
    first-layer step; the earlier runs are in benchmarks/RESULTS.md): no gain (64 parameter sets
    overflow the caches); the experiments keep one run per process there
    (:func:`population_pays`).
    """
    model = as_model(net)
    check_agent_model(model, agent)
    P = len(params)
    if P < 1 or not (len(states) == len(tasks) == len(keys) == P) or np.size(lrs) != P:
        raise ValueError(f"params, states, tasks, lrs, keys: expected P ≥ 1 members each, "
                         f"received {len(params)}, {len(states)}, {len(tasks)}, "
                         f"{np.size(lrs)}, {len(keys)}")
    for t in tasks:
        check_model_task(model, t)
    n = tasks[0].X.shape[0]
    if any(t.X.shape != tasks[0].X.shape or t.loss != tasks[0].loss for t in tasks):
        raise ValueError("tasks: expected one training-set shape and loss for every member, "
                         f"received shapes {[t.X.shape for t in tasks]}")
    check_positive_int(epochs, "epochs")
    check_positive_int(batch_size, "batch_size")
    if batch_size > n:
        raise ValueError(f"batch_size: expected at most the task's {n} training examples, "
                         f"received {batch_size}")
    loss = tasks[0].loss
    params = [_as_float32(_canonical(_check_params(model, p))) for p in params]
    states = [fresh_agent_state(model, p, agent) if s is None else s
              for p, s in zip(params, states)]
    stack = lambda xs: jax.tree_util.tree_map(lambda *a: jnp.stack(a), *xs)  # noqa: E731
    ys = [t.y.astype(np.int32) if loss == "ce" else t.y.astype(np.float32) for t in tasks]
    widths = [sparse_width(model, agent, _sparse_source(t), lrs)
              for t in tasks]
    width = None if None in widths else max(widths)
    encoded = [_encoded(t, width) for t in tasks]
    run = _population_trainer(model, agent, loss, n, int(batch_size), int(epochs), width)
    with float64(), float32_matmuls():
        out, new_states, stats = run(
            stack(params), stack(states), jnp.stack([_dense_inputs(t, agent, width)
                                                     for t in tasks]),
            jnp.asarray(np.stack(ys)), jnp.stack([jnp.asarray(k) for k in keys]),
            jnp.asarray(np.asarray(lrs, np.float32)),
            *[jnp.stack(parts) for parts in zip(*encoded)])
    member = lambda tree, p: jax.tree_util.tree_map(lambda a: a[p], tree)  # noqa: E731
    steps = int(epochs) * (n // int(batch_size))
    results = [_finish(model, member(out, p), tasks[p], steps, member(stats, p))
               for p in range(P)]
    return ([r[0] for r in results], [member(new_states, p) for p in range(P)],
            [r[1] for r in results])


def population_pays() -> bool:
    """Whether the experiments should train populations on this process's JAX backend: True on
    accelerators (measured on an H200: 1.1–2.9× a lone run per run-step at P = 64), False on
    XLA:CPU, where the benchmark found no clear gain (:func:`train_population`'s docstring)."""
    return jax.default_backend() != "cpu"


def train_task(net, params, task: Task, agent: AgentConfig, *, epochs: int,
               batch_size: int, key) -> tuple[list, dict]:
    """:func:`train_task_with_state` from a fresh agent state; returns ``(params, info)``."""
    out, _, info = train_task_with_state(net, params, None, task, agent, epochs=epochs,
                                         batch_size=batch_size, key=key)
    return out, info


def start_task(net, params, agent: AgentConfig, key):
    """The params a task starts from, given the params the previous task ended with.

    For the ``reset`` agent a fresh draw ``net.init(key)`` (the model must have ``init``:
    ValueError naming ``net`` otherwise); for every other agent ``params`` itself, unchanged
    (the network is carried from task to task). ``key``: a JAX PRNG key, used by ``reset``
    only. The caller starts a fresh :func:`init_agent_state` after a reset, as
    :func:`linrelu.continual.run_continual` does."""
    _check_agent(agent)
    if agent.reset:
        model = as_model(net)
        return require_init(model, f"agent {agent.name!r} draws fresh parameters at every "
                                   f"task start")(key)
    return params
