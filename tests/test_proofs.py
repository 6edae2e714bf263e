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
from proofs.t8_trainability import lower_bound_counterexample, upper_bound_counterexample

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
        assert set(r) == {
            "id",
            "statement",
            "checked",
            "general",
            "induction",
            "lemmas",
            "passed",
            "seconds",
            "error",
        }
        assert r["error"] is None and r["seconds"] >= 0


def test_all_statements_covered():
    ids = {m.ID for m in MODULES}
    assert ids == {"T1", "T2", "T2a", "T3", "T4", "T5", "T5a", "T5b", "T6", "T7", "T8", "T9"}


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.ID)
def test_every_check_has_a_mutant(module):
    assert len(module.MUTANTS) >= 1


@pytest.mark.parametrize(
    ("module", "variant"), MUTANT_CASES, ids=[f"{m.ID}-{v}" for m, v in MUTANT_CASES]
)
def test_wrong_variant_fails_without_the_numeric_grids(module, variant, monkeypatch):
    """Every mutant is rejected by the proof itself: the exact-rational falsifier grids of T8 and
    T9 (not part of the proof) are switched off here."""
    if hasattr(module, "falsifier_grid"):
        monkeypatch.setattr(module, "falsifier_grid", lambda variant: None)
    with pytest.raises(AssertionError):
        module.check(variant=variant)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.ID)
def test_unknown_variant_is_a_value_error(module):
    with pytest.raises(ValueError, match="variant"):
        module.check(variant="no_such_variant")


def test_format_table_reports_failures():
    fake = [
        {
            "id": "T1",
            "statement": "s",
            "checked": "c",
            "passed": True,
            "seconds": 0.1,
            "error": None,
        },
        {
            "id": "T2",
            "statement": "s",
            "checked": "c",
            "passed": False,
            "seconds": 0.2,
            "error": "AssertionError: boom",
        },
    ]
    table = format_table(fake)
    assert "PASS" in table and "FAIL" in table and "boom" in table
    assert "1/2 passed" in table


def test_main_exit_code_reflects_failure(monkeypatch):
    import proofs.__main__ as main_mod

    monkeypatch.setattr(
        main_mod,
        "run_all",
        lambda verbose=False: [
            {
                "id": "T1",
                "statement": "s",
                "checked": "c",
                "passed": False,
                "seconds": 0.0,
                "error": "x",
            }
        ],
    )
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


def _gd_loss_ratio(lam, n, eta, T):
    """L_T/L_0 for K = [lam] by running T plain gradient steps on the residual (independent of
    the proof module's closed form)."""
    r = 1.0
    for _ in range(T):
        r = r - (eta / n) * lam * r
    return r**2


def test_theory_md_lower_bound_counterexample():
    """THEORY's counterexample: K = [1], n = η = T = 1, ε = 2 (ηε > n):
    L_1/L_0 = 0 < ρ_ε m_ε = 1."""
    bound, ratio = lower_bound_counterexample()
    assert bound == 1 and ratio == 0
    assert _gd_loss_ratio(1.0, 1, 1.0, 1) == 0.0 < (1 - 1.0 * 2 / 1) ** 2 * 1


def test_upper_bound_needs_the_eta_eps_term():
    """K = [3/2], n = η = T = 1, ε = 1: ηλ_max ≤ 2n holds but ηλ_max + ηε > 2n; the upper bound
    m_ε + ρ_ε(1 − m_ε) = 0 is below L_1/L_0 = ¼ (so the condition needs the ηε term)."""
    bound, ratio = upper_bound_counterexample()
    assert bound == 0 and ratio == sp.Rational(1, 4)
    assert _gd_loss_ratio(1.5, 1, 1.0, 1) == 0.25


def test_t8_consequences_need_the_same_conditions():
    """THEORY's "Hence" lines inherit the conditions. Necessary (m_ε ≤ τ/ρ_ε) fails for ηε > n:
    K = [1], n = η = T = 1, ε = 2 trains to L_1 = 0 (τ = ½) although m_ε = 1 > τ/ρ_ε = ½.
    Sufficient fails for ηλ_max + ηε > 2n: K = [3/2], ε = 1 has ρ_ε = 0 < τ = 0.1 and
    m_ε = 0 ≤ (τ − ρ_ε)/(1 − ρ_ε), yet L_1/L_0 = ¼ > τ."""
    tau = 0.5
    rho, m = (1 - 2.0) ** 2, 1.0
    assert _gd_loss_ratio(1.0, 1, 1.0, 1) <= tau and not m <= tau / rho
    tau = 0.1
    rho, m = (1 - 1.0) ** 2, 0.0
    assert rho < tau and m <= (tau - rho) / (1 - rho) and _gd_loss_ratio(1.5, 1, 1.0, 1) > tau


