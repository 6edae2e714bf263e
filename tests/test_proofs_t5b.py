"""T5b regressions (issue 33): THEORY.md's counterexample to the uncorrected count, the column
sets a dead unit kills (class F: structured objects, each checked), the count at every depth
(class C) and the old mutants, each rejected by the proof; numeric facts come from an independent
numpy ReLU network with an analytic (backpropagation) Jacobian."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from proofs import t5b_dead_units as t5b
from proofs._statement import ProofError, evaluate_relation

VARIANTS = t5b.false_variants()
CLAIM = t5b.THEOREM.claim("null_count")


def _jacobian(params, X, sw=1.0, sb=1.0):
    """f(X) (n × k) and J (nk × p, row i·k + c, parameters W_1 row-major, b_1, W_2, ...) of a
    ReLU MLP in the NTK parameterization, by backpropagation (D = 1[z > 0])."""
    rows = []
    for x in X:
        acts, masks = [x], []
        for idx, (weight, bias) in enumerate(params):
            z = sw / np.sqrt(weight.shape[0]) * acts[-1] @ weight + sb * bias
            if idx < len(params) - 1:
                masks.append((z > 0).astype(float))
                acts.append(z * masks[-1])
        for c in range(params[-1][0].shape[1]):
            delta = np.eye(params[-1][0].shape[1])[c]
            grads = []
            for idx in range(len(params) - 1, -1, -1):
                weight = params[idx][0]
                grads.append((sw / np.sqrt(weight.shape[0]) * np.outer(acts[idx], delta),
                              sb * delta))
                if idx:
                    delta = masks[idx - 1] * (sw / np.sqrt(weight.shape[0]) * weight @ delta)
            rows.append(np.concatenate([np.concatenate([gw.ravel(), gb])
                                        for gw, gb in reversed(grads)]))
    return np.array(rows)


def _nullity(jac, n):
    ggn = jac.T @ jac / n
    return ggn.shape[0] - np.linalg.matrix_rank(ggn), ggn


def _values(depth, widths, dead, ggn):
    """The statement's symbols on one instance (``dead`` = d_0 … d_{L+1})."""
    wid, dd = np.asarray(widths, float), np.asarray(dead, float)
    return {t5b.L: depth, t5b.p: ggn.shape[0], t5b.G_hat: ggn,
            t5b.m[t5b.l - 1]: wid[:depth], t5b.m[t5b.l + 1]: wid[2:depth + 2],
            t5b.d[t5b.l]: dd[1:depth + 1], t5b.d[t5b.i]: dd[1:depth],
            t5b.d[t5b.i + 1]: dd[2:depth + 1]}


def _counterexample():
    """Sizes (1, 1, 1, 1), x = 1, σ_w = σ_b = 1: z_1 = 1 − 2 < 0 and z_2 = 0 − 1 < 0, so both
    hidden units are dead; the output bias b_3 = ½ keeps its column σ_b = 1."""
    one = np.ones((1, 1))
    params = [(one, np.array([-2.0])), (one, np.array([-1.0])), (one, np.array([0.5]))]
    return params, np.ones((1, 1))


def test_theory_counterexample_independently():
    params, X = _counterexample()
    jac = _jacobian(params, X)
    assert np.count_nonzero(np.any(jac != 0, axis=0)) == 1 and jac[0, -1] == 1.0
    nullity, ggn = _nullity(jac, 1)
    widths, dead = (1, 1, 1, 1), (0, 1, 1, 0)
    uncorrected = sum(dead[q] * (widths[q - 1] + 1 + widths[q + 1]) for q in (1, 2))
    corrected = uncorrected - dead[1] * dead[2]
    assert (ggn.shape[0], nullity, uncorrected, corrected) == (6, 5, 6, 5)
    values = _values(2, widths, dead, ggn)
    assert evaluate_relation(CLAIM.conclusion, values)
    for name in ("theory_md_count", "grid_union_without_intersection"):
        assert not evaluate_relation(VARIANTS[name].claim("null_count").conclusion, values)


@pytest.mark.parametrize("name", ["theory_md_count", "grid_union_without_intersection",
                                  "overlap_min", "incoming_uses_m_l"])
def test_the_uncorrected_counts_are_rejected_by_the_induction(name):
    with pytest.raises(ProofError, match="null_count"):
        t5b.check(VARIANTS[name])


