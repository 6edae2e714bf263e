"""``python -m proofs``: run every symbolic proof check, print the table, exit 1 on any failure."""

from __future__ import annotations

import sys

from proofs import format_table, run_all


def main() -> int:
    rows = run_all(verbose=False)
    print(format_table(rows))
    return 0 if all(r["passed"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
