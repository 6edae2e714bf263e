"""The generated findings tables (linrelu/repro/findings.py) and findings without a verdict
(Claim.withheld): parsing the runner's own claims tables back, which tier decides a claim, the
"ours" cells cut out of the committed measurements, and the claims summary."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from linrelu.experiments.base import Claim
from linrelu.repro import findings
from linrelu.repro.runner import claims_markdown, claims_summary

ROOT = Path(__file__).resolve().parents[1]


def _write(root: Path, rel: str, claims: list, mode: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# Claims\n\n" + claims_markdown(claims, mode), encoding="utf-8")


def _finding(cid, measured, passed, withheld=""):
    return Claim(cid, "s", measured, "c", passed, "fig", kind="finding", withheld=withheld)


def test_claims_tables_round_trip_and_the_longest_deciding_tier_wins(tmp_path):
    quick = [Claim("P.proofs", "s", "a | b", "c", True, "f"),
             _finding("E7.x", "TOO SHORT to expect loss of plasticity: 12 steps", False,
                      "TOO SHORT"),
             _finding("E7.y", "drop 0.3", True),
             _finding("E7.z", "TOO SHORT: old table, no withheld result", False)]
    long = [_finding("E7.x", "drop 0.2", True)]
    _write(tmp_path, "figures/CLAIMS.md", quick, "quick")
    _write(tmp_path, "figures/long/CLAIMS.md", long, "long")
    tables = findings.claims_tables(tmp_path)
    assert [t.tier for t in tables] == ["long", "quick"]
    q = tables[1]
    assert q.flag == "" and tables[0].flag == "--long" and q.path == "figures/CLAIMS.md"
    assert q.rows["P.proofs"]["measured"] == "a | b"  # the escaped pipe comes back
    assert q.rows["E7.x"]["result"] == "TOO SHORT"
    assert q.summary.startswith("1/1 checks pass; 1/2 paper findings reproduced; 1 without")
    t, row = findings.deciding_row(tables, "E7.x")
    assert t.tier == "long" and row["result"] == "REPRODUCED"
    t, row = findings.deciding_row(tables, "E7.y")  # only quick has it, with a verdict
    assert t.tier == "quick" and row["result"] == "REPRODUCED"
    t, row = findings.deciding_row(tables, "E7.z")  # no verdict anywhere: quick's row
    assert t.tier == "quick" and not findings.has_verdict(row)
    assert findings.deciding_row(tables, "E9.none") == (None, None)
    # a renamed claim: the new name where a table has it, else the old one
    t, row = findings.deciding_row(tables, ("E7.x_new", "E7.x"))
    assert t.tier == "long" and row["claim"] == "E7.x"


def test_a_malformed_claims_table_is_named(tmp_path):
    bad = tmp_path / "figures" / "CLAIMS.md"
    bad.parent.mkdir(parents=True)
    bad.write_text("# Claims\n\nnot a table\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"^path: expected a claims table"):
        findings.read_claims_table(bad, tmp_path)
    with pytest.raises(ValueError, match=r"^text: expected the markers"):
        findings.replace_block("no markers", findings.FINDINGS_BEGIN, findings.FINDINGS_END, "x")


def test_every_paper_finding_is_cut_from_the_committed_measurement():
    """Each row's "ours" comes out of its deciding claim's measured text (no fallback), and the
    numbers in it occur in that text: nothing is typed by hand."""
    tables = findings.claims_tables(ROOT)
    for f in findings.PAPER_FINDINGS:
        _, row = findings.deciding_row(tables, f.claim_id)
        assert row is not None, f.claim_id
        ours = f.ours(row["measured"])
        assert ours, f.claim_id
        for number in re.findall(r"\d+\.\d+", ours):
            assert number in row["measured"], (f.claim_id, number)


def test_readme_verdicts_are_the_claims_tables_verdicts():
    """Read independently of the generator: each README row's verdict is the result of its claim
    in the claims table the row links to."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split(findings.FINDINGS_BEGIN, 1)[1].split(findings.FINDINGS_END, 1)[0]
    rows = [r for r in block.splitlines() if r.startswith("| ") and "claim" not in r[:20]]
    by_claim = {f.claim: (f.claim_id,) if isinstance(f.claim_id, str) else f.claim_id
                for f in findings.PAPER_FINDINGS}
    checked = 0
    for r in rows:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", r)[1:-1]]
        link = re.search(r"\]\(([^)]+)\)", cells[4]).group(1)
        table = (ROOT / link).read_text(encoding="utf-8")
        if cells[0] not in by_claim:
            continue
        line = next(x for x in table.splitlines()
                    if any(x.startswith(f"| {cid} |") for cid in by_claim[cells[0]]))
        assert line.rstrip(" |").split(" | ")[-2] == cells[3], cells[0]
        checked += 1
    assert checked == len(findings.PAPER_FINDINGS)


def test_withheld_findings_print_their_reason_and_count_apart():
    c = _finding("E7.p", "drop 0.02", False, "UNDECIDED")
    assert c.result == "UNDECIDED" and c.to_dict()["result"] == "UNDECIDED"
    assert _finding("E7.q", "drop 0.2", True).result == "REPRODUCED"
    summary = claims_summary([c, _finding("E7.q", "d", True), _finding("E7.r", "d", False),
                              Claim("X.c", "s", "m", "c", True, "f")])
    assert summary == ("1/1 checks pass; 1/2 paper findings reproduced; 1 without a verdict "
                       "(1 undecided)")
    with pytest.raises(ValueError, match=r"^withheld: expected"):
        _finding("E7.s", "m", False, "MAYBE")
    with pytest.raises(ValueError, match=r"^withheld: only a finding with passed=False"):
        _finding("E7.s", "m", True, "UNDECIDED")
    with pytest.raises(ValueError, match=r"^withheld: only a finding"):
        Claim("X.c", "s", "m", "c", False, "f", withheld="TOO SHORT")
