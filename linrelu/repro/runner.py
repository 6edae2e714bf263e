"""``python paper_repro.py``: proofs, experiments E1–E10, figures and the claims tables.

Work is split into cells (see linrelu.experiments.base). Each finished cell is written at once,
atomically, under a content hash of (run function, configuration, code version), so a killed run
restarts where it stopped, ``--shard i/n`` computes a disjoint slice of the cells, and ``--merge``
builds figures and the claims table from whatever the shards cached. A complete run of a tier
rewrites its ``CLAIMS.md`` and then README.md's findings table and docs/reproducing.md's "The
paper vs this project" from every tier's committed claims tables (:mod:`linrelu.repro.findings`).
``--workers N`` computes the cells on N local worker processes and ``--scheduler ADDRESS`` on a
running Dask cluster (linrelu.repro.executor); this process still writes every record.

Results files hold only what the cell determines (result, configuration, provenance), so the same
command gives byte-identical results files; wall-clock times go to a separate log,
``results/timings.log`` (one JSON line per computed cell), which is not part of that promise.

``--verify N`` recomputes N stored cells of the tier and compares them with what is stored
(linrelu.repro.verify): bytes on the same CPU and jax/jaxlib/numpy, elsewhere numbers within a
tolerance and the claims' verdicts. It writes nothing.

Exit codes: 0 every check passes (paper findings may be NOT REPRODUCED: reported, not an error);
1 some check failed (or an experiment crashed); 2 bad input. With ``--verify``: 0 every recomputed
cell identical (or within tolerance, verdicts unchanged, where CPU or versions differ), 1
otherwise, 2 bad input.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import re
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from linrelu.repro import cache, executor
from linrelu.repro import verify as verifier
from linrelu.repro.provenance import PROJECT_ROOT, provenance

TIMINGS_LOG = "timings.log"  # in the results folder; excluded from the byte-identity promise


class UsageError(Exception):
    """Bad command-line input: reported in one line with exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, no usage dump
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="paper_repro.py", description=__doc__.split("\n\n")[0],
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--full", action="store_true",
                   help="paper-scale settings (hours on a CPU; see docs/reproducing.md) instead "
                   "of quick")
    p.add_argument("--long", action="store_true",
                   help="the tier where E5–E7 and E10 are decided: ≥ 3 M SGD steps per "
                        "Permuted-MNIST run (≤ 45 min on 2 CPU cores, a worker per core; figures "
                        "in figures/long/)")
    p.add_argument("--remedies", action="store_true",
                   help="the field's remedies (snp, redo, cbp at Dohare's rates, beside bp) at "
                        "the --long protocol, with the field's metrics at task start and end "
                        "(E7 rows, E10 over every metric; ≤ 45 min on 2 CPU cores with "
                        "--workers 2; figures in figures/remedies/)")
    p.add_argument("--only", metavar="IDS", help="comma-separated experiment ids, e.g. E2,E5 "
                   "(P = the symbolic proofs)")
    p.add_argument("--list", action="store_true", help="list experiments, figures and claims")
    p.add_argument("--out", metavar="DIR", help="output root: results in DIR/results, figures "
                   "in DIR/figures (default: the project folder)")
    p.add_argument("--fresh", action="store_true", help="ignore cached cells (recompute all)")
    p.add_argument("--shard", metavar="I/N", help="compute only slice I of N (1 <= I <= N) of "
                   "the cells; combine with --merge afterwards")
    p.add_argument("--merge", action="store_true", help="build figures and claims from cached "
                   "cells only (after sharded runs)")
    p.add_argument("--workers", metavar="N", help="compute cells on N local worker processes "
                   "(a Dask LocalCluster, one thread each); 1 = this process only, no Dask "
                   f"(default: {DEFAULT_WORKERS} in quick mode, one per CPU core with --long "
                   f"or --full)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="compute cells on the running Dask "
                   "cluster at ADDRESS (e.g. tcp://10.0.0.1:8786; see docs/reproducing.md)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--verbose", action="store_true", help="one line per finished cell "
                   "(experiment, cell index, seconds)")
    p.add_argument("--verify", metavar="N", help="recompute N cached cells of the tier "
                   "(sampled with --verify-seed) and compare them with the stored results: "
                   "bytes on the same CPU and jax/jaxlib/numpy, else numbers within --verify-tol "
                   "and the claims' verdicts; exit 0 identical / within tolerance, 1 otherwise")
    p.add_argument("--verify-seed", metavar="S", help="seed of --verify's sample (default 0)")
    p.add_argument("--verify-tol", metavar="TOL", help="--verify's tolerance where the CPU or "
                   "versions differ: |now - stored| <= TOL * max(1, |stored|) "
                   f"(default {verifier.DEFAULT_TOL:g})")
    p.add_argument("--data-dir", metavar="DIR",
                   help="with --full: the folder holding the paper's data (MNIST IDX files for "
                        "Permuted MNIST; per-class arrays for Continual ImageNet; layouts in the "
                        "docs/reproducing.md). Nothing is downloaded")
    return p


