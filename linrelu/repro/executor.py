"""Where cells are computed: in this process (``--workers 1``) or on a Dask cluster.

The runner hands :func:`open_executor` its experiment registry (a function returning
{id: Experiment}) and the cells still to compute, and iterates over what comes back; it, the
driver, builds every record and writes it (:func:`linrelu.repro.cache.write_cell`) the moment a
cell completes. Workers only compute: :func:`compute_cell` is the one function that computes a
cell, on every path (single process, local cluster, remote cluster, shards). This module imports
nothing of the runner: the registry arrives as an argument (on a Dask worker, pickled by
reference: the worker imports the module that defines it).

- ``--workers 1``: no Dask; cells run one after another in this process (``paper_repro.py``
  gives it :data:`THREAD_ENV` before numpy and JAX load, so its cells compute with the same
  thread counts, hence the same bytes, as a worker's).
- ``--workers N`` (N > 1): a ``distributed.LocalCluster`` of N worker processes, one thread each,
  started by spawn, each with its XLA and BLAS thread pools at one thread (N workers share N cores
  without oversubscribing them).
- ``--scheduler ADDRESS``: a ``distributed.Client`` on a running cluster (``dask scheduler`` /
  ``dask worker``, ``dask_jobqueue``); its workers' thread settings are the user's.

A worker that dies loses only the cell it was running: the scheduler gives that cell to another
worker (up to ``distributed.scheduler.allowed-failures`` times, then the cell is reported failed
like a cell that raised). An exception inside a cell is reported, never retried: cells are
deterministic, so a retry would raise again.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

#: Thread pools of every local worker: one XLA and one BLAS thread (N single-threaded workers on
#: N cores). Set in the environment the worker process starts with (Dask's pre-spawn
#: environment), so before its interpreter imports numpy or JAX.
THREAD_ENV = {
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
#: Host-vs-XLA choices (linrelu.spectral.linalg.CHOICES) fixed for every cell, where the library
#: would time both per process: when the two are close (eigh probe: host 22.6 ms, XLA 25.9 ms on the
#: 2-core EPYC) the timing picks differently from process to process, and the two solvers'
#: eigenvalues differ at round-off (~1e-15 relative), which made 5 of 11 results files of two
#: otherwise identical --long runs differ (2026-11-26). 'xla' for the Gram is what every net
#: narrower than closed_form_gram.HOST_MIN_WIDTH gets anyway; 'host' (LAPACK) was the faster
#: eigensolver in benchmarks/RESULTS.md. A user's own LINRELU_*_BACKEND setting wins; workers
#: of a remote cluster (--scheduler) need it set in their own environment.
PINNED_BACKENDS = {"LINRELU_GRAM_BACKEND": "xla", "LINRELU_EIGH_BACKEND": "host"}


def pinned_backends() -> dict:
    """:data:`PINNED_BACKENDS` with the values already set in this process's environment."""
    return {k: os.environ.get(k, "").strip() or v for k, v in PINNED_BACKENDS.items()}


def restore_environ(saved: dict) -> None:
    """Put back the variables of ``saved`` ({name: value, or None where it was unset})."""
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


#: Dask's default pre-spawn variables that a local worker does not get. Dask sets
#: ``MALLOC_TRIM_THRESHOLD_=65536`` (glibc then returns freed memory to the OS eagerly and stops
#: adapting its thresholds): the same two Permuted-MNIST bp processes ran 264–268 ms per task
#: with it and 218–227 ms without (2-core EPYC, 2026-11-26), which was the whole gap between
#: cells in a --long run and the same cells probed in plain processes. A user's own setting in
#: the driver's environment is still inherited.
NOT_PRE_SPAWNED = ("MALLOC_TRIM_THRESHOLD_",)
#: The whole environment of a local worker: no progress bars of its own (the driver shows one).
WORKER_ENV = {**THREAD_ENV, "TQDM_DISABLE": "1"}
#: Seconds to wait for a scheduler given by ``--scheduler`` before calling it unreachable.
CONNECT_TIMEOUT_S = 5
#: Times a cell may be lost with its worker before it counts as failed (Dask's default is 3).
ALLOWED_FAILURES = 3


def compute_cell(experiments, experiment_id: str, mode: str, cell: dict) -> tuple:
    """Compute one cell: ``(to_jsonable(run_cell(cell)), seconds)``. The only place a cell runs.

    Top-level and importable, so a Dask worker (a fresh spawned process) can run it: it looks the
    experiment up by id in ``experiments()`` (the runner's registry function, {id: Experiment})
    and enables float64 as ``runner.main`` does. ``mode`` is the run's mode ("quick", "full",
    ...), passed so that a worker knows which tier it is computing; the cell itself determines
    the result.
    """
    import jax

    jax.config.update("jax_enable_x64", True)
    from linrelu.experiments.base import to_jsonable

    exp = experiments()[experiment_id]
    t0 = time.perf_counter()
    result = to_jsonable(exp.run_cell(cell))
    return result, time.perf_counter() - t0


@dataclass
class Outcome:
    """What came back for task number ``index``: a result, or the error text of a failed cell."""

    index: int
    result: object = None
    seconds: float = 0.0
    error: str | None = None


# Both executors hold the registry function ``experiments`` they were opened with; ``run(tasks)``
# takes a list of (experiment id, mode, cell, cache key) and yields one Outcome per task,
# ``Outcome.index`` being the task's position in that list; ``slots()`` is how many cells can run
# at once; ``description`` and ``dashboard`` are for the driver's log.


