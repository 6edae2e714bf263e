"""What a results file records about how it was made: code version, packages, platform, commit."""

from __future__ import annotations

import hashlib
import platform
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
_PACKAGES = ("jax", "jaxlib", "numpy", "scipy", "sympy", "matplotlib", "scikit-learn", "tqdm")


@lru_cache(maxsize=1)
def code_version() -> str:
    """sha256 of every .py file of the library and the proofs (path + content, sorted).

    Part of every cell's cache key: editing any computation invalidates the cached results.
    """
    h = hashlib.sha256()
    for folder in ("linrelu", "proofs"):
        for p in sorted((PROJECT_ROOT / folder).rglob("*.py")):
            h.update(str(p.relative_to(PROJECT_ROOT)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


@lru_cache(maxsize=1)
def package_versions() -> dict:
    out = {}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


@lru_cache(maxsize=1)
def git_commit() -> str:
    """HEAD commit, with '+dirty' when tracked files differ from it; 'unknown' outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, text=True,
                              capture_output=True, timeout=10)
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=PROJECT_ROOT, text=True, capture_output=True, timeout=10)
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@lru_cache(maxsize=1)
def platform_info() -> dict:
    import jax

    return {"python": platform.python_version(), "system": platform.system(),
            "machine": platform.machine(), "jax_backend": jax.default_backend()}


def provenance(cell: dict) -> dict:
    """The record stored beside every result: seed, configuration, versions, platform, commit."""
    return {"seed": cell.get("seed"), "config": cell, "code_version": code_version(),
            "packages": package_versions(), "platform": platform_info(),
            "git_commit": git_commit()}
