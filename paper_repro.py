#!/usr/bin/env python
"""Reproduce everything: symbolic proofs, experiments E1–E8, figures and the claims table.

    python paper_repro.py            # quick mode (minutes on a laptop CPU)
    python paper_repro.py --full     # paper-scale settings
    python paper_repro.py --help     # --only, --list, --out, --fresh, --shard, --merge, --quiet,
                                     # --workers, --scheduler, --verbose

Results are cached per cell under results/ (resumable after a kill); figures and
figures/CLAIMS.md are regenerated. Exit code 0 = every check passes (paper findings are reported
as REPRODUCED / NOT REPRODUCED and do not change it), 1 = some check failed,
2 = bad input.
"""

import sys

from linrelu.repro import main

if __name__ == "__main__":
    sys.exit(main())
