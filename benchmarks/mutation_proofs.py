"""Mutation score of proofs/ (and of linrelu/spectral/kernels.py as far as T7 uses it), measured by
mutmut.

    python -m benchmarks.mutation_proofs --sample 300 --seed 0      # a seeded random sample
    python -m benchmarks.mutation_proofs --sample 0                 # every mutant (slow)
    python -m benchmarks.mutation_proofs --mutants NAME ...         # these mutants again

Steps: copy the checkout (tracked and untracked-not-ignored files) into a scratch folder, add a
``[tool.mutmut]`` section there (mutate ``proofs/*.py`` and ``linrelu/spectral/kernels.py``; the
tests are
``tests/test_proofs*.py``, run with ``-x`` so a killed mutant stops at its first failing test;
the source-text scan for typed mathematics is left out, since mutmut's copy of the sources holds
every mutant's text side by side),
let mutmut generate every mutant and map each mutated function to the tests that run it, draw
the sample with ``random.Random(seed)`` from the sorted population, run mutmut on it, and write
``benchmarks/mutation_proofs.json`` (score, sample, statuses, the diff of every survivor).

Each mutant's tests run in a fresh worker that imports proofs/ after the mutant is switched on
(``process_isolation = "forkserver"``, ``forkserver_warmup = "none"``): the theorem objects are
built at import time, and a worker forked from a process that imported them already would test
the unmutated statements (mutmut's default forks from the process that ran the whole suite).
A mutant times out after 15 × (its tests' measured duration + 60 s) of wall time
(``timeout_constant = 60``): with mutmut's default constant of 1 s, fresh workers that import
sympy, z3 and linrelu on a loaded 2-core machine ran past their limit although the mutant was
neither killed nor hanging (57 of the first 60 mutants "timed out", which the score would have
counted as detected).

The population: every mutant of proofs/, and those mutants of linrelu/spectral/kernels.py whose
function
the proof tests execute (the part of the library T7's proof uses). Score = detected / tried, where
detected = killed or timed out (a mutant that makes a proof hang is caught); "no tests" (a mutated
function that no proof test runs) and "survived" count against the score. A mutant whose test run
raised inside mutmut's harness (exit code 255, filed by mutmut under "timeout") is run again by
test file (``recheck_raised``) and takes that run's status. The command is not part of the test
suite: on the 2-core machine a 300-mutant sample takes over an hour.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "mutation_proofs.json"
RERUN_OUT = ROOT / "benchmarks" / "mutation_proofs_rerun.json"
MUTMUT_CONFIG = """
[tool.mutmut]
source_paths = ["proofs/", "linrelu/"]
only_mutate = ["proofs/*.py", "linrelu/spectral/kernels.py"]
pytest_add_cli_args = ["-n", "0", "-x", "-q", "-p", "no:cacheprovider", "-k",
                       "not mathematical_token_in_a_string_literal"]
pytest_add_cli_args_test_selection = {tests}
process_isolation = "forkserver"
forkserver_warmup = "none"
timeout_constant = 60.0
"""
DETECTED = {"killed", "timeout", "segfault"}  # "timeout" after the exit-255 recheck is a real one


def copy_checkout(dest: Path) -> None:
    """The files git tracks or does not ignore, copied into ``dest``."""
    names = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           check=True, capture_output=True, text=True).stdout.split("\n")
    for name in filter(None, names):
        src = ROOT / name
        if src.is_file() and not name.startswith(("figures/", "results/")):
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def mutmut(work: Path, *args: str) -> str:
    """Run mutmut in ``work``; its output."""
    done = subprocess.run([sys.executable, "-m", "mutmut", *args], cwd=work, capture_output=True,
                          text=True)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"mutmut {args[:1]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def population(work: Path) -> list[str]:
    """Every mutant of proofs/, and the mutants of linrelu/spectral/kernels.py in functions that a
    proof test runs."""
    stats = json.loads((work / "mutants" / "mutmut-stats.json").read_text())
    covered = {name for name, tests in stats["tests_by_mangled_function_name"].items() if tests}
    names = []
    for meta in sorted((work / "mutants").rglob("*.py.meta")):
        keys = json.loads(meta.read_text())["exit_code_by_key"]
        for key in keys:
            if key.startswith("proofs."):
                names.append(key)
            elif key.startswith("linrelu.spectral.kernels.") and _function(key) in covered:
                names.append(key)
    return sorted(names)


def _function(mutant: str) -> str:
    """The mangled function name of a mutant name (``pkg.mod.x_f__mutmut_3`` → ``pkg.mod.x_f``)."""
    return mutant.rsplit("__mutmut_", 1)[0]


def statuses(work: Path) -> dict[str, str]:
    """Every tried mutant's status, from ``mutmut results --all true``."""
    out = {}
    for line in mutmut(work, "results", "--all", "true").splitlines():
        name, _, status = line.strip().rpartition(": ")
        if name:
            out[name] = status
    return out


