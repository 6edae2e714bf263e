#!/usr/bin/env python
"""Reproduce everything: symbolic proofs, experiments E1–E8, figures and the claims table.

    python paper_repro.py            # quick mode (minutes on a laptop CPU)
    python paper_repro.py --full     # paper-scale settings
    python paper_repro.py --long --verify 3   # recompute 3 stored cells and compare them
    python paper_repro.py --help     # --only, --list, --out, --fresh, --shard, --merge, --quiet,
                                     # --workers, --scheduler, --verbose, --verify

Results are cached per cell under results/ (resumable after a kill); figures and
figures/CLAIMS.md are regenerated. Exit code 0 = every check passes (paper findings are reported
as REPRODUCED / NOT REPRODUCED and do not change it), 1 = some check failed,
2 = bad input.
"""

import os
import sys

# Every cell computes with one XLA and one BLAS thread, in this process (--workers 1) as in a
# worker process (linrelu.repro.executor.THREAD_ENV, which tests/test_repro.py checks this copy
# against): the thread count can change a reduction's order, and a cell's round-off with it
# (quick mode's results differed between --workers 1 and --workers 2 before, 2026-11-26). Set
# before numpy and JAX are imported; a variable the user has set is kept.
THREAD_ENV = {
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
for _name, _value in THREAD_ENV.items():
    os.environ.setdefault(_name, _value)

from linrelu.repro import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
