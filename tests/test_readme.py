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
MODELS = ROOT / "docs" / "models.md"


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


def test_readme_and_models_guide_have_the_own_network_examples():
    """Issue 37: the README's first example is a plain JAX function of a dict; the Flax CNN
    example moved to docs/models.md, "Your own network"."""
    assert "lambda p, x: jnp.tanh" in _blocks()[0]
    own = MODELS.read_text(encoding="utf-8").split("## Your own network", 1)[1]
    own = own.split("\n## ", 1)[0]
    assert "flax.linen" in own


def test_readme_is_short_and_in_order():
    """Issue 37: README.md ≤ 300 lines, sections in the order a newcomer reads them, links to
    every guide, and nothing stale (the retired "Out of date" table, clipping as the paper's
    protocol)."""
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 300
    heads = [line for line in text.splitlines() if line.startswith("## ")]
    assert heads == ["## Quickstart", "## Three examples", "## What we found", "## Guides",
                     "## Layout"]
    for page in ("docs/README.md", "docs/models.md", "docs/continual.md",
                 "docs/reproducing.md", "docs/performance.md", "docs/theory-corrections.md",
                 "benchmarks/RESULTS.md"):
        assert f"]({page}" in text, page
        assert (ROOT / page).exists(), page
    for path in [README, *DOCS]:
        page = path.read_text(encoding="utf-8")
        assert "Out of date" not in page, path.name
        assert "clip_norm=0.5" not in page, path.name


def test_readme_findings_block_is_generated_from_the_claims_tables():
    """Issue 37: README.md's "What we found" table and docs/reproducing.md's "The paper vs this
    project" are what paper_repro.py generates from the committed figures/**/CLAIMS.md and the
    tier files (regenerated here, compared byte for byte), so they cannot drift."""
    from linrelu.repro.findings import FINDINGS_BEGIN, PAPER_VS_BEGIN, rendered_documents

    assert FINDINGS_BEGIN in README.read_text(encoding="utf-8")
    assert PAPER_VS_BEGIN in (ROOT / "docs" / "reproducing.md").read_text(encoding="utf-8")
    rendered = rendered_documents(ROOT)
    assert set(rendered) == {README, ROOT / "docs" / "reproducing.md"}
    for path, text in rendered.items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.name} differs from its generated blocks: run python -c 'from "
            f"linrelu.repro.findings import update_documents as u; u(\".\")'")


def test_docs_links_resolve():
    """Every relative link of README.md and docs/*.md points to a file of the repository."""
    for path in [README, *DOCS]:
        text = re.sub(r"```.*?```", "", path.read_text("utf-8"), flags=re.S)  # code blocks
        text = re.sub(r"`[^`\n]*`", "", text)                                   # inline code
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if "://" in target:
                continue
            assert (path.parent / target).exists(), f"{path.name}: {target}"


def test_readme_quickstart_has_exactly_the_two_commands():
    text = README.read_text(encoding="utf-8")
    quick = text.split("## Quickstart", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    lines = [line for line in quick.strip().splitlines() if line.strip()]
    assert lines == ['pip install -e ".[dev]" && python paper_repro.py',
                     'pip install -e ".[dev]" && pytest']


def test_models_guide_has_the_user_models_section():
    """Issue 20: the section exists (docs/models.md since issue 37) and its example (run
    verbatim by test_docs_python_examples_run) covers Flax, Haiku, Equinox and the authors'
    ConvNet."""
    text = MODELS.read_text(encoding="utf-8")
    sec = text.split("## Models from Flax, Equinox, Haiku and the paper's code", 1)[1]
    sec = sec.split("\n## ", 1)[0]
    code = re.findall(r"```python\n(.*?)```", sec, re.S)
    assert len(code) == 1 and code[0] in python_blocks(MODELS)
    for needle in ("mlp_from_flax(variables, apply=", "hk.transform", "eqx.nn.Linear",
                   "wrap_model", "nn.LayerNorm", "acts[\"pool1\"] = None", "lr.diagnose("):
        assert needle in code[0], needle
