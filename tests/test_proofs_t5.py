"""T5 (closed-form Gram): regressions of issue 33 and numeric facts computed independently.

The numbers here come from a float64 numpy MLP written in this file (Jacobian by central
differences of its forward pass, backward vectors by central differences in the
pre-activations), independent of ``proofs`` and of ``linrelu``.
"""

from __future__ import annotations

import numpy as np
import pytest

from proofs import t5_closed_form_gram as t5
from proofs._statement import ProofError, Report

VARIANTS = t5.false_variants()
SW, SB = 1.2, 0.6


def _network(seed, widths, margin=0.05):
    rng = np.random.default_rng(seed)
    while True:
        params = [(rng.normal(size=(widths[r - 1], widths[r])), rng.normal(size=widths[r]))
                  for r in range(1, len(widths))]
        X = rng.normal(size=(2, widths[0]))
        if min(np.abs(z).min() for z in _forward(params, X)[1][:-1]) > margin:
            return params, X


def _forward(params, X, shift=None):
    """(outputs, pre-activations, activations h_0..h_L); ``shift`` = (r, array) added to z_r."""
    h, pre, acts = X, [], [X]
    for r, (W, b) in enumerate(params, start=1):
        z = SW / np.sqrt(W.shape[0]) * h @ W + SB * b
        if shift is not None and shift[0] == r:
            z = z + shift[1]
        pre.append(z)
        if r < len(params):
            h = np.maximum(z, 0.0)
            acts.append(h)
        else:
            h = z
    return h, pre, acts


def _layer_terms(seed, widths, c=0, c2=1, step=1e-3):
    """(K = JJᵀ entry ((x_0, c), (x_1, c2)), [the closed form's term of layer l, l = 1..L+1])."""
    params, X = _network(seed, widths)
    flat = [(W.copy(), b.copy()) for W, b in params]
    columns = []
    for W, b in flat:
        for arr in (W, b):
            for index in np.ndindex(arr.shape):
                old = arr[index]
                arr[index] = old + step
                up = _forward(flat, X)[0]
                arr[index] = old - step
                down = _forward(flat, X)[0]
                arr[index] = old
                columns.append((up - down) / (2 * step))
    jac = np.stack(columns, axis=-1)  # (inputs, outputs, parameters)
    gram = jac[0, c] @ jac[1, c2]
    _, _, acts = _forward(params, X)
    terms = []
    for r in range(1, len(widths)):
        deltas = []
        for i, out in ((0, c), (1, c2)):
            row = []
            for u in range(widths[r]):
                move = np.zeros((2, widths[r]))
                move[i, u] = step
                diff = (_forward(params, X, (r, move))[0] - _forward(params, X, (r, -move))[0])
                row.append(diff[i, out] / (2 * step))
            deltas.append(np.array(row))
        features = acts[r - 1][0] @ acts[r - 1][1]
        terms.append((SW**2 / widths[r - 1] * features + SB**2) * (deltas[0] @ deltas[1]))
    return gram, terms


@pytest.mark.parametrize("widths", [(3, 4, 2), (2, 3, 4, 2), (3, 2, 3, 2, 2),
                                    (2, 3, 2, 3, 2, 3)], ids=["depth1", "depth2", "depth3",
                                                              "depth4"])
def test_the_closed_form_sums_every_layer_from_one_to_the_output(widths):
    gram, terms = _layer_terms(7, widths)
    assert abs(gram - sum(terms)) < 1e-8 * max(1.0, abs(gram))


def test_starting_the_sum_at_depth_minus_one_drops_a_nonzero_term_at_depth_three():
    """Issue 33, class C: Σ from L − 1 agrees with the truth at L = 2 (L − 1 = 1) and misses the
    layer-1 term at L = 3."""
    gram2, terms2 = _layer_terms(11, (2, 3, 3, 2))
    assert abs(gram2 - sum(terms2[2 - 2:])) < 1e-8 * max(1.0, abs(gram2))
    gram3, terms3 = _layer_terms(11, (2, 3, 3, 3, 2))
    assert abs(terms3[0]) > 1e-3
    assert abs(gram3 - sum(terms3[3 - 2:])) > 1e-3


@pytest.mark.parametrize("name", ["sum_starts_at_two", "sum_ends_at_depth",
                                  "sum_starts_at_depth_minus_one", "scale_uses_m_l",
                                  "missing_bias_term", "delta_without_mask"])
