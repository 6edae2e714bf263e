"""Cells on Dask workers (``--workers N``, ``--scheduler``): same bytes, lost workers, bad input.

The experiment is tests/_worker_experiments.py (six instant cells), named through
``runner.REGISTRY_ENV`` so that spawned worker processes find it too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from linrelu.repro import cache, runner

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
sys.path.insert(0, str(TESTS))
import _worker_experiments as tiny  # noqa: E402


@pytest.fixture
def worker_registry(monkeypatch):
    """The tiny experiment, for this process and for the workers it spawns."""
    monkeypatch.setenv(runner.REGISTRY_ENV, "_worker_experiments:registry")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(TESTS), *filter(None, [os.environ.get("PYTHONPATH")])]))


def _results_files(root: Path) -> dict:
    return {p.relative_to(root): p.read_bytes() for p in sorted((root / "results").rglob("*"))
            if p.is_file() and p.name != runner.TIMINGS_LOG}


def test_two_workers_give_the_bytes_of_one(worker_registry, tmp_path, capsys):
    for n in (1, 2):
        assert runner.main(["--out", str(tmp_path / str(n)), "--quiet", "--workers", str(n),
                            "--verbose"]) == 0
    out = capsys.readouterr().out
    assert "local Dask cluster, 2 worker processes" in out
    assert out.count("W cell ") == 12  # --verbose: one line per finished cell, both runs
    one, two = _results_files(tmp_path / "1"), _results_files(tmp_path / "2")
    assert len(one) == 6 + 2  # cells + W.json + claims.json
    assert one == two


def test_scheduler_address_of_a_running_cluster(worker_registry, tmp_path, capsys):
    """--scheduler: the cells go to a cluster this run did not start; same bytes as 1 worker."""
    from distributed import LocalCluster

    assert runner.main(["--out", str(tmp_path / "1"), "--quiet", "--workers", "1"]) == 0
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster:
        assert runner.main(["--out", str(tmp_path / "s"), "--quiet", "--scheduler",
                            cluster.scheduler_address]) == 0
    assert f"Dask cluster at {cluster.scheduler_address}" in capsys.readouterr().out
    assert _results_files(tmp_path / "1") == _results_files(tmp_path / "s")


def test_killed_worker_loses_only_its_cell(worker_registry, tmp_path, monkeypatch):
    pid_dir = tmp_path / "pid"
    pid_dir.mkdir()
    monkeypatch.setenv(tiny.PID_DIR_ENV, str(pid_dir))
    killed = []

    def killer():  # kill -9 the worker process that runs the slow cell, once it has started it
        deadline = time.time() + 60
        while time.time() < deadline and not (pid_dir / "pid").exists():
            time.sleep(0.1)
        pid = int((pid_dir / "pid").read_text())
        assert pid != os.getpid()  # a worker, not the driver
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    thread = threading.Thread(target=killer)
    thread.start()
    t0 = time.time()
    code = runner.main(["--out", str(tmp_path / "out"), "--quiet", "--workers", "2"])
    thread.join()
    assert killed and time.time() - t0 < 50  # recomputed at once, not after the 60 s sleep
    assert code == 0
    cells = tmp_path / "out" / "results" / "cells"
    files = sorted(cells.iterdir())
    assert len(files) == 6 and all(p.suffix == ".json" for p in files)  # all, no partial file
    for p in files:
        cache.read_cell(p)


def test_cell_that_raises_on_a_worker_is_reported(worker_registry, tmp_path, monkeypatch,
                                                  capsys):
    monkeypatch.setenv(tiny.RAISE_ENV, "4")
    assert runner.main(["--out", str(tmp_path), "--quiet", "--workers", "2"]) == 1
    out = capsys.readouterr().out
    assert "W: cell 4 {'seed': 4, 'size': 5} raised:" in out
    assert "ValueError: cell 4 fails on purpose" in out
    assert "computed 5 cell(s), 1 failed" in out and "1 of 6 cells missing" in out
    assert len(list((tmp_path / "results" / "cells").glob("*.json"))) == 5


def test_killed_driver_restarts_with_every_finished_cell(worker_registry, tmp_path, monkeypatch,
                                                        capsys):
    """kill -9 of the driver while a worker computes the slow cell: the restart reuses the five
    finished cells and computes only the sixth."""
    pid_dir = tmp_path / "pid"
    pid_dir.mkdir()
    monkeypatch.setenv(tiny.PID_DIR_ENV, str(pid_dir))
    out = tmp_path / "out"
    cells = out / "results" / "cells"
    proc = subprocess.Popen([sys.executable, "paper_repro.py", "--out", str(out), "--quiet",
                             "--workers", "2"], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and not ((pid_dir / "pid").exists()
                                           and len(list(cells.glob("*.json"))) == 5):
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert len(list(cells.glob("*.json"))) == 5
    # the restart may use any executor: what it reuses is the driver's business (1: no cluster)
    assert runner.main(["--out", str(out), "--quiet", "--workers", "1"]) == 0
    text = capsys.readouterr().out
    assert "reusing 5 cached cell(s) of 6" in text and "computed 1 cell(s)" in text
    assert sorted(p.suffix for p in cells.iterdir()) == [".json"] * 6


@pytest.mark.parametrize("argv, message", [
    (["--workers", "0"], "--workers: expected a positive integer"),
    (["--workers", "two"], "--workers: expected a positive integer"),
    (["--workers", "-1"], "--workers: expected a positive integer"),
    (["--scheduler", "tcp://127.0.0.1:1", "--workers", "2"], "--scheduler: expected alone"),
    (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler: expected the address of a running"),
    (["--scheduler", "no such host:port"], "--scheduler: expected the address of a running"),
])
def test_bad_workers_or_scheduler_exit_2_with_one_line(argv, message, tmp_path, capsys):
    t0 = time.time()
    assert runner.main([*argv, "--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert "received" in err and repr(argv[1]) in err  # says what it received
    assert time.time() - t0 < 15  # a short connect timeout


def test_command_line_unreachable_scheduler_has_no_traceback(tmp_path):
    r = subprocess.run([sys.executable, "paper_repro.py", "--scheduler", "tcp://127.0.0.1:1",
                        "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and r.stderr.startswith("paper_repro.py: error: --scheduler")


def test_workers_benchmark_section_is_written_once(tmp_path):
    """benchmarks.workers owns one section of RESULTS.md (replaced, never duplicated)."""
    from benchmarks import workers
    from benchmarks._sections import write_section

    runs = [{"workers": n, "wall_s": w, "exit_code": 0, "cells": 3, "load_before": 0.5,
             "load_after": 0.7, "last_line": ""} for n, w in ((1, 20.0), (2, 12.5))]
    r = {"only": "E1", "cpu": "cpu", "cores": 2, "runs": runs, "ratio": 1.6, "date": "today"}
    out = tmp_path / "RESULTS.md"
    out.write_text("# Benchmarks\n\nkept\n")
    write_section(out, workers.BEGIN, workers.END, workers.report(r))
    write_section(out, workers.BEGIN, workers.END, workers.report(r))
    text = out.read_text()
    assert text.count(workers.BEGIN) == 1 and "kept" in text and "**1.60×**" in text
    assert "| 2 | 12 s | 0 | 3 | 0.5 → 0.7 |" in text


def test_cells_run_with_the_host_vs_xla_choices_pinned(monkeypatch):
    """A timing probe may pick a different eigensolver in each process when the two are close,
    and their eigenvalues differ at round-off: the runner fixes both choices while it runs cells
    (and passes them to local workers), unless the user set them, and puts the environment back
    afterwards (in-process callers, e.g. these tests, keep theirs)."""
    from linrelu.repro import executor
    from linrelu.spectral import linalg

    monkeypatch.delenv("LINRELU_EIGH_BACKEND", raising=False)
    monkeypatch.setenv("LINRELU_GRAM_BACKEND", "host")  # the user's own setting wins
    assert executor.pinned_backends() == {"LINRELU_GRAM_BACKEND": "host",
                                          "LINRELU_EIGH_BACKEND": "host"}
    monkeypatch.delenv("LINRELU_GRAM_BACKEND")
    seen = {}

    def fake_run(opts):
        seen.update({k: os.environ.get(k) for k in executor.PINNED_BACKENDS})
        seen["eigh"] = linalg.requested_backend("eigh")
        seen["gram"] = linalg.requested_backend("gram")
        return 0

    monkeypatch.setattr(runner, "run", fake_run)
    assert runner.main(["--list"]) == 0
    assert seen["LINRELU_GRAM_BACKEND"] == "xla" and seen["LINRELU_EIGH_BACKEND"] == "host"
    # with the variables set, the library takes them and measures nothing
    assert seen["eigh"] == ("host", "environment variable LINRELU_EIGH_BACKEND")
    assert seen["gram"] == ("xla", "environment variable LINRELU_GRAM_BACKEND")
    assert "LINRELU_EIGH_BACKEND" not in os.environ  # put back
    assert "LINRELU_GRAM_BACKEND" not in os.environ


def test_local_workers_start_without_dasks_malloc_trim(monkeypatch):
    """Dask's default pre-spawn MALLOC_TRIM_THRESHOLD_=65536 made --long cells 1.2× slower
    (executor.NOT_PRE_SPAWNED); workers get the one-thread pools and the pinned backends."""
    import dask

    from linrelu.repro import executor

    monkeypatch.delenv("LINRELU_EIGH_BACKEND", raising=False)
    monkeypatch.delenv("LINRELU_GRAM_BACKEND", raising=False)
    # Dask's default (set here explicitly: another test's cluster may have left its own value)
    dask_default = {"MALLOC_TRIM_THRESHOLD_": 65536, "OMP_NUM_THREADS": 1, "DASK_OTHER": "x"}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": dask_default}):
        env = executor.pre_spawn_environ()
    assert "MALLOC_TRIM_THRESHOLD_" not in env and env["DASK_OTHER"] == "x"
    assert {k: env[k] for k in executor.THREAD_ENV} == executor.THREAD_ENV
    assert {k: env[k] for k in executor.PINNED_BACKENDS} == executor.PINNED_BACKENDS