def test_issue_false_variants_are_mutants():  # issue 3
    """The three false variants found by review are registered (and so asserted to FAIL above)."""
    from proofs import t2_spectral_equivalence as t2
    from proofs import t8_trainability as t8

    assert "ce_lower_2_pmin_pmax" in t2.MUTANTS
    assert {"lower_bound_doubled", "upper_rho_squared"} <= set(t8.MUTANTS)


def test_t2_variant_2pmin_pmax_is_false_numerically():
    """Independent of sympy: at p = (.01, .01, .98) the smallest nonzero eigenvalue of
    diag p − ppᵀ is 0.01 < 2·p_min·p_max = 0.0196, while p_min = 0.01 is not exceeded."""
    import numpy as np

    p = np.array([0.01, 0.01, 0.98])
    eig = np.linalg.eigvalsh(np.diag(p) - np.outer(p, p))
    smallest_nonzero = min(e for e in eig if abs(e) > 1e-12)  # one exact 0 (H𝟙 = 0); float64
    assert abs(smallest_nonzero - 0.01) < 1e-12
    assert smallest_nonzero < 2 * p.min() * p.max()


@pytest.mark.parametrize(
    "variant",
    [
        "lower_bound_doubled",
        "upper_rho_squared",
        "upper_drops_rho_term",
        "lower_without_condition",
        "upper_condition_without_eps",
    ],
)
def test_t8_false_bounds_fail_on_exact_instances(variant):
    """Each false T8 variant is refuted by an exact rational instance satisfying its stated
    condition (not only by a missing certificate)."""
    from proofs.t8_trainability import falsifier_grid

    falsifier_grid(None)
    with pytest.raises(AssertionError, match="violated"):
        falsifier_grid(variant)


def test_every_module_declares_general_induction_lemmas():
    for module in MODULES:
        assert module.GENERAL.strip(), module.ID
        assert isinstance(module.INDUCTION, str)
        assert all(isinstance(x, str) and x for x in module.LEMMAS), module.ID


def test_table_reports_general_induction_and_lemmas(rows):
    table = format_table(rows)
    for r in rows:
        assert f"{r['id']:4s} PASS" in table
    assert table.count("general size :") == len(rows)
    assert table.count("induction    :") == len(rows)
    assert table.count("named lemmas :") == len(rows)
    assert "12/12 passed" in table


def test_telescoping_lemma_wrong_recursion_fails():
    with pytest.raises(AssertionError):
        _sym.check_telescoping_lemma(variant_factor=2)
    _sym.check_telescoping_lemma()


def test_module_names_match_files():
    import pathlib

    files = {p.stem for p in pathlib.Path(proofs.__file__).parent.glob("t*.py")}
    assert files == set(proofs.MODULE_NAMES)


# --- issue 19: the classes of false variants, each rejected by a named symbolic step ----------

def _issue19_cases():
    from proofs import t2_spectral_equivalence as t2
    from proofs import t2a_softmax_hessian as t2a
    from proofs import t5b_dead_units as t5b
    from proofs import t6_kronecker_l2 as t6
    from proofs import t7_infinite_width as t7
    from proofs import t8_trainability as t8
    from proofs import t9_quadratic_model as t9

    return [
        # (module, variant, the false statement, symbolic step that must reject it)
        (t2, "bracket_lower_b", "λ_i(G) ≥ (b/n)·λ_i(PKP)", t2._check_bracket_and_ranks),
        (t2a, "upper_pmin", "xᵀHx ≤ p_min‖x‖² (weight p_min − p_e)", t2a.check),
        (t5b, "overlap_min", "p − rank(Ĝ) ≥ Σ(m_{l−1}+1+m_{l+1}) − Σ min(d_l, d_{l+1})",
         t5b._check_counting),
        (t5b, "incoming_uses_m_l", "p − rank(Ĝ) ≥ Σ(m_l+1+m_{l+1}) − Σ d_l d_{l+1}",
         t5b._check_counting),
        (t6, "pair_s_squared", "eig(A⊗S) = {α_a s_b²}", t6._check_eigenpairs),
        (t6, "pair_s_squared", "eig(A⊗S) = {α_a s_b²} (Schur diagonal)", t6._check_similarity),
        (t7, "sigma1_drops_bias", "Σ¹ = σ_w² xᵀx′/d", t7._check_recursion_derivation),
        (t7, "sigma1_drops_bias", "Σ¹ = σ_w² xᵀx′/d (vs linrelu.kernels)",
         t7._check_library_recursion),
        (t7, "sigma1_drops_1_over_d", "Σ¹ = σ_w² xᵀx′ + σ_b²", t7._check_recursion_derivation),
        (t7, "sigma1_drops_1_over_d", "Σ¹ = σ_w² xᵀx′ + σ_b² (vs linrelu.kernels)",
         t7._check_library_recursion),
        (t7, "sigma_next_drops_bias", "Σ^{l+1} = σ_w² E[φφ]", t7._check_recursion_derivation),
        (t8, "isotropic_rank_over_N", "E[m_ε] = rank_ε(K)/N", t8._check_isotropic),
        (t8, "lower_condition_2n", "ρ_ε m_ε ≤ L_T/L_0 whenever ηε ≤ 2n",
         t8._check_sign_certificates),
        (t9, "bernoulli_coefficient_T", "(1 − x)^{2T} ≥ 1 − T·x", t9.check_bernoulli),
    ]