#: Experiments whose --full cells read the user's datasets (the paper's benchmarks).
DATA_EXPERIMENTS = ("E5", "E6", "E7")
DATA_DIR_ENV = "LINRELU_DATA_DIR"
#: Worker processes when --workers is not given in quick mode (1: quick mode measured no faster
#: with 2 workers on the idle 2-core machine, 795 s vs 829 s; see docs/reproducing.md,
#: "Cells in parallel").
#: --long and --full: one per usable CPU core (:func:`default_workers`).
DEFAULT_WORKERS = 1


def default_workers(mode: str) -> int:
    """Worker processes for ``mode`` without --workers: ``DEFAULT_WORKERS`` in quick mode, one per
    usable CPU core in --long and --full, whose cells run for minutes to hours (--long on the
    2-core machine: 19 cells of 3–8 min, two at a time)."""
    if mode == "quick":
        return DEFAULT_WORKERS
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, cores or 1)
#: "module:function" returning {id: Experiment} to use instead of the project's experiments.
#: A test hook that spawned Dask workers see too (a monkeypatched registry lives in one process).
REGISTRY_ENV = "LINRELU_REPRO_REGISTRY"


@dataclass
class Options:
    mode: str
    ids: list
    out: Path
    fresh: bool
    shard: tuple | None
    merge: bool
    quiet: bool
    list_only: bool
    data_dir: str | None = None
    workers: int = 1
    scheduler: str | None = None
    verbose: bool = False
    verify: int | None = None  # --verify N: cells to recompute and compare (None: a normal run)
    verify_seed: int = 0
    verify_tol: float = verifier.DEFAULT_TOL

    @property
    def results_dir(self) -> Path:
        return self.out / "results"

    @property
    def figures_dir(self) -> Path:
        """figures/ for quick and full; figures/long/ and figures/remedies/ for those tiers
        (beside quick's)."""
        if self.mode in ("long", "remedies"):
            return self.out / "figures" / self.mode
        return self.out / "figures"

    @property
    def updates_readme(self) -> bool:
        readme = PROJECT_ROOT / "README.md"
        return self.out.resolve() == PROJECT_ROOT.resolve() and readme.exists()


def all_experiments() -> dict:
    hook = os.environ.get(REGISTRY_ENV)
    if hook:
        import importlib

        module, _, function = hook.partition(":")
        return getattr(importlib.import_module(module), function)()
    from linrelu.experiments import registry
    from linrelu.repro.proof_step import PROOFS

    return {"P": PROOFS, **registry()}


