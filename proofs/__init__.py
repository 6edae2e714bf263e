"""Machine-checked proofs of THEORY.md's statements T1–T9 (with lemma T2a, corollaries T5a/T5b).

Each module ``proofs/t*.py`` holds the statement and a complete prose proof in its docstring and a
``check(variant=None)`` that proves the statement with sympy at general (symbolic) size, or by
induction from a one-layer step with symbolic widths (raising ``AssertionError`` on failure).
Each module also declares ``GENERAL`` (what is proved at symbolic size), ``INDUCTION`` (what is by
induction; empty if nothing) and ``LEMMAS`` (the named standard lemmas left to prose).
``MUTANTS`` names deliberately wrong variants that the check must reject (tests/test_proofs.py
asserts it does). ``run_all`` runs every check.
"""

from __future__ import annotations

import importlib
import time
import traceback

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


def proof_modules() -> list:
    """The imported proof modules, in statement order."""
    return [importlib.import_module(f"proofs.{name}") for name in MODULE_NAMES]


def check_statement(module) -> None:
    """The printed ``STATEMENT`` must be the one generated from the claim expressions that
    ``check()`` verifies (``module.statement()``): editing the printed text alone fails."""
    generated = module.statement()
    if module.STATEMENT != generated:
        raise AssertionError(f"{module.ID}: printed statement {module.STATEMENT!r} differs from "
                             f"the statement generated from the checked expressions {generated!r}")


def run_all(verbose: bool = False, modules=None) -> list[dict]:
    """Run every check (or those of ``modules``); one row per statement with keys id, statement,
    checked, general, induction, lemmas, passed, seconds, error (None when passed, else the
    failure message). A row fails when its check fails or its printed statement is not the one
    generated from the checked expressions."""
    rows = []
    for module in proof_modules() if modules is None else modules:
        start = time.perf_counter()
        error = None
        try:
            check_statement(module)
            module.check()
        except Exception as exc:  # a crash is a failed proof, reported, not raised
            error = f"{type(exc).__name__}: {exc}"
            if verbose:
                traceback.print_exc()
        row = {"id": module.ID, "statement": module.STATEMENT, "checked": module.CHECKED,
               "general": module.GENERAL, "induction": module.INDUCTION,
               "lemmas": tuple(module.LEMMAS), "passed": error is None,
               "seconds": time.perf_counter() - start, "error": error}
        if verbose:
            print(f"{row['id']:4s} {'PASS' if row['passed'] else 'FAIL'} {row['seconds']:6.2f}s",
                  flush=True)
        rows.append(row)
    return rows


def format_table(rows: list[dict]) -> str:
    """Per theorem: result, seconds, statement, what is proved at general size, what is by
    induction, and the named lemmas cited; then failures and a summary line."""
    out = []
    for r in rows:
        out.append(f"{r['id']:4s} {'PASS' if r['passed'] else 'FAIL'} {r['seconds']:6.2f} s  "
                   f"{r['statement']}")
        out.append(f"     general size : {r.get('general') or r.get('checked', '')}")
        out.append(f"     induction    : {r.get('induction') or '—'}")
        lemmas = r.get("lemmas") or ()
        out.append(f"     named lemmas : {'; '.join(lemmas) if lemmas else '—'}")
    for r in rows:
        if not r["passed"]:
            out.append(f"{r['id']} FAILED: {r['error']}")
    total = sum(r["seconds"] for r in rows)
    out.append(f"{sum(r['passed'] for r in rows)}/{len(rows)} passed in {total:.1f} s")
    return "\n".join(out)


__all__ = ["MODULE_NAMES", "check_statement", "format_table", "proof_modules", "run_all"]
