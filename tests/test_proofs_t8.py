"""T8 regressions: THEORY.md's counterexamples, the issue-33 false variants of T8 (classes A, B
and D), each computed independently of proofs/ with exact fractions."""

from __future__ import annotations

from fractions import Fraction

import pytest
import sympy as sp

from proofs import t8_trainability as t8
from proofs._statement import evaluate_relation


def gd_ratio(lams, coords, eta, n, steps):
    """L_T/L_0 of GD on the linearized mse problem, run in its eigenbasis with exact fractions:
    each coordinate is multiplied by (1 − ηλ/n) per step (one-dimensional K = [λ])."""
    now = list(coords)
    for _ in range(steps):
        now = [(1 - Fraction(eta) * lam / n) * x for x, lam in zip(now, lams, strict=True)]
    return sum(x * x for x in now) / sum(x * x for x in coords)


def values(lam, eps, eta=1, n=1, steps=1, tau=Fraction(1, 2)):
    """Exact values of T8's symbols for K = [λ], r_0 = 1 (one eigendirection)."""
    lam, eps = Fraction(lam), Fraction(eps)
    ratio = gd_ratio([lam], [Fraction(1)], eta, n, steps)
    flat = Fraction(1) if lam <= eps else Fraction(0)
    rho = (1 - Fraction(eta) * eps / n) ** (2 * steps)
    rank = 0 if abs(lam) <= eps else 1
    return {t8.eta: float(eta), t8.n: float(n), t8.eps: float(eps), t8.T: steps, t8.N: 1,
            t8.tau: float(tau), t8.lam_max: float(lam), t8.lam[t8.j]: [float(lam)],
            t8.c[t8.j]: [1.0], t8.R: float(ratio), t8.m: float(flat), t8.rho: float(rho),
            t8.E_R: float(ratio), t8.E_m: float(flat), t8.rank: rank}


def holds(claim, vals):
    return all(evaluate_relation(h, vals, rtol=0.0) for h in t8.THEOREM.hypotheses_of(claim))


def test_lower_bound_counterexample_of_theory_md():
    """K = [1], n = η = T = 1, ε = 2: L_1/L_0 = 0 < ρ_ε m_ε = 1. The stated condition ηε ≤ n
    excludes it; the variant without it is false there and rejected by the proof."""
    vals = values(lam=1, eps=2)
    assert gd_ratio([Fraction(1)], [Fraction(1)], 1, 1, 1) == 0
    assert vals[t8.rho] * vals[t8.m] == 1.0
    assert not holds("lower", vals)
    variant = t8.false_variants()["lower_without_condition"]
    assert all(evaluate_relation(h, vals, 0.0) for h in variant.hypotheses_of("lower"))
    assert not evaluate_relation(variant.claim("lower").conclusion, vals)
    with pytest.raises(AssertionError, match="lower"):
        t8.check(variant)


def test_upper_bound_needs_the_eta_eps_term():
    """K = [3/2], n = η = T = 1, ε = 1: ηλ_max ≤ 2n holds, L_1/L_0 = 1/4 > the bound 0."""
    vals = values(lam=Fraction(3, 2), eps=1)
    assert gd_ratio([Fraction(3, 2)], [Fraction(1)], 1, 1, 1) == Fraction(1, 4)
    assert not holds("upper", vals)
    variant = t8.false_variants()["upper_condition_without_eps"]
    assert all(evaluate_relation(h, vals, 0.0) for h in variant.hypotheses_of("upper"))
    assert not evaluate_relation(variant.claim("upper").conclusion, vals)
    with pytest.raises(AssertionError, match="upper"):
        t8.check(variant)