def parse_options(argv) -> Options:
    args = build_parser().parse_args(argv)
    flags = [f for f, on in (("--full", args.full), ("--long", args.long),
                             ("--remedies", args.remedies)) if on]
    if len(flags) > 1:
        raise UsageError(f"{flags[1]}: expected at most one of --full, --long, --remedies, "
                         f"received {' and '.join(flags)}")
    mode = ("full" if args.full else "long" if args.long else "remedies" if args.remedies
            else "quick")
    known = {eid: e for eid, e in all_experiments().items() if mode in e.tiers}
    if args.only is not None:
        ids = [s.strip() for s in args.only.split(",") if s.strip()]
        unknown = [s for s in ids if s not in known]
        if not ids or unknown:
            raise UsageError(f"--only: expected comma-separated ids from {','.join(known)} "
                             f"({mode} tier), received {args.only!r}")
    else:
        ids = list(known)
    shard = None
    if args.shard is not None:
        m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", args.shard)
        if not m or not (1 <= int(m.group(1)) <= int(m.group(2))):
            raise UsageError(f"--shard: expected I/N with integers 1 <= I <= N (e.g. 2/4), "
                             f"received {args.shard!r}")
        shard = (int(m.group(1)), int(m.group(2)))
    if shard and args.merge:
        raise UsageError("--merge: expected to run alone after the shards, received it together "
                         f"with --shard {args.shard}")
    out = Path(args.out) if args.out else PROJECT_ROOT
    if not args.list:
        _check_writable(out)
    if args.data_dir is not None and not Path(args.data_dir).is_dir():
        raise UsageError(f"--data-dir: expected an existing directory, received "
                         f"{args.data_dir!r}")
    needs_data = args.full and not args.list and not args.merge and any(
        i in DATA_EXPERIMENTS for i in ids)
    if needs_data and args.data_dir is None and not os.environ.get(DATA_DIR_ENV):
        raise UsageError(f"--data-dir: expected the folder with the paper's datasets for --full "
                         f"({', '.join(i for i in ids if i in DATA_EXPERIMENTS)} read them), "
                         f"received nothing")
    workers = default_workers(mode)
    if args.workers is not None:
        if not re.fullmatch(r"\s*\d+\s*", args.workers) or int(args.workers) < 1:
            raise UsageError(f"--workers: expected a positive integer (worker processes; 1 = no "
                             f"Dask), received {args.workers!r}")
        workers = int(args.workers)
    if args.scheduler is not None:
        if args.workers is not None:
            raise UsageError(f"--scheduler: expected alone (the cluster's workers are its own), "
                             f"received {args.scheduler!r} together with --workers "
                             f"{args.workers!r}")
        if not args.list and not args.merge:
            try:
                executor.probe_scheduler(args.scheduler)
            except executor.SchedulerUnreachable as err:
                raise UsageError(_scheduler_message(args.scheduler, err)) from err
    n_verify, seed, tol = _verify_options(args)
    return Options(mode, ids, out, args.fresh, shard, args.merge, args.quiet, args.list,
                   args.data_dir, workers, args.scheduler, args.verbose, n_verify, seed, tol)


def _verify_options(args) -> tuple:
    """(N, seed, tolerance) of --verify, --verify-seed, --verify-tol; (None, 0, default) without
    --verify. Raises UsageError on a malformed value or a flag --verify cannot be combined with."""
    if args.verify is None:
        for flag, value in (("--verify-seed", args.verify_seed), ("--verify-tol", args.verify_tol)):
            if value is not None:
                raise UsageError(f"{flag}: expected together with --verify N, received "
                                 f"{flag} {value!r} alone")
        return None, 0, verifier.DEFAULT_TOL
    if not re.fullmatch(r"\s*\d+\s*", args.verify) or int(args.verify) < 1:
        raise UsageError(f"--verify: expected a positive integer (cells to recompute), received "
                         f"{args.verify!r}")
    seed = 0
    if args.verify_seed is not None:
        if not re.fullmatch(r"\s*\d+\s*", args.verify_seed):
            raise UsageError(f"--verify-seed: expected a non-negative integer, received "
                             f"{args.verify_seed!r}")
        seed = int(args.verify_seed)
    tol = verifier.DEFAULT_TOL
    if args.verify_tol is not None:
        try:
            tol = float(args.verify_tol)
        except ValueError:
            tol = math.nan
        if not (math.isfinite(tol) and tol >= 0):
            raise UsageError(f"--verify-tol: expected a finite number >= 0 (e.g. 1e-6), "
                             f"received {args.verify_tol!r}")
    clash = [flag for flag, on in (("--fresh", args.fresh), ("--merge", args.merge),
                                   ("--shard", args.shard is not None), ("--list", args.list))
             if on]
    if clash:
        raise UsageError(f"--verify: expected with the tier flags, --only, --out, --workers or "
                         f"--scheduler, received it together with {', '.join(clash)}")
    return int(args.verify), seed, tol


def _scheduler_message(address: str, err: Exception) -> str:
    return (f"--scheduler: expected the address of a running Dask scheduler (e.g. "
            f"tcp://host:8786), received {address!r} ({err})")


