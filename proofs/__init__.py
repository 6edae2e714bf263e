"""Machine-checked proofs of THEORY.md's statements T1–T9 (with lemma T2a, corollaries T5a/T5b).

Each module ``proofs/t*.py`` holds a complete prose proof in its docstring and:

- ``THEOREM``: the statement as data (``proofs._statement.Theorem``): quantified symbols,
  hypotheses, definitions and claims as sympy objects built from ``proofs._defs``. The printed
  statement is ``render_theorem(THEOREM)`` (``proofs._render``), nothing else;
- ``check(theorem=THEOREM) -> Report``: proves the statement, reading hypotheses and conclusions
  from ``theorem`` (so a changed statement is a changed proof obligation); identities at symbolic
  size, implications decided by z3, inductions against the claim's own conclusion, and sampled
  instances are recorded in the report; a failed step raises ``ProofError`` (an
  ``AssertionError``);
- ``draw(rng, trial)`` and ``FALSIFIER_TRIALS``: random instances computed by float64 numpy code
  independent of the symbolic code and of linrelu, on which ``_statement.falsify`` evaluates the
  statement object itself (not part of the proof; reported beside it);
- ``false_variants()``: false statements (the theorem with one field changed) that the check must
  reject (``tests/test_proofs.py``).

``run_all`` runs every check and falsifier; ``python -m proofs`` prints the table and rewrites
``proofs/STATEMENTS.md`` (the rendered statements, committed and compared by a test).
``python -m proofs --rejections`` rewrites ``proofs/REJECTIONS.md``: for every false variant, the
step that rejects it and that step's message (``rejection``); a test per variant compares.
"""

from __future__ import annotations

import importlib
import re
import time
from pathlib import Path

MODULE_NAMES = (
    "t1_gram_ggn_identity",
    "t2_spectral_equivalence",
    "t2a_softmax_hessian",
    "t3_linearized",
    "t4_relu_blocks",
    "t5_closed_form_gram",
    "t5a_schur_rank",
    "t5b_dead_units",
    "t6_kronecker_l2",
    "t7_infinite_width",
    "t8_trainability",
    "t9_quadratic_model",
)

STATEMENTS_PATH = Path(__file__).with_name("STATEMENTS.md")
REJECTIONS_PATH = Path(__file__).with_name("REJECTIONS.md")
REJECTION_LENGTH = 240


def proof_modules() -> list:
    """The imported proof modules, in statement order."""
    return [importlib.import_module(f"proofs.{name}") for name in MODULE_NAMES]


def run_module(module, theorem=None) -> dict:
    """Check one module's theorem (``theorem`` defaults to ``module.THEOREM``) and run its
    falsifier; one row (see ``run_all``)."""
    from proofs._statement import falsify

    theorem = module.THEOREM if theorem is None else theorem
    start = time.perf_counter()
    error, report = None, None
    try:
        report = module.check(theorem)
    except Exception as exc:  # a crash is a failed proof, reported, not raised
        error = f"{type(exc).__name__}: {exc}"
    proof_seconds = time.perf_counter() - start
    counts = falsify(theorem, module.draw, module.FALSIFIER_TRIALS)
    checked = sum(c["checked"] for c in counts.values())
    violations = {name: c["violations"] for name, c in counts.items() if c["violations"]}
    if error is None and violations:
        error = f"falsifier: violations on claims {sorted(violations)}"
    if error is None and checked == 0:
        error = "falsifier: no instance satisfied the hypotheses"
    return {
        "id": theorem.id,
        "statement": theorem.render(),
        "passed": error is None,
        "error": error,
        "seconds": time.perf_counter() - start,
        "proof_seconds": proof_seconds,
        "identities": list(report.identities) if report else [],
        "solver": list(report.solver) if report else [],
        "inductions": list(report.inductions) if report else [],
        "instances": list(report.instances) if report else [],
        "lemmas": tuple(theorem.lemmas),
        "falsifier": {"checked": checked,
                      "skipped": sum(c["skipped"] for c in counts.values()),
                      "violations": violations,
                      "claims": {name: (c["checked"], c["skipped"]) for name, c in counts.items()}},
    }


