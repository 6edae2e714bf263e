"""The continual-learning loop: for each task, (reset,) measure at the start, train, measure at
the end, and every ``slq_every`` tasks estimate the true Hessian's density by SLQ at task start.

Any model of the one protocol (:mod:`linrelu.continual.model`): an MLP,
:class:`linrelu.models.convnet.ConvNet`, a :func:`linrelu.wrap_model` object, the user's own. The
run returns its records and the trained parameters (:class:`ContinualRun`). The agent's state
(optimizer momentum, continual-backprop utilities and ages) is carried from task to task like the
network and its output head (the authors' protocol); ``reset`` starts both afresh at every task.
"""

from __future__ import annotations

import os
from pathlib import Path

import jax
import numpy as np

from linrelu.continual.agents import AgentConfig
from linrelu.continual.metrics import (
    DEFAULT_EPS_LADDER,
    census_programs,
    check_metric_options,
    measure,
    measure_start,
)
from linrelu.continual.model import as_model, model_init, require_init
from linrelu.continual.streams import Stream, Task
from linrelu.continual.train import (
    as_float64,
    check_agent_model,
    check_cbp_layout,
    check_model_stream,
    check_model_task,
    check_training_options,
    fresh_agent_state,
    train_checked,
)
from linrelu.models.mlp import MLP
from linrelu.precision import float64
from linrelu.validation import check_positive_int, describe

DEFAULT_SLQ_EPS = (1e-3, 1e-2, 1e-1)


def hessian_density(net, params, task: Task, *, order: int = 60, num_runs: int = 3,
                    seed: int = 0, eps_values=DEFAULT_SLQ_EPS, grid_size: int = 2000) -> dict:
    """SLQ density of the true Hessian ∇²L on the task's probe set, plus its normalized ε-ranks
    (mass outside [−ε, ε]) and extreme Ritz values. JSON-able. ``net``: an MLP or a model."""
    model = check_model_task(net, task)
    return _hessian_density(model, as_float64(params), task, order=order, num_runs=num_runs,
                            seed=seed, eps_values=eps_values, grid_size=grid_size)


def _hessian_density(model, params, task: Task, *, order: int = 60, num_runs: int = 3,
                     seed: int = 0, eps_values=DEFAULT_SLQ_EPS, grid_size: int = 2000,
                     nw=None) -> dict:
    """:func:`hessian_density` of a resolved ``model`` fitting ``task`` at float64 ``params``;
    ``nw``: the task's probe network (:func:`linrelu.continual.metrics.probe_network`) when
    the caller has it (a generic model's HVP then needs no second resolution)."""
    from jax.flatten_util import ravel_pytree

    from linrelu.spectral.curvature import hessian_vector_product
    from linrelu.spectral.lanczos import ritz_measure_mass_outside, slq_density
    from linrelu.spectral.spectra import density_mass_outside

    y = task.y_probe.astype(np.int64) if task.loss == "ce" else task.y_probe
    with float64():
        if nw is None or isinstance(model, MLP):  # an MLP's HVP resolves nothing
            hvp = hessian_vector_product(model, task.X_probe, y, task.loss, params=params)
        else:
            hvp = hessian_vector_product(nw, nw.X, y, task.loss, params=nw.params)
        flat = ravel_pytree(params)[0]
        d = slq_density(hvp, flat, order=order, num_runs=num_runs, seed=seed,
                        grid_size=grid_size)
    return {
        "grid": d.grid, "density": d.density, "sigma": d.sigma,
        "ritz_min": float(min(t.min() for t in d.ritz_values)),
        "ritz_max": float(max(t.max() for t in d.ritz_values)),
        "mass_outside": {repr(float(e)): density_mass_outside(d.grid, d.density, e)
                         for e in eps_values},
        "ritz_mass_outside": {repr(float(e)): ritz_measure_mass_outside(d, e)
                              for e in eps_values},
    }


