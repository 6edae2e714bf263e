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

from linrelu.precision import float64, in_float64
from linrelu.validation import check_positive, check_positive_int, describe

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


@in_float64
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


@in_float64
def slq_runs(matvec, flat, *, order: int, num_runs: int, key=None, seed: int = 0) -> list:
    """``num_runs`` :func:`lanczos` runs from independent N(0, I_p) start vectors (``key``, or
    ``PRNGKey(seed)`` split ``num_runs`` ways): the Gauss quadratures every SLQ estimate uses."""
    check_positive_int(num_runs, "num_runs")
    flat = jnp.asarray(flat, jnp.float64)
    key = jax.random.PRNGKey(seed) if key is None else key
    return [lanczos(matvec, flat, jax.random.normal(k, flat.shape, jnp.float64), order)
            for k in jax.random.split(key, num_runs)]


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


@in_float64
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
    runs = slq_runs(matvec, flat, order=order, num_runs=num_runs, key=key, seed=seed)
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


# --- Normalized ε-ranks from the unbroadened quadrature, with their error ---------------------

def quadrature_mass_outside(ritz_values, weights, eps: float) -> tuple[float, float, float]:
    """(Q, lower, upper) for one Lanczos run from v: Q = Σ_{|θ_i|>ε} τ_i, the Gauss-quadrature
    mass outside [−ε, ε], and a bracket [lower, upper] that contains the true mass
    M_v = μ_v(|λ| > ε) of the run's spectral measure μ_v = Σ_k ⟨v̂, u_k⟩² δ(λ_k).

    The bracket is the Chebyshev–Markov–Stieltjes separation theorem (Szegő, Orthogonal
    Polynomials, Thm 3.41.1; Golub & Meurant 2010, §6.3): with nodes θ_1 < … < θ_m and
    F(t) = μ_v((−∞, t]), Σ_{i<k} τ_i ≤ F(θ_k − 0) ≤ F(θ_k) ≤ Σ_{i≤k} τ_i for every node k. Hence
    for any t, with a = the largest node ≤ t and b = the smallest node > t,
        Σ_{θ_i≤t} τ_i − τ_a ≤ F(t) ≤ Σ_{θ_i≤t} τ_i + τ_b,
    (and likewise for F(t − 0) with ≤ t replaced by < t). M_v = F(−ε − 0) + 1 − F(ε), so
        Q − τ(largest node < −ε) − τ(smallest node > ε) ≤ M_v
                              ≤ Q + τ(smallest node ≥ −ε) + τ(largest node ≤ ε).
    The quadrature error is at most the weight of the nodes adjacent to ±ε: small where the
    Ritz values are dense around ±ε, up to the whole null-space weight when one node near 0
    holds every eigenvalue of [−ε, ε] (the moments of order ≤ 2m − 1 cannot tell an atom at 0
    from a cluster spread over (0, ε]: no estimator using them can do better). Exact in exact
    arithmetic; a Lanczos run that broke down (invariant Krylov space) has Q = M_v exactly.
    """
    theta = np.asarray(ritz_values, np.float64)
    tau = np.asarray(weights, np.float64)
    order = np.argsort(theta)
    theta, tau = theta[order], tau[order]
    q = min(float(np.sum(tau[np.abs(theta) > eps])), 1.0)  # Σ τ = 1 up to round-off

    def weight(mask, pick):
        idx = np.flatnonzero(mask)
        return float(tau[idx[pick]]) if idx.size else 0.0

    lower = q - weight(theta < -eps, -1) - weight(theta > eps, 0)
    upper = q + weight(theta >= -eps, 0) + weight(theta <= eps, -1)
    return q, max(lower, 0.0), min(upper, 1.0)


class EpsRankEstimate(NamedTuple):
    """A normalized ε-rank r = #{|λ| > ε}/p estimated by :func:`slq_eps_ranks`.

    ``estimate``: the mean over R runs of the Gauss-quadrature mass Q_r; ``lower``/``upper``:
    the means of the runs' quadrature brackets (:func:`quadrature_mass_outside`), which contain
    the mean of the runs' true masses M_r; ``mc_std``: the Monte-Carlo standard deviation of
    that mean around r, √(2 r(1 − r) / (R (p + 2))), taken at the r in [lower, upper] that
    maximizes it. For a Gaussian start vector v, M_v = Σ_{|λ_k|>ε} ⟨v̂, u_k⟩² is
    Beta(rp/2, (1 − r)p/2) distributed (normalized χ² weights), mean r and variance
    2r(1 − r)/(p + 2): unbiased, with no broadening. The mean of the runs' M_r lies in
    [lower, upper] (in exact arithmetic), so r lies in
    ``interval(z) = [lower − z·mc_std, upper + z·mc_std]`` with probability ≈ P(|N(0, 1)| ≤ z)
    (≈ 0.997 at z = 3; a Beta(rp/2, (1 − r)p/2) mean is close to normal for rp, (1 − r)p ≫ 1).
    """

    estimate: float
    lower: float
    upper: float
    mc_std: float

    def interval(self, z: float = 3.0) -> tuple[float, float]:
        return (max(self.lower - z * self.mc_std, 0.0), min(self.upper + z * self.mc_std, 1.0))

    def error_bound(self, z: float = 3.0) -> float:
        """max |r − estimate| over :meth:`interval` (the stated error)."""
        lo, hi = self.interval(z)
        return max(self.estimate - lo, hi - self.estimate)


def _eps_list(eps_values) -> list:
    eps = [eps_values] if np.isscalar(eps_values) else list(eps_values)
    if not eps:
        raise ValueError("eps_values: expected at least one ε > 0, received an empty sequence")
    return [check_positive(e, "eps_values") for e in eps]


