"""Gram–GGN spectral equivalence (THEORY.md T1, T2).

T1. With A = n^{-1/2} H^{1/2} J: Ĝ = AᵀA (p × p) and G = AAᵀ (n·k × n·k) share their nonzero
    eigenvalues with multiplicity, so the GGN spectrum of a p-parameter net is an n·k × n·k
    eigenproblem: eig(Ĝ) = eig(G) ∪ {0}^{p − nk}.
T2. If aP ≼ H ≼ bP for an orthogonal projector P with H = PHP, then
    (a/n) λ_i(PKP) ≤ λ_i(G) ≤ (b/n) λ_i(PKP) (Ostrowski-type bracket, i-th largest).
    mse: a = b = 1, P = I. ce (lemma T2a): P = blockdiag(I_k − 𝟙𝟙ᵀ/k), a = min p_ic,
    b = min(max p_ic, ½).
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from linrelu.gram import _apply, _gram, _prepare, loss_weighted_gram


def _eigvalsh_desc(M) -> np.ndarray:
    """Eigenvalues of a symmetric matrix, largest first, as float64 numpy."""
    M = np.asarray(M, dtype=np.float64)
    return np.linalg.eigvalsh(0.5 * (M + M.T))[::-1]


def ggn_eigenvalues(net, params, X, targets, loss: str) -> np.ndarray:
    """All n·k eigenvalues of G, largest first: the GGN's spectrum without its p − nk zeros (T1).

    Cost: one closed-form Gram (T5) and one (n·k)² eigenproblem; the p × p GGN is never formed.
    """
    return _eigvalsh_desc(loss_weighted_gram(net, params, X, targets, loss))


class EquivalenceBracket(NamedTuple):
    """T2 bracket: ``lower[i] ≤ exact[i] ≤ upper[i]`` for the i-th largest eigenvalue of G."""

    lower: np.ndarray
    exact: np.ndarray
    upper: np.ndarray
    a: float
    b: float


def softmax_bracket_constants(logits, loss: str) -> tuple[float, float]:
    """(a, b) of T2: mse (1, 1); ce (min p_ic, min(max p_ic, ½)) (lemma T2a)."""
    if loss == "mse":
        return 1.0, 1.0
    p = np.asarray(jnp.exp(logits - jnp.max(logits, axis=1, keepdims=True)))
    p = p / p.sum(axis=1, keepdims=True)
    return float(p.min()), float(min(p.max(), 0.5))


def centering_projector(n: int, k: int) -> np.ndarray:
    """P = blockdiag(I_k − 𝟙𝟙ᵀ/k) (n·k × n·k): the projector onto the range of the ce Hessian."""
    return np.kron(np.eye(n), np.eye(k) - np.full((k, k), 1.0 / k))


def spectral_equivalence_bracket(net, params, X, targets, loss: str) -> EquivalenceBracket:
    """Eigenvalues of G with the T2 bracket from the plain Gram K (largest first)."""
    params, Xa = _prepare(net, params, X)
    n, k = Xa.shape[0], net.out_dim
    K = _gram(net, params, Xa)
    G = loss_weighted_gram(net, params, X, targets, loss, gram=K)
    a, b = softmax_bracket_constants(_apply(net, params, Xa), loss)
    K = np.asarray(K)
    if loss == "ce":
        P = centering_projector(n, k)
        K = P @ K @ P
    ev = _eigvalsh_desc(K)
    return EquivalenceBracket(a * ev / n, _eigvalsh_desc(G), b * ev / n, a, b)
