"""T3 regressions: the issue-33 false variants of T3 (classes B and C), the chain rule that the
loss objects of ``proofs._defs`` encode checked against sympy's own chain rule, and the facts
behind the variants computed independently with exact fractions or numpy."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

from proofs import _defs as D
from proofs import t3_linearized as t3
from proofs._statement import evaluate_expr, falsify

VARIANTS = t3.false_variants()


def mixed_difference(fn, x, y, h):
    """[F(x+h, y+h) − F(x+h, y−h) − F(x−h, y+h) + F(x−h, y−h)] / (4h²)."""
    return (fn(x + h, y + h) - fn(x + h, y - h) - fn(x - h, y + h) + fn(x - h, y - h)) / (4 * h * h)


@pytest.mark.parametrize("outputs", [1, 2, 3])
def test_loss_objects_follow_sympys_chain_rule(outputs):
    """The derivative rule of ``_defs.ell`` (Σ_c ∂ℓ/∂u_c ∂u_c) and of ``loss_gradient``, at k
    outputs, equals sympy's chain rule for an undefined loss of k arguments (second order)."""
    i = sp.Symbol("i", integer=True)
    a, b = sp.symbols("a b", real=True)
    comps = [sp.Function("f")(i, c, a, b) for c in range(outputs)]
    us = sp.symbols(f"u0:{outputs}", real=True)
    loss = sp.Function("loss")(*us)
    at = dict(zip(us, comps, strict=True))
    expected = sp.diff(loss.subs(at), a, b)

    vector = sp.Function("f")(i, a, b)
    ours = sp.diff(D.ell(i, vector), a, b).subs(D.k, outputs).doit()
    ours = ours.replace(lambda e: isinstance(e, D.loss_hessian),
                        lambda e: sp.diff(loss, us[int(e.args[1])], us[int(e.args[2])]).subs(at))
    ours = ours.replace(lambda e: isinstance(e, D.loss_gradient),
                        lambda e: sp.diff(loss, us[int(e.args[1])]).subs(at))
    assert sp.expand(ours - expected) == 0


def test_drop_residual_is_false_exactly():
    """f = θ_1θ_2 (n = k = 1), ℓ(u) = u²/2 at θ = (2, 3): ∂²L/∂θ_1∂θ_2 = 12 (exact mixed
    difference of a separable quadratic), Ĝ_12 = ℓ''·∂_1f·∂_2f = 6, R_12 = ℓ'·∂_1∂_2f = 6."""
    def L(x, y):
        return (x * y) ** 2 / 2

    x, y = Fraction(2), Fraction(3)
    hess = mixed_difference(L, x, y, Fraction(1))
    ggn, residual = 1 * y * x, (x * y) * 1
    assert hess == 12 and ggn + residual == hess and ggn != hess
    with pytest.raises(AssertionError, match="real"):
        t3.check(VARIANTS["drop_residual"])


@pytest.mark.parametrize("name", ["loss_halved", "linearized_loss_halved",
                                  "ggn_missing_one_over_n", "residual_without_one_over_n"])
def test_one_definition_typed_twice_is_rejected(name):
    """Class B: L, L_lin, Ĝ and R are the statement's definitions (``_defs.empirical_loss``,
    ``ggn_entry``, ``residual_entry``); halving the loss or dropping 1/n in one place only is a
    false statement the proof rejects."""
    with pytest.raises(AssertionError, match="real|linearized"):
        t3.check(VARIANTS[name])


def test_loss_halved_only_in_the_loss_is_false_exactly():
    """With L halved and Ĝ + R not, the example above gives 6 ≠ 12."""
    def half_L(x, y):
        return (x * y) ** 2 / 4

    assert mixed_difference(half_L, Fraction(2), Fraction(3), Fraction(1)) == 6


