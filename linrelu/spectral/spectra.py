"""Spectral summaries (THEORY.md, Conventions): ε-rank and spectral densities.

rank_ε(M) = #{i : |λ_i(M)| > ε};  normalized ε-rank = rank_ε / dim. For a spectral density the
normalized ε-rank is the mass outside [−ε, ε].
"""

from __future__ import annotations

import numpy as np

from linrelu.validation import check_eigenvalues, check_positive


def eps_rank(eigenvalues, eps: float, normalized: bool = False):
    """#{i : |λ_i| > eps} (or that count divided by the number of eigenvalues)."""
    ev = check_eigenvalues(eigenvalues)
    check_positive(eps, "eps")
    if ev.size == 0:
        raise ValueError("eigenvalues: expected at least one eigenvalue, received an empty array")
    r = int(np.count_nonzero(np.abs(ev) > eps))
    return r / ev.size if normalized else r


def eps_rank_ladder(eigenvalues, eps_values, normalized: bool = False) -> dict:
    """``{eps: eps_rank(eigenvalues, eps, normalized)}`` for each eps of ``eps_values`` (keys as
    Python floats): #{i : |λ_i| > ε}, divided by the number of eigenvalues when ``normalized``."""
    return {float(e): eps_rank(eigenvalues, e, normalized) for e in eps_values}


def density_mass_outside(grid, density, eps: float) -> float:
    """Mass of a density sampled on ``grid`` outside [−eps, eps] (normalized by its total mass)."""
    check_positive(eps, "eps")
    grid = check_eigenvalues(grid, "grid")
    density = check_eigenvalues(density, "density")
    if grid.shape != density.shape:
        raise ValueError(f"density: expected the shape of grid {grid.shape}, received "
                         f"{density.shape}")
    total = np.trapezoid(density, grid)
    if not total > 0:
        raise ValueError("density: expected positive total mass, received "
                         f"{total!r}")
    inside = np.abs(grid) <= eps
    d_in = np.where(inside, density, 0.0)
    return float(1.0 - np.trapezoid(d_in, grid) / total)


# --- scale-free summaries of a PSD spectrum (GGN eigenvalues) ---------------------------------
# A fixed ε conflates two changes: a uniform shrink of the eigenvalue scale (every λ_i × c) and a
# change of the spectrum's shape. The three summaries below are invariant under λ ↦ cλ (c > 0),
# so a collapse they show is a change of shape, not of scale.


def _nonempty_psd(eigenvalues, name: str = "eigenvalues") -> np.ndarray:
    ev = check_eigenvalues(eigenvalues, name)
    if ev.size == 0:
        raise ValueError(f"{name}: expected at least one eigenvalue, received an empty array")
    return ev


def relative_eps_rank(eigenvalues, rel_eps: float, normalized: bool = False):
    """#{i : |λ_i| > rel_eps · max_j |λ_j|} (0 for an all-zero spectrum); scale-free.

    ``normalized`` divides by the number of eigenvalues (as :func:`eps_rank`)."""
    ev = _nonempty_psd(eigenvalues)
    check_positive(rel_eps, "rel_eps")
    top = float(np.max(np.abs(ev)))
    r = int(np.count_nonzero(np.abs(ev) > rel_eps * top)) if top > 0 else 0
    return r / ev.size if normalized else r


def stable_rank(eigenvalues) -> float:
    """Σ_i |λ_i| / max_i |λ_i| (for a PSD matrix M: tr M / ‖M‖₂; 1 ≤ it ≤ rank M; 0 for M = 0)."""
    ev = np.abs(_nonempty_psd(eigenvalues))
    top = float(ev.max())
    return float(ev.sum() / top) if top > 0 else 0.0


def spectral_effective_rank(eigenvalues) -> float:
    """Roy–Vetterli effective rank of the spectrum: q_i = |λ_i| / Σ_j |λ_j|,
    exp(−Σ_i q_i log q_i) (terms with q_i = 0 contribute 0); 0 for an all-zero spectrum."""
    ev = np.abs(_nonempty_psd(eigenvalues))
    total = float(ev.sum())
    if total <= 0:
        return 0.0
    q = ev[ev > 0] / total
    return float(np.exp(-np.sum(q * np.log(q))))


DEFAULT_EPS_LADDER = (1e-4, 1e-3, 1e-2, 1e-1)
#: ρ of the scale-free relative ε-ranks #{|λ| > ρ λ_max} / attainable rank.
REL_EPS_LADDER = (1e-2, 1e-3, 1e-4)


def attainable_rank(n_probe: int, k: int, loss: str) -> int:
    """The largest rank G can have on n_p probe inputs: n_p·k (mse), n_p·(k − 1) (ce)."""
    return n_probe * k if loss == "mse" else n_probe * (k - 1)


def spectrum_summary(ev, attainable: int, eps_ladder=DEFAULT_EPS_LADDER,
                     rel_eps_ladder=REL_EPS_LADDER) -> dict:
    """The spectral keys of the module docstring from G's eigenvalues ``ev`` (JSON-able)."""
    ev = np.asarray(ev, np.float64)
    if attainable < 1:
        raise ValueError(f"attainable: expected a rank >= 1, received {attainable!r}")
    return {
        "lambda_max": float(np.max(ev)),
        "eps_rank": {repr(float(e)): int(r) for e, r in eps_rank_ladder(ev, eps_ladder).items()},
        "eps_rank_norm": {repr(float(e)): int(r) / attainable
                          for e, r in eps_rank_ladder(ev, eps_ladder).items()},
        "rel_eps_rank_norm": {repr(float(r)): relative_eps_rank(ev, r) / attainable
                              for r in rel_eps_ladder},
        "stable_rank": stable_rank(ev),
        "spectral_erank": spectral_effective_rank(ev),
        "gram_dim": int(ev.size),
        "attainable_rank": int(attainable),
    }
