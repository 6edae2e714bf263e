"""``python -m proofs``: run every proof check and falsifier, print the table, rewrite
``proofs/STATEMENTS.md`` from the theorem objects, exit 1 on any failure.

``python -m proofs --only T8 T9`` checks those theorems alone (and leaves STATEMENTS.md as it is).
``python -m proofs --rejections`` runs every false variant instead and rewrites
``proofs/REJECTIONS.md`` (the step that rejects each; exit 1 when the proof accepts one).
"""

from __future__ import annotations

import argparse
import sys

from proofs import (
    REJECTIONS_PATH,
    STATEMENTS_PATH,
    format_table,
    proof_modules,
    rejections_markdown,
    run_all,
    statements_markdown,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m proofs", description=__doc__)
    parser.add_argument("--only", nargs="+", metavar="ID",
                        help="theorem ids to check (default: all)")
    parser.add_argument("--rejections", action="store_true",
                        help="run the false variants and rewrite REJECTIONS.md")
    args = parser.parse_args(argv)
    modules = proof_modules()
    if args.rejections:
        try:
            text = rejections_markdown(modules)
        except AssertionError as exc:
            print(f"python -m proofs: a false variant is accepted: {exc}", file=sys.stderr)
            return 1
        REJECTIONS_PATH.write_text(text, encoding="utf-8")
        print(f"rejections written to {REJECTIONS_PATH.name}")
        return 0
    if args.only:
        known = {m.THEOREM.id: m for m in modules}
        unknown = [i for i in args.only if i not in known]
        if unknown:
            print(f"python -m proofs: --only expects ids among {sorted(known)}, "
                  f"received {unknown}", file=sys.stderr)
            return 2
        modules = [known[i] for i in args.only]
    rows = run_all(verbose=False, modules=modules)
    print(format_table(rows))
    if not args.only:
        STATEMENTS_PATH.write_text(statements_markdown(modules, rows), encoding="utf-8")
        print(f"statements written to {STATEMENTS_PATH.name}")
    return 0 if all(r["passed"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
