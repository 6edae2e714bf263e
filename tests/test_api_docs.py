"""Issue 37, item 4: the API reference builds from the docstrings (pdoc), with no warning and no
broken reference, and every public name of ``linrelu.__all__`` states its contract."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import linrelu

ROOT = Path(__file__).resolve().parents[1]


def test_api_reference_builds_without_warnings_or_broken_references(tmp_path):
    """``python docs/build_api.py DIR`` (the one command of docs/README.md) exits 0: pdoc's
    warnings count as errors, and so does a backquoted ``linrelu.…`` name that resolves to
    nothing. Every public module gets a page."""
    pytest.importorskip("pdoc")
    out = subprocess.run([sys.executable, str(ROOT / "docs" / "build_api.py"), str(tmp_path)],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    for page in ("index.html", "linrelu.html", "linrelu/spectral/gram.html",
                 "linrelu/continual.html",
                 "linrelu/continual/agents.html", "linrelu/repro/runner.html"):
        assert (tmp_path / page).exists(), page


def test_api_build_reports_a_broken_reference():
    """The checker the build runs: a name that does not resolve is reported, one that does is
    not."""
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        import build_api
    finally:
        sys.path.remove(str(ROOT / "docs"))
    assert build_api.resolves("linrelu.spectral.gram.jacobian_gram")
    assert build_api.resolves("linrelu.continual.metrics")
    assert not build_api.resolves("linrelu.plasticity_metrics_nonexistent")
    assert not build_api.resolves("linrelu.spectral.gram.no_such_function")


@pytest.mark.parametrize("name", linrelu.__all__)
def test_every_public_name_states_its_contract(name):
    """Every name of ``linrelu.__all__`` has its own docstring (not one inherited from a base
    class or from ``object``) of at least a full sentence: its formula or contract."""
    obj = getattr(linrelu, name)
    doc = obj.__doc__ if inspect.isclass(obj) or callable(obj) else None
    assert doc and doc.strip(), f"{name}: no docstring"
    if inspect.isclass(obj):
        inherited = {inspect.getdoc(base) for base in obj.__mro__[1:]}
        assert inspect.getdoc(obj) not in inherited, f"{name}: docstring inherited"
    text = " ".join(inspect.getdoc(obj).split())
    assert len(text) >= 60, f"{name}: docstring too short to state a contract: {text!r}"
