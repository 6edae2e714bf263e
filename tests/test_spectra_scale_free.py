"""The scale-free spectral measures against hand computations, and their invariance."""

from __future__ import annotations

import math

import numpy as np
import pytest

from linrelu.spectral.spectra import (
    attainable_rank,
    relative_eps_rank,
    spectral_effective_rank,
    spectrum_summary,
    stable_rank,
)


def test_hand_computations():
    ev = [4.0, 2.0, 1.0, 1.0, 0.0]
    assert stable_rank(ev) == pytest.approx(8.0 / 4.0)
    q = np.array([4, 2, 1, 1]) / 8.0
    assert spectral_effective_rank(ev) == pytest.approx(math.exp(-np.sum(q * np.log(q))))
    assert relative_eps_rank(ev, 0.3) == 2  # |λ| > 1.2: {4, 2}
    assert relative_eps_rank(ev, 0.2) == 4  # |λ| > 0.8 adds both ones
    assert relative_eps_rank(ev, 0.25, normalized=True) == pytest.approx(2 / 5)  # > 1: {4, 2}
    # an all-zero spectrum: every measure 0; a flat spectrum: full effective rank
    assert stable_rank([0.0, 0.0]) == spectral_effective_rank([0.0, 0.0]) == 0.0
    assert relative_eps_rank([0.0, 0.0], 0.1) == 0
    assert spectral_effective_rank([3.0] * 7) == pytest.approx(7.0)
    assert stable_rank([3.0] * 7) == pytest.approx(7.0)


def test_scale_invariance_and_bad_input():
    rng = np.random.default_rng(0)
    ev = rng.exponential(size=50)
    for f in (stable_rank, spectral_effective_rank, lambda e: relative_eps_rank(e, 1e-2)):
        assert f(ev * 70.0) == pytest.approx(f(ev))
    with pytest.raises(ValueError, match="eigenvalues"):
        stable_rank([])
    with pytest.raises(ValueError, match="rel_eps"):
        relative_eps_rank(ev, 0.0)


def test_attainable_rank_normalization():
    # ce with k = 2: G has rank ≤ n_p (not 2 n_p), so a full-rank binary GGN normalizes to 1
    assert attainable_rank(20, 2, "ce") == 20 and attainable_rank(20, 2, "mse") == 40
    ev = np.r_[np.linspace(1.0, 2.0, 20), np.zeros(20)]
    s = spectrum_summary(ev, attainable_rank(20, 2, "ce"), eps_ladder=(1e-3,))
    assert s["eps_rank_norm"][repr(1e-3)] == pytest.approx(1.0)
    assert s["eps_rank"][repr(1e-3)] == 20 and s["lambda_max"] == 2.0
    assert s["stable_rank"] == pytest.approx(ev.sum() / 2.0)
    with pytest.raises(ValueError, match="attainable"):
        spectrum_summary(ev, 0)


def test_feature_effective_rank_of_tall_matrices_matches_the_svd():
    """Tall feature matrices (thousands of inputs) take the Gram route; the reference is numpy's
    SVD, computed here, on matrices with dead (all-zero) columns and a wide spread of scales."""
    import linrelu as lr

    rng = np.random.default_rng(3)
    for n, m in ((4000, 100), (300, 7), (64, 32)):
        F = np.maximum(rng.normal(size=(n, m)) @ np.diag(np.logspace(-4, 1, m)), 0.0)
        F[:, : m // 5] = 0.0  # dead units
        s = np.linalg.svd(F, compute_uv=False)
        q = s[s > 0] / s.sum()
        want = float(np.exp(-np.sum(q * np.log(q))))
        # σ from the Gram carries an absolute error ≤ m·ε·σ_max² in σ², ≈ 1e-8·σ_max in σ for
        # a zero σ: its weight q ≈ 1e-9 moves erank by ≈ 1e-8 at most, hence 1e-7
        assert lr.effective_rank(F) == pytest.approx(want, rel=1e-7)
