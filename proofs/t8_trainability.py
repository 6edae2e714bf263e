r"""T8 — ε-rank conditions for training the linearized network with mse and gradient descent.

Statement (with the corrected range of ε)
-----------------------------------------
GD with step η on ``L = (1/2n)‖r‖²`` for the linearized model (residual r = f_lin(X) − Y,
Jacobian J, K = JJᵀ with eigenpairs (λ_j, u_j), c_j = u_jᵀr_0):
``r_t = (I − (η/n)K)^t r_0`` and ``L_t = (1/2n) Σ_j (1 − ηλ_j/n)^{2t} c_j²``. With
``m_ε = Σ_{λ_j ≤ ε} c_j²/‖r_0‖²`` and ``ρ_ε(T) = (1 − ηε/n)^{2T}``: if ηλ_max ≤ n then

    upper:  L_T/L_0 ≤ m_ε + ρ_ε(T)(1 − m_ε)      for every ε ≥ 0,
    lower:  ρ_ε(T) m_ε ≤ L_T/L_0                  for 0 ≤ ε ≤ n/η.

THEORY.md states both "for every ε". The lower bound (and so the necessary condition
m_ε ≤ τ/ρ_ε(T)) is false for ε > n/η when |1 − ηε/n| > 1: e.g. n = η = T = 1, K = [[½]], ε = 3:
ρ_ε = 4, m_ε = 1, L_1/L_0 = ¼, and 4·1 ≤ ¼ fails. (ηλ_max ≤ n is the right condition for the
eigenvalues; ε needs the same range.) Consequences: τ-trainable ⇒ m_ε ≤ τ/ρ_ε(T) (0 ≤ ε ≤ n/η);
m_ε ≤ (τ − ρ_ε)/(1 − ρ_ε) for some ε with ρ_ε < τ ⇒ τ-trainable. For isotropic r_0,
E[c_j²/‖r_0‖²] = 1/N, so E[L_T/L_0] = (1/N)Σ_j(1 − ηλ_j/n)^{2T} and E[m_ε] = 1 − rank_ε(K)/N,
giving the ε-rank conditions in expectation. Gradient flow: r(t) = e^{−tK/n} r_0, ρ → e^{−2εt/n}.

Proof
-----
∇_θL = (1/n)J_ᵀr, so θ_{t+1} = θ_t − (η/n)Jᵀr_t and r_{t+1} = r_t + J(θ_{t+1} − θ_t) =
(I − (η/n)K)r_t; by induction r_t = (I − (η/n)K)^t r_0, and in K's eigenbasis each coordinate is
the scalar recurrence c_{j,t+1} = (1 − ηλ_j/n)c_{j,t}. Let w(λ) = (1 − ηλ/n)^{2T}, q_j = c_j²/‖r_0‖²
(Σq_j = 1), so L_T/L_0 = Σ_j w(λ_j)q_j. For 0 ≤ λ ≤ n/η, y = 1 − ηλ/n ∈ [0, 1], so 0 ≤ w ≤ 1 and
w′(λ) = −(2Tη/n)y^{2T−1} ≤ 0. Upper: w(λ_j) ≤ 1 for λ_j ≤ ε, and w(λ_j) ≤ w(ε) = ρ for ε < λ_j ≤
λ_max (monotone; if ε > n/η no λ_j exceeds ε). Lower (ε ≤ n/η): w(λ_j) ≥ w(ε) = ρ for λ_j ≤ ε and
w ≥ 0 otherwise. In formulas (exact decompositions):
L_T/L_0 − ρm = Σ_{λ_j≤ε}(w_j − ρ)q_j + Σ_{λ_j>ε}w_jq_j, and
m + ρ(1 − m) − L_T/L_0 = Σ_{λ_j≤ε}(1 − w_j)q_j + Σ_{λ_j>ε}(ρ − w_j)q_j.
The trainability implications are one-line algebra; isotropy makes r_0/‖r_0‖ uniform on the sphere.
∎

What ``check()`` verifies symbolically
--------------------------------------
For symbolic J (2 × 3), θ, Y, η, n: one GD step on L gives r_{t+1} = (I − (η/n)JJᵀ)r_t; sympy's
``rsolve`` solves the eigen-coordinate recurrence to (1 − ηλ/n)^t c_0; ``dsolve`` solves gradient
flow to e^{−λt/n}c_0; the derivative of w has the sign of −y^{2T−1} ≤ 0 for y ∈ [0, 1] and
symbolic integer T ≥ 1 (sympy assumptions); for N = 3 (λ₁ ≤ ε < λ₂ ≤ λ₃) both decompositions
above are identities; the sufficiency algebra ρ + (1 − ρ)(τ − ρ)/(1 − ρ) = τ; E[cos² t] = ½ over
the uniform circle (isotropy, N = 2); and the counterexample to the "every ε" lower bound.
"""

from __future__ import annotations

import sympy as sp

from proofs._sym import assert_identity, assert_matrix_identity, assert_true, choose_variant

ID = "T8"
STATEMENT = "r_t = (I−ηK/n)^t r_0; ρ_ε m_ε ≤ L_T/L_0 ≤ m_ε + ρ_ε(1−m_ε) (ηλ_max ≤ n, ε ≤ n/η)"
CHECKED = "GD step & rsolve/dsolve closed forms; monotonicity sign; N=3 bound decompositions"
MUTANTS = {
    "step_missing_1_over_n": "claims r_{t+1} = (I − ηK) r_t",
    "loss_exponent_t": "claims L_t uses (1 − ηλ/n)^t instead of ^{2t}",
    "upper_drops_rho_term": "claims L_T/L_0 ≤ m_ε",
}


