"""What a results file records about how it was made: code version, packages, platform, commit."""

from __future__ import annotations

import ast
import hashlib
import platform
import subprocess
from functools import cache, lru_cache
from importlib import metadata
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
_PACKAGES = ("jax", "jaxlib", "numpy", "scipy", "sympy", "matplotlib", "scikit-learn", "tqdm")


def _read_source(path: Path) -> str:
    """The text of a source file (the one place the code version reads code; tests replace it)."""
    return Path(path).read_text(encoding="utf-8")


def _strip_strings(tree: ast.AST) -> ast.AST:
    """Remove every statement that is a bare string literal (docstrings, and strings used as
    comments), in place; a body left empty gets ``pass``. Such a statement computes nothing."""
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            body = getattr(node, name, None)
            if not isinstance(body, list) or not body or not isinstance(body[0], ast.stmt):
                continue
            kept = [s for s in body if not (isinstance(s, ast.Expr)
                                           and isinstance(s.value, ast.Constant)
                                           and isinstance(s.value.value, str))]
            if len(kept) != len(body):
                setattr(node, name, kept or [ast.Pass()])
    return tree


@cache
def code_text(source: str) -> str:
    """The arithmetic of a module's source: ``ast.dump`` of its tree without docstrings (and
    without other bare string statements), line and column numbers left out.

    Comments, docstrings, blank lines and layout do not reach it; every name, literal, operator
    and statement does. The dump's format is the running Python's, so a new Python minor version
    may give new text (and new cache keys) for the same source.
    """
    tree = _strip_strings(ast.parse(source))
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


def _hash_files(paths, extra: bytes = b"") -> str:
    """sha256 over the files' project-relative names and :func:`code_text` (16 hex digits)."""
    h = hashlib.sha256()
    for p in sorted(set(paths)):
        name = p.relative_to(PROJECT_ROOT) if p.is_relative_to(PROJECT_ROOT) else p.name
        h.update(str(name).encode())
        h.update(b"\0")
        h.update(code_text(_read_source(p)).encode())
        h.update(b"\0")
    h.update(extra)
    return h.hexdigest()[:16]


def _library_files() -> list:
    """Every .py file that can change what a cell computes: the library outside
    ``linrelu/experiments`` and ``linrelu/repro``, plus ``experiments/{__init__,base}.py``."""
    lib = PROJECT_ROOT / "linrelu"
    files = [p for p in lib.rglob("*.py")
             if p.relative_to(lib).parts[0] not in ("experiments", "repro")]
    return files + [lib / "experiments" / "__init__.py", lib / "experiments" / "base.py"]


@cache
def code_version(run_fn=None) -> str:
    """sha256 of the code a cell's result depends on (part of every cell's cache key).

    With ``run_fn`` (an experiment's ``run_cell``): the library (:func:`_library_files`), the
    module defining ``run_fn`` and every ``linrelu.experiments`` module it imports, and for the
    proof step the proofs. Another experiment's module, an experiment's summarize/plot code in a
    module that only imports ``run_fn`` (E5–E7, E10 share ``continual_runs.run_cell``), and the
    runner do not enter it, so editing a figure does not recompute hours of training; editing
    any computation does. Without ``run_fn``: every .py file of the library and the proofs.

    Each file enters through :func:`code_text` (its syntax tree without docstrings): a comment,
    docstring or layout edit leaves every key unchanged, any other edit changes the key of every
    cell whose files include it. No cell may read a docstring (``__doc__``) or a line number into
    its result. A ``run_fn`` defined outside a file (a script, a notebook) enters through its
    bytecode.
    """
    if run_fn is None:
        files = [p for folder in ("linrelu", "proofs")
                 for p in (PROJECT_ROOT / folder).rglob("*.py")]
        return _hash_files(files)
    import sys

    files = _library_files()
    module = sys.modules.get(run_fn.__module__)
    own = getattr(module, "__file__", None)
    if own is None:  # defined in a script or a notebook: its bytecode stands for its file
        return _hash_files(files, getattr(getattr(run_fn, "__code__", None), "co_code", b""))
    files.append(Path(own).resolve())
    exp_dir = (PROJECT_ROOT / "linrelu" / "experiments").resolve()
    for value in vars(module).values():  # experiment modules the run function's module imports
        name = value.__name__ if isinstance(value, type(sys)) else getattr(value, "__module__",
                                                                            None)
        path = getattr(sys.modules.get(name), "__file__", None) if isinstance(name, str) else None
        if path and Path(path).resolve().parent == exp_dir:
            files.append(Path(path).resolve())
    if run_fn.__module__.startswith(("proofs", "linrelu.repro")):
        files += list((PROJECT_ROOT / "proofs").rglob("*.py"))
        files += list((PROJECT_ROOT / "linrelu" / "repro").rglob("*.py"))
    return _hash_files(files)


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


#: The packages whose versions, with the CPU, decide whether two runs can give the same bits.
ARITHMETIC_PACKAGES = ("jax", "jaxlib", "numpy")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "cpu model"):
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _vector_extensions() -> list:
    """The SIMD features numpy detected on this CPU (``__cpu_features__``), sorted."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # numpy < 2
        try:
            from numpy.core._multiarray_umath import __cpu_features__ as features
        except ImportError:
            return []
    return sorted(k for k, v in features.items() if v)


@lru_cache(maxsize=1)
def cpu_info() -> dict:
    """{"model": the CPU's model name, "extensions": its vector extensions}."""
    return {"model": _cpu_model(), "extensions": _vector_extensions()}


@lru_cache(maxsize=1)
def platform_info() -> dict:
    import jax

    return {"python": platform.python_version(), "system": platform.system(),
            "machine": platform.machine(), "jax_backend": jax.default_backend(),
            "cpu": cpu_info()}


def arithmetic_environment(prov: dict) -> dict:
    """What of a provenance record decides a result's bits: the CPU and the versions of
    :data:`ARITHMETIC_PACKAGES` (None for a field the record lacks)."""
    packages = prov.get("packages") or {}
    return {"cpu": (prov.get("platform") or {}).get("cpu"),
            **{name: packages.get(name) for name in ARITHMETIC_PACKAGES}}


def provenance(cell: dict) -> dict:
    """The record stored beside every result: seed, configuration, versions (jax, jaxlib, numpy
    among them), platform (with the CPU's model and vector extensions), commit."""
    return {"seed": cell.get("seed"), "config": cell, "code_version": code_version(),
            "packages": package_versions(), "platform": platform_info(),
            "git_commit": git_commit()}