def _check_writable(out: Path) -> None:
    try:
        for sub in ("results/cells", "figures"):
            (out / sub).mkdir(parents=True, exist_ok=True)
            cache.atomic_write_text(out / sub / ".write-test", "ok")
            (out / sub / ".write-test").unlink()
    except OSError as err:
        raise UsageError(f"--out: expected a writable directory, received {str(out)!r} "
                         f"({err.strerror or err})") from err


# --- running ----------------------------------------------------------------------------------

def _log(msg: str) -> None:
    print(msg, flush=True)


def plan(opts: Options) -> list:
    """Every (experiment, cell index, cell, key) to handle, in run order."""
    from linrelu.repro.provenance import code_version

    exps = all_experiments()
    items = []
    for eid in opts.ids:
        exp = exps[eid]
        for i, cell in enumerate(exp.cells(opts.mode)):
            items.append((exp, i, cell, cache.cell_key(exp.run_cell, cell,
                                                    code_version(exp.run_cell))))
    return items


def shard_slice(items: list, shard: tuple | None) -> list:
    """Slice I of N: every N-th item starting at I−1 (disjoint, and together they cover all)."""
    if shard is None:
        return items
    i, n = shard
    return items[i - 1::n]


def _load(path: Path, warn) -> dict | None:
    if not path.exists():
        return None
    try:
        return cache.read_cell(path)
    except cache.CorruptCacheFile as err:
        warn(f"corrupted cache file detected, recomputing: {err}")
        path.unlink(missing_ok=True)
        return None


def log_timing(results_dir: Path, entry: dict) -> None:
    """Append one JSON line to ``results/timings.log``.

    Timings live here and never in a results file: wall-clock time differs between two runs of
    the same command, results files must not. A run killed mid-write can leave a truncated last
    line; the log is informational, so readers skip lines that do not parse.
    """
    path = Path(results_dir) / TIMINGS_LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, sort_keys=True) + "\n")


def compute_cells(opts: Options, items: list, on_experiment_done=None) -> dict:
    """Compute (or reuse) every item's result; return {key: record}; prints counts per run.

    Cached cells are reused; the others go to the executor (this process, or Dask workers with
    ``--workers N`` / ``--scheduler``), and this process builds each record and writes it the
    moment its cell completes. Each computed cell's wall-clock time is appended to the timings
    log, not to its record. ``on_experiment_done(eid, records, seconds)`` is called as soon as
    every cell of experiment ``eid`` is done or failed (``seconds``: its cells' compute time).
    """
    from collections import Counter

    from tqdm.auto import tqdm

    cells_dir = opts.results_dir / "cells"
    cells_dir.mkdir(parents=True, exist_ok=True)
    stale = cache.remove_stale_temporaries(cells_dir)
    if stale:
        _log(f"removed {stale} partial file(s) left by an interrupted run")
    records, computed, failed = {}, 0, 0
    todo, sharing = [], {}  # {key: experiment ids}: E5–E7 and E10 share cells, computed once
    for exp, i, cell, key in items:
        if key in sharing:
            sharing[key].append(exp.id)
            continue
        sharing[key] = [exp.id]
        rec = None if opts.fresh else _load(cells_dir / f"{key}.json", _log)
        if rec is not None:
            records[key] = rec
        else:
            todo.append((exp, i, cell, key))
    reused = sum(1 for *_, key in items if key in records)
    if reused:
        _log(f"reusing {reused} cached cell(s) of {len(items)}")
    remaining = Counter(eid for _, _, _, key in todo for eid in sharing[key])
    seconds = {}
    summarized = set()

    def experiments_done():
        for eid in dict.fromkeys(exp.id for exp, *_ in items):
            if on_experiment_done and eid not in summarized and not remaining[eid]:
                summarized.add(eid)
                with tqdm.external_write_mode():
                    on_experiment_done(eid, records, seconds.get(eid))

    experiments_done()  # the experiments whose cells are all cached
    if not todo:
        return records
    started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    with executor.open_executor(all_experiments, opts.workers, opts.scheduler) as ex:
        if not isinstance(ex, executor.SerialExecutor):
            _log(f"computing {len(todo)} cell(s) on {ex.description}"
                 + (f"; dashboard {ex.dashboard}" if ex.dashboard else ""))
        slots = ex.slots()
        bar = tqdm(total=len(items), initial=reused, desc="cells", unit="cell",
                   disable=opts.quiet, dynamic_ncols=True)

        def postfix():
            running = min(slots, len(todo) - computed - failed)
            bar.set_postfix_str(f"done {computed}, running {running}, cached {reused}"
                                + (f", failed {failed}" if failed else ""))

        postfix()
        for out in ex.run([(exp.id, opts.mode, cell, key) for exp, _, cell, key in todo]):
            exp, i, cell, key = todo[out.index]
            for eid in sharing[key]:
                remaining[eid] -= 1
            if out.error is not None:  # an experiment bug must not lose the other cells
                failed += 1
                with tqdm.external_write_mode():
                    _log(f"{exp.id}: cell {i} {cell} raised:\n{out.error}")
            else:
                record = {"experiment": exp.id, "key": key, "cell": cell, "result": out.result,
                          "provenance": provenance(cell)}
                cache.write_cell(cells_dir / f"{key}.json", record)
                log_timing(opts.results_dir, {"run_started": started, "experiment": exp.id,
                                              "cell": i, "key": key,
                                              "seconds": round(out.seconds, 3)})
                records[key] = record
                computed += 1
                seconds[exp.id] = seconds.get(exp.id, 0.0) + out.seconds
                if opts.verbose:
                    with tqdm.external_write_mode():
                        _log(f"{exp.id} cell {i}: {out.seconds:.1f} s")
            bar.update(len(sharing[key]))
            postfix()
            experiments_done()
    bar.close()
    _log(f"computed {computed} cell(s)" + (f", {failed} failed" if failed else ""))
    return records