ISSUE19 = _issue19_cases()


@pytest.mark.parametrize(("module", "variant", "claim", "step"), ISSUE19,
                         ids=[f"{m.ID}-{v}-{s.__name__}" for m, v, _, s in ISSUE19])
def test_issue19_false_variant_rejected_by_a_symbolic_step(module, variant, claim, step):
    assert variant in module.MUTANTS
    with pytest.raises(AssertionError):
        step(variant)
    if step is not module.check:
        step(None)  # the same step passes the true statement


def test_t9_false_bernoulli_is_false():
    """(1 − x)^{2T} ≥ 1 − T·x fails at T = 1, x = ½ (¼ < ½); the true 1 − 2Tx = 0 holds."""
    from proofs.t9_quadratic_model import bernoulli_gap

    x, T = sp.Rational(1, 2), 1
    assert bernoulli_gap(x, T, "bernoulli_coefficient_T") == sp.Rational(-1, 4)
    assert bernoulli_gap(x, T) == sp.Rational(1, 4)


def test_t5b_several_dead_units_per_layer_and_adjacent_layers():
    """Sizes (1, 2, 2, 1), every hidden unit dead: only the output bias column σ_b survives, so
    p − rank(Ĝ) = 13 − 1 = 12 = the claimed bound; the two false variants claim 14."""
    from proofs import t5b_dead_units as t5b

    widths, dead = t5b.ALL_DEAD_WIDTHS, t5b.ALL_DEAD
    assert null_count_bound(widths, dead) == 12
    assert null_count_bound(widths, dead, "overlap_min") == 14
    assert null_count_bound(widths, dead, "incoming_uses_m_l") == 14
    net = make_net(widths, t5b.ALL_DEAD_MASKS)
    J = net.jacobian()
    nonzero = [j for j in range(J.cols) if not all(_sym.is_zero(e) for e in J[:, j])]
    assert len(net.params()) == 13 and len(nonzero) == 1
    assert sp.simplify(J[0, nonzero[0]] - net.sigma_b) == 0


def test_t7_proof_is_tied_to_the_library_kernels(monkeypatch):
    """A library recursion without the 1/d (or arc-cosine kernel without its √(1 − ρ²) term) is
    caught by the proof's comparison with linrelu.kernels."""
    import linrelu.kernels as lk
    from proofs import t7_infinite_width as t7

    original = lk._input_layer

    def no_fan_in(X1, X2, sigma_w, sigma_b):
        return original(X1, X2, sigma_w * X1.shape[1] ** 0.5, sigma_b)

    monkeypatch.setattr(lk, "_input_layer", no_fan_in)
    with pytest.raises(AssertionError, match="library"):
        t7._check_library_recursion(None)
    monkeypatch.setattr(lk, "_input_layer", original)
    monkeypatch.setattr(lk, "_sine_factor", lambda s1, s2, c: 0 * c)
    with pytest.raises(AssertionError, match="arccos_kernel_1"):
        t7._check_library_expectations(None)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.ID)
def test_changing_the_printed_statement_is_noticed(module, monkeypatch):
    """Editing only the printed statement fails `python -m proofs` (run_all) for that theorem."""
    assert module.STATEMENT == module.statement()
    monkeypatch.setattr(module, "STATEMENT", module.STATEMENT + " (edited)")
    (row,) = run_all(modules=[module])
    assert not row["passed"] and "printed statement" in row["error"]


def test_t8_statement_condition_edit_is_noticed(monkeypatch):
    """The audit's example: T8's printed condition ηε ≤ n changed to ηε ≤ 2n."""
    from proofs import t8_trainability as t8

    edited = t8.STATEMENT.replace("ε·η ≤ n;", "ε·η ≤ 2·n;")
    assert edited != t8.STATEMENT
    monkeypatch.setattr(t8, "STATEMENT", edited)
    (row,) = run_all(modules=[t8])
    assert not row["passed"]
    # the same edit made in the checked condition is the mutant lower_condition_2n: it prints
    # that statement and the check rejects it
    assert t8.statement("lower_condition_2n") == edited
    with pytest.raises(AssertionError):
        t8._check_sign_certificates("lower_condition_2n")


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.ID)
def test_statement_is_generated_from_the_claims(module):
    """At least one mutant of every theorem changes the printed statement: the statement is
    built from the claim expressions, not free text."""
    changed = [v for v in module.MUTANTS if module.statement(v) != module.statement()]
    assert changed, module.ID
