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
    """{eps: eps_rank(eigenvalues, eps)} for each eps of a ladder."""
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
