"""Mutation score of proofs/ (and of linrelu/kernels.py as far as T7 uses it), measured by mutmut.

    python -m benchmarks.mutation_proofs --sample 300 --seed 0      # a seeded random sample
    python -m benchmarks.mutation_proofs --sample 0                 # every mutant (slow)

Steps: copy the checkout (tracked and untracked-not-ignored files) into a scratch folder, add a
``[tool.mutmut]`` section there (mutate ``proofs/*.py`` and ``linrelu/kernels.py``; the tests are
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

The population: every mutant of proofs/, and those mutants of linrelu/kernels.py whose function
the proof tests execute (the part of the library T7's proof uses). Score = detected / tried, where
detected = killed or timed out (a mutant that makes a proof hang is caught); "no tests" (a mutated
function that no proof test runs) and "survived" count against the score. The command is not part
of the test suite: on the 2-core machine a 300-mutant sample takes tens of minutes.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "mutation_proofs.json"
MUTMUT_CONFIG = """
[tool.mutmut]
source_paths = ["proofs/", "linrelu/"]
only_mutate = ["proofs/*.py", "linrelu/kernels.py"]
pytest_add_cli_args = ["-n", "0", "-x", "-q", "-p", "no:cacheprovider", "-k",
                       "not mathematical_token_in_a_string_literal"]
pytest_add_cli_args_test_selection = {tests}
process_isolation = "forkserver"
forkserver_warmup = "none"
"""
DETECTED = {"killed", "timeout", "segfault"}


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
    """Every mutant of proofs/, and the mutants of linrelu/kernels.py in functions that a
    proof test runs."""
    stats = json.loads((work / "mutants" / "mutmut-stats.json").read_text())
    covered = {name for name, tests in stats["tests_by_mangled_function_name"].items() if tests}
    names = []
    for meta in sorted((work / "mutants").rglob("*.py.meta")):
        keys = json.loads(meta.read_text())["exit_code_by_key"]
        for key in keys:
            if key.startswith("proofs."):
                names.append(key)
            elif key.startswith("linrelu.kernels.") and _function(key) in covered:
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mutation_proofs",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, default=300,
                        help="mutants drawn at random (0: every mutant)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args(argv)
    if args.sample < 0:
        print(f"mutation_proofs: --sample expects a count >= 0, received {args.sample}",
              file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="linrelu-mutation-"))
    try:
        copy_checkout(work)
        tests = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_proofs*.py"))
        with open(work / "pyproject.toml", "a", encoding="utf-8") as fh:
            fh.write(MUTMUT_CONFIG.format(tests=json.dumps(tests)))
        # the first run generates all mutants and maps functions to tests; it tries one mutant
        first = "proofs._render.x_render__mutmut_1"
        mutmut(work, "run", first)
        pool = population(work)
        chosen = pool if args.sample == 0 else sorted(
            random.Random(args.seed).sample(pool, min(args.sample, len(pool))))
        mutmut(work, "run", *chosen)
        status = statuses(work)
        tried = {name: status.get(name, "not checked") for name in chosen}
        detected = sorted(n for n, s in tried.items() if s in DETECTED)
        missed = sorted(n for n, s in tried.items() if s not in DETECTED)
        diffs = {name: mutmut(work, "show", name) for name in missed}
        result = {
            "command": " ".join(["python -m benchmarks.mutation_proofs", f"--sample {args.sample}",
                                 f"--seed {args.seed}"]),
            "population": len(pool), "sample": len(chosen), "seed": args.seed,
            "detected": len(detected), "score": len(detected) / max(len(chosen), 1),
            "by_status": {s: sum(v == s for v in tried.values())
                          for s in sorted(set(tried.values()))},
            "survivors": {name: {"status": tried[name], "diff": diffs[name]} for name in missed},
        }
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"mutation score {len(detected)}/{len(chosen)} = {result['score']:.3f} "
              f"(population {len(pool)}, seed {args.seed}); statuses {result['by_status']}")
        for name in missed:
            print(f"  {tried[name]:12s} {name}")
        print(f"written {OUT.relative_to(ROOT)}")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