def test_linearized_hessian_is_taken_at_the_linearized_outputs():
    """f = θ_1θ_2 at θ_0 = (1, 1), ℓ(u) = u⁴/4, θ = (2, 2): f_lin = θ_1 + θ_2 − 1 = 3, so
    ∂²L_lin/∂θ_1∂θ_2 = ℓ''(3)·1·1 = 27, not ℓ''(f(θ_0)) = 3 (the old mutant)."""
    def L_lin(x, y):
        return (x + y - 1) ** 4 / 4

    h = Fraction(1, 1000)
    assert abs(float(mixed_difference(L_lin, Fraction(2), Fraction(2), h)) - 27) < 1e-4
    with pytest.raises(AssertionError, match="linearized"):
        t3.check(VARIANTS["lin_hessian_at_theta0"])


@pytest.mark.parametrize("name", ["ggn_outputs_capped_at_three", "ggn_outputs_short_by_one",
                                  "loss_samples_from_one"])
def test_a_claim_for_every_size_is_checked_at_every_size(name):
    """Class C: n and k are symbolic in the proof, so a range that is right only at small sizes
    (outputs capped at 3) or shifted by one is rejected."""
    with pytest.raises(AssertionError, match="real"):
        t3.check(VARIANTS[name])


def test_capped_output_range_is_false_at_four_outputs():
    """Σ_{c<min(k,3)} drops output 3 of a k = 4 model: the GGN entry changes."""
    rng = np.random.default_rng(0)
    ja, jb = rng.normal(size=4), rng.normal(size=4)
    hess = np.eye(4)
    assert not np.isclose(ja @ hess @ jb, ja[:3] @ hess[:3, :3] @ jb[:3])


def test_ggn_entry_is_the_entry_of_t1s_ggn():
    """The Ĝ_ab that T3 prints (``_defs.ggn_entry``) evaluated on random derivatives equals the
    (a, b) entry of JᵀHJ/n with J stacked from the samples and H block diagonal (numpy)."""
    rng = np.random.default_rng(2)
    samples, outs = 3, 2
    ja, jb = rng.normal(size=(samples, outs)), rng.normal(size=(samples, outs))
    blocks = rng.normal(size=(samples, outs, outs))
    blocks = blocks + blocks.transpose(0, 2, 1)
    J = np.stack([ja.reshape(-1), jb.reshape(-1)], axis=1)
    H = np.zeros((samples * outs,) * 2)
    for s in range(samples):
        H[s * outs:(s + 1) * outs, s * outs:(s + 1) * outs] = blocks[s]
    expected = (J.T @ H @ J / samples)[0, 1]
    rhs = dict((d.lhs, d.rhs) for d in t3.THEOREM.definitions)[t3.G_ab]
    values = {t3.n: float(samples), t3.k: outs,
              sp.Derivative(t3.f(t3.i, t3.c, t3.ta, t3.tb), t3.ta): ja[:, :, None],
              sp.Derivative(t3.f(t3.i, t3.d, t3.ta, t3.tb), t3.tb): jb[:, None, :],
              D.loss_hessian(t3.i, t3.c, t3.d, t3.outputs): blocks}
    assert np.isclose(float(evaluate_expr(rhs, values)), expected)


@pytest.mark.parametrize("name", ["residual_subtracted", "ggn_same_parameter_twice",
                                  "residual_second_derivative_in_one_parameter",
                                  "linearized_with_the_real_residual",
                                  "linearization_without_slope"])
def test_wrong_sign_term_or_derivative_is_rejected(name):
    with pytest.raises(AssertionError):
        t3.check(VARIANTS[name])


def test_falsifier_checks_both_claims_and_refutes_a_dropped_residual():
    counts = falsify(t3.THEOREM, t3.draw, t3.FALSIFIER_TRIALS)
    assert all(c["checked"] == t3.FALSIFIER_TRIALS and not c["violations"]
               for c in counts.values())
    dropped = falsify(VARIANTS["drop_residual"], t3.draw, t3.FALSIFIER_TRIALS)
    assert dropped["real"]["violations"]
