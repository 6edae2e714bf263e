"""T9 regressions (GD on the local quadratic model): the counterexample to the statement THEORY.md
printed (no Ĝ ≽ 0), issue 33's false variants for T9, one test per issue class the module
covers (each a false variant the proof rejects), and facts computed independently with a plain
GD loop in exact fractions (never with the module's symbolic code)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from proofs import t9_quadratic_model as t9
from proofs._statement import evaluate_relation, falsify, strict_relation_holds

VARIANTS = t9.false_variants()


def rejection(name: str) -> str:
    """The proof's error message for false variant ``name`` (it must be rejected)."""
    variant = VARIANTS[name]
    assert variant.render() != t9.THEOREM.render()
    with pytest.raises(AssertionError) as info:
        t9.check(variant)
    return str(info.value)


def gd_decrease(hess, grad, eta, steps) -> list:
    """L_0 − q(Δ_t), t = 0..steps, for the quadratic model with L_0 = 0, by the plain GD loop
    Δ ← Δ − η(g + ĜΔ) in exact rational arithmetic."""
    size = len(grad)
    delta = [Fraction(0)] * size
    out = []
    for _ in range(steps + 1):
        g_delta = sum(grad[r] * delta[r] for r in range(size))
        quad = sum(delta[r] * hess[r][c] * delta[c] for r in range(size) for c in range(size))
        out.append(-(g_delta + quad / 2))
        move = [grad[r] + sum(hess[r][c] * delta[c] for c in range(size)) for r in range(size)]
        delta = [delta[r] - eta * move[r] for r in range(size)]
    return out


def values(decrease, steps, eta, eps, grad, eig, start=0.0):
    """Values of the statement's symbols for one instance (eigenbasis components given)."""
    return {t9.L0: start, t9.eta: eta, t9.eps: eps, t9.T: steps, t9.p: len(grad),
            t9.g[t9.j]: np.array(grad, dtype=float), t9.lam[t9.j]: np.array(eig, dtype=float),
            t9.q[t9.T]: start - float(decrease[steps]),
            t9.q[t9.T + 1]: start - float(decrease[steps + 1])}


def test_the_theorem_is_proved():
    report = t9.check()
    assert report.identities and report.solver and report.inductions


def test_every_old_mutant_is_a_false_variant():
    assert {"progress_exponent_T", "drift_halved", "bernoulli_odd_power",
            "bernoulli_coefficient_T", "steep_bound_quartered",
            "flat_bound_half_drift"} <= set(VARIANTS)


def test_theory_counterexample_without_psd_hessian():
    """THEORY.md printed the bound without Ĝ ≽ 0. One direction λ = −1, g = 1, η = 1, T = 1,
    ε = 0: GD gives L_0 − q(Δ_1) = 3/2 > Tηg² = 1 (λ ≤ ε, a flat direction)."""
    decrease = gd_decrease([[Fraction(-1)]], [Fraction(1)], Fraction(1), 2)
    assert decrease[1] == Fraction(3, 2) > 1
    instance = values(decrease, 1, 1.0, 0.0, [1.0], [-1.0])
    variant = VARIANTS["bound_without_nonnegative_eigenvalues"]
    assert not evaluate_relation(variant.claim("bound").conclusion, instance)
    assert all(strict_relation_holds(h, instance) for h in variant.hypotheses_of("bound"))
    # the corrected statement excludes it by its hypothesis λ_j ≥ 0
    assert not all(strict_relation_holds(h, instance)
                   for h in t9.THEOREM.hypotheses_of("bound"))
    message = rejection("bound_without_nonnegative_eigenvalues")
    assert "solver" in message and "counterexample" in message and "λ_j = −" in message


def test_the_decrease_formula_against_exact_gd():
    """A rotated 2 × 2 Ĝ (3-4-5 rotation, eigenvalues 1/2 and 0) and a diagonal 3 × 3 one: the
    statement's decrease (both Piecewise branches) equals the exact GD loop's."""
    rot = [[Fraction(3, 5), Fraction(-4, 5)], [Fraction(4, 5), Fraction(3, 5)]]
    eig = [Fraction(1, 2), Fraction(0)]
    hess = [[sum(rot[r][k] * eig[k] * rot[c][k] for k in range(2)) for c in range(2)]
            for r in range(2)]
    grad = [Fraction(1), Fraction(-2)]
    components = [sum(rot[r][k] * grad[r] for r in range(2)) for k in range(2)]
    cases = [(hess, grad, components, eig, Fraction(3, 2), 4),
             ([[Fraction(2), 0, 0], [0, Fraction(1, 3), 0], [0, 0, Fraction(5)]],
              [Fraction(1), Fraction(2), Fraction(-1)], [1, 2, -1], [2, Fraction(1, 3), 5],
              Fraction(1, 2), 3)]
    for matrix, gvec, comps, lams, step, steps in cases:
        decrease = gd_decrease(matrix, gvec, step, steps + 1)
        for k in range(1, steps + 1):
            instance = values(decrease, k, float(step), 0.1, comps, lams)
            assert evaluate_relation(t9.THEOREM.claim("decrease").conclusion, instance)
            halved = VARIANTS["drift_halved"].claim("decrease").conclusion
            assert evaluate_relation(halved, instance) == (0 not in lams)


