"""The README's Python example runs as written (users copy it first)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("index", range(len(_blocks())))
def test_readme_python_examples_run(index):
    """Each example runs as written in a fresh interpreter (no test conftest: float32 default,
    as in a user's program; XLA's optimization passes off, as in the test process: conftest) and
    prints a diagnosis report."""
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    out = subprocess.run([sys.executable, "-c", _blocks()[index]], capture_output=True,
                         text=True, env=env, timeout=600, cwd=README.parent)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "linrelu diagnose" in out.stdout  # every example prints a diagnosis report


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
