"""T2a (softmax Hessian bounds): module-specific regressions.

Issue 33, class E: T2a tested its upper constant only at uniform p, so b = min((p_min + p_max)/2,
½) passed although at p = (.3, .3, .4) the largest value of xᵀ(diag p − ppᵀ)x/xᵀx on 𝟙^⊥ is
.36 > .35. Class A: the hypothesis x ⊥ 𝟙 of the lower bound is an object the check uses.
Every numeric value below is computed with fractions or numpy, independently of proofs/.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

from proofs import t2a_softmax_hessian as t2a
from proofs._statement import ProofError, Report, evaluate_relation, falsify

VARIANTS = t2a.false_variants()


def _form(probs, vector):
    """xᵀ(diag p − ppᵀ)x with exact fractions."""
    mean = sum(p * x for p, x in zip(probs, vector, strict=True))
    return sum(p * x * x for p, x in zip(probs, vector, strict=True)) - mean * mean


def _values(probs, vector):
    probs = np.array([float(q) for q in probs])
    vector = np.array([float(c) for c in vector])
    return {t2a.k: probs.size, t2a.j: np.arange(probs.size), t2a.p: probs[:, None],
            t2a.x: vector[:, None], t2a.H: np.diag(probs) - np.outer(probs, probs),
            t2a.p_min: float(probs.min()), t2a.p_max: float(probs.max())}


def test_check_and_falsifier_pass():
    report = t2a.check()
    assert report.identities and report.solver
    counts = falsify(t2a.THEOREM, t2a.draw, t2a.FALSIFIER_TRIALS)
    assert all(not c["violations"] for c in counts.values()), counts
    assert all(c["checked"] > 0 for c in counts.values()), counts


def test_class_e_upper_constant_at_non_uniform_p():
    """p = (.3, .3, .4), x = (1, 1, −2) ⊥ 𝟙: xᵀHx/xᵀx = 9/25 = .36 > .35 = (p_min + p_max)/2."""
    probs = [Fraction(3, 10), Fraction(3, 10), Fraction(4, 10)]
    vector = [1, 1, -2]
    ratio = _form(probs, vector) / sum(c * c for c in vector)
    assert ratio == Fraction(9, 25)
    mean_constant = min((min(probs) + max(probs)) / 2, Fraction(1, 2))
    assert ratio > mean_constant == Fraction(7, 20)
    # numpy: the largest eigenvalue of H on the complement of the ones vector is the same .36
    hessian = np.diag([0.3, 0.3, 0.4]) - np.outer([0.3, 0.3, 0.4], [0.3, 0.3, 0.4])
    basis = np.linalg.qr(np.array([[1.0, 1, 1], [1, -1, 0], [1, 1, -2]]).T)[0][:, 1:]
    assert np.linalg.eigvalsh(basis.T @ hessian @ basis).max() == pytest.approx(0.36)
    variant = VARIANTS["upper_mean_of_extremes"]
    values = _values(probs, vector)
    assert not evaluate_relation(variant.claim("upper").conclusion, values)
    assert evaluate_relation(t2a.THEOREM.claim("upper").conclusion, values)
    with pytest.raises(ProofError, match="upper"):
        t2a.check(variant)


def test_old_mutant_lower_2_pmin_pmax_counterexample():
    """p = (.01, .01, .98), x = e_1 − e_2: xᵀHx/xᵀx = .01 < 2·p_min·p_max = .0196."""
    probs = [Fraction(1, 100), Fraction(1, 100), Fraction(98, 100)]
    ratio = _form(probs, [1, -1, 0]) / 2
    assert ratio == Fraction(1, 100) < 2 * min(probs) * max(probs)
    values = _values(probs, [1, -1, 0])
    assert not evaluate_relation(VARIANTS["lower_2_pmin_pmax"].claim("lower").conclusion, values)


def test_class_a_orthogonality_is_a_hypothesis_the_check_uses():
    """Dropping 𝟙ᵀx = 0: x = 𝟙 gives xᵀHx = 0 < k·p_min (here 3/10 at p = (.1, .3, .6))."""
    probs = [Fraction(1, 10), Fraction(3, 10), Fraction(6, 10)]
    assert _form(probs, [1, 1, 1]) == 0 < 3 * min(probs)
    variant = VARIANTS["lower_for_every_x"]
    values = _values(probs, [1, 1, 1])
    assert not evaluate_relation(variant.claim("lower").conclusion, values)
    assert t2a.THEOREM.claim("lower").hypotheses  # the object the check reads
    with pytest.raises(ProofError, match="lower: certificate identity"):
        t2a.check(variant)
    # a different orthogonality (to p instead of 𝟙) is not the hypothesis the certificate needs
    other = t2a.THEOREM.with_claim("lower", hypotheses=(sp.Eq(t2a.D.scalar(t2a.p.T * t2a.x), 0),))
    with pytest.raises(ProofError):
        t2a.check(other)


def test_sum_rule_is_read_from_the_hypothesis():
    """The sum over the other classes uses the theorem's 𝟙ᵀp = 1; without it (or over a shorter
    range) the kernel identity cannot be evaluated. p = (.5, 1) with p_2 = 1 shows the variant
    with the shorter range is false: H𝟙 = p(1 − 𝟙ᵀp) ≠ 0."""
    probs = np.array([0.5, 1.0])
    hessian = np.diag(probs) - np.outer(probs, probs)
    assert np.abs(hessian @ np.ones(2)).max() > 0.1
    with pytest.raises(ProofError, match="sum rule"):
        t2a.check(VARIANTS["sum_rule_wrong"])


def test_positivity_is_needed():
    """Without 0 < p_min: k = 2, p = (−.5, 1.5), x = (1, −1) ⊥ 𝟙 gives xᵀHx = −3, below
    p_min·xᵀx = −1."""
    probs = [Fraction(-1, 2), Fraction(3, 2)]
    assert _form(probs, [1, -1]) == -3 < min(probs) * 2
    with pytest.raises(ProofError, match="nonnegative"):
        t2a.check(VARIANTS["positivity_dropped"])


def test_lower_bound_is_sharp_for_a_tie_at_the_minimum():
    """The proved constant is attained: two classes tied at p_min, x = e_1 − e_2."""
    probs = [Fraction(1, 8), Fraction(1, 8), Fraction(3, 4)]
    assert _form(probs, [1, -1, 0]) / 2 == min(probs)


def test_an_indicator_in_a_weight_is_a_number_between_zero_and_one():
    """[e = f] stands for a number t with 0 ≤ t ≤ 1: 1 − [e = f] and [e = f] are nonnegative
    weights, [e = f] − 1 is not (t = 0)."""
    e, f = sp.symbols("e f", integer=True)
    delta = sp.KroneckerDelta(e, f)
    base = t2a.x[e, 0] - t2a.x[f, 0]
    report = Report(t2a.THEOREM)
    squares = (t2a.Square("complement", 1 - delta, base, (e, f)),
               t2a.Square("indicator", delta, base, (e, f)))
    facts = t2a.weights_nonnegative(report, "probe", squares, ())
    assert facts == tuple(sp.Ge(square.value, 0) for square in squares)
    assert report.solver == ["probe: weight of the complement is nonnegative",
                             "probe: weight of the indicator is nonnegative"]
    with pytest.raises(ProofError, match="^T2a probe: weight of the excess is nonnegative: the "
                                         "solver does not prove"):
        t2a.weights_nonnegative(report, "probe", (t2a.Square("excess", delta - 1, base, (e, f)),),
                                ())
