"""Tests of proofs/: every symbolic check passes, and every deliberately wrong variant fails.

The mutation tests are the honesty guard of issue 3: a check that cannot fail proves nothing.
"""

from __future__ import annotations

import pytest
import sympy as sp

import proofs
from proofs import _sym, format_table, proof_modules, run_all
from proofs._network import make_net
from proofs.t5b_dead_units import null_count_bound
from proofs.t8_trainability import lower_bound_counterexample

MODULES = proof_modules()
MUTANT_CASES = [(m, v) for m in MODULES for v in m.MUTANTS]


@pytest.fixture(scope="module")
def rows():
    return run_all()


def test_run_all_passes_every_statement(rows):
    assert [r["id"] for r in rows] == [m.ID for m in MODULES]
    failed = {r["id"]: r["error"] for r in rows if not r["passed"]}
    assert not failed, failed
    for r in rows:
        assert set(r) == {"id", "statement", "checked", "passed", "seconds", "error"}
        assert r["error"] is None and r["seconds"] >= 0


def test_all_statements_covered():
    ids = {m.ID for m in MODULES}
    assert ids == {"T1", "T2", "T2a", "T3", "T4", "T5", "T5a", "T5b", "T6", "T7", "T8", "T9"}


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.ID)
def test_every_check_has_a_mutant(module):
    assert len(module.MUTANTS) >= 1


@pytest.mark.parametrize(("module", "variant"), MUTANT_CASES,
                         ids=[f"{m.ID}-{v}" for m, v in MUTANT_CASES])
def test_wrong_variant_fails(module, variant):
    with pytest.raises(AssertionError):
        module.check(variant=variant)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.ID)
def test_unknown_variant_is_a_value_error(module):
    with pytest.raises(ValueError, match="variant"):
        module.check(variant="no_such_variant")


def test_format_table_reports_failures():
    fake = [{"id": "T1", "statement": "s", "checked": "c", "passed": True, "seconds": 0.1,
             "error": None},
            {"id": "T2", "statement": "s", "checked": "c", "passed": False, "seconds": 0.2,
             "error": "AssertionError: boom"}]
    table = format_table(fake)
    assert "PASS" in table and "FAIL" in table and "boom" in table
    assert "1/2 passed" in table


def test_main_exit_code_reflects_failure(monkeypatch):
    import proofs.__main__ as main_mod

    monkeypatch.setattr(main_mod, "run_all", lambda verbose=False: [
        {"id": "T1", "statement": "s", "checked": "c", "passed": False, "seconds": 0.0,
         "error": "x"}])
    assert main_mod.main() == 1


def test_certificate_rejects_unlisted_atom_and_negative_coefficient():
    x, y = sp.symbols("x y", real=True)
    with pytest.raises(AssertionError, match="not known"):
        _sym.assert_nonneg_certificate(x * y**2, [(1, [x], y)], [], "x·y² ≥ 0 needs x ≥ 0")
    with pytest.raises(AssertionError, match="coefficient"):
        _sym.assert_nonneg_certificate(-(y**2), [(-1, [], y)], [], "−y² is not ≥ 0")


def test_theory_md_dead_unit_count_counterexample():
    """Sizes (1,1,1,1), both hidden units dead: THEORY.md's count says null(Ĝ) = p = 6, but the
    output bias column is σ_b ≠ 0, so only 5 columns vanish (the corrected count)."""
    widths = (1, 1, 1, 1)
    net = make_net(widths, (((0,),), ((0,),)))
    J = net.jacobian()
    zero_cols = [j for j in range(J.cols) if all(_sym.is_zero(e) for e in J[:, j])]
    dead = ((1, 0), (2, 0))
    assert null_count_bound(widths, dead, "theory_md_count") == 6 == len(net.params())
    assert len(zero_cols) == 5 == null_count_bound(widths, dead)
    G = J.T * J / net.n
    assert sp.simplify(G[-1, -1] - net.sigma_b**2) == 0  # Ĝ ≠ 0, so null(Ĝ) < 6


def test_theory_md_lower_bound_counterexample():
    """T8 lower bound with ε > n/η: ρ_ε m_ε = 4 exceeds L_1/L_0 = ¼."""
    bound, ratio = lower_bound_counterexample()
    assert bound == 4 and ratio == sp.Rational(1, 4)


def test_module_names_match_files():
    import pathlib

    files = {p.stem for p in pathlib.Path(proofs.__file__).parent.glob("t*.py")}
    assert files == set(proofs.MODULE_NAMES)
