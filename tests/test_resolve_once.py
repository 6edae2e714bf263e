"""The continual engine resolves its model once (issue 35): an instrument follows the model
through one run with ``sys.setprofile`` and counts the modules it enters.

The journey of the model: every call into a ``linrelu`` module that receives the model as an
argument (the user's ``net``, the model :func:`linrelu.continual.model.as_model` made of it, or a
resolved :class:`linrelu.models.network.Network`; a method called on the model itself is the
model being used, not passed on). A module is *entered* when such a call comes from a frame of
another module. One task start is one call of the engine's task start (reset, checkpoint, start
metrics, SLQ density)."""

from __future__ import annotations

import sys
from collections import Counter

import jax

import linrelu as lr
import linrelu.continual.model as continual_model
from linrelu.continual import engine, make_agent, make_stream, run_continual
from linrelu.models import network

ENGINE_ROOMS = ("linrelu.continual.",)


def _journey(net, agent, **kw):
    """(entries per task start: lists of (module, function); resolutions per task start; the
    modules calling as_model)."""
    ids = {id(net)}
    starts, resolutions, as_model_callers, active = [], [], [], [0]
    start_code = engine._TaskStart.__call__.__code__

    def carries(frame):
        code = frame.f_code
        for name in code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]:
            value = frame.f_locals.get(name)
            if name != "self" and (id(value) in ids or isinstance(value, network.Network)):
                return True
        return False

    def profile(frame, event, arg):
        if frame.f_code is continual_model.as_model.__code__:
            if event == "call":
                as_model_callers.append(frame.f_back.f_globals.get("__name__"))
            elif event == "return":
                ids.add(id(arg))  # the model as_model made of net (net itself when hashable)
        if frame.f_code is start_code:
            active[0] += 1 if event == "call" else -1 if event == "return" else 0
            if event == "call":
                starts.append([])
                resolutions.append(0)
            return
        module = frame.f_globals.get("__name__", "")
        if event != "call" or not active[0] or not module.startswith("linrelu."):
            return
        caller = frame.f_back.f_globals.get("__name__", "") if frame.f_back else ""
        if frame.f_code is network.resolve.__code__ and not isinstance(
                frame.f_locals["net"], network.Network):
            resolutions[-1] += 1  # a resolution, not a resolved Network handed back
        if caller != module and carries(frame):
            starts[-1].append((module, frame.f_code.co_name))

    stream = make_stream("permuted_digits", seed=0, num_tasks=2, n_train=32, n_test=8,
                         n_probe=4)
    sys.setprofile(profile)
    try:
        run = run_continual(net, stream, agent, epochs=1, batch_size=16, seed=0,
                            evaluate_train=False, **kw)
    finally:
        sys.setprofile(None)
    assert [r["task"] for r in run] == [0, 1] and len(starts) == 2
    return starts, resolutions, as_model_callers


def _check(starts, resolutions, as_model_callers):
    # as_model once per run from the engine's own modules (agents.regularized_objective, which
    # another part of the engine owns, calls it while a training program is traced)
    assert [c for c in as_model_callers if c != "linrelu.continual.agents"] == \
        ["linrelu.continual.engine"]
    # the model is resolved (validated, converted to float64, logits checked) once per task
    # start; the spectrum, the prediction and the SLQ density get the resolved Network, which
    # resolve hands back as it is
    assert resolutions == [1, 1]
    # task 0's start also compiles the census programs (metrics asks continual.model for the
    # features once per model); the later ones enter the engine's rooms through metrics alone
    for entries in starts[1:]:
        rooms = Counter(module for module, _ in entries)
        engine_rooms = {m: c for m, c in rooms.items() if m.startswith(ENGINE_ROOMS)}
        assert engine_rooms == {"linrelu.continual.metrics": 1}, rooms
        assert entries[:2] == [("linrelu.continual.metrics", "measure_start"),
                               ("linrelu.models.network", "resolve")], entries


def test_mlp_run_resolves_its_model_once_per_run_and_task_start():
    starts, resolutions, callers = _journey(lr.MLP((64, 8, 10)), make_agent("bp", lr=0.1),
                                            slq_tasks=[1], slq_options={"order": 4, "num_runs": 1})
    _check(starts, resolutions, callers)
    # the SLQ density at task 1 takes the same model on to the HVP (an MLP's needs no Network)
    assert ("linrelu.spectral.curvature", "hessian_vector_product") in starts[1]


def test_generic_model_run_resolves_once_per_task_start():
    net = lr.MLP((64, 8, 10))
    f = lr.wrap_model(lambda p, x: (net.apply(p, x), net.features(p, x)),
                      output=lambda out: out[0], features=lambda out: out[1])
    starts, resolutions, callers = _journey(
        f, make_agent("bp", lr=0.1), params=net.init(jax.random.PRNGKey(0)), slq_tasks=[1],
        slq_options={"order": 4, "num_runs": 1})
    _check(starts, resolutions, callers)
    # a generic model's HVP takes the task start's resolved Network, not a second resolution
    assert ("linrelu.spectral.curvature", "hessian_vector_product") in starts[1]
