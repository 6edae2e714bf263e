"""The README's Python example runs as written (users copy it first)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_examples_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "README has no ```python example"
    for code in blocks:
        namespace: dict = {}
        exec(compile(code, str(README), "exec"), namespace)  # noqa: S102
    out = capsys.readouterr().out
    assert "linrelu diagnose" in out  # the example prints a diagnosis report


def test_readme_quickstart_has_exactly_the_two_commands():
    text = README.read_text(encoding="utf-8")
    quick = text.split("## Quickstart", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    lines = [line for line in quick.strip().splitlines() if line.strip()]
    assert lines == ['pip install -e ".[dev]" && python paper_repro.py',
                     'pip install -e ".[dev]" && pytest']
