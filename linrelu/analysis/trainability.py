"""ε-rank conditions for training (THEORY.md T8, T9): exact loss curves and their ε-bounds.

T8 (mse, linearized model, full-batch gradient descent with step η on L = (1/2n)‖r‖²):
    r_t = (I − (η/n)K)^t r_0, so with eigenpairs (λ_j, u_j) of K and c_j = u_jᵀ r_0
        L_t / L_0 = Σ_j w_j(t) c_j² / Σ_j c_j²,   w_j(t) = (1 − ηλ_j/n)^{2t}.
    Flat mass m_ε = Σ_{λ_j ≤ ε} c_j² / ‖r_0‖², ρ_ε(t) = (1 − ηε/n)^{2t}:
        ρ_ε(t) m_ε ≤ L_t / L_0 ≤ m_ε + ρ_ε(t)(1 − m_ε).

    Step-size condition. Write x_j = ηλ_j/n ≥ 0 and e = ηε/n. The lower bound needs
    |1 − x_j| ≥ |1 − e| for every λ_j ≤ ε, which holds for all such spectra iff e ≤ 1. The upper
    bound needs |1 − x_j| ≤ |1 − e| for every λ_j > ε, i.e. x_max ≤ 2 − e. THEORY.md states only
    ηλ_max ≤ n (x_max ≤ 1); that is (i) not sufficient: it says nothing about ε, and for
    ηε > n the lower bound fails (K = [1], n = 1, η = 1, T = 1, ε = 2: L_1/L_0 = 0 but
    ρ_ε m_ε = (1 − 2)² · 1 = 1); (ii) stronger than needed for the upper bound. The condition
    used here, ηε ≤ n and ηλ_max + ηε ≤ 2n, is sharp: if either fails there is a spectrum
    (all mass on λ = n/η resp. on λ_max) violating the corresponding bound.

T9 (any loss, local quadratic model q(Δ) = L_0 + gᵀΔ + ½ΔᵀĜΔ, T GD steps from Δ = 0):
    L_0 − q(Δ_T) = ½ Σ_j (g_j²/λ_j)(1 − (1 − ηλ_j)^{2T})        (→ Tη g_j² as λ_j → 0)
                 ≤ ½ Σ_{λ_j > ε} g_j²/λ_j + Tη Σ_{λ_j ≤ ε} g_j².
    The bound holds for every η > 0 (no step-size condition): (1 − x)^{2T} ≥ 0 for the first
    sum, and Bernoulli's inequality (1 − x)^{2T} ≥ 1 − 2Tx (true for every real x because 2T is
    even) for the second. ηλ_max ≤ 1 is only needed for monotone progress.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from linrelu.validation import (
    check_eigenvalues,
    check_finite,
    check_positive,
    check_positive_int,
    describe,
)

# Eigenvalues of a PSD matrix computed by a backward-stable solver are accurate to about
# N · eps_machine · λ_max (Weyl); a negative value within 8× that is round-off and is clipped
# to 0, anything more negative is a user error (an indefinite matrix or a sign slip).
_NEG_ROUNDOFF_FACTOR = 8.0


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------
def _psd_eigenvalues(eigvals, name: str = "eigvals") -> np.ndarray:
    """1-D finite float64 eigenvalues of a PSD matrix; round-off negatives clipped to 0."""
    ev = np.asarray(check_eigenvalues(eigvals, name), dtype=np.float64)
    if ev.size == 0:
        raise ValueError(f"{name}: expected at least one eigenvalue, received an empty array")
    scale = float(np.max(np.abs(ev)))
    tol = _NEG_ROUNDOFF_FACTOR * ev.size * np.finfo(np.float64).eps * scale
    if ev.min() < -tol:
        raise ValueError(f"{name}: expected eigenvalues of a PSD matrix (>= -{tol:.3g}, the "
                         f"round-off level), received a minimum of {ev.min():.6g}")
    return np.clip(ev, 0.0, None)


def _coefficients(coeffs, size: int, name: str) -> np.ndarray:
    c = np.asarray(coeffs, dtype=np.float64) if hasattr(coeffs, "__len__") else None
    if c is None or c.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, received {describe(coeffs)}")
    if c.size != size:
        raise ValueError(f"{name}: expected {size} entries (one per eigenvalue), received "
                         f"{c.size}")
    check_finite(c, name)
    return c


def eps_values(eps) -> np.ndarray:
    """ε as a 1-D float64 array of finite positive numbers (a scalar becomes one entry)."""
    e = np.atleast_1d(np.asarray(eps, dtype=np.float64))
    if e.ndim != 1 or e.size == 0 or not np.all(np.isfinite(e)) or np.any(e <= 0):
        raise ValueError(f"eps: expected a finite number > 0 or a 1-D array of them, received "
                         f"{eps!r}"[:200])
    return e


def check_tau(tau) -> float:
    """τ must lie in the open interval (0, 1)."""
    if isinstance(tau, bool) or not isinstance(tau, (int, float, np.floating, np.integer)) or \
            not np.isfinite(tau) or not 0 < tau < 1:
        raise ValueError(f"tau: expected a number in the open interval (0, 1), received {tau!r}")
    return float(tau)


def _common(eigvals, coeffs, lr, steps, n=None, coeff_name="coeffs"):
    ev = _psd_eigenvalues(eigvals)
    c = _coefficients(coeffs, ev.size, coeff_name)
    lr = check_positive(lr, "lr")
    steps = check_positive_int(steps, "steps", minimum=0)
    if n is not None:
        n = check_positive_int(n, "n")
    return ev, c, lr, steps, n


def _unit_residual(c: np.ndarray) -> np.ndarray:
    """c/‖c‖ (ratios like L_t/L_0 and m_ε are scale-free). Dividing by max|c_j| first keeps
    ‖c‖² from underflowing for tiny residuals (e.g. ‖c‖ ~ 1e-170)."""
    scale = float(np.max(np.abs(c)))
    if not scale > 0:
        raise ValueError("coeffs: expected a nonzero initial residual (L_0 > 0), received all "
                         "zeros")
    c = c / scale
    return c / np.sqrt(np.sum(c * c))


def _contraction_powers(factor: np.ndarray, steps: int) -> np.ndarray:
    """(factor)^{2t} for t = 0..steps, shape (steps + 1, len(factor)).

    Computed by exponentiating |factor| (the power is even), so no sign issues arise.
    """
    t = np.arange(steps + 1, dtype=np.float64)[:, None]
    return np.abs(factor)[None, :] ** (2.0 * t)


# --------------------------------------------------------------------------------------------
# T8: mse, exact curve and ε-bounds
# --------------------------------------------------------------------------------------------
def mse_loss_curve(eigvals, coeffs, lr, steps, n) -> np.ndarray:
    """Exact L_t/L_0, t = 0..steps, of GD on the linearized mse model (T8).

    L_t/L_0 = Σ_j (1 − ηλ_j/n)^{2t} c_j² / Σ_j c_j² with λ_j the eigenvalues of the NTK Gram
    K = J Jᵀ and c_j = u_jᵀ r_0 the initial residual's components on its eigenvectors. Exact for
    every step size (divergence for ηλ_max > 2n shows up as growth).
    """
    ev, c, lr, steps, n = _common(eigvals, coeffs, lr, steps, n)
    u = _unit_residual(c)
    w = _contraction_powers(1.0 - lr * ev / n, steps)
    return w @ (u * u)


def flat_mass(eigvals, coeffs, eps):
    """m_ε = Σ_{λ_j ≤ ε} c_j² / Σ_j c_j²: the residual share in flat directions (T8).

    ``eps`` may be a scalar (returns a float) or a 1-D array (returns an array).
    """
    ev = _psd_eigenvalues(eigvals)
    c = _coefficients(coeffs, ev.size, "coeffs")
    u = _unit_residual(c)
    e = eps_values(eps)
    m = np.array([min(float(np.sum(u[ev <= x] ** 2)), 1.0) for x in e])
    return float(m[0]) if np.ndim(eps) == 0 else m


def check_bound_step_size(lam_max: float, lr: float, n: int, eps) -> None:
    """Raise ValueError unless ηε ≤ n and ηλ_max + ηε ≤ 2n for every ε (module docstring).

    Slack of 1e-12 relative: the conditions are inequalities between products of user numbers,
    and a step size chosen as exactly n/λ_max must not be rejected because of one rounding.
    """
    e = eps_values(eps)
    slack = 1.0 + 1e-12
    worst_eps = float(e.max())
    if lr * worst_eps > n * slack:
        raise ValueError(f"eps: the T8 bounds need lr·eps ≤ n, received lr·eps = "
                         f"{lr * worst_eps:.6g} > n = {n} (eps = {worst_eps:.6g}); use "
                         f"eps ≤ n/lr = {n / lr:.6g}")
    if lr * (lam_max + worst_eps) > 2 * n * slack:
        raise ValueError(f"lr: the T8 bounds need lr·(λ_max + eps) ≤ 2n, received "
                         f"lr·λ_max = {lr * lam_max:.6g}, lr·eps = {lr * worst_eps:.6g}, "
                         f"n = {n} (THEORY's lr·λ_max ≤ n suffices when lr·eps ≤ n)")


def _rho(eps: np.ndarray, lr: float, n: int, steps: int) -> np.ndarray:
    """ρ_ε(t) = (1 − ηε/n)^{2t}, shape (steps + 1, len(eps))."""
    return _contraction_powers(1.0 - lr * eps / n, steps)


def mse_loss_bounds(eigvals, coeffs, lr, steps, n, eps):
    """(lower, upper) arrays of L_t/L_0, t = 0..steps, from the flat mass (T8).

    lower = ρ_ε(t) m_ε, upper = m_ε + ρ_ε(t)(1 − m_ε). Scalar ``eps`` gives arrays of shape
    (steps + 1,); a 1-D ladder gives (steps + 1, len(eps)). Raises ValueError (naming ``eps`` or
    ``lr``) unless ηε ≤ n and ηλ_max + ηε ≤ 2n (see the module docstring for why THEORY's
    ηλ_max ≤ n is not the right condition).
    """
    ev, c, lr, steps, n = _common(eigvals, coeffs, lr, steps, n)
    e = eps_values(eps)
    check_bound_step_size(float(ev.max()), lr, n, e)
    m = np.asarray(flat_mass(ev, c, e))
    rho = _rho(e, lr, n, steps)
    lower, upper = rho * m, m + rho * (1.0 - m)
    if np.ndim(eps) == 0:
        return lower[:, 0], upper[:, 0]
    return lower, upper


@dataclass(frozen=True)
class TauConditions:
    """T8's necessary and sufficient conditions for τ-trainability (L_T ≤ τ L_0), per ε.

    necessary_ok[i]:  m_ε ≤ τ/ρ_ε(T)                     (must hold for every ε if trainable)
    sufficient_ok[i]: ρ_ε(T) < τ and m_ε ≤ (τ − ρ)/(1 − ρ) (any ε that satisfies it proves it)
    For :func:`rank_conditions` the same conditions are stated for the expected ratio under an
    isotropic residual, with m_ε replaced by E[m_ε] = 1 − rank_ε(K)/N.
    """

    tau: float
    steps: int
    eps: np.ndarray
    flat_mass: np.ndarray
    rho: np.ndarray
    necessary_ok: np.ndarray
    sufficient_ok: np.ndarray

    @property
    def necessary(self) -> bool:
        """The necessary condition holds (for every ε checked)."""
        return bool(np.all(self.necessary_ok))

    @property
    def sufficient(self) -> bool:
        """The sufficient condition holds (for some ε checked)."""
        return bool(np.any(self.sufficient_ok))

    @property
    def eps_rejecting(self):
        """The ε whose necessary condition fails with the largest margin, or None."""
        if self.necessary:
            return None
        margin = self.flat_mass * self.rho - self.tau
        return float(self.eps[int(np.argmax(np.where(self.necessary_ok, -np.inf, margin)))])

    @property
    def eps_accepting(self):
        """The ε whose sufficient condition holds with the largest margin, or None."""
        if not self.sufficient:
            return None
        with np.errstate(divide="ignore", invalid="ignore"):
            margin = (self.tau - self.rho) / (1.0 - self.rho) - self.flat_mass
        return float(self.eps[int(np.argmax(np.where(self.sufficient_ok, margin, -np.inf)))])


def _conditions(m: np.ndarray, rho: np.ndarray, tau: float):
    necessary_ok = m * rho <= tau
    with np.errstate(divide="ignore", invalid="ignore"):
        sufficient_ok = (rho < tau) & (m <= (tau - rho) / (1.0 - rho))
    return necessary_ok, sufficient_ok


def tau_conditions(eigvals, coeffs, lr, steps, n, tau, eps) -> TauConditions:
    """T8 necessary / sufficient conditions for L_T ≤ τ L_0 at each ε of ``eps`` (scalar/ladder).

    Necessary: τ-trainable ⟹ m_ε ≤ τ/ρ_ε(T) for every ε (from the lower bound; written as
    m_ε ρ_ε ≤ τ so ρ_ε = 0 needs no division). Sufficient: m_ε ≤ (τ − ρ_ε)/(1 − ρ_ε) for some ε
    with ρ_ε(T) < τ (from the upper bound). Same step-size condition as :func:`mse_loss_bounds`.
    """
    ev, c, lr, steps, n = _common(eigvals, coeffs, lr, steps, n)
    tau = check_tau(tau)
    e = eps_values(eps)
    check_bound_step_size(float(ev.max()), lr, n, e)
    m = np.asarray(flat_mass(ev, c, e))
    rho = _rho(e, lr, n, steps)[-1]
    nec, suf = _conditions(m, rho, tau)
    return TauConditions(tau, steps, e, m, rho, nec, suf)


@dataclass(frozen=True)
class RankConditions(TauConditions):
    """:class:`TauConditions` for an isotropic residual, stated as ε-rank thresholds.

    rank[i] = rank_ε(K); necessary: rank_ε ≥ N(1 − τ/ρ_ε); sufficient: rank_ε ≥
    N(1 − (τ − ρ_ε)/(1 − ρ_ε)) with ρ_ε < τ. ``expected_ratio`` = E[L_T/L_0] = (1/N) Σ_j w_j(T).
    """

    rank: np.ndarray = None
    necessary_rank: np.ndarray = None
    sufficient_rank: np.ndarray = None
    expected_ratio: float = float("nan")


def rank_conditions(eigvals, lr, steps, n, tau, eps) -> RankConditions:
    """T8 for isotropic residuals (fresh random targets): explicit ε-rank thresholds.

    For r_0 with a rotation-invariant distribution, c_j²/‖r_0‖² has mean 1/N by exchangeability
    (N = len(eigvals) = n·k), so E[L_T/L_0] = (1/N) Σ_j (1 − ηλ_j/n)^{2T} exactly and
    E[m_ε] = #{λ_j ≤ ε}/N = 1 − rank_ε(K)/N. The bounds of T8 are linear in m_ε, so they hold
    for the expectations and give: necessary rank_ε(K) ≥ N(1 − τ/ρ_ε(T)), sufficient
    rank_ε(K) ≥ N(1 − (τ − ρ_ε(T))/(1 − ρ_ε(T))) — conditions on E[L_T/L_0] ≤ τ.
    """
    ev = _psd_eigenvalues(eigvals)
    lr = check_positive(lr, "lr")
    steps = check_positive_int(steps, "steps", minimum=0)
    n = check_positive_int(n, "n")
    tau = check_tau(tau)
    e = eps_values(eps)
    check_bound_step_size(float(ev.max()), lr, n, e)
    N = ev.size
    rank = np.array([int(np.count_nonzero(ev > x)) for x in e])
    m = 1.0 - rank / N
    rho = _rho(e, lr, n, steps)[-1]
    nec, suf = _conditions(m, rho, tau)
    with np.errstate(divide="ignore", invalid="ignore"):
        nec_rank = N * (1.0 - np.where(rho > 0, tau / rho, np.inf))
        suf_rank = np.where(rho < tau, N * (1.0 - (tau - rho) / (1.0 - rho)), np.inf)
    expected = float(np.mean(_contraction_powers(1.0 - lr * ev / n, steps)[-1]))
    return RankConditions(tau, steps, e, m, rho, nec, suf, rank=rank,
                          necessary_rank=np.maximum(nec_rank, 0.0),
                          sufficient_rank=np.maximum(suf_rank, 0.0), expected_ratio=expected)


# --------------------------------------------------------------------------------------------
# T9: any loss, local quadratic model
# --------------------------------------------------------------------------------------------
def _progress_factor(x: np.ndarray, steps: int) -> np.ndarray:
    """(1 − (1 − x)^{2T}) / x for x = ηλ ≥ 0, with its limit 2T at x = 0.

    For 0 < x < 1 it is −expm1(2T·log1p(−x))/x, which keeps full relative accuracy as x → 0
    (the direct form cancels catastrophically once x < 1e-8). For x ≥ 1 the direct form has no
    cancellation.
    """
    out = np.full(x.shape, 2.0 * steps)
    small = (x > 0) & (x < 1)
    xs = x[small]
    out[small] = -np.expm1(2.0 * steps * np.log1p(-xs)) / xs
    big = x >= 1
    out[big] = (1.0 - (1.0 - x[big]) ** (2 * steps)) / x[big]
    return out


def quadratic_decrease(eigvals, grad_coeffs, lr, steps) -> float:
    """L_0 − q(Δ_T) = ½ Σ_j (g_j²/λ_j)(1 − (1 − ηλ_j)^{2T}) (T9), λ_j = 0 terms Tη g_j².

    ``eigvals`` are eigenvalues of the GGN Ĝ (or of any PSD curvature of the quadratic model),
    ``grad_coeffs`` the components g_j of the gradient on the matching eigenvectors. Each term is
    ½ g_j² η · (1 − (1 − ηλ_j)^{2T})/(ηλ_j), evaluated stably by :func:`_progress_factor`.
    """
    ev, g, lr, steps, _ = _common(eigvals, grad_coeffs, lr, steps, coeff_name="grad_coeffs")
    return float(0.5 * lr * np.sum(g * g * _progress_factor(lr * ev, steps)))


def quadratic_decrease_curve(eigvals, grad_coeffs, lr, steps) -> np.ndarray:
    """L_0 − q(Δ_t) for t = 0..steps (T9), same conventions as :func:`quadratic_decrease`."""
    ev, g, lr, steps, _ = _common(eigvals, grad_coeffs, lr, steps, coeff_name="grad_coeffs")
    return np.array([0.5 * lr * np.sum(g * g * _progress_factor(lr * ev, t))
                     for t in range(steps + 1)])


def quadratic_decrease_bound(eigvals, grad_coeffs, lr, steps, eps):
    """T9 ε-bound ½ Σ_{λ_j > ε} g_j²/λ_j + Tη Σ_{λ_j ≤ ε} g_j² ≥ L_0 − q(Δ_T).

    Valid for every η > 0 (module docstring). Scalar ``eps`` → float, ladder → array.
    """
    ev, g, lr, steps, _ = _common(eigvals, grad_coeffs, lr, steps, coeff_name="grad_coeffs")
    e = eps_values(eps)
    g2 = g * g
    out = np.empty(e.size)
    for i, x in enumerate(e):
        sharp = ev > x
        out[i] = 0.5 * np.sum(g2[sharp] / ev[sharp]) + steps * lr * np.sum(g2[~sharp])
    return float(out[0]) if np.ndim(eps) == 0 else out


# --------------------------------------------------------------------------------------------
# The linearized network under GD, any loss (T3): function-space dynamics from K alone
# --------------------------------------------------------------------------------------------
def linearized_gd_curve(gram, logits0, targets, loss: str, lr, steps, n=None) -> np.ndarray:
    """L_t/L_0, t = 0..steps, of full-batch GD with step η on the network linearized at θ_0.

    For f_lin(θ) = f_0 + J(θ − θ_0) (T3) a GD step θ ← θ − η ∇L = θ − (η/n) Jᵀ v(f) moves the
    outputs by f ← f − (η/n) K v(f), v_i = ∇_f ℓ(f_i, y_i), K = J Jᵀ (rows i·k + c). The loss of
    the linearized network is therefore computed exactly from K and f_0 alone, for any loss and
    any step size. mse: v = f − y and this is T8's curve (1 − ηλ_j/n)^{2t} exactly. ce: the
    loss stays ≥ 0 (unlike T9's quadratic model, whose predicted decrease can exceed L_0), so
    the ratio is informative also when the quadratic model overshoots.
    """
    K = np.asarray(gram, np.float64)
    f = np.asarray(logits0, np.float64)
    if f.ndim != 2:
        raise ValueError(f"logits0: expected an (n, k) array, received {describe(logits0)}")
    n_rows, k = f.shape
    if K.shape != (n_rows * k, n_rows * k):
        raise ValueError(f"gram: expected shape ({n_rows * k}, {n_rows * k}) for logits0 of "
                         f"shape {f.shape}, received {K.shape}")
    check_finite(K, "gram")
    lr = check_positive(lr, "lr")
    steps = check_positive_int(steps, "steps", minimum=0)
    n = n_rows if n is None else check_positive_int(n, "n")
    if loss == "mse":
        y = np.asarray(targets, np.float64).reshape(n_rows, k)

        def grad_and_loss(z):
            r = z - y
            return r, 0.5 * float(np.sum(r * r)) / n
    elif loss == "ce":
        y = np.asarray(targets).reshape(-1).astype(np.int64)
        onehot = np.eye(k)[y]

        def grad_and_loss(z):
            z = z - z.max(axis=1, keepdims=True)
            logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
            return np.exp(logp) - onehot, -float(np.sum(logp[np.arange(n_rows), y])) / n
    else:
        raise ValueError(f"loss: expected 'mse' or 'ce', received {loss!r}")
    losses = np.empty(steps + 1)
    for t in range(steps + 1):
        v, losses[t] = grad_and_loss(f)
        if t < steps:
            f = f - (lr / n) * (K @ v.reshape(-1)).reshape(n_rows, k)
    if not losses[0] > 0:
        raise ValueError("targets: expected a nonzero initial loss (L_0 > 0), received L_0 = 0")
    with np.errstate(over="ignore", invalid="ignore"):
        return losses / losses[0]


__all__ = [
    "RankConditions", "TauConditions", "check_bound_step_size", "flat_mass", "linearized_gd_curve",
    "mse_loss_bounds",
    "mse_loss_curve", "quadratic_decrease", "quadratic_decrease_bound",
    "quadratic_decrease_curve", "rank_conditions", "tau_conditions",
]
