"""Infinite-width kernels of the ReLU MLP (THEORY.md T7): NNGP Σ^{L+1} and NTK Θ^{L+1}.

NTK parameterization, layer sizes (d, m, …, m, k), widths m → ∞ (Jacot et al. 2018; Lee et al.
2019; Arora et al. 2019; neural-tangents ``stax.Dense(..., parameterization="ntk")`` +
``stax.Relu()``):

    Σ¹(x, x′)     = σ_w² xᵀx′/d + σ_b²,                       Θ¹ = Σ¹
    Σ^{l+1}(x, x′) = σ_w² E[φ(u)φ(v)] + σ_b²
    Σ̇^{l+1}(x, x′) = σ_w² E[φ′(u)φ′(v)]
    Θ^{l+1}(x, x′) = Σ^{l+1} + Σ̇^{l+1} Θ^l
    (u, v) ~ N(0, [[Σ^l(x, x), Σ^l(x, x′)], [Σ^l(x, x′), Σ^l(x′, x′)]])

``depth`` = L hidden layers gives Σ^{L+1}, Θ^{L+1}; depth 0 is the linear model f = (σ_w/√d)Wᵀx
+ σ_b b, whose NTK is Σ¹. The NTK of all k outputs is Θ^{L+1} ⊗ I_k, i.e. ``np.kron(Θ, I_k)`` in
the i·k + c index order of :func:`linrelu.jacobian_gram`.

Numerics. The two Gaussian expectations are the arc-cosine kernels of orders 1 and 0 (Cho & Saul
2009). They are evaluated with the angle θ = arctan2(√(s₁s₂ − c²), c) (s₁s₂ − c² clipped at 0),
which is exact at ρ = ±1 and avoids arccos of a clipped ratio. The order-0 kernel
(π − θ)/(2π) is not Lipschitz in ρ at ρ = 1 (θ ≈ √(2(1 − ρ))), so for two distinct inputs that
are parallel to within rounding, Σ̇ inherits an error of order √ε ≈ 1e-8 from the rounding of
the Gram entries. This is intrinsic to any function of XXᵀ; in the symmetric call (``X2=None``)
the diagonal is exact because s and c are then the very same floating-point numbers (θ = 0).

Convention φ′(0) = 0, as in the finite-width masks 1[z > 0] of :mod:`linrelu.spectral.gram`: when
s₁ = 0
or s₂ = 0 (a zero-norm input with σ_b = 0), u or v is 0 almost surely and E[φ′(u)φ′(v)] = 0
(E[φ(u)φ(v)] = 0 as well). The finite-width net agrees: its pre-activations are then exactly 0.
"""

from __future__ import annotations

import numpy as np

from linrelu.validation import check_inputs, check_positive, check_positive_int, describe

__all__ = ["ntk_analytic", "nngp_analytic", "relu_gaussian_expectations"]


def _sine_factor(s1, s2, c):
    """√(s₁s₂ − c²) = √(s₁s₂)·sin θ, with values below round-off snapped to 0.

    s₁s₂ − c² is a difference of two rounded products, so for (anti)parallel pairs (ρ = ±1
    exactly, e.g. x and 2x) it comes out as ±few ulps of s₁s₂ instead of 0, and the square root
    turns that into an angle of ~√ε ≈ 1e-8 — enough to make Θ visibly indefinite (−3.5e-11·‖Θ‖
    on 1-D inputs). Any value within 8 ulps of s₁s₂ is indistinguishable from 0 at this
    precision, so it is set to 0: exact for parallel pairs, and for the others it moves θ by at
    most √(8ε) ≈ 4e-8, the same as their inherent conditioning (dθ/dρ → ∞ at ρ = ±1).
    """
    prod = s1 * s2
    det = prod - c * c
    return np.sqrt(np.where(det > 8.0 * np.finfo(np.float64).eps * prod, det, 0.0))


