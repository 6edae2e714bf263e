"""Cell cache: content-addressed, atomically written, corruption-detecting JSON files.

A cell's key is sha256 of (run function, cell configuration, code version): the same cell under
the same code is computed once, whichever experiment asks for it, and any change to the code it
runs recomputes it (the code version, :func:`linrelu.repro.provenance.code_version`, hashes
syntax trees: comments and docstrings do not enter it).
Each file stores the sha256 of its own payload, so a truncated or edited file is detected.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path


def canonical_json(obj) -> str:
    """Deterministic JSON: sorted keys, no whitespace variation, strict (no NaN tokens)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def cell_key(run_fn, cell: dict, code_version: str) -> str:
    fn = f"{run_fn.__module__}.{run_fn.__qualname__}"
    blob = canonical_json({"fn": fn, "cell": cell, "code": code_version})
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and os.replace.

    A reader (or a run killed with SIGKILL) sees either the old file or the complete new one,
    never a partial file: the temporary name starts with '.' and ends with '.tmp', and stale
    temporaries from killed runs are removed by :func:`remove_stale_temporaries`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def remove_stale_temporaries(folder: Path) -> int:
    """Delete temporaries left by a killed run; return how many."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    stale = list(folder.glob(".*.tmp"))
    for p in stale:
        p.unlink(missing_ok=True)
    return len(stale)


class CorruptCacheFile(Exception):
    """A cache file exists but cannot be trusted (unreadable, truncated or edited)."""


def write_cell(path: Path, record: dict) -> None:
    payload = canonical_json(record)
    digest = hashlib.sha256(payload.encode()).hexdigest()
    atomic_write_text(path, canonical_json({"sha256": digest, "record": record}) + "\n")


def read_cell(path: Path) -> dict:
    """Return the stored record, or raise CorruptCacheFile saying what is wrong."""
    try:
        outer = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorruptCacheFile(f"{path}: unreadable JSON ({type(err).__name__})") from err
    if not isinstance(outer, dict) or "sha256" not in outer or "record" not in outer:
        raise CorruptCacheFile(f"{path}: missing 'sha256'/'record'")
    digest = hashlib.sha256(canonical_json(outer["record"]).encode()).hexdigest()
    if digest != outer["sha256"]:
        raise CorruptCacheFile(f"{path}: checksum mismatch")
    return outer["record"]
