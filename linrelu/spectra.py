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