def test_every_old_mutant_is_a_false_variant():
    old = {"theory_md_count", "next_layer_bias", "grid_union_without_intersection",
           "overlap_min", "incoming_uses_m_l"}
    assert old <= set(VARIANTS)


def _network_with_dead_unit(seed=3):
    """Widths (2, 3, 3, 2), four inputs; unit 0 of layer 1 dead (bias far below its drive)."""
    rng = np.random.default_rng(seed)
    widths = (2, 3, 3, 2)
    X = rng.normal(size=(4, 2))
    params = [(rng.normal(size=(widths[q - 1], widths[q])), np.abs(rng.normal(size=widths[q])))
              for q in range(1, 4)]
    drive = X @ params[0][0] / np.sqrt(2)
    params[0][1][0] = -1.0 - drive[:, 0].max()
    return params, X


def _column_slices(widths):
    """Flat-parameter slices of W_j and b_j (j from 1)."""
    out, start = {}, 0
    for q in range(1, len(widths)):
        size = widths[q - 1] * widths[q]
        out[("W", q)] = slice(start, start + size)
        out[("b", q)] = slice(start + size, start + size + widths[q])
        start += size + widths[q]
    return out


def test_class_f_the_wrong_column_sets_are_nonzero_numerically():
    """Dead unit 0 of layer 1: its incoming, bias and outgoing columns vanish; b_2 and the
    column W_2[:, 0] do not."""
    params, X = _network_with_dead_unit()
    jac = _jacobian(params, X)
    cols = _column_slices((2, 3, 3, 2))
    w1 = jac[:, cols[("W", 1)]].reshape(len(jac), 2, 3)
    w2 = jac[:, cols[("W", 2)]].reshape(len(jac), 3, 3)
    assert not w1[:, :, 0].any() and not jac[:, cols[("b", 1)]][:, 0].any()
    assert not w2[:, 0, :].any()
    assert np.abs(jac[:, cols[("b", 2)]]).max() > 1e-3
    assert np.abs(w2[:, :, 0]).max() > 1e-3


@pytest.mark.parametrize("name", ["next_layer_bias", "next_layer_bias_only",
                                  "outgoing_column_instead_of_row"])
def test_class_f_a_wrong_column_set_is_rejected(name):
    with pytest.raises(ProofError, match="dead_columns"):
        t5b.check(VARIANTS[name])


def test_class_f_the_next_layer_bias_fails_at_its_derivative():
    with pytest.raises(ProofError, match="column vanishes"):
        t5b.check(VARIANTS["next_layer_bias"])


def test_class_f_the_outgoing_column_fails_at_its_derivative_even_when_in_range():
    """With u ≤ m_(l+1) added (two fields changed), W_(l+1)[:, u] passes the range check and is
    rejected by its own derivative, which keeps δ_(l+1,u)."""
    claim = t5b.THEOREM.claim("dead_columns")
    wrong = sp.Eq(sp.Sum(sp.Derivative(t5b.f, t5b.W[t5b.l + 1, t5b.e, t5b.u]) ** 2,
                         (t5b.e, 1, t5b.m[t5b.l])), 0)
    variant = t5b.THEOREM.with_claim(
        "dead_columns", conclusion=sp.And(t5b.INCOMING, t5b.BIAS, wrong),
        hypotheses=claim.hypotheses + (sp.Le(t5b.u, t5b.m[t5b.l + 1]),))
    with pytest.raises(ProofError, match="column vanishes"):
        t5b.check(variant)


def test_each_claimed_column_set_is_checked():
    """Every derivative named in dead_columns is a structured object with its own step."""
    report = t5b.check()
    steps = [s for s in report.identities
             if s.startswith("dead_columns") and s.endswith("column vanishes")]
    assert len(steps) == len(t5b._derivatives(t5b.THEOREM.claim("dead_columns").conclusion)) == 3


@pytest.mark.parametrize("name", ["unit_not_dead", "output_layer_unit"])
def test_a_dropped_hypothesis_is_rejected(name):
    with pytest.raises(ProofError, match="dead_columns"):
        t5b.check(VARIANTS[name])


def test_an_output_unit_below_zero_keeps_its_bias_column():
    """The output layer has no ReLU: an output that is negative on every input still has the
    bias column σ_b (so the claim needs l ≤ L)."""
    params, X = _counterexample()
    params[-1] = (params[-1][0], np.array([-3.0]))
    jac = _jacobian(params, X)
    assert jac[0, -1] == 1.0


