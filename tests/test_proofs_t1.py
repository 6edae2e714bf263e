"""T1 regressions: the issue-33 false variants of T1 (classes A, B, D, F, G) and the spectral facts
behind them, each computed independently of proofs/ with numpy or exact fractions."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from proofs import t1_gram_ggn_identity as t1
from proofs._statement import evaluate_relation, falsify

VARIANTS = t1.false_variants()


def char_coefficients(matrix) -> np.ndarray:
    """Coefficients of det(λI − M), highest first (numpy's ``poly`` of the eigenvalues)."""
    return np.poly(np.atleast_2d(matrix))


def instance(rows: int, cols: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(rows, cols))


@pytest.mark.parametrize(("rows", "cols"), [(2, 5), (5, 2), (3, 3), (1, 4), (4, 1)])
def test_characteristic_polynomials_differ_by_a_power_of_lambda(rows, cols):
    """λ^N det(λI_p − AᵀA) = λ^p det(λI_N − AAᵀ) as coefficient lists (N ≠ p both ways)."""
    A = instance(rows, cols, seed=rows * 10 + cols)
    left = np.polymul(char_coefficients(A.T @ A), np.eye(1, rows + 1)[0])  # · λ^N
    right = np.polymul(char_coefficients(A @ A.T), np.eye(1, cols + 1)[0])  # · λ^p
    assert np.allclose(left, right, atol=1e-9)


def test_all_eigenvalues_with_multiplicity_is_false_when_sizes_differ():
    """Class A (the printed "nonzero eigenvalues" edited to "all eigenvalues with multiplicity"):
    A = [[1], [0]] has eig(AᵀA) = {1} but eig(AAᵀ) = {1, 0}; the variant is a different object
    that the proof rejects."""
    A = np.array([[1.0], [0.0]])
    assert sorted(np.linalg.eigvalsh(A.T @ A)) == [1.0]
    assert sorted(np.linalg.eigvalsh(A @ A.T)) == [0.0, 1.0]
    assert len(char_coefficients(A.T @ A)) != len(char_coefficients(A @ A.T))
    variant = VARIANTS["all_eigenvalues_with_multiplicity"]
    assert variant.render() != t1.THEOREM.render()
    values = {t1.A: A, t1.N: 2, t1.p: 1, t1.lam: 3.0}
    assert evaluate_relation(t1.THEOREM.claim("characteristic_polynomials").conclusion, values)
    assert not evaluate_relation(variant.claim("characteristic_polynomials").conclusion, values)
    with pytest.raises(AssertionError, match="characteristic_polynomials"):
        t1.check(variant)


@pytest.mark.parametrize("name", ["factor_scaled_by_one_over_n", "ggn_is_the_outer_gram",
                                  "gram_without_half_roots", "gram_from_the_hessian_factor",
                                  "ggn_without_sqrt_square"])
def test_one_definition_typed_twice_is_rejected(name):
    """Class B: A, Ĝ, G are the theorem's definitions (``_defs``); a changed definition or a
    claim about another matrix is a different statement, rejected by the proof."""
    with pytest.raises(AssertionError, match="factor"):
        t1.check(VARIANTS[name])


def test_factor_scaled_by_one_over_n_is_false_numerically():
    """A = SJ/n (checked by the old module while n^(-1/2) H^(1/2) J was printed): AᵀA = JᵀHJ/n²,
    not Ĝ = JᵀHJ/n, for n = 2."""
    rng = np.random.default_rng(1)
    J, S = rng.normal(size=(4, 3)), rng.normal(size=(4, 4))
    S = (S + S.T) / 2
    n = 2.0
    wrong = S @ J / n
    ggn = J.T @ (S @ S) @ J / n
    right = S @ J / np.sqrt(n)
    assert np.allclose(right.T @ right, ggn)
    assert not np.allclose(wrong.T @ wrong, ggn)


def test_rank_claim_needs_a_positive_threshold():
    """Class D (the solver decides the side condition from the stated hypotheses): for ε < 0
    every eigenvalue is counted, rank_ε(Ĝ) = p ≠ N = rank_ε(G)."""
    J = instance(3, 2, seed=3)
    ggn, gram = J.T @ J, J @ J.T
    epsilon = -1.0
    assert int(np.sum(np.abs(np.linalg.eigvalsh(ggn)) > epsilon)) == 2
    assert int(np.sum(np.abs(np.linalg.eigvalsh(gram)) > epsilon)) == 3
    for name in ("rank_for_every_threshold", "rank_threshold_above_minus_one"):
        with pytest.raises(AssertionError, match="not counted"):
            t1.check(VARIANTS[name])


def test_rank_claim_honours_the_counting_condition():
    """Class G: the threshold is read off the Piecewise condition of the rank definitions;
    counting |μ| > −ε (ε > 0) counts the zero roots and is rejected."""
    with pytest.raises(AssertionError, match="not counted"):
        t1.check(VARIANTS["rank_threshold_negated"])
    J = instance(3, 2, seed=4)
    assert int(np.sum(np.abs(np.linalg.eigvalsh(J @ J.T)) > -0.5)) == 3


@pytest.mark.parametrize("name", ["rank_of_the_ntk_gram", "rank_wrong_index_range",
                                  "rank_counts_twice", "rank_thresholds_differ"])
def test_rank_definitions_are_wired_to_the_proved_spectrum(name):
    """Class F: each rank must count the roots that the proved identity (★) relates (the roots
    of Ĝ and of G, over their own index ranges, with one threshold)."""
    with pytest.raises(AssertionError, match="eps_ranks|root"):
        t1.check(VARIANTS[name])


def test_rank_of_ntk_gram_differs_from_loss_weighted_gram():
    """rank_ε(K) ≠ rank_ε(G) in general: H = diag(1, 0) kills a direction of K = JJᵀ."""
    J = np.array([[1.0, 0.0], [0.0, 1.0]])
    root = np.diag([1.0, 0.0])
    gram = root @ J @ J.T @ root
    eps = 0.5
    assert int(np.sum(np.abs(np.linalg.eigvalsh(J @ J.T)) > eps)) == 2
    assert int(np.sum(np.abs(np.linalg.eigvalsh(gram)) > eps)) == 1


def test_exponent_off_by_one_is_false_exactly():
    """λ^N det(λI_p − AᵀA) ≠ λ^{N+1} det(…) at A = [[1, 0]] (N = 1, p = 2), λ = 2, in exact
    arithmetic: det(2I − AᵀA) = 2, det(2 − AAᵀ) = 1, so 2·2 = 4 = 2²·1 but 2²·2 ≠ 4."""
    lam = Fraction(2)
    det_p = (lam - 1) * lam  # eig(AᵀA) = {1, 0}
    det_N = lam - 1  # AAᵀ = [1]
    assert lam**1 * det_p == lam**2 * det_N
    assert lam**2 * det_p != lam**2 * det_N
    with pytest.raises(AssertionError):
        t1.check(VARIANTS["exponent_off_by_one"])


def test_falsifier_uses_both_shapes_and_finds_no_violation():
    """The numeric falsifier draws N > p and N < p and checks every claim."""
    shapes = {(s * k) > p for s, k, p in t1.SIZES} | {(s * k) < p for s, k, p in t1.SIZES}
    assert shapes == {True, False}
    counts = falsify(t1.THEOREM, t1.draw, t1.FALSIFIER_TRIALS)
    assert all(c["checked"] == t1.FALSIFIER_TRIALS and not c["violations"]
               for c in counts.values())


def test_falsifier_refutes_the_all_eigenvalues_variant():
    counts = falsify(VARIANTS["all_eigenvalues_with_multiplicity"], t1.draw, t1.FALSIFIER_TRIALS)
    assert counts["characteristic_polynomials"]["violations"]