def finish_experiments(opts: Options, ids: list, items: list, records: dict,
                       timings: dict) -> list:
    """Summarize and plot experiments ``ids`` (when all their cells are present); return claims."""
    from linrelu.experiments.base import Claim, to_jsonable

    exps = all_experiments()
    claims = []
    for eid in ids:
        exp = exps[eid]
        mine = [(cell, key) for e, _, cell, key in items if e.id == eid]
        missing = [key for _, key in mine if key not in records]
        if missing:
            claims.append(Claim(f"{eid}.complete", f"{eid} computed all its cells",
                                f"{len(missing)}/{len(mine)} cells missing",
                                "every cell computed", False, exp.figure))
            _log(f"{eid} {exp.figure}: {len(missing)} of {len(mine)} cells missing — not "
                 "summarized")
            continue
        cells = [c for c, _ in mine]
        results = [records[k]["result"] for _, k in mine]
        try:
            summary, exp_claims = exp.summarize(cells, results)
            written = exp.plot(summary, opts.figures_dir)
        except Exception:
            _log(f"{eid}: summarize/plot raised:\n{traceback.format_exc()}")
            claims.append(Claim(f"{eid}.complete", f"{eid} summarized and plotted", "raised",
                                "no exception", False, exp.figure))
            continue
        cache.write_cell(opts.results_dir / f"{eid}.json", {
            "experiment": eid, "figure": exp.figure, "mode": opts.mode,
            "summary": to_jsonable(summary), "claims": [c.to_dict() for c in exp_claims],
            "provenance": provenance({"experiment": eid, "mode": opts.mode})})
        claims.extend(exp_claims)
        ok = sum(c.passed for c in exp_claims)
        t = timings.get(eid)
        _log(f"{eid} {exp.figure}: {len(mine)} cells, {ok}/{len(exp_claims)} claims hold"
             + (f", {t:.1f} s" if t is not None else "") + (f"; wrote {', '.join(written)}"
                                                             if written else ""))
    return claims


def claims_markdown(claims: list, mode: str) -> str:
    lines = ["| claim | statement | measured | criterion | result | figure |",
             "|---|---|---|---|---|---|"]
    for c in claims:
        cells = [c.id, c.statement, c.measured, c.criterion, c.result, c.figure]
        lines.append("| " + " | ".join(str(x).replace("|", "\\|") for x in cells) + " |")
    head = (f"Claims of the {mode} reproduction (`python paper_repro.py"
            f"{_mode_flag(mode)}`): {claims_summary(claims)}. Checks test "
            f"this project's mathematics and code (a FAIL is a defect); findings say whether the "
            f"paper's empirical phenomenon appears in this run, with criteria fixed in "
            f"advance.\n\n")
    return head + "\n".join(lines) + "\n"


