"""``paper_repro.py --verify N``: recompute N stored cells of a tier and compare them.

The cells are drawn (``random.Random(seed).sample``) from the tier's planned cells that have a
stored result in ``results/cells`` (under the current cache key, or, after a code change that
re-keyed them, the newest stored record of the same run function and configuration), recomputed
by the run's executor (``--workers`` / ``--scheduler``), and compared with what is stored:

- **Same CPU and versions** (the stored record's CPU model and vector extensions and its jax,
  jaxlib and numpy versions equal this process's, :func:`provenance.arithmetic_environment`):
  the result's canonical JSON bytes. A cell is *identical* or *differs*; a difference reports
  the largest numeric difference and where it is.
- **Elsewhere** (another CPU or versions, or a record that names no CPU): every number within
  the tolerance ``tol`` (``|new − stored| ≤ tol · max(1, |stored|)``; strings, booleans and the
  structure exactly). A cell is *identical*, *within tolerance* or *beyond tolerance*, with the
  largest drift.

For every experiment with a recomputed cell that is not byte-identical, the claims' verdicts
(pass/fail) of ``summarize`` on the stored results are compared with those on the stored results
with the recomputed cells in their place; that needs all the experiment's cells of the tier
stored, and verdicts that cannot be compared count as not unchanged.

:func:`verify` prints one line per cell as it completes, one per experiment's verdicts and a
last summary line, and returns 0 when every cell is identical, or within tolerance where the
environment differs with its experiments' verdicts unchanged; 1 otherwise (a cell that differs on
the same CPU and versions, drift beyond the tolerance, a changed verdict, a recompute that
raised). It writes no file. It imports nothing of the runner: the runner passes its items,
registry and executor settings.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from linrelu.repro import cache, executor
from linrelu.repro.provenance import arithmetic_environment, package_versions, platform_info

#: Default of ``--verify-tol`` (the tolerance where CPU or versions differ).
DEFAULT_TOL = 1e-6


class NoStoredCells(Exception):
    """The tier has no stored cell to verify (the message says where it looked)."""


def fn_name(fn) -> str:
    """``module.qualname`` of a run function (what :func:`linrelu.repro.cache.cell_key` keys)."""
    return f"{fn.__module__}.{fn.__qualname__}"


@dataclass
class Target:
    """One unique planned cell: its experiments (those sharing it), cell, current key, and the
    stored record it is compared with."""

    experiments: list  # [(experiment id, cell index)]
    cell: dict
    key: str
    record: dict
    stored_key: str  # the key it is stored under (== key unless stored by older code)

    @property
    def label(self) -> str:
        eid, i = self.experiments[0]
        also = "".join(f", {e} {j}" for e, j in self.experiments[1:])
        old = ("" if self.stored_key == self.key
               else f", stored by older code as {self.stored_key[:12]}")
        return f"{eid} cell {i}{also} [key {self.key[:12]}{old}]"


def _stored_index(cells_dir: Path, experiments: dict) -> dict:
    """{(run function name, canonical cell JSON): [(mtime, key, record)]} of every readable
    stored cell whose experiment is known (corrupt files are skipped, never deleted here)."""
    index = {}
    for path in sorted(Path(cells_dir).glob("*.json")):
        try:
            rec = cache.read_cell(path)
        except cache.CorruptCacheFile:
            continue
        exp = experiments.get(rec.get("experiment"))
        if exp is None or "cell" not in rec or "result" not in rec:
            continue
        k = (fn_name(exp.run_cell), cache.canonical_json(rec["cell"]))
        index.setdefault(k, []).append((path.stat().st_mtime_ns, path.stem, rec))
    return index


def stored_targets(items: list, cells_dir: Path, experiments: dict) -> tuple:
    """(targets, stored): the unique planned cells of ``items`` ((exp, index, cell, key), in
    plan order) that have a stored record, and {key: record} for every planned key with one."""
    index = _stored_index(cells_dir, experiments)
    unique = {}
    for exp, i, cell, key in items:
        unique.setdefault(key, (exp, cell, []))[2].append((exp.id, i))
    targets, stored = [], {}
    for key, (exp, cell, owners) in unique.items():
        path = Path(cells_dir) / f"{key}.json"
        rec, stored_key = None, key
        if path.exists():
            try:
                rec = cache.read_cell(path)
            except cache.CorruptCacheFile:
                rec = None
        if rec is None:
            matches = index.get((fn_name(exp.run_cell), cache.canonical_json(cell)), [])
            if matches:
                _, stored_key, rec = max(matches, key=lambda m: (m[0], m[1]))
        if rec is not None:
            stored[key] = rec
            targets.append(Target(owners, cell, key, rec, stored_key))
    return targets, stored


def sample(targets: list, n: int, seed: int) -> list:
    """``n`` of ``targets`` (all when fewer), drawn with ``random.Random(seed)``, in plan order."""
    if n >= len(targets):
        return list(targets)
    picked = set(random.Random(seed).sample(range(len(targets)), n))
    return [t for j, t in enumerate(targets) if j in picked]


@dataclass
class Difference:
    """The worst disagreement between two JSON values: the number with the largest difference
    scaled by max(1, |stored|) (``scaled``; ``abs`` unscaled, at ``path``, ``stored`` → ``new``)
    and the first non-numeric mismatch (``mismatch``: where and what), if any."""

    scaled: float = 0.0
    abs: float = 0.0
    path: str = ""
    stored: object = None
    new: object = None
    mismatch: str | None = None

    def text(self) -> str:
        parts = []
        if self.mismatch:
            parts.append(f"structure or text differs at {self.mismatch}")
        if self.path:
            parts.append(f"largest difference {self.scaled:.3g} at {self.path} "
                         f"({self.stored!r} stored → {self.new!r} now)")
        elif not self.mismatch:
            parts.append("no numeric difference")
        return "; ".join(parts)


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def difference(new, stored, path: str = "result", out: Difference | None = None) -> Difference:
    """Walk two JSON values side by side; return their :class:`Difference`."""
    out = Difference() if out is None else out
    if _is_number(new) and _is_number(stored):
        d = abs(float(new) - float(stored))
        scaled = math.inf if math.isnan(d) else d / max(1.0, abs(float(stored)))
        if scaled > out.scaled or (scaled > 0 and not out.path):
            out.scaled, out.abs, out.path, out.stored, out.new = scaled, d, path, stored, new
    elif isinstance(new, dict) and isinstance(stored, dict):
        if set(new) != set(stored) and out.mismatch is None:
            only = sorted(set(new) ^ set(stored))[:3]
            out.mismatch = f"{path} (keys {only} in only one)"
        for k in sorted(set(new) & set(stored)):
            difference(new[k], stored[k], f"{path}.{k}", out)
    elif isinstance(new, list) and isinstance(stored, list):
        if len(new) != len(stored) and out.mismatch is None:
            out.mismatch = f"{path} (length {len(stored)} stored, {len(new)} now)"
        for j, (a, b) in enumerate(zip(new, stored)):
            difference(a, b, f"{path}[{j}]", out)
    elif new != stored or type(new) is not type(stored):
        if out.mismatch is None:
            out.mismatch = f"{path} ({stored!r} stored, {new!r} now)"
    return out


def current_environment() -> dict:
    return arithmetic_environment({"platform": platform_info(), "packages": package_versions()})


def environment_gap(stored: dict, here: dict) -> list:
    """What differs between two :func:`arithmetic_environment` dicts, in words (empty: same)."""
    if stored.get("cpu") is None:
        gaps = ["the stored result names no CPU"]
    else:
        gaps = []
        if stored["cpu"].get("model") != here["cpu"].get("model"):
            gaps.append(f"CPU {stored['cpu'].get('model')!r} stored, {here['cpu'].get('model')!r} "
                        "here")
        if stored["cpu"].get("extensions") != here["cpu"].get("extensions"):
            gaps.append("CPU vector extensions differ")
    for name, version in here.items():
        if name != "cpu" and stored.get(name) != version:
            gaps.append(f"{name} {stored.get(name)} stored, {version} here")
    return gaps


@dataclass
class CellReport:
    target: Target
    same_environment: bool
    identical: bool = False
    ok: bool = False
    text: str = ""
    result: object = None


def judge(target: Target, new_result, tol: float, here: dict) -> CellReport:
    """Compare one recomputed result with its stored record (see the module docstring)."""
    stored = target.record["result"]
    new = json.loads(cache.canonical_json(new_result))
    gaps = environment_gap(arithmetic_environment(target.record.get("provenance") or {}), here)
    rep = CellReport(target, not gaps, result=new)
    rep.identical = cache.canonical_json(new) == cache.canonical_json(stored)
    where = "same CPU and versions" if not gaps else "; ".join(gaps)
    if rep.identical:
        rep.ok, rep.text = True, f"identical ({where})"
        return rep
    diff = difference(new, stored)
    if not gaps:
        rep.ok, rep.text = False, f"differs ({where}): {diff.text()}"
        return rep
    rep.ok = diff.mismatch is None and diff.scaled <= tol
    verdict = "within tolerance" if rep.ok else "beyond tolerance"
    rep.text = f"{verdict} {tol:g} ({where}): {diff.text().replace('difference', 'drift')}"
    return rep


def _verdicts(claims) -> dict:
    return {c.id: (c.result, bool(c.passed)) for c in claims}


def compare_verdicts(exp, items: list, stored: dict, replaced: dict) -> tuple:
    """(ok, text): the claims' verdicts of ``exp.summarize`` on the stored results against those
    with ``replaced`` ({key: recomputed result}) in place of their stored ones."""
    mine = [(cell, key) for e, _, cell, key in items if e.id == exp.id]
    missing = [key for _, key in mine if key not in stored]
    if missing:
        return False, f"verdicts not compared: {len(missing)} of {len(mine)} cells not stored"
    cells = [c for c, _ in mine]
    before = [stored[k]["result"] for _, k in mine]
    after = [replaced.get(k, stored[k]["result"]) for _, k in mine]
    try:
        old = _verdicts(exp.summarize(cells, before)[1])
        new = _verdicts(exp.summarize(cells, after)[1])
    except Exception as err:  # a summarize that raises on its own results: reported
        return False, f"verdicts not compared: summarize raised {type(err).__name__}: {err}"
    changed = [f"{cid} {old.get(cid, ('absent',))[0]} → {new.get(cid, ('absent',))[0]}"
               for cid in sorted(set(old) | set(new)) if old.get(cid) != new.get(cid)]
    if changed:
        return False, "verdicts CHANGED: " + ", ".join(changed)
    listed = ", ".join(f"{cid} {v[0]}" for cid, v in old.items())
    return True, f"verdicts unchanged ({listed})"


@dataclass
class Settings:
    """What :func:`verify` needs of the run: tier, sample size and seed, tolerance, executor."""

    mode: str
    n: int
    seed: int = 0
    tol: float = DEFAULT_TOL
    workers: int = 1
    scheduler: str | None = None
    log: object = field(default=print)


def verify(settings: Settings, items: list, cells_dir: Path, registry) -> int:
    """Recompute ``settings.n`` sampled stored cells of ``items`` and report (module docstring).

    ``registry`` is the runner's registry function ({id: Experiment}); raises
    :class:`NoStoredCells` when no planned cell has a stored result.
    """
    t0 = time.perf_counter()
    log = settings.log
    experiments = registry()
    targets, stored = stored_targets(items, cells_dir, experiments)
    if not targets:
        raise NoStoredCells(f"--verify: expected stored results of the {settings.mode} tier in "
                            f"{cells_dir}, received none (run it without --verify first)")
    picked = sample(targets, settings.n, settings.seed)
    here = current_environment()
    more = "" if settings.n <= len(targets) else f" (only {len(targets)} stored)"
    log(f"verify ({settings.mode} tier): recomputing {len(picked)} of {len(targets)} stored "
        f"cells{more}, sampled with seed {settings.seed}. Same CPU and jax/jaxlib/numpy as the "
        f"stored result: result bytes compared; otherwise numbers within tolerance "
        f"{settings.tol:g} (|now − stored| ≤ tol·max(1, |stored|)) and the claims' verdicts.")
    reports, errors = {}, 0
    tasks = [(t.experiments[0][0], settings.mode, t.cell, t.key) for t in picked]
    with executor.open_executor(registry, settings.workers, settings.scheduler) as ex:
        for out in ex.run(tasks):
            target = picked[out.index]
            if out.error is not None:
                errors += 1
                last = out.error.strip().splitlines()[-1] if out.error.strip() else "error"
                log(f"{target.label}: recompute raised: {last}")
                continue
            rep = judge(target, out.result, settings.tol, here)
            reports[target.key] = rep
            log(f"{target.label}: {rep.text}")
    verdicts_ok = True
    replaced = {k: r.result for k, r in reports.items() if not r.identical}
    touched = {eid for k in replaced for eid, _ in reports[k].target.experiments}
    for eid in dict.fromkeys(e.id for e, *_ in items):
        if eid in touched:
            ok, text = compare_verdicts(experiments[eid], items, stored, replaced)
            verdicts_ok &= ok
            log(f"{eid}: {text}")
    counts = {"identical": sum(r.identical for r in reports.values()),
              "within tolerance": sum(r.ok and not r.identical for r in reports.values()),
              "differ": sum(not r.ok and r.same_environment for r in reports.values()),
              "beyond tolerance": sum(not r.ok and not r.same_environment
                                      for r in reports.values()),
              "raised": errors}
    code = 0 if (all(r.ok for r in reports.values()) and not errors and verdicts_ok) else 1
    summary = ", ".join(f"{v} {k}" for k, v in counts.items() if v or k == "identical")
    verdict_text = ("verdicts unchanged (every recomputed cell identical)" if not touched else
                    "verdicts unchanged" if verdicts_ok else "verdicts CHANGED or not compared")
    log(f"verify: {len(picked)} cells: {summary}; {verdict_text}; exit {code} "
        f"({time.perf_counter() - t0:.0f} s)")
    return code
