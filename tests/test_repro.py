"""paper_repro.py as a tool: cache reuse, atomic writes, determinism, shards, bad input.

A tiny fake experiment (three cells, instant) stands in for E1–E8 so these tests take seconds;
the real experiments have their own tests.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from linrelu.experiments.base import Claim, Experiment
from linrelu.repro import cache, runner

ROOT = Path(__file__).resolve().parents[1]
CALLS = []


def _cells(mode):
    return [{"seed": s, "size": 4 if mode == "quick" else 8} for s in range(3)]


def _run_cell(cell):
    CALLS.append(cell["seed"])
    rng = np.random.default_rng(cell["seed"])
    return {"mean": float(rng.normal(size=cell["size"]).mean())}


def _summarize(cells, results):
    m = float(np.mean([r["mean"] for r in results]))
    return {"m": m}, [Claim("T.mean", "mean is finite", f"{m:.3f}", "finite", bool(np.isfinite(m)),
                            "fig_tiny")]


def _plot(summary, figdir):
    return []


TINY = Experiment("T", "fig_tiny", "tiny", "nothing", _cells, _run_cell, _summarize, _plot,
                  (("T.mean", "finite"),))


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setattr(runner, "all_experiments", lambda: {"T": TINY})
    CALLS.clear()
    return TINY


def test_cache_skips_finished_cells(tiny, tmp_path, capsys):
    assert runner.main(["--out", str(tmp_path), "--quiet"]) == 0
    assert sorted(CALLS) == [0, 1, 2]
    CALLS.clear()
    assert runner.main(["--out", str(tmp_path), "--quiet"]) == 0
    assert CALLS == []  # nothing recomputed
    assert "reusing 3 cached cell(s) of 3" in capsys.readouterr().out
    assert runner.main(["--out", str(tmp_path), "--quiet", "--fresh"]) == 0
    assert sorted(CALLS) == [0, 1, 2]


def _results_files(root: Path) -> dict:
    """{relative path: bytes} of every file under root/results but the timings log."""
    return {p.relative_to(root): p.read_bytes() for p in sorted((root / "results").rglob("*"))
            if p.is_file() and p.name != runner.TIMINGS_LOG}


def test_two_runs_give_byte_identical_results(tiny, tmp_path, monkeypatch):
    # The cells take a different wall-clock time in each run (as real cells do): that time must
    # reach the timings log only, never a results file.
    slow = {"a": 0.0, "b": 0.05}

    def timed_run_cell(cell):
        time.sleep(slow[run])
        return _run_cell(cell)

    timed = dataclasses.replace(TINY, run_cell=timed_run_cell)
    monkeypatch.setattr(runner, "all_experiments", lambda: {"T": timed})
    for run in ("a", "b"):
        assert runner.main(["--out", str(tmp_path / run), "--quiet", "--fresh"]) == 0
    a, b = _results_files(tmp_path / "a"), _results_files(tmp_path / "b")
    assert len(a) == 3 + 2  # cells + T.json + claims.json: what `diff -r` compares
    assert a == b  # byte for byte, path for path
    for run in ("a", "b"):  # the timings are logged: one JSON line per computed cell
        lines = (tmp_path / run / "results" / runner.TIMINGS_LOG).read_text().splitlines()
        logged = [json.loads(line) for line in lines]
        assert sorted(e["cell"] for e in logged) == [0, 1, 2]
        assert all(e["experiment"] == "T" and e["seconds"] >= slow[run] for e in logged)
    rel = next(p for p in a if p.parent.name == "cells")
    rec = cache.read_cell(tmp_path / "a" / rel)
    prov = rec["provenance"]
    assert {"seed", "config", "packages", "platform", "git_commit", "code_version"} <= set(prov)
    assert prov["seed"] == rec["cell"]["seed"]


def test_shards_are_disjoint_and_cover_all_cells(tiny):
    opts = runner.parse_options(["--list"])
    items = runner.plan(opts)
    for n in (1, 2, 3, 5):
        slices = [runner.shard_slice(items, (i, n)) for i in range(1, n + 1)]
        keys = [it[3] for s in slices for it in s]
        assert sorted(keys) == sorted(it[3] for it in items)
        assert len(keys) == len(set(keys))


def test_sharded_runs_then_merge(tiny, tmp_path, capsys):
    for i in (1, 2):
        assert runner.main(["--out", str(tmp_path), "--quiet", "--shard", f"{i}/2"]) == 0
    assert sorted(CALLS) == [0, 1, 2]
    assert not (tmp_path / "figures" / "CLAIMS.md").exists()
    CALLS.clear()
    assert runner.main(["--out", str(tmp_path), "--merge"]) == 0
    assert CALLS == []
    assert "T.mean" in (tmp_path / "figures" / "CLAIMS.md").read_text()


def test_merge_with_missing_cells_fails_the_claims(tiny, tmp_path):
    assert runner.main(["--out", str(tmp_path), "--quiet", "--shard", "1/3"]) == 0
    assert runner.main(["--out", str(tmp_path), "--merge"]) == 1


def test_interrupted_write_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "cell.json"

    def killed(src, dst):  # the process dies between writing the temporary and renaming it
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        cache.write_cell(target, {"x": 1})
    assert list(tmp_path.iterdir()) == []


def test_corrupted_cache_file_is_detected_reported_and_recomputed(tiny, tmp_path, capsys):
    assert runner.main(["--out", str(tmp_path), "--quiet"]) == 0
    victim = sorted((tmp_path / "results" / "cells").glob("*.json"))[0]
    victim.write_text(victim.read_text()[:-20])  # truncated
    CALLS.clear()
    assert runner.main(["--out", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "corrupted cache file detected, recomputing" in out and victim.name in out
    assert len(CALLS) == 1
    cache.read_cell(victim)  # valid again
    # an edited (not truncated) file fails its checksum
    rec = json.loads(victim.read_text())
    rec["record"]["result"]["mean"] = 123.0
    victim.write_text(json.dumps(rec))
    with pytest.raises(cache.CorruptCacheFile, match="checksum"):
        cache.read_cell(victim)


@pytest.mark.parametrize("argv, message", [
    (["--only", "E1,NOPE"], "--only: expected comma-separated ids"),
    (["--shard", "0/2"], "--shard: expected I/N"),
    (["--shard", "two"], "--shard: expected I/N"),
    (["--shard", "1/2", "--merge"], "--merge"),
    (["--frobnicate"], "unrecognized arguments"),
])
def test_bad_input_exits_2_with_one_line(argv, message, capsys):
    assert runner.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_unwritable_out_exits_2(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert runner.main(["--out", str(blocker / "sub")]) == 2
    assert "--out: expected a writable directory" in capsys.readouterr().err


SCRIPT = textwrap.dedent("""
    import sys, time
    from linrelu.repro import runner
    from linrelu.experiments.base import Experiment, Claim
    def cells(mode): return [{"seed": i} for i in range(3)]
    def run_cell(cell):
        if cell["seed"] == 1:
            time.sleep(60)  # killed here
        return {"v": cell["seed"]}
    def summarize(cells, results): return {}, [Claim("K.ok", "ok", "1", "1", True, "f")]
    E = Experiment("K", "f", "k", "k", cells, run_cell, summarize, lambda s, d: [], ())
    runner.all_experiments = lambda: {"K": E}
    sys.exit(runner.main(["--out", sys.argv[1], "--quiet"]))
