"""Lanczos and stochastic Lanczos quadrature (SLQ) for the Hessian's spectral density.

Lanczos (full reorthogonalization). From a unit vector v_1, for j = 1..m:
    w = ∇²L v_j − β_{j−1} v_{j−1},  α_j = ⟨w, v_j⟩,  w ← w − α_j v_j,
    w ← w − V_j V_jᵀ w  (repeated once when it shrank ‖w‖ by more than 1/√2: "twice is
    enough", Parlett),  β_j = ‖w‖,  v_{j+1} = w / β_j.
The tridiagonal T_m = tridiag(β, α, β) has eigenpairs (θ_i, s_i) (Ritz values). If some β_j
falls below ``breakdown_tol``·max|α|, the Krylov space is invariant: the run is truncated at j and
its Ritz values are then exact eigenvalues of ∇²L (the ones v_1 has weight on).

SLQ (Ghorbani, Krishnan & Xiao 2019; PyHessian's ``density``): for R Gaussian start vectors,
the Gauss quadrature with nodes θ_i and weights τ_i = s_i[0]² approximates the spectral measure
μ_v = Σ_k ⟨v, u_k⟩² δ(λ_k) (E μ_v = uniform measure on eig(∇²L)). The density is

    ρ(λ) = (1/R) Σ_r Σ_i τ_i^{(r)} N(λ; θ_i^{(r)}, σ²)

on a uniform grid (here normalized to unit trapezoid mass on the grid). The normalized ε-rank is
its mass outside [−ε, ε] (:func:`linrelu.density_mass_outside`).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from linrelu._checks import check_positive, check_positive_int, describe

_CHUNK = 8  # rows of V per reorthogonalization block


@partial(jax.jit, static_argnums=(0, 3))
def _lanczos_arrays(matvec, flat, v0, order):
    """α (order,) and β (order,) for a jitted ``matvec(flat, v)``.

    Full reorthogonalization touches only the rows of V filled so far (blocks of ``_CHUNK``
    rows skipped by ``lax.cond``: projecting on the still-zero rows reads V for nothing), and
    the second Gram–Schmidt pass runs only when the first removed more than 1 − 1/√2 of ‖w‖
    (the "twice is enough" criterion of Daniel, Gragg, Kaufman & Stewart 1976 / Parlett). This
    keeps every step orthogonal to working precision at about a quarter of the memory traffic
    of projecting twice on the whole basis (benchmarks/RESULTS.md: 2.09 → 1.3 HVPs per step).
    """
    p = v0.shape[0]
    nchunks = -(-(order + 1) // _CHUNK)
    V = jnp.zeros((nchunks * _CHUNK, p), dtype=v0.dtype).at[0].set(v0 / jnp.linalg.norm(v0))

    def project(V, w, j):
        """w − V_{≤j}V_{≤j}ᵀ w, block by block over the filled rows 0..j."""
        def one_chunk(c, w):
            def apply(w):
                B = jax.lax.dynamic_slice_in_dim(V, c * _CHUNK, _CHUNK, 0)
                return w - B.T @ (B @ w)

            return jax.lax.cond(c * _CHUNK <= j, apply, lambda w: w, w)

        return jax.lax.fori_loop(0, nchunks, one_chunk, w)

    def body(j, carry):
        V, alpha, beta = carry
        v = V[j]
        w = matvec(flat, v)
        w = w - jnp.where(j > 0, beta[jnp.maximum(j - 1, 0)], 0.0) * V[jnp.maximum(j - 1, 0)]
        a = jnp.dot(w, v)
        w = w - a * v
        norm_before = jnp.linalg.norm(w)
        w = project(V, w, j)
        w = jax.lax.cond(jnp.linalg.norm(w) < norm_before / jnp.sqrt(2.0),
                         lambda w: project(V, w, j), lambda w: w, w)
        b = jnp.linalg.norm(w)
        V = V.at[j + 1].set(w / jnp.where(b > 0, b, 1.0))
        return V, alpha.at[j].set(a), beta.at[j].set(b)

    alpha = jnp.zeros(order, dtype=v0.dtype)
    beta = jnp.zeros(order, dtype=v0.dtype)
    _, alpha, beta = jax.lax.fori_loop(0, order, body, (V, alpha, beta))
    return alpha, beta


class LanczosResult(NamedTuple):
    ritz_values: np.ndarray  # θ_i, ascending
    weights: np.ndarray  # τ_i = (first component of the i-th eigenvector of T)²; sum to 1
    alpha: np.ndarray  # diagonal of T (after truncation)
    beta: np.ndarray  # off-diagonal of T (after truncation)


def lanczos(matvec, flat, v0, order: int, breakdown_tol: float = 1e-10) -> LanczosResult:
    """``order`` steps of Lanczos with full reorthogonalization for the operator
    ``v ↦ matvec(flat, v)`` (symmetric; e.g. :func:`linrelu.hessian_vector_product`).

    breakdown_tol: a β_j ≤ tol·max(|α|, |β|) marks an invariant Krylov space (exhausted at
    order ≥ #distinct eigenvalues); 1e-10 is far above float64 round-off after full
    reorthogonalization (~1e-14 relative) and far below any genuine β of a non-invariant step.
    """
    check_positive_int(order, "order")
    flat = jnp.asarray(flat, jnp.float64)
    v0 = jnp.asarray(v0, jnp.float64)
    if v0.shape != flat.shape:
        raise ValueError(f"v0: expected a start vector of shape {flat.shape}, received "
                         f"{describe(v0)}")
    if not float(jnp.linalg.norm(v0)) > 0:
        raise ValueError("v0: expected a nonzero start vector, received the zero vector")
    order = min(int(order), int(flat.shape[0]))
    alpha, beta = _lanczos_arrays(matvec, flat, v0, order)
    alpha, beta = np.asarray(alpha), np.asarray(beta)
    scale = max(np.max(np.abs(alpha)), np.max(np.abs(beta)), np.finfo(float).tiny)
    small = np.nonzero(beta[:-1] <= breakdown_tol * scale)[0]
    m = int(small[0]) + 1 if small.size else order
    alpha, beta = alpha[:m], beta[:m - 1]
    T = np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1)
    theta, S = np.linalg.eigh(T)
    return LanczosResult(theta, S[0] ** 2, alpha, beta)


class SpectralDensity(NamedTuple):
    grid: np.ndarray
    density: np.ndarray
    ritz_values: list  # one array per run
    weights: list  # one array per run
    sigma: float


def gaussian_broadened_density(ritz_values, weights, grid, sigma: float) -> np.ndarray:
    """ρ(λ) = (1/R) Σ_r Σ_i τ_i N(λ; θ_i, σ²) on ``grid`` (not renormalized)."""
    grid = np.asarray(grid, np.float64)
    rho = np.zeros_like(grid)
    for theta, tau in zip(ritz_values, weights):
        z = (grid[:, None] - np.asarray(theta)[None, :]) / sigma
        rho += np.exp(-0.5 * z**2) @ np.asarray(tau) / (sigma * np.sqrt(2 * np.pi))
    return rho / len(ritz_values)


def slq_density(matvec, flat, *, order: int = 80, num_runs: int = 5, key=None, sigma=None,
                grid_size: int = 4000, pad: float = 0.05, seed: int = 0) -> SpectralDensity:
    """SLQ spectral density of the symmetric operator ``v ↦ matvec(flat, v)``.

    Start vectors are N(0, I_p) (``key`` or ``seed``). ``sigma`` defaults to 1e-3·(θ_max − θ_min)
    of the pooled Ritz values (PyHessian's broadening is an absolute 1e-5 for its grid; a relative
    width keeps the same resolution at any curvature scale). The grid spans
    [θ_min − pad·w − 5σ, θ_max + pad·w + 5σ], w = θ_max − θ_min; the density is renormalized to
    unit trapezoid mass on the grid.
    """
    check_positive_int(num_runs, "num_runs")
    check_positive_int(grid_size, "grid_size", minimum=2)
    check_positive(pad, "pad", allow_zero=True)
    flat = jnp.asarray(flat, jnp.float64)
    key = jax.random.PRNGKey(seed) if key is None else key
    runs = [lanczos(matvec, flat, jax.random.normal(k, flat.shape, jnp.float64), order)
            for k in jax.random.split(key, num_runs)]
    thetas = [r.ritz_values for r in runs]
    taus = [r.weights for r in runs]
    lo = min(float(t.min()) for t in thetas)
    hi = max(float(t.max()) for t in thetas)
    width = hi - lo
    if sigma is None:
        # A zero operator (e.g. every unit dead) has width 0: keep the broadening negligible
        # (1e-12) so that the delta at 0 has zero mass outside any practical [−ε, ε].
        scale = max(width, abs(hi), abs(lo))
        sigma = 1e-3 * scale if scale > 0 else 1e-12
    check_positive(sigma, "sigma")
    grid = np.linspace(lo - pad * width - 5 * sigma, hi + pad * width + 5 * sigma, grid_size)
    rho = gaussian_broadened_density(thetas, taus, grid, sigma)
    rho = rho / np.trapezoid(rho, grid)
    return SpectralDensity(grid, rho, thetas, taus, float(sigma))


def ritz_measure_mass_outside(density: SpectralDensity, eps: float) -> float:
    """Mass of the unbroadened quadrature measure (1/R) Σ_r Σ_i τ_i δ(θ_i) outside [−ε, ε]."""
    check_positive(eps, "eps")
    return float(np.mean([np.sum(t[np.abs(th) > eps])
                          for th, t in zip(density.ritz_values, density.weights)]))