def _all_dead(widths, inputs=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(inputs, widths[0]))
    params = [(rng.normal(size=(widths[q - 1], widths[q])), -10.0 - np.abs(
        rng.normal(size=widths[q]))) for q in range(1, len(widths))]
    params[-1] = (params[-1][0], rng.normal(size=widths[-1]))
    return params, X


def test_class_c_the_correction_is_needed_at_every_depth():
    """Sizes (1, 2, 2, 1), every hidden unit dead: p − rank(Ĝ) = 12, the corrected bound; the
    correction started at the second layer (never checked at depth 2) claims 16."""
    params, X = _all_dead((1, 2, 2, 1))
    nullity, ggn = _nullity(_jacobian(params, X), len(X))
    assert (ggn.shape[0], nullity) == (13, 12)
    values = _values(2, (1, 2, 2, 1), (0, 2, 2, 0), ggn)
    assert evaluate_relation(CLAIM.conclusion, values)
    assert 2 * (1 + 1 + 2) + 2 * (2 + 1 + 1) == 16
    with pytest.raises(ProofError):
        t5b.check(VARIANTS["overlap_from_second_layer"])


def test_deeper_all_dead_networks_attain_the_bound():
    """Depths 3 and 4, every hidden unit dead: p − rank(Ĝ) = p − (output biases) = the bound."""
    for widths in ((2, 2, 1, 2, 1), (1, 1, 2, 2, 1, 2)):
        depth = len(widths) - 2
        params, X = _all_dead(widths)
        nullity, ggn = _nullity(_jacobian(params, X), len(X))
        dead = (0, *widths[1:-1], 0)
        bound = sum(dead[q] * (widths[q - 1] + 1 + widths[q + 1]) for q in range(1, depth + 1)) \
            - sum(dead[q] * dead[q + 1] for q in range(1, depth))
        assert nullity == ggn.shape[0] - widths[-1] == bound
        assert evaluate_relation(CLAIM.conclusion, _values(depth, widths, dead, ggn))
        assert not evaluate_relation(VARIANTS["theory_md_count"].claim("null_count").conclusion,
                                     _values(depth, widths, dead, ggn))


def test_a_column_set_listed_twice_is_not_counted_twice():
    """dead_columns lists the incoming weights twice (a second, renamed sum) and the bound counts
    them twice: false, and rejected (two fields changed)."""
    b2 = sp.Symbol("a2", integer=True)
    twice = sp.Eq(sp.Sum(sp.Derivative(t5b.f, t5b.W[t5b.l, b2, t5b.u]) ** 2,
                         (b2, 1, t5b.m[t5b.l - 1])), 0)
    variant = t5b.THEOREM.with_claim(
        "dead_columns", conclusion=sp.And(t5b.INCOMING, twice, t5b.BIAS, t5b.OUTGOING)
    ).with_claim("null_count", conclusion=sp.Ge(
        t5b.p - t5b.rank(t5b.G_hat),
        t5b.BOUND + sp.Sum(t5b.d[t5b.l] * t5b.m[t5b.l - 1], (t5b.l, 1, t5b.L))))
    with pytest.raises(ProofError, match="full lines"):
        t5b.check(variant)


def test_the_falsifier_covers_depths_one_to_four_with_dead_units():
    rng = np.random.default_rng(0)
    draws = [t5b.draw(rng, trial) for trial in range(8)]
    values = [v["null_count"] for v in draws if v]
    assert {v[t5b.L] for v in values} == {1, 2, 3, 4}
    assert any(v[t5b.d[t5b.l]].sum() > 0 for v in values)


def test_instantiating_a_definition_renames_a_clashing_summation_variable():
    """δ_(l+1,t) from δ's definition (which sums over t): the new index t stays free."""
    (definition,) = [dfn for dfn in t5b.THEOREM.definitions
                     if isinstance(dfn.lhs, sp.Indexed) and dfn.lhs.base == t5b.delta]
    value = t5b._instantiate(definition, t5b.delta[t5b.l + 1, t5b.t])
    (total,) = value.atoms(sp.Sum)
    assert total.limits[0][0] != t5b.t
    assert t5b.W[t5b.l + 2, t5b.t, total.limits[0][0]] in total.atoms(sp.Indexed)
