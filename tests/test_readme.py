"""The README's and the guides' (docs/*.md) Python examples run as written (users copy them
first)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))


def python_blocks(path: Path = README) -> list:
    """The ```python fenced code blocks of a markdown file, in order."""
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


def _blocks():
    return python_blocks(README)


def run_example(code: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """``code`` run as written in a fresh interpreter (no test conftest: float32 default, as in
    a user's program; XLA's optimization passes off, as in the test process: conftest)."""
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=600, cwd=cwd)


@pytest.mark.parametrize("index", range(len(_blocks())))
def test_readme_python_examples_run(index):
    """Each example runs as written in a fresh interpreter and prints a diagnosis report."""
    out = run_example(_blocks()[index], README.parent)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "linrelu diagnose" in out.stdout  # every example prints a diagnosis report


@pytest.mark.parametrize("doc, index", [(p.name, i) for p in DOCS
                                        for i in range(len(python_blocks(p)))])
def test_docs_python_examples_run(doc, index):
    """Each example of the guides in docs/ runs as written in a fresh interpreter, from the
    repository root, and prints a diagnosis report."""
    out = run_example(python_blocks(ROOT / "docs" / doc)[index])
    assert out.returncode == 0, out.stderr[-3000:]
    assert "linrelu diagnose" in out.stdout


def test_continual_guide_trains_a_flax_model_through_the_engine_and_diagnoses_it():
    """Issue 34: docs/continual.md's example (run verbatim by test_docs_python_examples_run)
    trains a Flax model on the library's Permuted-MNIST stream with bp and l2 through
    run_continual, then diagnoses the returned params; the guide names the entry points."""
    text = (ROOT / "docs" / "continual.md").read_text(encoding="utf-8")
    code = python_blocks(ROOT / "docs" / "continual.md")
    assert len(code) == 1
    for needle in ("flax.linen", "lr.wrap_model(", 'make_stream("permuted_mnist"',
                   'for name in ("bp", "l2")', "run_continual(net, stream, agent",
                   "params=params0", "lr.diagnose(net, run.params"):
        assert needle in code[0], needle
    for name in ("make_stream", "make_agent", "run_continual", "start_task",
                 "train_task_with_state", "ContinualRun", "checkpoint_dir"):
        assert f"`{name}" in text, name


def test_readme_has_the_own_network_examples():
    text = README.read_text(encoding="utf-8")
    own = text.split("## Your own network", 1)[1].split("\n## ", 1)[0]
    assert "flax.linen" in own and "lambda p, x: jnp.tanh" in own


def test_readme_quickstart_has_exactly_the_two_commands():
    text = README.read_text(encoding="utf-8")
    quick = text.split("## Quickstart", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    lines = [line for line in quick.strip().splitlines() if line.strip()]
    assert lines == ['pip install -e ".[dev]" && python paper_repro.py',
                     'pip install -e ".[dev]" && pytest']


def test_readme_has_the_user_models_section():
    """Issue 20: the section exists and its example (run verbatim by
    test_readme_python_examples_run) covers Flax, Haiku, Equinox and the authors' ConvNet."""
    text = README.read_text(encoding="utf-8")
    sec = text.split("## Models from Flax, Equinox, Haiku and the paper's code", 1)[1]
    sec = sec.split("\n## ", 1)[0]
    code = re.findall(r"```python\n(.*?)```", sec, re.S)
    assert len(code) == 1 and code[0] in _blocks()
    for needle in ("mlp_from_flax(variables, apply=", "hk.transform", "eqx.nn.Linear",
                   "wrap_model", "nn.LayerNorm", "acts[\"pool1\"] = None", "lr.diagnose("):
        assert needle in code[0], needle
