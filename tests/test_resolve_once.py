"""The continual engine resolves its model once (issue 35): an instrument follows the model
through one run with ``sys.setprofile`` and counts the modules (rooms) it enters.

The journey of the model: every call into a ``linrelu`` module that receives the model as an
argument (the user's ``net``, the model :func:`linrelu.continual.model.as_model` made of it, or a
resolved :class:`linrelu.models.network.Network`). A module is *entered* when such a call comes
from another module (the nearest linrelu frame above it: a function jit traces is called by JAX
for the room that handed it over). Two kinds of call are the model at work, not the model passed on,
and are not counted: a method called on the model itself, and a function of the module that
defines the model's class taking the model (``linrelu.models.mlp.forward(net, …)`` is an MLP's
``apply``). A call of :func:`linrelu.models.network.resolve` that hands back the very Network it
was given (it is resolved already: nothing is done) is no entry either; every other resolve call
is counted as an entry and as a resolution. One task start is one call of the engine's task
start (reset, checkpoint, start metrics, SLQ density)."""

from __future__ import annotations

import sys
from collections import Counter

import jax

import linrelu as lr
import linrelu.continual.model as continual_model
from linrelu.continual import engine, make_agent, make_stream, run_continual
from linrelu.models import network

ENGINE_ROOMS = ("linrelu.continual.",)


def _caller_room(frame) -> str:
    """The linrelu module of the nearest linrelu frame above ``frame``: a function that jit
    traces is called by JAX on behalf of the room that handed it over."""
    f = frame.f_back
    while f is not None and not f.f_globals.get("__name__", "").startswith("linrelu."):
        f = f.f_back
    return f.f_globals.get("__name__", "") if f is not None else ""


def _journey(net, agent, **kw):
    """(entries per task start: lists of (module, function); resolutions per task start; the
    modules calling as_model)."""
    ids = {id(net)}
    starts, resolutions, as_model_callers, active, pending = [], [], [], [0], []
    start_code = engine._TaskStart.__call__.__code__

    def carries(frame):
        code = frame.f_code
        for name in code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]:
            value = frame.f_locals.get(name)
            if name != "self" and (id(value) in ids or isinstance(value, network.Network)):
                return True
        return False

    # the module defining the model's class; a wrapped model's own functions are the user's
    # (network.py, which defines the wrapper, also holds resolve, which is counted)
    own_module = type(net).__module__ if type(net).__module__ != network.__name__ else None

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
        if not active[0]:
            return
        if frame.f_code is network.resolve.__code__ and event == "return":
            entry = pending.pop()
            if arg is frame.f_locals["net"]:  # a resolved Network handed back: no entry
                if entry is not None:
                    starts[-1].pop(entry)
            else:
                resolutions[-1] += 1
            return
        module = frame.f_globals.get("__name__", "")
        if event != "call" or not module.startswith("linrelu.") or module == own_module:
            return
        entered = _caller_room(frame) != module and carries(frame)
        if frame.f_code is network.resolve.__code__:
            pending.append(len(starts[-1]) if entered else None)
        if entered:
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
    # start; the spectrum, the prediction and the SLQ density get the resolved Network
    assert resolutions == [1, 1]
    # every task start, the first included (the census programs are built at the run's entry),
    # enters each room at most once: the metrics, one resolution, one pass of the Gram engine
    # for the spectrum and the prediction, the prediction, the SLQ density's HVP
    for entries in starts:
        rooms = Counter(module for module, _ in entries)
        assert max(rooms.values()) == 1, rooms
        assert entries[:2] == [("linrelu.continual.metrics", "measure_start"),
                               ("linrelu.models.network", "resolve")], entries
        assert ("linrelu.spectral.gram", "network_task_grams") in entries, entries
        assert ("linrelu.analysis.diagnose", "predict_trainability") in entries, entries


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