def run_all(verbose: bool = False, modules=None) -> list[dict]:
    """Run every check and falsifier (or those of ``modules``); one row per theorem with keys
    id, statement, passed, error, seconds, proof_seconds, identities, solver, inductions,
    instances, lemmas, falsifier. A row fails when its check raises, when its falsifier finds a
    violation, or when no random instance satisfied its hypotheses."""
    rows = []
    for module in proof_modules() if modules is None else modules:
        row = run_module(module)
        if verbose:
            print(f"{row['id']:4s} {'PASS' if row['passed'] else 'FAIL'} "
                  f"{row['seconds']:6.2f}s", flush=True)
            if row["error"]:
                print(f"     {row['error']}", flush=True)
        rows.append(row)
    return rows


def _summary(items: list[str], limit: int = 6) -> str:
    if not items:
        return "none"
    shown = "; ".join(items[:limit])
    more = f"; and {len(items) - limit} more" if len(items) > limit else ""
    return f"{len(items)}: {shown}{more}"


def format_table(rows: list[dict]) -> str:
    """Per theorem: result and seconds, the rendered statement, what the solver decided, what
    induction proved, the identities at symbolic size, the sampled instances, the named lemmas
    and the falsifier's count; then failures and a summary line."""
    out = []
    for r in rows:
        out.append(f"{r['id']:4s} {'PASS' if r['passed'] else 'FAIL'} {r['seconds']:6.2f} s")
        out.extend("     " + line for line in r["statement"].splitlines())
        out.append(f"     solver (z3, unsat)   : {_summary(r['solver'])}")
        out.append(f"     induction            : {_summary(r['inductions'])}")
        out.append(f"     symbolic identities  : {_summary(r['identities'], 4)}")
        out.append(f"     sampled instances    : {_summary(r['instances'], 4)}")
        lemmas = r.get("lemmas") or ()
        out.append(f"     named lemmas (prose) : {'; '.join(lemmas) if lemmas else 'none'}")
        f = r["falsifier"]
        out.append(f"     numeric falsifier    : {f['checked']} instances checked, "
                   f"{f['skipped']} skipped, {sum(map(len, f['violations'].values()))} "
                   "violations")
    for r in rows:
        if not r["passed"]:
            out.append(f"{r['id']} FAILED: {r['error']}")
    total = sum(r["seconds"] for r in rows)
    out.append(f"{sum(r['passed'] for r in rows)}/{len(rows)} passed in {total:.1f} s")
    return "\n".join(out)


STATEMENTS_HEADER = ["# Statements proved by `python -m proofs`", "",
                     "Generated by the proofs runner from each module's THEOREM object, its "
                     "proof's report and its false variants. Do not edit by hand: a test "
                     "compares each section with the code.", ""]


def _variant_lines(module) -> list[str]:
    """Each false variant's name and the lines of its rendered statement that differ from the
    true statement's."""
    true_lines = set(module.THEOREM.render().splitlines())
    out = []
    for name, variant in sorted(module.false_variants().items()):
        changed = [line.strip() for line in variant.render().splitlines()
                   if line not in true_lines]
        out.append(f"- {name}: " + " / ".join(changed))
    return out


def statement_section(module, row: dict) -> str:
    """One theorem's section of STATEMENTS.md: the rendered statement, the proof's steps as its
    report recorded them (``row`` from ``run_module``), and the false variants it rejects."""
    theorem = module.THEOREM
    parts = [f"## {theorem.id}", "", "```text", theorem.render(), "```", ""]
    if theorem.lemmas:
        parts += ["Named lemmas left to prose: " + "; ".join(theorem.lemmas) + ".", ""]
    for title, key in (("Solver decisions (z3, unsat)", "solver"), ("Inductions", "inductions"),
                       ("Identities at symbolic size", "identities"),
                       ("Sampled instances", "instances")):
        steps = row[key]
        parts += [f"{title}: {len(steps)}", ""] + [f"- {step}" for step in steps] + [""]
    claims = row["falsifier"]["claims"]
    parts += [f"Numeric falsifier, {module.FALSIFIER_TRIALS} seeded trials:", ""]
    parts += [f"- {name}: {done} checked, {skipped} skipped"
              for name, (done, skipped) in claims.items()] + [""]
    parts += ["False variants, each rejected by the proof:", ""] + _variant_lines(module) + [""]
    return "\n".join(parts)