def lower_bound_counterexample():
    """(ρ_ε m_ε, L_1/L_0) for n = η = T = 1, K = [[½]], ε = 3 — lower bound fails: 4 > ¼."""
    n = eta = T = 1
    lam, eps = sp.Rational(1, 2), 3
    rho = (1 - eta * sp.Integer(eps) / n) ** (2 * T)
    ratio = (1 - eta * lam / n) ** (2 * T)
    return rho * 1, ratio


def check(variant: str | None = None) -> None:
    """Verify T8 symbolically; raise AssertionError if any fact fails."""
    variant = choose_variant(variant, MUTANTS)
    eta, n = sp.symbols("eta n", positive=True)
    J = sp.Matrix(2, 3, lambda i, j: sp.Symbol(f"j{i}{j}", real=True))
    theta = sp.Matrix(sp.symbols("th1:4", real=True))
    offset = sp.Matrix(sp.symbols("o1:3", real=True))  # f(θ_0) − J θ_0 − Y
    resid = lambda th: J * th + offset
    loss = (resid(theta).T * resid(theta))[0, 0] / (2 * n)
    grad = sp.Matrix([sp.diff(loss, v) for v in theta])
    r_next = resid(theta - eta * grad)
    scale = 1 if variant == "step_missing_1_over_n" else 1 / n
    assert_matrix_identity(r_next, (sp.eye(2) - eta * scale * J * J.T) * resid(theta),
                           "one GD step: r_{t+1} = (I − (η/n)K) r_t")

    t = sp.Symbol("t", integer=True, nonnegative=True)
    lam, c0 = sp.Symbol("lambda"), sp.Symbol("c0")
    c = sp.Function("c")
    sol = sp.rsolve(c(t + 1) - (1 - eta * lam / n) * c(t), c(t), {c(0): c0})
    assert_identity(sol, c0 * (1 - eta * lam / n) ** t, "rsolve: c_t = (1 − ηλ/n)^t c_0")
    power = t if variant == "loss_exponent_t" else 2 * t
    assert_identity(sp.expand_power_base(sol**2, force=True),
                    c0**2 * (1 - eta * lam / n) ** power, "c_t² = (1 − ηλ/n)^{2t} c_0²")

    tau_t = sp.Symbol("s", nonnegative=True)
    x = sp.Function("x")
    flow = sp.dsolve(sp.Eq(x(tau_t).diff(tau_t), -lam / n * x(tau_t)), x(tau_t), ics={x(0): c0})
    assert_identity(flow.rhs, c0 * sp.exp(-lam * tau_t / n), "gradient flow: e^{−λt/n} c_0")

    T = sp.Symbol("T", integer=True, positive=True)
    y = sp.Symbol("y", nonnegative=True)  # y = 1 − ηλ/n ∈ [0, 1] when ηλ ≤ n
    lam_ = sp.Symbol("lam_", nonnegative=True)
    w = (1 - eta * lam_ / n) ** (2 * T)
    dw = sp.diff(w, lam_)
    # powsimp merges (1 − ηλ/n)^{2T}/(1 − ηλ/n) into one power; the difference must vanish.
    assert_identity(sp.powsimp(sp.expand_power_exp(dw))
                    - (-2 * T * eta / n * (1 - eta * lam_ / n) ** (2 * T - 1)), 0,
                    "w′(λ) = −(2Tη/n) y^{2T−1}, y = 1 − ηλ/n")
    assert_true((-2 * T * eta / n * y ** (2 * T - 1)).is_nonpositive,
                "w′(λ) ≤ 0 for y = 1 − ηλ/n ≥ 0 (monotone weights)")

    w1, w2, w3, rho = sp.symbols("w1 w2 w3 rho", nonnegative=True)
    q1, q2 = sp.symbols("q1 q2", nonnegative=True)
    q3 = 1 - q1 - q2
    ratio = w1 * q1 + w2 * q2 + w3 * q3  # λ₁ ≤ ε < λ₂ ≤ λ₃
    m = q1
    assert_identity(ratio - rho * m, (w1 - rho) * q1 + w2 * q2 + w3 * q3,
                    "lower decomposition: L_T/L_0 − ρm = (w₁−ρ)q₁ + w₂q₂ + w₃q₃")
    upper = m if variant == "upper_drops_rho_term" else m + rho * (1 - m)
    assert_identity(upper - ratio, (1 - w1) * q1 + (rho - w2) * q2 + (rho - w3) * q3,
                    "upper decomposition: m + ρ(1−m) − L_T/L_0 = (1−w₁)q₁ + (ρ−w₂)q₂ + (ρ−w₃)q₃")

    tau = sp.Symbol("tau", positive=True)
    assert_identity(rho + (1 - rho) * (tau - rho) / (1 - rho), tau,
                    "sufficiency: m = (τ−ρ)/(1−ρ) makes the upper bound equal τ")
    phi = sp.Symbol("phi", real=True)
    assert_identity(sp.integrate(sp.cos(phi) ** 2, (phi, 0, 2 * sp.pi)) / (2 * sp.pi),
                    sp.Rational(1, 2), "isotropy (N = 2): E[c_1²/‖r_0‖²] = 1/N")
    bound, ratio_ce = lower_bound_counterexample()
    assert_true(bound > ratio_ce, "ε > n/η: the THEORY.md lower bound fails (4 > ¼)")