def _arccos_angle(s1, s2, c):
    """θ = arctan2(√max(s₁s₂ − c², 0), c) ∈ [0, π]: the angle of the pair, stable at ρ = ±1.

    Equals arccos(c/√(s₁s₂)) wherever s₁s₂ > 0 (ρ = cos θ, √(1 − ρ²) = sin θ); the arctan2 form
    keeps full relative accuracy of sin θ and does not need ρ to be clipped into [−1, 1].
    """
    return np.arctan2(_sine_factor(s1, s2, c), c)


def arccos_kernel_1(s1, s2, c):
    """E[φ(u)φ(v)] = (√(s₁s₂ − c²) + (π − θ) c) / (2π), φ = ReLU.

    Arc-cosine kernel of order 1 (Cho & Saul 2009, eq. for n = 1), written as
    √(s₁s₂)/(2π) (sin θ + (π − θ) cos θ) with √(s₁s₂) sin θ = √(s₁s₂ − c²) and
    √(s₁s₂) cos θ = c; neural-tangents ``stax.Relu`` uses the same expression. It is 0 when
    s₁ = 0 or s₂ = 0 (then c = 0 by Cauchy–Schwarz) and s/2 on the diagonal.
    """
    return (_sine_factor(s1, s2, c) + (np.pi - _arccos_angle(s1, s2, c)) * c) / (2.0 * np.pi)


def arccos_kernel_0(s1, s2, c):
    """E[φ′(u)φ′(v)] = (π − θ) / (2π) with φ′(z) = 1[z > 0], and 0 if s₁ = 0 or s₂ = 0.

    Arc-cosine kernel of order 0 (Cho & Saul 2009): P(u > 0, v > 0) for a centred Gaussian pair
    with angle θ (Sheppard's formula). A zero variance means the variable is 0 a.s., and φ′(0) = 0
    (the convention of the finite-width ReLU masks 1[z > 0]), so the expectation is 0 there.
    """
    theta = _arccos_angle(s1, s2, c)
    both_nonzero = (np.asarray(s1) > 0) & (np.asarray(s2) > 0)
    return np.where(both_nonzero, (np.pi - theta) / (2.0 * np.pi), 0.0)


def relu_gaussian_expectations(s1, s2, c):
    """(E[φ(u)φ(v)], E[φ′(u)φ′(v)]) for (u, v) ~ N(0, [[s₁, c], [c, s₂]]), φ = ReLU.

    Broadcasts over arrays; requires s₁, s₂ ≥ 0 and c² ≤ s₁s₂ (up to rounding). See
    :func:`arccos_kernel_1` and :func:`arccos_kernel_0` for the formulas and conventions.
    """
    s1, s2, c = (np.asarray(a, dtype=np.float64) for a in (s1, s2, c))
    return arccos_kernel_1(s1, s2, c), arccos_kernel_0(s1, s2, c)


def _input_layer(X1, X2, sigma_w: float, sigma_b: float):
    """Σ¹ = σ_w² XᵀX′/d + σ_b² as (diag for X1, diag for X2, cross matrix); X2 None = symmetric."""
    d = X1.shape[1]
    scale = sigma_w**2 / d
    if X2 is None:
        cross = scale * (X1 @ X1.T) + sigma_b**2
        diag = np.diag(cross).copy()
        return diag, diag, cross
    s1 = scale * np.einsum("ij,ij->i", X1, X1) + sigma_b**2
    s2 = scale * np.einsum("ij,ij->i", X2, X2) + sigma_b**2
    return s1, s2, scale * (X1 @ X2.T) + sigma_b**2


