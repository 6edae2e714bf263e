"""T2 (spectral-equivalence bracket): module-specific regressions.

Issue 33: class E (T2 uses all of lemma T2a: its constants come from T2a's THEOREM and T2's
check runs T2a's certificate and weight checks), class B (the uniform-ce G is built from
``loss_weighted_gram`` at the certified root of ``softmax_hessian(𝟙/k)``), class A (the ce bound
needs the projector onto 𝟙^⊥). Every numeric value is computed with numpy or fractions,
independently of proofs/.
"""

from __future__ import annotations

import numpy as np
import pytest

from proofs import _defs as D
from proofs import t2_spectral_equivalence as t2
from proofs import t2a_softmax_hessian as t2a
from proofs._statement import ProofError, evaluate_relation, falsify

VARIANTS = t2.false_variants()


def _psd_root(matrix):
    values, vectors = np.linalg.eigh(matrix)
    return vectors @ np.diag(np.sqrt(np.clip(values, 0, None))) @ vectors.T


def test_check_and_falsifier_pass():
    report = t2.check()
    assert report.identities and report.solver
    assert any(step.startswith("softmax lemma") for step in report.solver)
    counts = falsify(t2.THEOREM, t2.draw, t2.FALSIFIER_TRIALS)
    assert all(not c["violations"] for c in counts.values()), counts
    assert all(c["checked"] > 0 for c in counts.values()), counts


def test_class_e_constants_come_from_t2a():
    """T2's ce constants are T2a's, and a false T2a makes T2's check fail (T2 runs T2a's check,
    weights included)."""
    lower, upper = t2.ce_constants(t2a.THEOREM)
    assert (lower, upper) == (t2a.p_min, t2a.THEOREM.claim("upper").conclusion.rhs
                              / t2a.SQUARED_NORM)
    assert t2.THEOREM.claim("ce").conclusion == t2.ce_conclusion(lower, upper)
    assert t2.THEOREM.claim("ce").hypotheses == t2a.THEOREM.hypotheses


def test_class_e_a_false_lemma_fails_t2(monkeypatch):
    false_lemma = t2a.false_variants()["upper_mean_of_extremes"]
    monkeypatch.setattr(t2a, "THEOREM", false_lemma)
    constants = t2.ce_constants(false_lemma)
    variant = t2.THEOREM.with_claim("ce", conclusion=t2.ce_conclusion(*constants))
    with pytest.raises(ProofError, match="softmax|upper"):
        t2.check(variant)


def test_class_e_mean_of_extremes_at_03_03_04():
    """p = (.3, .3, .4), w = (1, 1, −2): wᵀHw = 2.16 > .35·wᵀP_3w = 2.1 (P_3w = w)."""
    probs = np.array([0.3, 0.3, 0.4])
    vector = np.array([1.0, 1.0, -2.0])
    hessian = np.diag(probs) - np.outer(probs, probs)
    projector = np.eye(3) - 1.0 / 3
    assert vector @ hessian @ vector == pytest.approx(2.16)
    assert vector @ projector @ vector == pytest.approx(6.0)
    assert 2.16 > 0.35 * 6.0
    values = {t2.k: 3, t2a.j: np.arange(3), t2a.p: probs[:, None], t2.w: vector[:, None],
              t2a.p_min: 0.3, t2a.p_max: 0.4}
    variant = VARIANTS["ce_upper_mean_of_extremes"]
    assert not evaluate_relation(variant.claim("ce").conclusion, values)
    assert evaluate_relation(t2.THEOREM.claim("ce").conclusion, values)
    with pytest.raises(ProofError, match="ce"):
        t2.check(variant)


