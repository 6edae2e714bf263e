"""Cache keys that follow the arithmetic, and ``paper_repro.py --verify N``.

- A cell's code version hashes the syntax trees of the code it runs, without docstrings: a
  docstring, comment or layout edit keeps every key, an edit of the arithmetic changes it.
- Every stored result names its CPU (model, vector extensions) and its jax/jaxlib/numpy.
- ``--verify N`` recomputes N stored cells of a tier: byte-identical on the same CPU and
  versions; elsewhere drift within a tolerance and the claims' verdicts.

A tiny fake experiment (three instant cells) stands in for the real ones.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from linrelu.experiments import continual_runs
from linrelu.experiments.base import Claim, Experiment
from linrelu.repro import cache, provenance, runner

ROOT = Path(__file__).resolve().parents[1]


# --- cache keys -------------------------------------------------------------------------------

def _docstring_nodes(tree):
    return [n.body[0] for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef)) and n.body
            and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)
            and isinstance(n.body[0].value.value, str)]


def _splice(text: str, node, new: str) -> str:
    """``text`` with the source of ``node`` (one line or several) replaced by ``new`` (the AST's
    column offsets count UTF-8 bytes)."""
    lines = text.encode().splitlines(keepends=True)
    start = sum(len(x) for x in lines[:node.lineno - 1]) + node.col_offset
    end = sum(len(x) for x in lines[:node.end_lineno - 1]) + node.end_col_offset
    raw = text.encode()
    return (raw[:start] + new.encode() + raw[end:]).decode()


def prose_edit(text: str) -> str:
    """Every docstring rewritten (nodes spliced from the last, so positions stay valid), a
    comment line and blank lines added at the top, a trailing comment on the first import."""
    tree = ast.parse(text)
    imp = next(n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)))
    edits = [(n, '"""Rewritten: a docstring says something else now."""')
             for n in _docstring_nodes(tree)]
    edits.append((imp, ast.get_source_segment(text, imp) + "  # a new comment"))
    for node, new in sorted(edits, key=lambda e: (e[0].lineno, e[0].col_offset), reverse=True):
        text = _splice(text, node, new)
    return "# a comment line\n\n\n" + text


def arithmetic_edit(text: str) -> str:
    """The first numeric literal inside a function body, plus one."""
    tree = ast.parse(text)
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef):
            for n in ast.walk(fn):
                if (isinstance(n, ast.Constant) and type(n.value) in (int, float)
                        and n.lineno == n.end_lineno):
                    return _splice(text, n, repr(n.value + 1))
    raise AssertionError("no numeric literal in a function")


@pytest.fixture
def edited_sources(monkeypatch):
    """``edit(path, fn)``: the code version reads ``fn(original text)`` for ``path``."""
    edits = {}
    real = provenance._read_source
    monkeypatch.setattr(provenance, "_read_source",
                        lambda p: edits[Path(p)](real(p)) if Path(p) in edits else real(p))

    def edit(path, fn):
        edits.clear()
        if path is not None:
            edits[Path(path).resolve()] = fn
        return provenance.code_version.__wrapped__(continual_runs.run_cell)

    return edit


@pytest.mark.parametrize("module", [
    "linrelu/experiments/continual_runs.py",  # the --long cells' own module
    "linrelu/models/mlp.py",  # a library module every --long cell runs
])
def test_a_docstring_or_comment_edit_keeps_the_key_an_arithmetic_edit_changes_it(
        edited_sources, module):
    path = ROOT / module
    text = path.read_text(encoding="utf-8")
    assert prose_edit(text) != text and _docstring_nodes(ast.parse(text))
    base = edited_sources(None, None)
    assert edited_sources(path, prose_edit) == base
    assert edited_sources(path, arithmetic_edit) != base
    cell = continual_runs.continual_cells("long")[0]
    key = cache.cell_key(continual_runs.run_cell, cell, base)
    assert cache.cell_key(continual_runs.run_cell, cell,
                          edited_sources(path, arithmetic_edit)) != key


def test_code_text_drops_docstrings_comments_and_layout_only():
    a = 'def f(x):\n    """Doc."""\n    # note\n    return x * 2\n'
    b = '\n\ndef f(x):  # other note\n    """Other doc,\n    two lines."""\n    return x*2\n'
    assert provenance.code_text(a) == provenance.code_text(b)
    assert provenance.code_text(a) != provenance.code_text(a.replace("* 2", "* 3"))
    assert provenance.code_text(a) != provenance.code_text(a.replace("x * 2", "2 * x"))
    only_doc = 'def g():\n    """Doc."""\n'
    assert provenance.code_text(only_doc) == provenance.code_text("def g():\n    pass\n")


# --- the tiny tier ----------------------------------------------------------------------------

def _cells(mode):
    return [{"seed": s, "size": 4} for s in range(3)]


def _run_cell(cell):
    rng = np.random.default_rng(cell["seed"])
    return {"mean": float(rng.normal(size=cell["size"]).mean()), "seed": cell["seed"]}


def _summarize(cells, results):
    worst = max(abs(r["mean"]) for r in results)
    return {"worst": worst}, [Claim("V.small", "every |mean| < 5", f"{worst:.3f}", "< 5",
                                    worst < 5, "fig_v")]


TINY = Experiment("V", "fig_v", "tiny", "nothing", _cells, _run_cell, _summarize,
                  lambda summary, figdir: [], (("V.small", "every |mean| < 5"),))


@pytest.fixture
def tier(monkeypatch, tmp_path):
    """The tiny tier computed and stored under ``tmp_path`` (one process)."""
    monkeypatch.setattr(runner, "all_experiments", lambda: {"V": TINY})
    assert runner.main(["--out", str(tmp_path), "--quiet", "--workers", "1"]) == 0
    return tmp_path


def _stored(root: Path) -> dict:
    """{cell seed: path} of the stored cells."""
    out = {}
    for p in (root / "results" / "cells").glob("*.json"):
        out[cache.read_cell(p)["cell"]["seed"]] = p
    return out


def _rewrite(path: Path, change) -> None:
    """Apply ``change(record)`` to a stored cell and store it again (a valid checksum)."""
    rec = cache.read_cell(path)
    change(rec)
    cache.write_cell(path, rec)


def _verify(root, *flags):
    return runner.main(["--out", str(root), "--quiet", "--workers", "1", "--verify", *flags])


def test_stored_results_name_their_cpu_and_versions(tier):
    rec = cache.read_cell(next(iter(_stored(tier).values())))
    prov = rec["provenance"]
    cpu = prov["platform"]["cpu"]
    assert isinstance(cpu["model"], str) and cpu["model"]
    assert isinstance(cpu["extensions"], list) and cpu["extensions"] == sorted(cpu["extensions"])
    assert {"jax", "jaxlib", "numpy"} <= set(prov["packages"])
    assert provenance.arithmetic_environment(prov) == provenance.arithmetic_environment(
        {"platform": provenance.platform_info(), "packages": provenance.package_versions()})


def test_verify_on_the_same_cpu_is_byte_identical(tier, capsys):
    capsys.readouterr()
    assert _verify(tier, "2") == 0
    out = capsys.readouterr().out
    assert "recomputing 2 of 3 stored cells, sampled with seed 0" in out
    assert out.count(": identical (same CPU and versions)") == 2
    assert "verify: 2 cells: 2 identical; " in out and "exit 0" in out
    # the seed decides the sample, the same seed the same cells
    assert _verify(tier, "2", "--verify-seed", "7") == 0
    first = [line for line in capsys.readouterr().out.splitlines() if "V cell" in line]
    assert _verify(tier, "2", "--verify-seed", "7") == 0
    assert [line for line in capsys.readouterr().out.splitlines() if "V cell" in line] == first
    # more cells than stored: all of them
    assert _verify(tier, "9") == 0
    assert "recomputing 3 of 3 stored cells (only 3 stored)" in capsys.readouterr().out


def test_verify_reports_a_changed_byte_on_the_same_cpu(tier, capsys):
    victim = _stored(tier)[1]
    _rewrite(victim, lambda r: r["result"].__setitem__("mean", r["result"]["mean"] + 1e-12))
    capsys.readouterr()
    assert _verify(tier, "3") == 1
    out = capsys.readouterr().out
    assert "V cell 1 [" in out and "differs (same CPU and versions): largest difference 1e-12 " \
        "at result.mean" in out
    assert "V: verdicts unchanged (V.small PASS)" in out
    assert "2 identical, 1 differ" in out and "exit 1" in out


def test_verify_on_another_cpu_reports_drift_and_verdicts(tier, capsys):
    stored = _stored(tier)

    def elsewhere(drift):
        def change(rec):
            rec["provenance"]["platform"]["cpu"]["model"] = "Some Other CPU"
            rec["result"]["mean"] += drift
        return change

    _rewrite(stored[0], elsewhere(0.0))  # another CPU, same bytes
    _rewrite(stored[2], elsewhere(1e-9))  # another CPU, drift within 1e-6
    capsys.readouterr()
    assert _verify(tier, "3") == 0
    out = capsys.readouterr().out
    assert "V cell 0 [" in out and "identical (CPU 'Some Other CPU' stored," in out
    line = next(x for x in out.splitlines() if x.startswith("V cell 2 ["))
    assert "within tolerance 1e-06 (CPU 'Some Other CPU' stored, " in line
    assert "largest drift 1e-09 at result.mean" in line
    assert "V: verdicts unchanged (V.small PASS)" in out
    assert "verify: 3 cells: 2 identical, 1 within tolerance; verdicts unchanged; exit 0" in out

    _rewrite(stored[2], elsewhere(0.01))  # drift beyond the tolerance, same verdict
    capsys.readouterr()
    assert _verify(tier, "3") == 1
    out = capsys.readouterr().out
    assert "beyond tolerance 1e-06" in out and "V: verdicts unchanged (V.small PASS)" in out
    assert _verify(tier, "3", "--verify-tol", "0.1") == 0  # a stated, looser tolerance

    _rewrite(stored[2], elsewhere(10.0))  # the stored verdict was FAIL; recomputed it passes
    capsys.readouterr()
    assert _verify(tier, "3", "--verify-tol", "100") == 1
    out = capsys.readouterr().out
    assert "within tolerance 100" in out
    assert "V: verdicts CHANGED: V.small FAIL → PASS" in out and "exit 1" in out


def test_verify_finds_cells_stored_by_older_code(tier, monkeypatch, capsys):
    """After an edit that re-keys the cells, --verify compares the new code's results with the
    newest stored ones of the same configuration: the edit is shown to keep the arithmetic."""
    real = provenance.code_version
    monkeypatch.setattr(provenance, "code_version",
                        lambda fn=None: "edited" + real(fn)[6:] if fn is not None else real())
    capsys.readouterr()
    assert _verify(tier, "3") == 0
    out = capsys.readouterr().out
    assert out.count("stored by older code as ") == 3 and "3 identical" in out


def test_verify_on_dask_workers(monkeypatch, tmp_path, capsys):
    """--verify uses the run's executor: with --workers 2 the cells go to spawned Dask workers,
    which find the registry through runner.REGISTRY_ENV (tests/_worker_experiments.py)."""
    tests = Path(__file__).resolve().parent
    monkeypatch.setenv(runner.REGISTRY_ENV, "_worker_experiments:registry")
    monkeypatch.setenv("PYTHONPATH", str(tests))
    monkeypatch.syspath_prepend(str(tests))
    assert runner.main(["--out", str(tmp_path), "--quiet", "--workers", "1"]) == 0
    capsys.readouterr()
    assert runner.main(["--out", str(tmp_path), "--quiet", "--workers", "2", "--verify", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count(": identical (same CPU and versions)") == 2


@pytest.mark.parametrize("argv, message", [
    (["--verify", "0"], "--verify: expected a positive integer"),
    (["--verify", "three"], "--verify: expected a positive integer"),
    (["--verify", "2", "--verify-seed", "-1"], "--verify-seed: expected a non-negative integer"),
    (["--verify", "2", "--verify-tol", "nan"], "--verify-tol: expected a finite number"),
    (["--verify-seed", "3"], "--verify-seed: expected together with --verify N"),
    (["--verify", "2", "--merge"], "--verify: expected with the tier flags"),
    (["--verify", "2", "--fresh"], "--verify: expected with the tier flags"),
    (["--long", "--verify", "2", "--shard", "1/2"], "--verify: expected with the tier flags"),
])
def test_verify_bad_input_exits_2_with_one_line(argv, message, tmp_path, capsys):
    assert runner.main([*argv, "--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "received" in err


def test_verify_without_stored_cells_exits_2(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(runner, "all_experiments", lambda: {"V": TINY})
    assert runner.main(["--out", str(tmp_path), "--quiet", "--verify", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--verify: expected stored results of the quick tier" in err and "received none" in err


def test_verify_leaves_the_stored_files_alone(tier):
    before = {p: p.read_bytes() for p in (tier / "results").rglob("*") if p.is_file()
              and p.name != runner.TIMINGS_LOG}
    assert _verify(tier, "3") == 0
    after = {p: p.read_bytes() for p in (tier / "results").rglob("*") if p.is_file()
             and p.name != runner.TIMINGS_LOG}
    assert after == before


def test_other_experiments_sharing_a_cell_are_all_verified(monkeypatch, tmp_path, capsys):
    """E5–E7 and E10 share cells: a recomputed shared cell names every experiment it serves, and
    the verdicts of each are compared when it is not identical."""
    twin = dataclasses.replace(TINY, id="V2")
    monkeypatch.setattr(runner, "all_experiments", lambda: {"V": TINY, "V2": twin})
    assert runner.main(["--out", str(tmp_path), "--quiet", "--workers", "1"]) == 0
    assert len(list((tmp_path / "results" / "cells").glob("*.json"))) == 3
    victim = _stored(tmp_path)[0]
    _rewrite(victim, lambda r: r["provenance"]["platform"]["cpu"].__setitem__("model", "X"))
    _rewrite(victim, lambda r: r["result"].__setitem__("mean", r["result"]["mean"] + 1e-9))
    capsys.readouterr()
    assert _verify(tmp_path, "3") == 0
    out = capsys.readouterr().out
    assert "V cell 0, V2 0 [" in out
    assert "V: verdicts unchanged" in out and "V2: verdicts unchanged" in out