def claims_summary(claims: list) -> str:
    """"17/17 checks pass; 3/8 paper findings reproduced" (findings only when there are some;
    findings printed without a verdict, ``Claim.withheld``, are counted apart)."""
    checks = [c for c in claims if c.kind == "check"]
    findings = [c for c in claims if c.kind == "finding" and not c.withheld]
    withheld = [c for c in claims if c.kind == "finding" and c.withheld]
    text = f"{sum(c.passed for c in checks)}/{len(checks)} checks pass"
    if findings:
        text += f"; {sum(c.passed for c in findings)}/{len(findings)} paper findings reproduced"
    if withheld:
        text += (f"; {len(withheld)} without a verdict ("
                 + ", ".join(f"{sum(c.withheld == w for c in withheld)} {w.lower()}"
                             for w in sorted({c.withheld for c in withheld})) + ")")
    return text


def claims_text(claims: list) -> str:
    w = max((len(c.id) for c in claims), default=5)
    out = [f"{'claim':<{w}}  result          measured  [criterion]"]
    for c in claims:
        out.append(f"{c.id:<{w}}  {c.result:<14}  {c.measured}  [{c.criterion}]")
    return "\n".join(out)


def gallery_markdown(claims: list, mode: str) -> str:
    """figures/README.md: each figure, what it shows, what it mirrors, its claims and command."""
    flag = _mode_flag(mode)
    out = ["# Figures", "",
           f"Generated by `python paper_repro.py{flag}` ({mode} mode); each figure is also saved "
           "as PDF. The claims table is in [CLAIMS.md](CLAIMS.md).", ""]
    for eid, exp in all_experiments().items():
        if eid == "P" or mode not in exp.tiers:
            continue
        mine = [c for c in claims if c.id.startswith(f"{eid}.")]
        out += [f"## {eid} — `{exp.figure}`", "",
                f"![{exp.figure}]({exp.figure}.png)", "",
                f"- **Shows:** {exp.title}",
                f"- **Mirrors:** {exp.mirrors}",
                f"- **Made by:** `python paper_repro.py --only {eid}{flag}` "
                f"([PDF]({exp.figure}.pdf))"]
        for c in mine:
            out.append(f"- **{c.id}** {c.result}: {c.statement} — "
                       f"measured {c.measured} (criterion: {c.criterion})")
        out.append("")
    return "\n".join(out)


def write_claims(opts: Options, claims: list) -> None:
    from linrelu.experiments.base import to_jsonable

    md = claims_markdown(claims, opts.mode)
    cache.atomic_write_text(opts.results_dir / "claims.json", cache.canonical_json(
        to_jsonable([c.to_dict() for c in claims])) + "\n")
    # Only a complete run may replace the published tables: an --only run would otherwise
    # overwrite figures/CLAIMS.md with a partial table (its claims are printed and in claims.json).
    if set(opts.ids) == {e for e, x in all_experiments().items() if opts.mode in x.tiers}:
        cache.atomic_write_text(opts.figures_dir / "CLAIMS.md", "# Claims\n\n" + md)
        cache.atomic_write_text(opts.figures_dir / "README.md", gallery_markdown(claims, opts.mode))
        if opts.updates_readme:  # README.md's findings, docs/reproducing.md's paper vs project
            from linrelu.repro.findings import update_documents

            try:
                for path in update_documents(PROJECT_ROOT):
                    _log(f"updated {path.relative_to(PROJECT_ROOT)} from the claims tables")
            except ValueError as err:  # a hand-edited claims table: report it, keep the run
                _log(f"README.md / docs/reproducing.md not updated: {err}")


def _mode_flag(mode: str) -> str:
    return {"quick": "", "long": " --long", "full": " --full", "remedies": " --remedies"}[mode]


def _cell_count(exp, mode: str) -> str:
    if mode not in exp.tiers:
        return "—"
    try:
        return str(len(exp.cells(mode)))
    except ValueError:  # full mode without LINRELU_DATA_DIR: the count needs the data
        return "needs --data-dir"


