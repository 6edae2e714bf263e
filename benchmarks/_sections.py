"""RESULTS.md is shared by several benchmark scripts: each owns one section between its own
``<!-- NAME:BEGIN … -->`` / ``<!-- NAME:END -->`` markers and rewrites only that section.

``python -m benchmarks`` regenerates the main report and carries every marked section over
(:data:`OWNED`); anything outside the markers is the main report's.
"""

from __future__ import annotations

import os
from pathlib import Path

#: (BEGIN, END) markers of the sections other scripts own, in the order they appear.
OWNED = (
    ("<!-- GENERIC:BEGIN (python -m benchmarks.generic_gram) -->", "<!-- GENERIC:END -->"),
    ("<!-- WORKERS:BEGIN (python -m benchmarks.workers) -->", "<!-- WORKERS:END -->"),
    ("<!-- POPULATION:BEGIN (python -m benchmarks.population) -->", "<!-- POPULATION:END -->"),
    ("<!-- SPARSE:BEGIN (python -m benchmarks.sparse_step) -->", "<!-- SPARSE:END -->"),
    ("<!-- MATFREE:BEGIN (measured by hand for issue 20; script inside) -->",
     "<!-- MATFREE:END -->"),
    ("<!-- POPULATION-GPU:BEGIN (python -m benchmarks.population on an accelerator) -->",
     "<!-- POPULATION-GPU:END -->"),
    ("<!-- HISTORY:BEGIN (measured by hand; moved from README.md and docstrings, issue 37) -->",
     "<!-- HISTORY:END -->"),
    ("<!-- DISPATCH:BEGIN (python -m benchmarks.dispatch) -->", "<!-- DISPATCH:END -->"),
)


def write_section(path: Path, begin: str, end: str, body: str) -> None:
    """Replace the text between ``begin`` and ``end`` in ``path`` by ``body`` (append the
    marked section when the markers are absent); atomic (temporary file + rename)."""
    section = f"{begin}\n\n{body.strip()}\n\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def owned_sections(text: str) -> str:
    """Every marked section of :data:`OWNED` found in ``text``, markers included, in order."""
    out = []
    for begin, end in OWNED:
        if begin in text and end in text:
            out.append(begin + text.split(begin, 1)[1].split(end, 1)[0] + end)
    return "\n\n".join(out)
