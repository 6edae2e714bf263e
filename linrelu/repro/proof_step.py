"""The symbolic proofs as the reproduction's first step ("P"), cached like any other cell."""

from __future__ import annotations

from pathlib import Path

from linrelu.experiments.base import Claim, Experiment


def _cells(mode: str) -> list:
    return [{"step": "proofs"}]


def run_proofs(cell: dict) -> dict:
    """Run every proof check and numeric falsifier of proofs/ (T1–T9); timings are printed, not
    stored (determinism). Each stored row: id, rendered statement, passed, error, and the counts
    of solver decisions, inductions and falsifier instances checked."""
    import proofs

    rows = proofs.run_all()
    print(proofs.format_table(rows))
    return {"rows": [{"id": r["id"], "statement": r["statement"], "passed": r["passed"],
                      "error": r["error"], "solver": len(r["solver"]),
                      "inductions": len(r["inductions"]),
                      "falsifier_checked": r["falsifier"]["checked"]} for r in rows]}


def _summarize(cells: list, results: list) -> tuple:
    rows = results[0]["rows"]
    failed = [r["id"] for r in rows if not r["passed"]]
    claim = Claim(
        id="P.proofs", statement="T1–T9 (with T2a, T5a, T5b) hold (sympy, z3, induction)",
        measured=f"{len(rows) - len(failed)}/{len(rows)} checks pass"
        + (f"; failing: {', '.join(failed)}" if failed else ""),
        criterion="every check of python -m proofs passes", passed=not failed and bool(rows),
        figure="proofs/README.md")
    return {"rows": rows}, [claim]


def _plot(summary: dict, figdir: Path) -> list:
    return []


PROOFS = Experiment(
    id="P", figure="proofs/README.md", title="Symbolic proofs of T1–T9 (sympy)",
    mirrors="THEORY.md T1–T9", cells=_cells, run_cell=run_proofs, summarize=_summarize,
    plot=_plot, claim_ids=(("P.proofs", "every sympy check of T1–T9 passes"),))