def list_experiments(opts: Options) -> None:
    from linrelu.experiments.continual_runs import describe_tiers

    for eid, exp in all_experiments().items():
        counts = ", ".join(f"{m} {_cell_count(exp, m)}"
                           for m in ("quick", "long", "remedies", "full"))
        print(f"{eid:3} {exp.figure:32} {exp.title}  [mirrors {exp.mirrors}; cells: {counts}]")
        for cid, desc in exp.claim_ids:
            print(f"      claim {cid}: {desc}")
    print("\ntiers of the continual runs (linrelu/experiments/tiers/*.toml):")
    for line in describe_tiers():
        print("  " + line)


def run(opts: Options) -> int:
    if opts.list_only:
        list_experiments(opts)
        return 0
    t0 = time.perf_counter()
    items = plan(opts)
    if opts.verify is not None:
        settings = verifier.Settings(opts.mode, opts.verify, opts.verify_seed, opts.verify_tol,
                                     opts.workers, opts.scheduler, _log)
        return verifier.verify(settings, items, opts.results_dir / "cells", all_experiments)
    mine = shard_slice(items, opts.shard)
    if opts.merge:
        cells_dir = opts.results_dir / "cells"
        records = {}
        for _, _, _, key in items:
            rec = _load(cells_dir / f"{key}.json", _log)
            if rec is not None:
                records[key] = rec
        _log(f"merge: {len(records)} of {len(items)} cells found in {cells_dir}")
        claims = finish_experiments(opts, opts.ids, items, records, {})
    else:
        _log(f"linrelu reproduction ({opts.mode}): {', '.join(opts.ids)}; {len(mine)} cells"
             + (f" (shard {opts.shard[0]}/{opts.shard[1]} of {len(items)})" if opts.shard else ""))
        by_id = {}

        def summarize(eid, records, seconds):  # as soon as eid's cells are done
            by_id[eid] = finish_experiments(opts, [eid], items, records,
                                            {} if seconds is None else {eid: seconds})

        records = compute_cells(opts, mine, None if opts.shard else summarize)
        for eid in opts.ids:  # experiments without cells
            if not opts.shard and eid not in by_id:
                summarize(eid, records, None)
        claims = [c for eid in opts.ids for c in by_id[eid]] if not opts.shard else []
        if opts.shard:
            _log(f"shard {opts.shard[0]}/{opts.shard[1]} done in {time.perf_counter() - t0:.0f} s"
                 f"; run `python paper_repro.py --merge` once every shard has finished")
            return 0
    write_claims(opts, claims)
    _log("\n" + claims_text(claims))
    failed = [c.id for c in claims if c.kind == "check" and not c.passed]
    unreproduced = [c.id for c in claims if c.kind == "finding" and not c.passed
                    and not c.withheld]
    _log(f"\n{claims_summary(claims)}"
         + (f"; FAILED: {', '.join(failed)}" if failed else "")
         + (f"; not reproduced: {', '.join(unreproduced)}" if unreproduced else "")
         + f"  ({time.perf_counter() - t0:.0f} s; claims in {opts.figures_dir / 'CLAIMS.md'})")
    return 1 if failed or not claims else 0


def main(argv=None) -> int:
    try:
        opts = parse_options(sys.argv[1:] if argv is None else argv)
    except UsageError as err:
        print(f"paper_repro.py: error: {err}", file=sys.stderr)
        return 2
    # paper_repro.py is our own program: float64 throughout (the experiments build float64
    # arrays outside the library's scoped float64 too). The library itself flips no switch.
    import jax

    jax.config.update("jax_enable_x64", True)
    if opts.data_dir is not None:  # read by the --full cells of the data experiments
        os.environ[DATA_DIR_ENV] = str(Path(opts.data_dir).resolve())
    os.environ.setdefault("TQDM_MININTERVAL", "1")
    if opts.quiet:  # also silences the experiments' own inner progress bars
        os.environ["TQDM_DISABLE"] = "1"
    # the same solver in every cell and every run; put back afterwards for in-process callers
    saved = {k: os.environ.get(k) for k in executor.PINNED_BACKENDS}
    os.environ.update(executor.pinned_backends())
    try:
        return run(opts)
    except verifier.NoStoredCells as err:
        print(f"paper_repro.py: error: {err}", file=sys.stderr)
        return 2
    except executor.SchedulerUnreachable as err:  # the scheduler went away after the probe
        print(f"paper_repro.py: error: {_scheduler_message(opts.scheduler, err)}",
              file=sys.stderr)
        return 2
    finally:
        executor.restore_environ(saved)
