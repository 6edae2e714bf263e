"""T5a regressions (issue 33): the rank bound is read from the statement object and proved at
symbolic ranks r, s; every false bound or wrong matrix is rejected by the proof, and each is shown
false by an independent numpy computation (numpy's own matrix_rank on explicit matrices)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from proofs import _defs
from proofs import t5a_schur_rank as t5a
from proofs._statement import ProofError, Report, evaluate_relation, falsify

VARIANTS = t5a.false_variants()


def _layer_term(feats, back, k, sigma_w=1.0):
    """(σ_w²/m) kron(H Hᵀ, ones(k, k)) * (Δ Δᵀ), plain numpy."""
    return sigma_w**2 / feats.shape[1] * np.kron(feats @ feats.T, np.ones((k, k))) * (back @ back.T)


def _planted(rng, n, k, fan_in, width, r, s):
    feats = rng.normal(size=(n, r)) @ rng.normal(size=(r, fan_in))
    back = rng.normal(size=(n * k, s)) @ rng.normal(size=(s, width))
    return feats, back


def test_the_theorem_is_proved_with_solver_and_instances():
    report = t5a.check()
    assert report.solver and len(report.instances) >= 3
    assert any("symbolic sizes" in step for step in report.identities)


def test_the_term_count_is_read_from_the_definition():
    """The count the solver uses comes from the defining expression, not from a typed range."""
    (definition,) = t5a.THEOREM.definitions
    count = t5a.term_count(definition.rhs, Report(t5a.THEOREM))
    assert sp.expand(count - _defs.rank(t5a.H) * _defs.rank(t5a.Delta)) == 0


@pytest.mark.parametrize("name", ["backward_rank_minus_one", "rank_sum_factor",
                                  "feature_rank_minus_one", "feature_rank_only"])
def test_class_c_a_wrong_bound_is_refuted_by_the_solver(name):
    with pytest.raises(ProofError, match="term count"):
        t5a.check(VARIANTS[name])


def test_class_c_the_wrong_bounds_are_false_numerically():
    """r = 2, s = 3, n = 3, k = 2: rank(K_W) = 6 = r·s, above r(s − 1) = 4, r + s = 5,
    (r − 1)s = 3 and r = 2 (numpy rank of an explicit matrix)."""
    rng = np.random.default_rng(0)
    feats, back = _planted(rng, 3, 2, 3, 4, 2, 3)
    r, s = np.linalg.matrix_rank(feats), np.linalg.matrix_rank(back)
    observed = np.linalg.matrix_rank(_layer_term(feats, back, 2))
    assert (r, s, observed) == (2, 3, 6)
    assert observed > max(r * (s - 1), r + s, (r - 1) * s, r)
    values = {t5a.H: feats, t5a.Delta: back, t5a.K_W: _layer_term(feats, back, 2)}
    assert evaluate_relation(t5a.THEOREM.claim("rank_bound").conclusion, values)
    for name in ("backward_rank_minus_one", "rank_sum_factor", "feature_rank_minus_one",
                 "feature_rank_only"):
        assert not evaluate_relation(VARIANTS[name].claim("rank_bound").conclusion, values)


def test_the_falsifier_refutes_the_wrong_bounds():
    for name in ("backward_rank_minus_one", "rank_sum_factor", "feature_rank_minus_one"):
        counts = falsify(VARIANTS[name], t5a.draw, t5a.FALSIFIER_TRIALS)
        assert counts["rank_bound"]["violations"], name


@pytest.mark.parametrize("name", ["classes_not_tied", "sum_instead_of_schur_product"])
def test_class_b_a_wrong_matrix_is_rejected(name):
    with pytest.raises(ProofError):
        t5a.check(VARIANTS[name])


def test_class_b_the_wrong_matrices_break_the_bound_numerically():
    """Rank-one H and Δ (n = k = 2): (HHᵀ ⊗ I_k) ∘ ΔΔᵀ has rank 2 and HHᵀ ⊗ 𝟙𝟙ᵀ + ΔΔᵀ rank 2,
    both above rank(H)·rank(Δ) = 1, while the true term has rank 1."""
    rng = np.random.default_rng(1)
    feats, back = _planted(rng, 2, 2, 2, 2, 1, 1)
    untied = np.kron(feats @ feats.T, np.eye(2)) * (back @ back.T)
    summed = np.kron(feats @ feats.T, np.ones((2, 2))) + back @ back.T
    assert np.linalg.matrix_rank(_layer_term(feats, back, 2)) == 1
    assert np.linalg.matrix_rank(untied) == 2 and np.linalg.matrix_rank(summed) == 2


def test_the_old_mutant_is_a_false_variant():
    assert "rank_sum_factor" in VARIANTS


def test_the_printed_bound_is_the_checked_object():
    text = t5a.THEOREM.render()
    assert "rank(K_W) ≤ rank(Δ)·rank(H)" in text
    assert VARIANTS["rank_sum_factor"].render() != text


def test_every_false_variant_is_refuted_at_the_solver_step():
    for variant in VARIANTS.values():
        with pytest.raises(ProofError, match="rank_bound: the term count does not give"):
            t5a.check(variant)