def _relu_layer(s1, s2, cross, sigma_w: float, sigma_b: float, symmetric: bool):
    """One ReLU layer of the recursion: (Σ^l, …) ↦ (Σ^{l+1} diag/diag/cross, Σ̇^{l+1} cross).

    Σ^{l+1} = σ_w² E[φφ] + σ_b², Σ̇^{l+1} = σ_w² E[φ′φ′] (T7). In the symmetric case the diagonals
    are read off the cross matrix so that s and c agree to the last bit (θ = 0 exactly).
    """
    S, S_dot = relu_gaussian_expectations(s1[:, None], s2[None, :], cross)
    new_cross = sigma_w**2 * S + sigma_b**2
    if symmetric:
        diag = np.diag(new_cross).copy()
        return diag, diag, new_cross, sigma_w**2 * S_dot
    # Diagonal variances: the same formula at c = s (θ = 0): E[φ(u)²] = s/2.
    new_s1 = sigma_w**2 * arccos_kernel_1(s1, s1, s1) + sigma_b**2
    new_s2 = sigma_w**2 * arccos_kernel_1(s2, s2, s2) + sigma_b**2
    return new_s1, new_s2, new_cross, sigma_w**2 * S_dot


def _validate(X1, X2, depth, sigma_w, sigma_b):
    X1 = np.asarray(check_inputs(X1, name="X1"), dtype=np.float64)
    if X2 is not None:
        X2 = check_inputs(X2, name="X2")
        if X2.shape[1] != X1.shape[1]:
            raise ValueError(f"X2: expected {X1.shape[1]} features (columns) to match X1, "
                             f"received {describe(X2)}")
        X2 = np.asarray(X2, dtype=np.float64)
    depth = check_positive_int(depth, "depth", minimum=0)
    sigma_w = check_positive(sigma_w, "sigma_w")
    sigma_b = check_positive(sigma_b, "sigma_b", allow_zero=True)
    return X1, X2, depth, sigma_w, sigma_b


def _kernels(X1, X2, depth, sigma_w, sigma_b):
    """(Σ^{L+1}, Θ^{L+1}) cross matrices for validated float64 inputs."""
    symmetric = X2 is None or X2 is X1
    s1, s2, sigma = _input_layer(X1, None if symmetric else X2, sigma_w, sigma_b)
    theta = sigma.copy()
    for _ in range(depth):
        s1, s2, sigma, sigma_dot = _relu_layer(s1, s2, sigma, sigma_w, sigma_b, symmetric)
        theta = sigma + sigma_dot * theta
    if symmetric:  # symmetrize exactly: the recursion is entrywise, rounding is symmetric too
        sigma, theta = 0.5 * (sigma + sigma.T), 0.5 * (theta + theta.T)
    return sigma, theta


def ntk_analytic(X1, X2=None, depth: int = 1, sigma_w: float = 2**0.5, sigma_b: float = 0.0):
    """Per-output NTK Θ^{L+1}(X1, X2) of the infinite-width ReLU MLP, shape (n1, n2), float64.

    ``depth`` = number of hidden layers L (0: linear model). ``X2=None`` means X2 = X1 (and
    gives an exactly symmetric matrix with an exact diagonal). The NTK of the k-output net in
    the i·k + c order is ``np.kron(Θ, np.eye(k))``; the empirical
    :func:`linrelu.jacobian_gram` of a fresh net converges to it as widths grow (T7).
    Recursion and numerics: see the module docstring.
    """
    X1, X2, depth, sigma_w, sigma_b = _validate(X1, X2, depth, sigma_w, sigma_b)
    return _kernels(X1, X2, depth, sigma_w, sigma_b)[1]


def nngp_analytic(X1, X2=None, depth: int = 1, sigma_w: float = 2**0.5, sigma_b: float = 0.0):
    """NNGP kernel Σ^{L+1}(X1, X2) (covariance of each output at init as widths → ∞), (n1, n2).

    Same arguments and recursion as :func:`ntk_analytic`; depth 0 gives Σ¹ = σ_w² xᵀx′/d + σ_b².
    """
    X1, X2, depth, sigma_w, sigma_b = _validate(X1, X2, depth, sigma_w, sigma_b)
    return _kernels(X1, X2, depth, sigma_w, sigma_b)[0]