class SerialExecutor:
    """``--workers 1``: every cell in this process, in order (no Dask at all)."""

    description = "1 process"
    dashboard = None

    def __init__(self, experiments):
        self.experiments = experiments

    def slots(self) -> int:
        return 1

    def run(self, tasks: list) -> Iterator[Outcome]:
        for index, (eid, mode, cell, _) in enumerate(tasks):
            try:
                result, seconds = compute_cell(self.experiments, eid, mode, cell)
            except Exception:  # reported by the driver; the other cells still run
                yield Outcome(index, error=traceback.format_exc())
                continue
            yield Outcome(index, result, seconds)


class DaskExecutor:
    """Cells as Dask futures; outcomes in completion order."""

    def __init__(self, client, description: str, experiments):
        self.client = client
        self.experiments = experiments
        self.description = description
        self.dashboard = _dashboard_link(client)

    def slots(self) -> int:
        try:
            return max(1, sum(self.client.nthreads().values()))
        except Exception:  # a scheduler that stopped answering: the bar shows 0 running
            return 0

    def run(self, tasks: list) -> Iterator[Outcome]:
        from distributed import as_completed

        futures = {}
        for index, (eid, mode, cell, key) in enumerate(tasks):
            # A Dask key unique to this task, including the cell's content hash (which includes
            # the code version): drivers sharing a cluster never receive each other's results.
            # No retries on an exception (a deterministic cell would raise again).
            fut = self.client.submit(compute_cell, self.experiments, eid, mode, cell,
                                     key=f"cell-{eid}-{index}-{key}", pure=False, retries=0)
            futures[fut.key] = (index, fut)
        for fut in as_completed([f for _, f in futures.values()]):
            index, _ = futures.pop(fut.key)
            if fut.status == "finished":
                result, seconds = fut.result()
                yield Outcome(index, result, seconds)
            else:  # raised in the worker, or lost with its worker too many times
                exc = fut.exception()
                text = "".join(traceback.format_exception(type(exc), exc, fut.traceback()))
                yield Outcome(index, error=text)
            fut.release()


def _dashboard_link(client) -> str | None:
    try:
        services = client.scheduler_info().get("services", {})
        return client.dashboard_link if "dashboard" in services else None
    except Exception:
        return None


class SchedulerUnreachable(Exception):
    """``--scheduler ADDRESS`` names no running scheduler (the message says why)."""


def probe_scheduler(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Raise SchedulerUnreachable unless something listens at ``address`` (a TCP connect).

    Catches a typo or a scheduler that is not running in a few seconds, before any work starts.
    """
    from distributed.comm import parse_address
    from distributed.comm.addressing import parse_host_port

    try:
        scheme, loc = parse_address(address, strict=False)
        if scheme not in ("tcp", "tls"):
            return  # inproc://, ucx://: left to distributed.Client
        host, port = parse_host_port(loc)
    except (ValueError, TypeError) as err:
        raise SchedulerUnreachable(f"not an address ({err})") from err
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as err:
        raise SchedulerUnreachable(err.strerror or type(err).__name__) from err


def pre_spawn_environ() -> dict:
    """The variables a local worker process starts with (set before its interpreter starts):
    Dask's ``distributed.nanny.pre-spawn-environ`` less :data:`NOT_PRE_SPAWNED`, then
    :data:`THREAD_ENV` and :func:`pinned_backends`."""
    import dask

    dask_default = dask.config.get("distributed.nanny.pre-spawn-environ", {})
    return {**{k: v for k, v in dask_default.items() if k not in NOT_PRE_SPAWNED},
            **THREAD_ENV, **pinned_backends()}


@contextmanager
def open_executor(experiments, workers: int = 1, scheduler: str | None = None):
    """The executor for ``--workers``/``--scheduler`` that computes cells of the experiments
    ``experiments()`` returns ({id: Experiment}; on a Dask worker it must be importable by
    name); a local cluster lives as long as the ``with`` block (started on entry, shut down on
    exit)."""
    if scheduler is not None:
        import dask
        from distributed import Client

        with dask.config.set({"distributed.comm.timeouts.connect": f"{CONNECT_TIMEOUT_S}s"}):
            try:
                client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
            except Exception as err:  # refused, timed out, or something else answered
                why = (str(err).strip().splitlines() or [""])[0][:100]
                raise SchedulerUnreachable(f"no Dask scheduler answered: "
                                           f"{type(err).__name__} {why}".strip()) from err
        try:
            yield DaskExecutor(client, f"Dask cluster at {scheduler}", experiments)
        finally:
            client.close()
        return
    if workers <= 1:
        yield SerialExecutor(experiments)
        return
    import dask
    import jax
    from distributed import Client, LocalCluster

    # Dask's nanny writes the pre-spawn environment into this process's os.environ before each
    # worker (re)start: initialize this process's XLA first, so the one-thread XLA_FLAGS reach
    # the workers only, and put the variables back when the cluster is gone.
    jax.devices()
    pre_spawn = pre_spawn_environ()
    saved = {k: os.environ.get(k) for k in [*pre_spawn, "PYTHONHASHSEED"]}
    try:
        with dask.config.set({"distributed.worker.multiprocessing-method": "spawn",
                              "distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
                              "distributed.nanny.pre-spawn-environ": pre_spawn}):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=":0", env=dict(WORKER_ENV),
                                   silence_logs=40)  # errors only: cell failures are our report
            client = Client(cluster)
            try:
                yield DaskExecutor(client, f"local Dask cluster, {workers} worker processes",
                                   experiments)
            finally:
                client.close()
                cluster.close()
    finally:
        restore_environ(saved)


def cpu_count() -> int:
    """Cores this process may use (the affinity mask, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