def test_isotropic_necessary_condition_counterexample_of_issue_33():
    """K = [1], n = η = T = 1, ε = 2, τ = ½: E[L_1/L_0] = 0 ≤ τ yet rank_ε(K) = 0 < ½ =
    N(1 − τ/ρ_ε): the printed condition without ηε ≤ n was false; now ηε < n is stated."""
    vals = values(lam=1, eps=2)
    assert vals[t8.E_R] == 0.0 and vals[t8.rank] == 0
    assert vals[t8.N] * (1 - vals[t8.tau] / vals[t8.rho]) == 0.5
    assert not holds("isotropic_necessary", vals)
    condition = sp.Lt(t8.eta * t8.eps, t8.n)
    assert condition in t8.THEOREM.claim("isotropic_necessary").hypotheses
    variant = t8.false_variants()["isotropic_necessary_without_condition"]
    assert not evaluate_relation(variant.claim("isotropic_necessary").conclusion, vals)
    with pytest.raises(AssertionError, match="isotropic_necessary"):
        t8.check(variant)


@pytest.mark.parametrize("name", ["lower_condition_three_halves_n", "upper_condition_half_eps",
                                  "isotropic_flat_count_plus_one"])
def test_class_d_weakened_conditions_and_typed_counts_are_rejected(name):
    """Class D (certificates that trust their caller): the issue's four false T8 variants that
    passed (ηε ≤ 3n/2, ηλ_max + ηε/2 ≤ 2n, flat count N − r + 1) are rejected by the solver."""
    with pytest.raises(AssertionError, match="solver does not prove"):
        t8.check(t8.false_variants()[name])


def test_class_d_weakened_lower_condition_is_false_on_an_instance():
    """ηε ≤ 3n/2 admits η = n = T = 1, ε = 3/2 and K = [1]: L_1/L_0 = 0 < ρ_ε m_ε = 1/4."""
    vals = values(lam=1, eps=Fraction(3, 2))
    assert gd_ratio([Fraction(1)], [Fraction(1)], 1, 1, 1) == 0
    assert (1 - Fraction(3, 2)) ** 2 == Fraction(1, 4)
    variant = t8.false_variants()["lower_condition_three_halves_n"]
    assert all(evaluate_relation(h, vals, 0.0) for h in variant.hypotheses_of("lower"))
    assert not evaluate_relation(variant.claim("lower").conclusion, vals)
    assert not holds("lower", vals)


def test_class_b_gd_step_uses_the_defined_loss():
    """Class B: the GD step's 1/n comes from the one definition of the loss (proofs._defs);
    claiming the step without it is rejected by the matrix identity."""
    with pytest.raises(AssertionError, match="gradient step"):
        t8.check(t8.false_variants()["step_missing_one_over_n"])


def test_class_a_the_printed_condition_is_the_checked_one():
    """Class A: editing a condition changes both the printed statement and the proof
    obligation (no text is typed: the condition is the relation the solver reads)."""
    variant = t8.false_variants()["lower_condition_two_n"]
    assert "ε·η ≤ 2·n" in variant.render() and "ε·η ≤ 2·n" not in t8.THEOREM.render()
    with pytest.raises(AssertionError):
        t8.check(variant)


def test_the_proof_records_solver_induction_and_instances():
    report = t8.check()
    assert len(report.solver) >= 50
    assert any("telescoping" in step for step in report.inductions)
    assert any(step.startswith("closed_form") for step in report.inductions)


def test_a_single_power_term_is_nonnegative_only_with_its_base():
    """A coefficient A^T (one term, no subtrahend): the solver decides A ≥ 0 from the hypotheses
    ("base sign"); without a sign for A the step fails."""
    from proofs._statement import ProofError, Report

    x = sp.Symbol("x", real=True)
    report = Report(t8.THEOREM)
    t8._nonnegative_coefficient(x**t8.T, (sp.Ge(x, 0),), report, "one power")
    assert "one power, base sign" in report.solver
    with pytest.raises(ProofError):
        t8._nonnegative_coefficient(x**t8.T, (sp.Ge(x, -1),), Report(t8.THEOREM), "one power")