def statements_markdown(modules=None, rows=None) -> str:
    """The committed ``proofs/STATEMENTS.md`` (``rows`` from ``run_all`` on the same modules,
    computed when not given)."""
    modules = proof_modules() if modules is None else modules
    rows = run_all(modules=modules) if rows is None else rows
    sections = [statement_section(m, r) for m, r in zip(modules, rows, strict=True)]
    return "\n".join(STATEMENTS_HEADER + sections) + "\n"


def committed_section(theorem_id: str) -> str:
    """The section of the committed STATEMENTS.md for ``theorem_id`` ("" when absent)."""
    text = STATEMENTS_PATH.read_text(encoding="utf-8") if STATEMENTS_PATH.exists() else ""
    start = text.find(f"## {theorem_id}\n")
    if start < 0:
        return ""
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end + 1]


def rejection(module, theorem) -> str:
    """Why ``module.check`` rejects ``theorem``: the failed step's exception type and message, with
    the solver's counterexample values and sympy's dummy numbers left out (they depend on the
    solver's search and on the session), whitespace collapsed, cut at ``REJECTION_LENGTH``
    characters. Raises ``AssertionError`` when the check accepts the statement; any other
    exception of the check propagates (a crash is not a rejection)."""
    try:
        module.check(theorem)
    except AssertionError as exc:
        text = f"{type(exc).__name__}: {exc}"
    else:
        raise AssertionError(f"{theorem.id}: the check accepts the statement")
    text = re.sub(r"\(counterexample .*\)$", "(counterexample)", " ".join(text.split()))
    text = re.sub(r"Dummy_[0-9]+", "Dummy", text)
    if len(text) > REJECTION_LENGTH:
        text = text[:REJECTION_LENGTH - 3] + "..."
    return text


REJECTIONS_HEADER = ["# Why each false variant is rejected", "",
                     "Generated by `python -m proofs --rejections`: per theorem, each false "
                     "variant and the message of the proof step that rejects it (counterexample "
                     "values left out). Do not edit by hand: a test per variant compares its line "
                     "with the code.", ""]


def rejections_markdown(modules=None) -> str:
    """The committed ``proofs/REJECTIONS.md``: every false variant of ``modules`` (default: all)
    and its ``rejection``."""
    modules = proof_modules() if modules is None else modules
    lines = list(REJECTIONS_HEADER)
    for module in modules:
        lines += [f"## {module.THEOREM.id}", ""]
        lines += [f"- {name}: {rejection(module, variant)}"
                  for name, variant in sorted(module.false_variants().items())]
        lines.append("")
    return "\n".join(lines)


def committed_rejection(theorem_id: str, name: str) -> str:
    """The committed rejection of variant ``name`` of ``theorem_id`` ("" when absent)."""
    text = REJECTIONS_PATH.read_text(encoding="utf-8") if REJECTIONS_PATH.exists() else ""
    section = text.partition(f"\n## {theorem_id}\n")[2].partition("\n## ")[0]
    prefix = f"- {name}: "
    found = [line[len(prefix):] for line in section.splitlines() if line.startswith(prefix)]
    return found[0] if len(found) == 1 else ""


__all__ = ["MODULE_NAMES", "REJECTIONS_PATH", "STATEMENTS_PATH", "committed_rejection",
           "committed_section", "format_table", "proof_modules", "rejection", "rejections_markdown",
           "run_all", "run_module", "statement_section", "statements_markdown"]