""")


def test_kill_9_loses_only_the_cell_in_progress(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    cells = tmp_path / "results" / "cells"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(cells.glob("*.json"))) < 1:
        time.sleep(0.2)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    files = list(cells.iterdir())
    assert [p.suffix for p in files] == [".json"]  # one finished cell, no partial file
    cache.read_cell(files[0])


def test_command_line_bad_input_has_no_traceback():
    r = subprocess.run([sys.executable, "paper_repro.py", "--shard", "x"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "--shard" in r.stderr


def test_partial_run_leaves_the_published_claims_table_alone(monkeypatch, tmp_path):
    other = Experiment("U", "fig_u", "u", "nothing", _cells, _run_cell, _summarize, _plot, ())
    monkeypatch.setattr(runner, "all_experiments", lambda: {"T": TINY, "U": other})
    assert runner.main(["--out", str(tmp_path), "--quiet", "--only", "T"]) == 0
    assert (tmp_path / "results" / "claims.json").exists()
    assert not (tmp_path / "figures" / "CLAIMS.md").exists()
    assert runner.main(["--out", str(tmp_path), "--quiet"]) == 0
    assert "T.mean" in (tmp_path / "figures" / "CLAIMS.md").read_text()


@pytest.mark.parametrize("argv, flag", [
    (["--full", "--only", "E5", "--data-dir", "/no/such/folder"], "--data-dir"),
    (["--full", "--only", "E6"], "--data-dir"),
])
def test_full_mode_data_dir_is_checked_up_front(monkeypatch, tmp_path, capsys, argv, flag):
    """--full on the paper's benchmarks needs the user's data: a missing or wrong --data-dir
    is a one-line usage error (exit 2) before anything is computed."""
    monkeypatch.delenv(runner.DATA_DIR_ENV, raising=False)
    assert runner.main([*argv, "--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and flag in err[0] and "expected" in err[0]
    assert not list((tmp_path / "results" / "cells").glob("*.json"))


def test_findings_are_reported_but_only_checks_set_the_exit_code(monkeypatch, tmp_path, capsys):
    """A paper finding that is not reproduced is reported as such (exit 0); a failing check
    exits 1."""
    def summarize_with(finding_ok, check_ok):
        def summarize(cells, results):
            return {}, [Claim("F.finding", "phenomenon appears", "no", "pre-set", finding_ok,
                              "f", kind="finding"),
                        Claim("F.check", "theorem holds", "yes", "exact", check_ok, "f")]
        return summarize

    def run(finding_ok, check_ok, out):
        exp = Experiment("F", "fig_f", "f", "nothing", _cells, _run_cell,
                         summarize_with(finding_ok, check_ok), _plot, ())
        monkeypatch.setattr(runner, "all_experiments", lambda: {"F": exp})
        return runner.main(["--out", str(out), "--quiet"])

    assert run(False, True, tmp_path / "a") == 0
    table = (tmp_path / "a" / "figures" / "CLAIMS.md").read_text()
    assert "NOT REPRODUCED" in table and "1/1 checks pass; 0/1 paper findings reproduced" in table
    assert run(True, False, tmp_path / "b") == 1
    assert "| REPRODUCED |" in (tmp_path / "b" / "figures" / "CLAIMS.md").read_text()
    with pytest.raises(ValueError, match="^kind: expected one of"):
        Claim("x", "s", "m", "c", True, "f", kind="maybe")


def test_default_workers_one_in_quick_mode_one_per_core_in_long_and_full():
    rr = runner
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert rr.default_workers("quick") == rr.DEFAULT_WORKERS == 1
    assert rr.default_workers("long") == rr.default_workers("full") == max(1, cores)
    assert rr.parse_options(["--long"]).workers == max(1, cores)
    assert rr.parse_options(["--long", "--workers", "1"]).workers == 1
    assert rr.parse_options([]).workers == 1


def test_paper_repro_computes_with_the_workers_thread_settings():
    """paper_repro.py sets the workers' one-thread XLA/BLAS environment before importing numpy
    or JAX, so that --workers 1 computes cells with the same thread counts as worker processes
    (quick mode's results differed between 1 and 2 workers before). Read from the file (importing
    it would set the variables in this test process)."""
    import ast

    from linrelu.repro import executor

    tree = ast.parse((ROOT / "paper_repro.py").read_text(encoding="utf-8"))
    assigned = {t.id: node.value for node in tree.body if isinstance(node, ast.Assign)
                for t in node.targets if isinstance(t, ast.Name)}
    assert ast.literal_eval(assigned["THREAD_ENV"]) == executor.THREAD_ENV
    first_import = next(i for i, node in enumerate(tree.body)
                        if isinstance(node, ast.ImportFrom) and node.module == "linrelu.repro")
    sets_env = next(i for i, node in enumerate(tree.body) if isinstance(node, ast.For))
    assert sets_env < first_import