def raw_exit_codes(work: Path) -> dict[str, int | None]:
    """Every mutant's raw exit code, from mutmut's ``*.py.meta`` files."""
    out = {}
    for meta in (work / "mutants").rglob("*.py.meta"):
        out.update(json.loads(meta.read_text())["exit_code_by_key"])
    return out


def recheck_raised(work: Path, name: str, tests_by_function: dict,
                   timeout_s: float = 1800.0) -> str:
    """The status of a mutant whose test run raised inside mutmut's harness (exit code 255, which
    mutmut files under "timeout" although no time limit was hit).

    mutmut runs a mutant's tests by test id; when the mutant breaks the collection of a test
    module (e.g. a parametrization computed at import raises), pytest finds no test of that id,
    exits 4 and mutmut's harness raises. Here the tests' *files* run instead, with the mutant
    switched on by mutmut's own ``MUTANT_UNDER_TEST``: exit 1 (a test failed) or 2 (collection
    errors) is "killed", 0 is "survived", anything else keeps its code. ``tests_by_function``:
    mutmut's map of mangled function names to their tests (``mutmut-stats.json``)."""
    tests = tests_by_function.get(_function(name), [])
    files = sorted({test.split("::", 1)[0] for test in tests})
    if not files:
        return "no tests"
    env = {**os.environ, "MUTANT_UNDER_TEST": name}
    try:
        rc = subprocess.run([sys.executable, "-m", "pytest", "--rootdir=.", "-x", "-q", "-n", "0",
                             "-p", "no:cacheprovider", "-p", "no:randomly", "-k",
                             "not mathematical_token_in_a_string_literal", *files],
                            cwd=work / "mutants", env=env, capture_output=True, text=True,
                            timeout=timeout_s).returncode
    except subprocess.TimeoutExpired:
        return "timeout"
    return {0: "survived", 1: "killed", 2: "killed", 5: "no tests"}.get(rc, f"exit {rc}")