class ContinualRun(list):
    """What :func:`run_continual` returns: the list of per-task records (a ``list``: index it,
    iterate it, ``len`` it), with the end state of the run as attributes.

    ``params``: the model's parameters after the last task's training, float64, in the pytree
    structure the model's ``init`` (or the ``params=`` given) has (an MLP's: a list of (W, b)
    tuples); pass them with the model to :func:`linrelu.diagnose` or any spectral function.
    ``state``: the :class:`linrelu.continual.AgentState` after the last step (optimizer state,
    CBP state), to continue training with :func:`linrelu.continual.train_task_with_state`."""

    def __init__(self, records=(), *, params=None, state=None):
        super().__init__(records)
        self.params, self.state = params, state


def checkpoint_name(task_index: int) -> str:
    """The file :func:`run_continual` writes for the start of task ``task_index``."""
    return f"task{int(task_index):04d}_start.npz"


def run_continual(net, stream: Stream, agent: AgentConfig, *, epochs: int, batch_size: int,
                  seed: int, params=None, eps_ladder=DEFAULT_EPS_LADDER,
                  slq_every: int | None = None, slq_tasks=(), slq_options: dict | None = None,
                  checkpoint_dir=None, checkpoint_tasks=(), on_record=None,
                  end_metrics: bool = True, spectrum_every: int = 1, census="train",
                  evaluate_train: bool = True) -> ContinualRun:
    """Run ``agent`` on every task of ``stream`` in order, carrying the network (and the agent's
    state) from task to task; return the per-task records and the trained parameters.

    Arguments:

    - ``net``: any model of the one protocol (:mod:`linrelu.continual.model`): a
      :class:`linrelu.MLP`, :class:`linrelu.models.convnet.ConvNet`, a :func:`linrelu.wrap_model`
      object, your own object with ``apply(params, X) -> (n, k)`` logits (plus ``init(key)``
      and ``features(params, X)`` where needed), or a function ``f(params, X)``. Its inputs
      are the stream's ``X`` rows, shaped ``(n, *stream.input_shape)``, and it has
      ``stream.out_dim`` outputs. A model need not be hashable (the module docstring of
      :mod:`linrelu.continual.model`).
    - ``params``: the parameters the first task starts from (any pytree ``net.apply`` takes, any
      float dtype). None (default): ``net.init(key)`` with a key drawn from ``seed``; a model
      without ``init`` (e.g. ``wrap_model``) needs ``params``. The ``reset`` agent draws fresh
      parameters with ``init`` at every later task, and ``cbp`` re-initializes units with it,
      so both need ``init``; ``er``, ``l2_er`` and ``cbp`` need ``features``.
    - ``stream`` from :func:`linrelu.continual.make_stream`; ``agent`` from
      :func:`linrelu.continual.make_agent`; ``epochs`` ≥ 1 and ``1 ≤ batch_size ≤ n_train``
      per task (:func:`linrelu.continual.train_task_with_state`); ``seed``: the PRNG seed of
      the init, the resets and the minibatch order (the stream has its own seed).

    Per task i: (``reset`` agent, i > 0: fresh params and agent state,
    :func:`linrelu.continual.start_task`), the task-start metrics, training
    (:func:`linrelu.continual.train_task_with_state`, float32), the end metrics. Record of
    task i: {"task": i, "start": metrics at task start (after a reset, before training), "end":
    metrics after the budget, "train": train_task_with_state's info, and, when
    i % slq_every == 0 or i in slq_tasks, "slq": :func:`hessian_density` at task start}.

    Options: ``eps_ladder`` the ε of the ε-ranks; ``slq_every``/``slq_tasks``/``slq_options``
    (:func:`hessian_density`'s keywords) select the SLQ densities. ``checkpoint_dir``: the
    params at the start of each task i in ``checkpoint_tasks`` are saved there as
    ``task{i:04d}_start.npz`` (:func:`checkpoint_name`): an MLP with
    :func:`linrelu.models.checkpoint.save_params` (the layout ``python -m linrelu diagnose
    --params`` reads), any other model with :func:`linrelu.models.checkpoint.save_pytree`
    (read it back with :func:`linrelu.models.checkpoint.load_pytree` and the model's params as
    template).
    ``on_record(record)`` is called after each task (e.g. to write progress).
    ``end_metrics=False`` leaves "end" out (it costs as much as "start": half the metric time).
    ``spectrum_every`` K: the exact GGN spectrum (and its summaries) is part of the start metrics
    of tasks i with i % K == 0 and of the last task; the census (dead units, effective rank on
    ``census`` inputs, for models with ``features``), norms and accuracies are taken at every
    task start (:func:`linrelu.continual.metrics.task_start_metrics`). ``evaluate_train=False``:
    the training-set loss/accuracy after training are left out of "train" (online and held-out
    accuracy stay).

    Returns a :class:`ContinualRun`: the list of records, with ``.params`` (float64, after the
    last task's training) and ``.state`` (the agent state after the last step). Bad input:
    ValueError naming the argument, before any training: ``net`` is resolved once
    (:func:`linrelu.continual.model.as_model`) and checked against the agent and the stream at
    entry; each task start then resolves (model, params) on the task's probe set once
    (:func:`linrelu.continual.metrics.probe_network`: validated, float64), and the spectrum, the
    trainability prediction and the SLQ density share it.
    """
    model = as_model(net)  # the one resolution of net: everything below takes this model
    if not isinstance(stream, Stream):
        raise ValueError(f"stream: expected a Stream from make_stream, received "
                         f"{describe(stream)}")
    check_agent_model(model, agent)
    check_model_stream(model, stream)
    check_training_options(epochs, batch_size)
    init = model_init(model)
    if params is None:
        init = require_init(model, "run_continual draws the first parameters with it when "
                                   "params is None (or pass params=)")
    if slq_every is not None:
        check_positive_int(slq_every, "slq_every")
    check_positive_int(spectrum_every, "spectrum_every")
    eps_ladder = check_metric_options(eps_ladder, census)
    slq_tasks = {int(t) for t in slq_tasks}
    slq_options = dict(slq_options or {})
    if checkpoint_dir is not None and not isinstance(checkpoint_dir, (str, os.PathLike)):
        raise ValueError(f"checkpoint_dir: expected a directory path (str or Path) or None, "
                         f"received {describe(checkpoint_dir)}")
    checkpoint_tasks = set(checkpoint_tasks) if checkpoint_dir is not None else set()
    key = jax.random.PRNGKey(seed)
    key, init_key = jax.random.split(key)
    if params is None:
        with float64():  # MLP.init draws float64; the ConvNet's float32 init is upcast exactly
            params = as_float64(init(init_key))
    else:
        params = as_float64(_start_params(model, params))
    if not isinstance(model, MLP):  # an MLP checks its own sizes
        _check_fits(model, params, stream)
    if agent.cbp:
        check_cbp_layout(model, params, stream.input_shape)
    state = fresh_agent_state(model, params, agent)
    census_programs(model, stream.loss)  # the model's features, once per run (at entry)
    start = _TaskStart(model, init, agent, eps_ladder, census, seed, slq_every, slq_tasks,
                       slq_options, checkpoint_dir, checkpoint_tasks)
    start.params0 = params0 = params  # the run's first parameters: param_distance ‖θ − θ₀‖
    records = []
    for task in stream:
        key, reset_key, train_key = jax.random.split(key, 3)
        with_spectrum = task.index % spectrum_every == 0 or task.index == len(stream) - 1
        params, state, record = start(task, params, state, reset_key, with_spectrum)
        params, state, info = train_checked(model, params, state, task, agent, epochs=epochs,
                                            batch_size=batch_size, key=train_key,
                                            evaluate_train=evaluate_train)
        record["train"] = info
        if end_metrics:
            record["end"] = measure(model, params, task, eps_ladder, spectrum=with_spectrum,
                                    census=census, params0=params0)
        records.append(record)
        if on_record is not None:
            on_record(record)
    return ContinualRun(records, params=params, state=state)


