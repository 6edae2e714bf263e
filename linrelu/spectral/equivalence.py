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

from linrelu.models.network import resolve
from linrelu.precision import in_float64
from linrelu.spectral.gram import (
    loss_weighted_from_gram,
    network_mixed_gram,
    reduced_loss_weighted_gram,
)
from linrelu.spectral.linalg import eigvalsh_desc, eigvalsh_desc_fast
from linrelu.spectral.losses import output_hessian_sqrt
from linrelu.validation import check_loss, check_targets


@in_float64
def ggn_eigenvalues(net, params, X, targets, loss: str, *, memory_budget=None) -> np.ndarray:
    """All n·k eigenvalues of G, largest first: the GGN's spectrum without its p − nk zeros (T1).

    ``net``: a linrelu.MLP (closed form T5) or any model f(params, X) (per-sample Jacobian
    blocks within ``memory_budget`` bytes). The p × p GGN is never formed. For ce (k ≥ 2) the
    n eigenvalues that are exactly 0 (H_i 𝟙 = 0) are split off first and the n(k−1)-square rest
    is solved (:func:`linrelu.spectral.gram.reduced_loss_weighted_gram`); the returned zeros are
    exact,
    the others agree with eigvalsh(G) to round-off.
    """
    return eigenvalues_from_reduced(*reduced_loss_weighted_gram(
        net, params, X, targets, loss, memory_budget=memory_budget))


@in_float64
def eigenvalues_from_reduced(G_r, zeros: int) -> np.ndarray:
    """eig(G) largest first from a reduced Gram: eig(G_r) ∪ {0}^z, the z zeros exact
    (:func:`linrelu.spectral.gram.reduced_loss_weighted_gram`)."""
    ev = eigvalsh_desc_fast(G_r)
    if zeros:
        ev = np.sort(np.concatenate([ev, np.zeros(zeros)]))[::-1]
    return ev


class EquivalenceBracket(NamedTuple):
    """T2 bracket: ``lower[i] ≤ exact[i] ≤ upper[i]`` for the i-th largest eigenvalue of G."""

    lower: np.ndarray
    exact: np.ndarray
    upper: np.ndarray
    a: float
    b: float


@in_float64
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


@in_float64
def spectral_equivalence_bracket(net, params, X, targets, loss: str, *,
                                 memory_budget=None) -> EquivalenceBracket:
    """Eigenvalues of G with the T2 bracket from the plain Gram K (largest first)."""
    check_loss(loss)
    nw = resolve(net, params, X)
    n, k = nw.n, nw.k
    check_targets(targets, n, k, loss)
    K = jnp.asarray(network_mixed_gram(nw, None, memory_budget))
    G = loss_weighted_from_gram(K, output_hessian_sqrt(nw.logits, loss), n)
    a, b = softmax_bracket_constants(nw.logits, loss)
    K = np.asarray(K)
    if loss == "ce":
        P = centering_projector(n, k)
        K = P @ K @ P
    ev = eigvalsh_desc(K)
    return EquivalenceBracket(a * ev / n, eigvalsh_desc(G), b * ev / n, a, b)