def test_the_issue_variants_are_rejected_by_the_proof(name):
    with pytest.raises(ProofError):
        t5.check(VARIANTS[name])


def test_the_limits_are_read_from_the_claims_sum():
    with pytest.raises(ProofError, match="exactly the layers of the parameter list"):
        t5.check(VARIANTS["sum_starts_at_depth_minus_one"])


def test_the_sampled_networks_alone_reject_the_late_start_at_depth_three_but_not_at_two(
        monkeypatch):
    variant, samples = VARIANTS["sum_starts_at_depth_minus_one"], t5.SAMPLES
    monkeypatch.setattr(t5, "SAMPLES", samples[1:2])  # depth 2 only: L − 1 = 1
    t5._sampled(Report(variant))
    monkeypatch.setattr(t5, "SAMPLES", samples[2:3])
    with pytest.raises(ProofError, match="differs from the Gram entry at depth 3"):
        t5._sampled(Report(variant))


def test_the_check_proves_at_a_symbolic_layer_and_samples_depths_one_to_four():
    report = t5.check()
    assert any("on r, from 0" in step for step in report.inductions)
    assert any("on w, from 0" in step for step in report.inductions)
    assert sorted(int(name.split()[1]) for name in report.instances) == [1, 2, 3, 4]


@pytest.mark.parametrize("name", ["missing_bias_term", "scale_uses_m_l", "delta_without_mask",
                                  "frobenius_mixed_indices"])
def test_the_old_mutants_are_rejected_as_statements(name):
    with pytest.raises(AssertionError):
        t5.check(VARIANTS[name])


# -- one false variant per class of issue 33 that T5 touches ---------------------------------------
def test_class_a_a_changed_constant_prints_and_is_checked():
    variant = VARIANTS["scale_not_squared"]
    assert variant.render() != t5.THEOREM.render()
    with pytest.raises(ProofError, match="layer term"):
        t5.check(variant)


def test_class_b_the_backward_recursion_is_read_from_the_statement():
    with pytest.raises(ProofError, match="backward step"):
        t5.check(VARIANTS["backward_scale_uses_m_next"])


def test_class_b_the_parameter_list_is_read_from_the_statement():
    with pytest.raises(ProofError, match="parameter list holds exactly the layers"):
        t5.check(VARIANTS["parameter_list_from_two"])


def test_class_d_a_derivative_claim_is_compared_with_the_derivation():
    with pytest.raises(ProofError, match="bias_derivative"):
        t5.check(VARIANTS["bias_derivative_without_sigma"])


def test_class_e_a_claim_is_used_only_under_its_conditions():
    with pytest.raises(ProofError, match="existing layer"):
        t5.check(VARIANTS["backward_beyond_the_output"])


def test_class_g_the_backward_recursions_condition_is_honoured():
    with pytest.raises(ProofError, match="decide neither"):
        t5.check(VARIANTS["backward_recursion_stops_early"])


def test_the_falsifier_checks_the_gram_on_random_networks():
    from proofs._statement import falsify

    counts = falsify(t5.THEOREM, t5.draw, 8)
    assert counts["gram"]["checked"] == 8 and not counts["gram"]["violations"]
    assert falsify(VARIANTS["missing_bias_term"], t5.draw, 4)["gram"]["violations"]


def test_the_sampled_check_covers_the_three_kinds_of_gram_entry():
    """_cases' contract (its docstring): two inputs with two different outputs, two inputs with
    the last output twice, one input with the first output twice (a diagonal entry)."""
    for _, widths in t5.SAMPLES:
        k = widths[-1]
        assert k > 1
        assert t5._cases(widths) == (((0, 1), 1, k), ((0, 1), k, k), ((1, 1), 1, 1))


@pytest.mark.parametrize("variant, where", [
    ("gram_is_zero", "(inputs 1 and 2, outputs 1 and 2)"),
    ("sum_ends_at_depth", "(inputs 1 and 2, outputs 2 and 2)")])
def test_the_sampled_check_names_the_entry_where_the_closed_form_differs(variant, where):
    with pytest.raises(ProofError) as failed:
        t5._sampled(Report(t5.false_variants()[variant]))
    assert str(failed.value) == ("T5 gram: the closed form differs from the Gram entry at "
                                 f"depth 1 {where}")