class _TaskStart:
    """One task start of :func:`run_continual` for its resolved model and checked options:
    (``reset``: fresh params and agent state,) the checkpoint, the start metrics and the SLQ
    density, all from one probe network (:func:`linrelu.continual.metrics.probe_network`)."""

    def __init__(self, model, init, agent, eps_ladder, census, seed, slq_every, slq_tasks,
                 slq_options, checkpoint_dir, checkpoint_tasks):
        self.model, self.init, self.agent = model, init, agent
        self.eps_ladder, self.census, self.seed = eps_ladder, census, seed
        self.slq_every, self.slq_tasks, self.slq_options = slq_every, slq_tasks, slq_options
        self.checkpoint_dir, self.checkpoint_tasks = checkpoint_dir, checkpoint_tasks
        self.params0 = None  # set by run_continual: its first parameters

    def __call__(self, task: Task, params, state, reset_key, with_spectrum: bool):
        """``(params, state, record)`` at the start of ``task``: record = {"task", "start"
        [, "slq"]}."""
        model = self.model
        if task.index > 0 and self.agent.reset:
            with float64():
                params = as_float64(self.init(reset_key))
            state = fresh_agent_state(model, params, self.agent)
        if task.index in self.checkpoint_tasks:
            self._checkpoint(task.index, params)
        with_slq = bool((self.slq_every and task.index % self.slq_every == 0)
                        or task.index in self.slq_tasks)
        start, nw = measure_start(model, params, task, self.eps_ladder, spectrum=with_spectrum,
                                  census=self.census, network=with_slq, params0=self.params0)
        record = {"task": task.index, "start": start}
        if with_slq:
            record["slq"] = _hessian_density(model, params, task, seed=self.seed + task.index,
                                             nw=nw, **self.slq_options)
        return params, state, record

    def _checkpoint(self, index: int, params) -> None:
        from linrelu.models.checkpoint import save_params, save_pytree

        Path(self.checkpoint_dir).mkdir(parents=True, exist_ok=True)
        path = Path(self.checkpoint_dir) / checkpoint_name(index)
        if isinstance(self.model, MLP):
            save_params(path, self.model, params)
        else:
            save_pytree(path, params)