def test_class_b_uniform_gram_from_the_definitions():
    """G = (1/n) H^{1/2} K H^{1/2} at p = 𝟙/k (numpy root of the numpy softmax Hessian) is
    PKP/(nk); the statement's G is ``loss_weighted_gram`` of the root R and K = JJᵀ."""
    rng = np.random.default_rng(3)
    samples, classes = 2, 3
    block = np.diag(np.full(classes, 1 / classes)) - np.full((classes, classes), 1 / classes**2)
    hessian = np.kron(np.eye(samples), block)
    jac = rng.normal(size=(samples * classes, 5))
    gram = jac @ jac.T
    root = _psd_root(hessian)
    projector = np.kron(np.eye(samples), np.eye(classes) - 1 / classes)
    assert root @ gram @ root / samples == pytest.approx(
        projector @ gram @ projector / (samples * classes))
    assert t2.THEOREM.definitions[1].rhs == D.loss_weighted_gram(t2.R, t2.K, t2.n)
    assert t2.THEOREM.definitions[0].rhs == D.ntk_gram(t2.J)
    with pytest.raises(ProofError, match="Gram factor"):
        t2.check(VARIANTS["gram_with_hessian_not_root"])
    with pytest.raises(ProofError, match="uniform"):
        t2.check(VARIANTS["uniform_missing_1_over_k"])


def test_class_a_ce_needs_the_projector():
    """w = 𝟙: wᵀ(diag p − ppᵀ)w = 0 < p_min·wᵀw, so the ce bound fails for every w."""
    probs = np.array([0.25, 0.25, 0.5])
    ones = np.ones(3)
    assert ones @ (np.diag(probs) - np.outer(probs, probs)) @ ones == pytest.approx(0.0)
    with pytest.raises(ProofError, match="ce"):
        t2.check(VARIANTS["ce_for_every_w"])


def test_binary_ratio_is_2s_1_minus_s():
    """Old mutant binary_ratio_halved: for p = (s, 1 − s) the nonzero eigenvalue of G is
    2s(1 − s) times that of PKP (one sample, numpy root), not s(1 − s) times."""
    rng = np.random.default_rng(5)
    share = 0.3
    hessian = np.diag([share, 1 - share]) - np.outer([share, 1 - share], [share, 1 - share])
    jac = rng.normal(size=(2, 4))
    gram = jac @ jac.T
    root = _psd_root(hessian)
    projector = np.eye(2) - 0.5
    top_g = np.linalg.eigvalsh(root @ gram @ root).max()
    top_pkp = np.linalg.eigvalsh(projector @ gram @ projector).max()
    assert top_g == pytest.approx(2 * share * (1 - share) * top_pkp)
    assert top_g != pytest.approx(share * (1 - share) * top_pkp)


def test_rank_inclusions_on_an_instance():
    """rank_{nε/a}(PKP) ≤ rank_ε(G) ≤ rank_{nε/b}(PKP) with numpy eigenvalues (P of rank 3,
    H = R² with r = (.5, 1, 2) on its range, a = 1/4, b = 4, J orthogonal, ε = .3), and the old
    mutant's threshold nε·a breaks the first inclusion here (3 > 2)."""
    basis = np.linalg.qr(np.random.default_rng(7).normal(size=(4, 4)))[0]
    proj = basis @ np.diag([1.0, 1.0, 1.0, 0.0]) @ basis.T
    root = basis @ np.diag([0.5, 1.0, 2.0, 0.0]) @ basis.T
    lower, upper, samples, eps = 0.25, 4.0, 1, 0.3
    gram = basis @ basis.T

    def rank(matrix, threshold):
        return int(np.sum(np.abs(np.linalg.eigvalsh(matrix)) > threshold))

    pkp, g = proj @ gram @ proj, root @ gram @ root / samples
    assert rank(pkp, samples * eps / lower) <= rank(g, eps) <= rank(pkp, samples * eps / upper)
    assert rank(pkp, samples * eps * lower) == 3 > rank(g, eps) == 2


def test_samples_positive_is_needed():
    """Without n > 0: n = −1, P = R = H = I_2, a = b = 1, K = diag(2, 1) gives G = −K, whose
    largest eigenvalue −1 exceeds (b/n)·λ_0(PKP) = −2."""
    gram = np.diag([2.0, 1.0])
    top_g = np.linalg.eigvalsh(-gram).max()
    top_pkp = np.linalg.eigvalsh(gram).max()
    assert top_g == -1.0 > 1.0 / -1 * top_pkp
    with pytest.raises(ProofError, match="positive factor"):
        t2.check(VARIANTS["samples_positive_dropped"])
