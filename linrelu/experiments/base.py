"""What an experiment is: data (cells of configuration) plus pure functions.

An experiment is split so that the runner (``linrelu.repro``) can cache, resume, shard and merge
it without knowing anything about its content:

- ``cells(mode) -> list[dict]``: the independent units of work for ``mode`` in ``tiers``
  ({"quick", "full"} by default; E5–E7 and E10 also have "long").
  Each cell is a small JSON-able dict that fully determines its result (it includes its seed).
- ``run_cell(cell) -> dict``: computes one cell; returns a JSON-able dict (numbers, lists, str).
  Must be deterministic given the cell. Use :func:`to_jsonable` on numpy / jax values.
- ``summarize(cells, results) -> (summary: dict, claims: list[Claim])``: combines all cells'
  results into the numbers the figure shows and the claims it checks. Pure, no I/O.
- ``plot(summary, figdir: Path) -> list[str]``: draws the figure from the summary only, writes
  ``<figure>.png`` and ``<figure>.pdf`` into ``figdir`` and returns the written file names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CLAIM_KINDS = ("check", "finding")
#: Reasons a finding may print in place of its verdict (:attr:`Claim.withheld`).
WITHHELD = ("TOO SHORT", "UNDECIDED")


@dataclass(frozen=True)
class Claim:
    """One row of the claims table.

    ``kind="check"`` (default): a statement about this project's mathematics or code (a theorem,
    an estimator's stated error); a failing check is a defect and makes ``paper_repro.py`` exit 1.
    ``kind="finding"``: whether the *paper's empirical phenomenon* appears in our CPU-sized
    miniature (E5–E7); its criterion is fixed in advance all the same, and the table reports it
    as REPRODUCED or NOT REPRODUCED — a negative finding is a result to report, not a crash.

    ``withheld`` (findings only): "" (default) prints the verdict; a non-empty reason, one of
    ``WITHHELD`` ("TOO SHORT": the run is too short to expect the phenomenon; "UNDECIDED": the
    measured value lies inside the band its pre-registered criterion leaves undecided), is
    printed in place of a verdict, and such a claim has ``passed=False`` and counts neither as
    reproduced nor as not reproduced.
    """

    id: str  # e.g. "E1.identity"
    statement: str  # what is claimed, one line
    measured: str  # the measured value, formatted
    criterion: str  # the pass criterion, one line
    passed: bool
    figure: str  # figure name (without extension)
    kind: str = "check"  # "check" or "finding" (see the class docstring)
    withheld: str = ""  # "" or one of WITHHELD: printed in place of a finding's verdict

    def __post_init__(self):
        if self.kind not in CLAIM_KINDS:
            raise ValueError(f"kind: expected one of {CLAIM_KINDS}, received {self.kind!r}")
        if self.withheld and self.withheld not in WITHHELD:
            raise ValueError(f"withheld: expected '' or one of {WITHHELD}, received "
                             f"{self.withheld!r}")
        if self.withheld and (self.kind != "finding" or self.passed):
            raise ValueError(f"withheld: only a finding with passed=False may withhold its "
                             f"verdict, received kind={self.kind!r}, passed={self.passed!r}")

    @property
    def result(self) -> str:
        """PASS/FAIL for a check, REPRODUCED/NOT REPRODUCED for a finding, or the finding's
        ``withheld`` reason in place of a verdict."""
        if self.kind == "finding":
            if self.withheld:
                return self.withheld
            return "REPRODUCED" if self.passed else "NOT REPRODUCED"
        return "PASS" if self.passed else "FAIL"

    def to_dict(self) -> dict:
        return {"id": self.id, "statement": self.statement, "measured": self.measured,
                "criterion": self.criterion, "passed": bool(self.passed), "figure": self.figure,
                "kind": self.kind, "result": self.result}


@dataclass(frozen=True)
class Experiment:
    id: str  # "E1"
    figure: str  # "fig_gram_ggn_equivalence"
    title: str  # one line: what the figure shows
    mirrors: str  # the THEORY statement or paper figure it mirrors
    cells: Callable[[str], list]
    run_cell: Callable[[dict], dict]
    summarize: Callable[[list, list], tuple]
    plot: Callable[[dict, Path], list]
    claim_ids: tuple = field(default_factory=tuple)  # (id, description) pairs for --list
    tiers: tuple = ("quick", "full")  # the modes cells(mode) accepts ("long": --long)


def to_jsonable(x):
    """Recursively convert numpy / jax arrays and scalars to plain Python for json.dumps.

    Non-finite floats become the strings "nan", "inf", "-inf" so files stay strict JSON.
    """
    if isinstance(x, dict):
        return {str(k): to_jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_jsonable(v) for v in x]
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        a = np.asarray(x)
        return to_jsonable(a.tolist()) if a.ndim else to_jsonable(a.item())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        if np.isfinite(x):
            return x
        return "nan" if np.isnan(x) else ("inf" if x > 0 else "-inf")
    return x


def save_figure(fig, figdir: Path, name: str) -> list:
    """Lay out ``fig``, write ``name``.png and ``name``.pdf atomically (temp file + rename),
    close it, and return the written file names (every experiment's ``plot`` ends with this).

    Metadata dates are removed so regenerated figures are byte-stable where matplotlib allows.
    """
    import os
    import tempfile

    import matplotlib.pyplot as plt

    fig.tight_layout()

    figdir = Path(figdir)
    figdir.mkdir(parents=True, exist_ok=True)
    written = []
    for ext, meta in (("png", {"Software": None}),
                      ("pdf", {"CreationDate": None, "ModDate": None, "Producer": None})):
        fd, tmp = tempfile.mkstemp(dir=figdir, prefix=f".{name}.", suffix=f".{ext}.tmp")
        os.close(fd)
        try:
            fig.savefig(tmp, format=ext, dpi=120, bbox_inches="tight", metadata=meta)
            os.replace(tmp, figdir / f"{name}.{ext}")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        written.append(f"{name}.{ext}")
    plt.close(fig)
    return written