def _check_fits(model, params, stream: Stream) -> None:
    """``model.apply(params, X)`` on the stream's inputs gives (n, out_dim) logits (shapes only:
    nothing is computed); ValueError naming ``params`` or ``net`` otherwise."""
    X = jax.ShapeDtypeStruct((2, *stream.input_shape), np.float64)
    try:
        with float64():
            out = jax.eval_shape(model.apply, params, X)
    except Exception as err:  # the user's model: any failure means params/X do not fit it
        msg = " ".join(str(err).split())[:300]
        raise ValueError(f"params: expected parameters that net.apply(params, X) takes on the "
                         f"stream's inputs X of shape (n, {', '.join(map(str, X.shape[1:]))}), "
                         f"received params for which it raised {type(err).__name__}: "
                         f"{msg}") from err
    if not hasattr(out, "shape") or tuple(out.shape) != (2, stream.out_dim):
        raise ValueError(f"net: expected apply(params, X) to return (n, {stream.out_dim}) "
                         f"logits for the stream's {stream.out_dim} outputs, received "
                         f"{describe(out)} for n = 2 (a model whose output holds more than "
                         f"the logits: lr.wrap_model(f, output=..., features=...))")


def _start_params(model, params):
    """``params=`` of :func:`run_continual` checked: a pytree of float arrays that ``model``
    accepts (an MLP's through its own check)."""
    from linrelu.models.network import check_model_params

    if isinstance(model, MLP):
        return model.check_params(params)
    return check_model_params(params, "params")