def slq_eps_ranks(matvec, flat, eps_values, *, order: int = 100, num_runs: int = 10,
                  seed: int = 0, key=None, with_error: bool = False) -> dict:
    """Normalized ε-ranks #{i : |λ_i| > ε}/p of the symmetric operator ``v ↦ matvec(flat, v)``
    from the *unbroadened* SLQ quadrature measure: {ε: estimate} (or {ε: EpsRankEstimate} with
    ``with_error=True``).

    estimate = (1/R) Σ_r Σ_{|θ_i^{(r)}| > ε} τ_i^{(r)} over R = ``num_runs`` Lanczos runs of
    ``order`` steps from N(0, I_p) start vectors. A Gaussian-broadened density instead smears
    the null-space atom at 0 over [−ε, ε]'s edges (mass ≈ w_0 · 2Φ(−ε/σ) leaks outside, w_0 the
    null fraction): biased upward unless ε ≫ σ. Here there is no broadening; the error is
    (i) Monte Carlo, standard deviation √(2r(1 − r)/(R(p + 2))) ≤ 1/√(2R(p + 2)), unbiased, and
    (ii) quadrature, at most the weight of the Ritz nodes adjacent to ±ε (bracket of
    :func:`quadrature_mass_outside`): small where order-m Lanczos resolves the spectrum near ±ε,
    large when ε falls inside a cluster resolved by a single node. ``with_error=True`` returns
    both (:class:`EpsRankEstimate`); increase ``order`` where the bracket is wide.
    """
    eps_list = _eps_list(eps_values)
    with float64():
        runs = slq_runs(matvec, flat, order=order, num_runs=num_runs, key=key, seed=seed)
        p = int(np.asarray(flat).size)
    out = {}
    for eps in eps_list:
        q, lo, hi = np.mean([quadrature_mass_outside(r.ritz_values, r.weights, eps)
                             for r in runs], axis=0)
        worst = min(max(0.5, lo), hi)  # the r in [lo, hi] maximizing r(1 − r)
        mc = float(np.sqrt(2 * worst * (1 - worst) / (len(runs) * (p + 2))))
        out[eps] = EpsRankEstimate(float(q), float(lo), float(hi), mc) if with_error else float(q)
    return out


# The authors' ε-rank metric (lop-jax, imagenet/utils/density.py and analysis/
# plot_epsilon_rank.py): one Lanczos run of order 100, Gaussian kernel of *variance*
# 1e-5·max(1, λ_max − λ_min) on a 10 000-point grid over [θ_min − 0.01, θ_max + 0.01]
# (λ_max − λ_min includes that ±0.01), density normalized by its Riemann sum, ε-rank =
# trapz(ρ[|g| > ε], g[|g| > ε]) / trapz(ρ, g).
PAPER_SLQ = {"order": 100, "num_runs": 1, "sigma_squared": 1e-5, "grid_size": 10000,
             "grid_expand": 1e-2}


class PaperEpsRanks(NamedTuple):
    ranks: dict  # {ε: the paper's normalized ε-rank}
    sigma: float  # the kernel's standard deviation √(1e-5·max(1, λ_max − λ_min))
    grid: np.ndarray
    density: np.ndarray


def paper_eps_ranks(matvec, flat, eps_values, *, seed: int = 0, key=None,
                    order: int = PAPER_SLQ["order"]) -> PaperEpsRanks:
    """The paper's normalized ε-rank, computed as the authors' released code does.

    One N(0, I_p) start vector, ``order`` Lanczos steps; nodes θ_i, weights τ_i; grid
    g = linspace(θ_min − 0.01, θ_max + 0.01, 10 000); ρ(g) = Σ_i τ_i N(g; θ_i, s²) with variance
    s² = 1e-5·max(1, g_max − g_min); ρ ← ρ / (Σ ρ · Δg); ε-rank = trapz(ρ[|g| > ε], g[|g| > ε])
    / trapz(ρ, g). Note the masked trapezoid joins the last grid point below −ε to the first
    above ε, so it also integrates across the gap [−ε, ε] with the trapezoid of the edge values
    (kept: it is their metric). Biased wherever ε is not large against s (≈ 0.1–0.25 for spectra
    spanning 10³–10⁴); compare :func:`slq_eps_ranks`.
    """
    eps_list = _eps_list(eps_values)
    with float64():
        run = slq_runs(matvec, flat, order=order, num_runs=1, key=key, seed=seed)[0]
    theta, tau = run.ritz_values, run.weights
    hi = float(theta.max()) + PAPER_SLQ["grid_expand"]
    lo = float(theta.min()) - PAPER_SLQ["grid_expand"]
    grid = np.linspace(lo, hi, PAPER_SLQ["grid_size"])
    variance = PAPER_SLQ["sigma_squared"] * max(1.0, hi - lo)
    sigma = float(np.sqrt(variance))
    rho = gaussian_broadened_density([theta], [tau], grid, sigma)
    rho = rho / (np.sum(rho) * (grid[1] - grid[0]))
    return PaperEpsRanks({eps: paper_mass_outside(grid, rho, eps) for eps in eps_list}, sigma,
                         grid, rho)


def paper_mass_outside(grid, density, eps: float) -> float:
    """The authors' ``calculate_epsilon_hessian_rank`` (as a fraction): trapz(ρ[|g| > ε],
    g[|g| > ε]) / trapz(ρ, g), the masked trapezoid that also bridges the gap [−ε, ε]."""
    check_positive(eps, "eps")
    grid, density = np.asarray(grid, np.float64), np.asarray(density, np.float64)
    mask = np.abs(grid) > eps
    return float(np.trapezoid(density[mask], grid[mask]) / np.trapezoid(density, grid))