def test_class_a_the_sign_of_the_decrease_is_checked():
    """Issue 33: "L_0 − q(Δ_T)" edited into "q(Δ_T) − L_0". With η = 3, λ = 1, g = 1, T = 1
    (ε = 0, steep) GD gives q(Δ_1) − L_0 = 3/2 > g²/(2λ) = 1/2."""
    decrease = gd_decrease([[Fraction(1)]], [Fraction(1)], Fraction(3), 2)
    assert -decrease[1] == Fraction(3, 2) > Fraction(1, 2)
    rejection("decrease_sign_reversed")
    assert "counterexample" in rejection("bound_sign_reversed")
    assert "constant" in rejection("bound_forgets_the_start")


def test_class_b_the_model_and_the_step_are_the_definitions_module_objects():
    """The printed q_t and GD step are checked against ``_defs.quadratic_model`` and its
    gradient; a model without the ½ or a doubled step is rejected."""
    assert "model definition" in rejection("model_without_half")
    assert "step definition" in rejection("step_doubled")


def test_class_c_every_number_of_steps_and_every_direction():
    """A bound true for T ≤ 3 only (drift capped at 3η) is refuted by the symbolic-T step; one
    false at T = 1 (drift T²η/4) by the fixed-exponent step; a flat sum that skips the first
    direction by the range check. Exact GD: λ = 0, g = 1, η = 1 gives a decrease T > 3 at T = 4
    and 1 > 1/4 at T = 1."""
    decrease = gd_decrease([[Fraction(0)]], [Fraction(1)], Fraction(1), 4)
    assert decrease[4] == 4 > 3 and decrease[1] == 1 > Fraction(1, 4)
    assert "every larger number of steps" in rejection("flat_bound_capped_at_three_steps")
    assert "fixed at 1" in rejection("flat_bound_quadratic_in_the_steps")
    assert "range" in rejection("bound_flat_sum_from_the_second_direction")


def test_class_d_bernoulli_is_the_claim_the_bound_uses():
    """The bound's fact is the Bernoulli claim's own conclusion, proved against itself: its
    false forms are rejected (exact: (1 − 4)³ = −27 < 1 − 3·4 = −11; (1 − 1/2)² = 1/4 < 1 − 1/2;
    (1 + (−1/2))² = 1/4 < 1 − 2·(−1/2) = 2)."""
    assert (1 - 4) ** 3 < 1 - 3 * 4
    assert (1 - Fraction(1, 2)) ** 2 < 1 - Fraction(1, 2)
    assert (1 + Fraction(-1, 2)) ** 2 < 1 - 2 * Fraction(-1, 2)
    assert "even" in rejection("bernoulli_odd_power")
    assert "telescoped" in rejection("bernoulli_coefficient_T")
    assert "telescoped" in rejection("bernoulli_base_sign")


def test_class_g_both_branches_and_their_conditions_are_checked():
    """The λ_j = 0 branch is checked (drift halved), and a branch condition narrowed to λ_j > 0
    is refuted in the case λ_j < 0 (exact GD: λ = −1, g = 1, η = 1, T = 1 gives 3/2, not
    Tηg² = 1)."""
    decrease = gd_decrease([[Fraction(-1)]], [Fraction(1)], Fraction(1), 1)
    assert decrease[1] == Fraction(3, 2)
    rejection("drift_halved")
    rejection("decrease_branch_for_positive_eigenvalues_only")
    rejection("progress_exponent_T")


def test_monotone_needs_the_step_condition():
    """η = 3, λ = 1, g = 1: the decrease is −3/2 after one step and −15/2 after two."""
    decrease = gd_decrease([[Fraction(1)]], [Fraction(1)], Fraction(3), 2)
    assert decrease[2] < decrease[1]
    for name in ("monotone_without_step_condition", "monotone_step_condition_weakened",
                 "monotone_reversed"):
        assert "counterexample" in rejection(name)


def test_the_numeric_falsifier_refutes_false_variants_independently():
    def violations(theorem):
        counts = falsify(theorem, t9.draw, t9.FALSIFIER_TRIALS)
        return {name for name, c in counts.items() if c["violations"]}

    assert violations(t9.THEOREM) == set()
    assert violations(VARIANTS["progress_exponent_T"]) == {"decrease"}
    assert violations(VARIANTS["flat_bound_half_drift"]) == {"bound"}
    assert violations(VARIANTS["monotone_without_step_condition"]) == {"monotone"}