def provenance() -> dict:
    """When, where and on what the run was made: UTC start time, the machine, the checkout's
    commit and whether proofs/ or the proof tests differ from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout

    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    changed = git("status", "--porcelain", "--", "proofs", "tests/test_proofs*.py",
                  "benchmarks/mutation_proofs.py")
    now = datetime.datetime.now(datetime.UTC)
    return {"started_utc": now.strftime("%Y-%m-%d %H:%M"),
            "commit": git("rev-parse", "--short", "HEAD").strip(),
            "machine": f"{os.cpu_count()} cores, {cpu}",
            "uncommitted_changes": sorted(line[3:] for line in changed.splitlines())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mutation_proofs",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, default=300,
                        help="mutants drawn at random (0: every mutant)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--work", type=Path,
                        help="continue in a scratch folder kept by --keep (its copy of the "
                             "checkout, mutants and test map; the timeout settings of this "
                             "script); implies --keep")
    parser.add_argument("--report-only", action="store_true",
                        help="with --work: run nothing, write the statuses reached so far (the "
                             "sample's unfinished mutants counted apart, not in the score)")
    parser.add_argument("--max-children", type=int, default=2,
                        help="mutants tested in parallel (mutmut workers)")
    parser.add_argument("--mutants", nargs="+", metavar="NAME",
                        help="run these mutants (e.g. the survivors of a sample, against a "
                             "changed suite) instead of a sample; writes "
                             f"{RERUN_OUT.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    if args.report_only and not args.work:
        print("mutation_proofs: --report-only needs --work (a kept scratch folder)",
              file=sys.stderr)
        return 2
    if args.sample < 0:
        print(f"mutation_proofs: --sample expects a count >= 0, received {args.sample}",
              file=sys.stderr)
        return 2
    tests = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_proofs*.py"))
    config = MUTMUT_CONFIG.format(tests=json.dumps(tests))
    if args.work:
        args.keep = True
        work = args.work.resolve()
        started = json.loads((work / "provenance.json").read_text(encoding="utf-8")) \
            if (work / "provenance.json").exists() else {
                **provenance(), "commit": "not recorded (a folder older than provenance.json)",
                "uncommitted_changes": "not recorded",
                "started_utc": datetime.datetime.fromtimestamp(
                    work.stat().st_ctime, datetime.UTC).strftime("%Y-%m-%d %H:%M")}
        text = (work / "pyproject.toml").read_text(encoding="utf-8")
        head, _, _ = text.partition("\n[tool.mutmut]")
        (work / "pyproject.toml").write_text(head + config, encoding="utf-8")
    else:
        started = provenance()
        work = Path(tempfile.mkdtemp(prefix="linrelu-mutation-"))
    started["work"] = str(work)
    try:
        if not args.work:
            copy_checkout(work)
            with open(work / "pyproject.toml", "a", encoding="utf-8") as fh:
                fh.write(config)
            (work / "provenance.json").write_text(json.dumps(started), encoding="utf-8")
        # the first run generates all mutants and maps functions to tests; it tries one mutant
        first = "proofs._render.x_render__mutmut_1"
        children = f"--max-children={args.max_children}"
        if not args.work:
            mutmut(work, "run", children, first)
        pool = population(work)
        if args.mutants:
            chosen = sorted(set(args.mutants))
        else:
            chosen = pool if args.sample == 0 else sorted(
                random.Random(args.seed).sample(pool, min(args.sample, len(pool))))
        if not args.report_only:
            mutmut(work, "run", children, *[name for name in chosen if name in pool])
        status = statuses(work)
        raw = raw_exit_codes(work)
        raised = sorted(n for n in chosen if raw.get(n) == 255)
        rechecked = {}
        tests_by_function = json.loads((work / "mutants" / "mutmut-stats.json").read_text())[
            "tests_by_mangled_function_name"] if raised else {}
        for name in raised:
            rechecked[name] = recheck_raised(work, name, tests_by_function)
            status[name] = rechecked[name]
            print(f"  exit 255 rechecked by test file: {name}: {rechecked[name]}", flush=True)
        tried = {name: status.get(name, "not checked") if name in pool else "not in the population"
                 for name in chosen}
        unfinished = sorted(n for n, s in tried.items() if s == "not checked") \
            if args.report_only else []
        tried = {n: s for n, s in tried.items() if n not in unfinished}
        detected = sorted(n for n, s in tried.items() if s in DETECTED)
        missed = sorted(n for n, s in tried.items() if s not in DETECTED)
        diffs = {name: mutmut(work, "show", name) if name in pool else "" for name in missed}
        command = (["python -m benchmarks.mutation_proofs", "--mutants", *chosen] if args.mutants
                   else ["python -m benchmarks.mutation_proofs", f"--sample {args.sample}",
                         f"--seed {args.seed}"])
        result = {
            "command": " ".join(command), **started,
            "max_children": args.max_children,
            "complete": not unfinished, "unfinished": len(unfinished),
            "population": len(pool), "sample": len(chosen), "seed": args.seed,
            "tried": len(tried), "detected": len(detected),
            "score": len(detected) / max(len(tried), 1),
            "by_status": {s: sum(v == s for v in tried.values())
                          for s in sorted(set(tried.values()))},
            "survivors": {name: {"status": tried[name], "diff": diffs[name]} for name in missed},
            "exit_255_rechecked": rechecked,
        }
        out = RERUN_OUT if args.mutants else OUT
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"mutation score {len(detected)}/{len(tried)} = {result['score']:.3f} "
              f"({len(unfinished)} of the sample unfinished) "
              f"(population {len(pool)}, seed {args.seed}); statuses {result['by_status']}")
        for name in missed:
            print(f"  {tried[name]:12s} {name}")
        print(f"written {out.relative_to(ROOT)}")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
