r"""T8 — ε-rank conditions for training the linearized network with mse and gradient descent.

Statement (THEORY.md, corrected conditions)
-------------------------------------------
GD with step η on ``L = (1/2n)‖r‖²`` for the linearized model (residual r = f_lin(X) − Y,
Jacobian J, K = JJᵀ ≽ 0 with eigenpairs (λ_j, u_j), c_j = u_jᵀr_0):
``r_t = (I − (η/n)K)^t r_0`` and ``L_t = (1/2n) Σ_j (1 − ηλ_j/n)^{2t} c_j²``. With
``m_ε = Σ_{λ_j ≤ ε} c_j²/‖r_0‖²`` and ``ρ_ε(T) = (1 − ηε/n)^{2T}`` (ε ≥ 0, every integer T ≥ 1):

    lower:  ρ_ε(T) m_ε ≤ L_T/L_0                 whenever 0 ≤ ηε ≤ n,
    upper:  L_T/L_0 ≤ m_ε + ρ_ε(T)(1 − m_ε)      whenever ηλ_max + ηε ≤ 2n
            (in particular for every ε ≥ 0 when ηλ_max ≤ n).

Both conditions are needed. Lower without ηε ≤ n: K = [1], n = η = T = 1, ε = 2 gives
L_1/L_0 = 0 < ρ_ε m_ε = 1 (``lower_bound_counterexample``). Upper with only ηλ_max ≤ 2n:
K = [3/2], n = η = T = 1, ε = 1 gives m_ε = 0, ρ_ε = 0, bound 0 < L_1/L_0 = ¼
(``upper_bound_counterexample``). Consequences: τ-trainable ⇒ m_ε ≤ τ/ρ_ε(T) (ηε ≤ n);
m_ε ≤ (τ − ρ_ε)/(1 − ρ_ε) for some ε with ρ_ε < τ (and ηλ_max + ηε ≤ 2n) ⇒ τ-trainable. For
isotropic r_0, in expectation over r_0: E[L_T/L_0] = (1/N)Σ_j(1 − ηλ_j/n)^{2T},
E[m_ε] = 1 − rank_ε(K)/N. Gradient flow: r(t) = e^{−tK/n} r_0, ρ → e^{−2εt/n}.

Proof
-----
*Closed form.* ∇_θL = (1/n)Jᵀr, so r_{t+1} = r_t + J(θ_{t+1} − θ_t) = (I − (η/n)K)r_t, and by
induction r_t = B^t r_0 (B = I − (η/n)K). By the spectral theorem B^t = U diag(y_j^t) Uᵀ with
y_j = 1 − ηλ_j/n, so ‖r_t‖² = Σ_j y_j^{2t} c_j².
*Coefficients.* Let q_j = c_j²/‖r_0‖² ≥ 0 (Σ q_j = 1), w_j = y_j^{2T}, y_ε = 1 − ηε/n, ρ = y_ε^{2T}.
Then L_T/L_0 = Σ_j w_j q_j, m = Σ_{flat} q_j (flat: λ_j ≤ ε, steep: λ_j > ε), and for any bound
affine in m, using Σ q_j = 1,
    L_T/L_0 − ρm = Σ_flat (w_j − ρ) q_j + Σ_steep w_j q_j,
    m + ρ(1 − m) − L_T/L_0 = Σ_flat (1 − w_j) q_j + Σ_steep (ρ − w_j) q_j.
Each bound holds once every coefficient is ≥ 0.
*Signs (telescoping lemma (a − b)Σ_{i<M}a^i b^{M−1−i} = a^M − b^M).*
Lower, flat: w_j − ρ = (y_j − y_ε) Σ_{i<2T} y_j^i y_ε^{2T−1−i} with n(y_j − y_ε) = η(ε − λ_j) ≥ 0,
n·y_ε = n − ηε ≥ 0 (the condition), n·y_j = (n − ηε) + η(ε − λ_j) ≥ 0: every factor ≥ 0.
Lower, steep: w_j = (y_j)^{2T} ≥ 0 (even power).
Upper, flat: 1 − w_j = (1 − y_j²) Σ_{i<T} 1^i (y_j²)^{T−1−i}, 1 − y_j² = (1 − y_j)(1 + y_j) with
n(1 − y_j) = ηλ_j ≥ 0 and n(1 + y_j) = 2n − ηλ_j = s + η(λ_max − λ_j) + ηε ≥ 0, where
s = 2n − ηλ_max − ηε ≥ 0 is the condition.
Upper, steep: ρ − w_j = (y_ε² − y_j²) Σ_{i<T}(y_ε²)^i (y_j²)^{T−1−i}, with n(y_ε − y_j) = η(λ_j − ε)
≥ 0 and n(y_ε + y_j) = 2n − ηε − ηλ_j = s + η(λ_max − λ_j) ≥ 0. (Here the ηε in the condition is
used; without it the factor y_ε + y_j can be negative — the second counterexample.)
If ηλ_max ≤ n: a steep j has ε < λ_j ≤ λ_max, so s = 2(n − ηλ_max) + η(λ_max − λ_j) + η(λ_j − ε)
≥ 0; with no steep j only the flat factor 2n − ηλ_j = 2(n − ηλ_max) + η(λ_max − λ_j) + ηλ_max ≥ 0
is used. *Consequences* are one-line algebra. *Isotropy:* the law of r_0 is invariant under
rotations, so the q_j are exchangeable: E[q_j] = 1/N. ∎

What ``check()`` proves at general size
---------------------------------------
With MatrixSymbols J (N × p), θ, r of symbolic N, p: the GD step r_{t+1} = (I − (η/n)JJᵀ)r_t
(sympy's matrix derivative of ‖Jθ + o‖²/2n), and the induction step B·B^t r_0 = B^{t+1} r_0.
``rsolve``/``dsolve`` give the per-eigendirection solutions. The two coefficient formulas are
extracted by differentiating ``L_T/L_0 − bound`` with respect to the weight q of a generic flat and
a generic steep eigenvalue (any N). Each coefficient is certified ≥ 0 with *symbolic* T: it must
equal A^M − B^M for the stated A, B (sympy identity with symbolic exponent), the telescoping lemma
is proved by induction on M (``_sym.check_telescoping_lemma``), n·(A − B) factors into products of
quantities that are sums of hypothesis slacks (n − ηε, s, η, ε − λ_j, λ_j − ε, λ_max − λ_j, λ_j)
— exactly the stated conditions, nothing else — and the summands A^iB^j are powers of numbers
certified ≥ 0. The ηλ_max ≤ n special case, the consequence algebra and both counterexamples are
checked exactly. Isotropic r_0: Parseval Σ_j c_j² = ‖r_0‖² (MatrixSymbol U, UUᵀ = I); with
exchangeability (cited) E[q_j] = e for all j and Σ_j E[q_j] = 1 solve to e = 1/N (symbolic N); the
N − rank_ε(K) flat eigenvalues give E[m_ε] = 1 − rank_ε(K)/N (rank_ε/N is rejected), linearity
gives E[L_T/L_0] = (1/N)Σ_j w_j, and the necessary/sufficient ε-rank conditions follow from the
claimed E[m_ε]. The conditions are sympy relations; their slacks are the only atoms of the sign
certificates, and the printed statement is generated from them. A grid of exact rational instances
satisfying the stated conditions is also
checked (a falsifier, not part of the proof).
Named lemmas (prose): spectral theorem (B^t = U diag(y^t)Uᵀ, ‖Ux‖ = ‖x‖); exchangeability of the
coordinates of an isotropic vector (E[q_j] = 1/N); a sum of nonnegative terms is nonnegative.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import product

import sympy as sp

from proofs._sym import (
    assert_identity,
    assert_matrix_expr_identity,
    assert_nonneg_certificate,
    assert_true,
    check_telescoping_lemma,
    choose_variant,
    fmt,
    matmul_replace_adjacent,
)

ID = "T8"
CHECKED = (
    "GD step & induction (symbolic N, p); sign certificates of every bound coefficient, "
    "symbolic T; both counterexamples"
)
GENERAL = (
    "GD step r_{t+1} = (I − ηK/n)r_t for MatrixSymbol J (N×p); coefficient formulas for any N; "
    "sign of every coefficient for symbolic integer T under exactly ηε ≤ n (lower) and "
    "ηλ_max + ηε ≤ 2n (upper), and the ηλ_max ≤ n special case; trainability algebra; "
    "isotropic r_0: Σ q_j = 1 (Parseval), E[q_j] = 1/N, E[m_ε] = 1 − rank_ε(K)/N and the "
    "ε-rank conditions for symbolic N"
)
INDUCTION = (
    "r_t = (I − ηK/n)^t r_0 (step t → t+1 with MatPow); telescoping lemma "
    "(a−b)Σ_{i<M}a^ib^{M−1−i} = a^M − b^M (step M → M+1)"
)
LEMMAS = (
    "spectral theorem (B^t = U diag(y_j^t) Uᵀ)",
    "exchangeability of an isotropic vector's coordinates (E[q_j] = 1/N)",
)
MUTANTS = {
    "step_missing_1_over_n": "claims r_{t+1} = (I − ηK) r_t",
    "loss_exponent_t": "claims L_t uses (1 − ηλ/n)^t instead of ^{2t}",
    "upper_drops_rho_term": "claims L_T/L_0 ≤ m_ε",
    "lower_bound_doubled": "claims 2ρ_ε(T) m_ε ≤ L_T/L_0 (false: λ = ε gives w − 2ρ = −ρ)",
    "upper_rho_squared": "claims L_T/L_0 ≤ m_ε + ρ_ε(T)²(1 − m_ε)",
    "lower_without_condition": "claims the lower bound for every ε ≥ 0 (drops ηε ≤ n)",
    "upper_condition_without_eps": "claims the upper bound under ηλ_max ≤ 2n alone",
    "telescoping_wrong_recursion": "uses S_{M+1} = 2a·S_M + b^M in the telescoping induction",
    "lower_condition_2n": "claims the lower bound whenever ηε ≤ 2n",
    "isotropic_rank_over_N": "claims E[m_ε] = rank_ε(K)/N for isotropic r_0",
}


def lower_bound_counterexample():
    """(ρ_ε m_ε, L_1/L_0) for K = [1], n = η = T = 1, ε = 2 (ηε > n): 1 > 0, the bound fails."""
    n = eta = T = 1
    lam, eps = sp.Integer(1), sp.Integer(2)
    rho = (1 - eta * eps / n) ** (2 * T)
    m = 1  # the only eigenvalue 1 ≤ ε is flat
    return rho * m, (1 - eta * lam / n) ** (2 * T)


def upper_bound_counterexample():
    """(m_ε + ρ_ε(1 − m_ε), L_1/L_0) for K = [3/2], n = η = T = 1, ε = 1: ηλ_max = 3/2 ≤ 2n but
    ηλ_max + ηε = 5/2 > 2n, and the bound 0 is below L_1/L_0 = ¼."""
    n = eta = T = 1
    lam, eps = sp.Rational(3, 2), sp.Integer(1)
    rho = (1 - eta * eps / n) ** (2 * T)
    m = 0  # λ = 3/2 > ε is steep
    return m + rho * (1 - m), (1 - eta * lam / n) ** (2 * T)


def gd_step_scale(n, variant=None):
    """The factor c of r_{t+1} = (I − η·c·K) r_t."""
    return 1 if variant == "step_missing_1_over_n" else 1 / n


def loss_power(t, variant=None):
    """The exponent of (1 − ηλ_j/n) in L_t."""
    return t if variant == "loss_exponent_t" else 2 * t


def rho_eps(eta, eps, n, T):
    """ρ_ε(T) = (1 − ηε/n)^{2T}."""
    return (1 - eta * eps / n) ** (2 * T)


def lower_condition(eta, eps, n, variant=None):
    """The lower bound's hypothesis as a relation lhs ≤ rhs (None: no hypothesis)."""
    if variant == "lower_without_condition":
        return None
    return sp.Le(eta * eps, 2 * n if variant == "lower_condition_2n" else n)


def upper_condition(eta, eps, lam_max, n, variant=None):
    """The upper bound's hypothesis as a relation lhs ≤ rhs."""
    lhs = eta * lam_max + (0 if variant == "upper_condition_without_eps" else eta * eps)
    return sp.Le(lhs, 2 * n)


def slack(condition):
    """rhs − lhs of a hypothesis lhs ≤ rhs: the quantity the hypothesis makes ≥ 0."""
    return condition.rhs - condition.lhs


def expected_flat_mass(N, rank, variant=None):
    """E[m_ε] over an isotropic r_0, N = nk, rank = rank_ε(K)."""
    return rank / N if variant == "isotropic_rank_over_N" else 1 - rank / N


def necessary_rank(N, tau, rho, variant=None):
    """τ-trainable in expectation ⇒ rank_ε(K) ≥ this (from ρ·E[m_ε] ≤ E[L_T/L_0] ≤ τ)."""
    return N * (1 - tau / rho)


def sufficient_rank(N, tau, rho, variant=None):
    """rank_ε(K) ≥ this ⇒ E[L_T/L_0] ≤ τ (from the upper bound with E[m_ε])."""
    return N * (1 - (tau - rho) / (1 - rho))


def claimed_lower(m, one, rho, variant):
    return (2 if variant == "lower_bound_doubled" else 1) * rho * m


def claimed_upper(m, one, rho, variant):
    if variant == "upper_drops_rho_term":
        return m
    if variant == "upper_rho_squared":
        return m + rho**2 * (one - m)
    return m + rho * (one - m)


def _check_closed_form(variant) -> None:
    N, p = sp.symbols("N p", integer=True, positive=True)
    eta, n = sp.symbols("eta n", positive=True)
    J = sp.MatrixSymbol("J", N, p)
    theta, offset = sp.MatrixSymbol("theta", p, 1), sp.MatrixSymbol("o", N, 1)  # o = f0 − Jθ0 − Y
    resid = J * theta + offset
    grad = sp.diff(resid.T * resid, theta) / (2 * n)  # ∇_θ (1/2n)‖r‖²
    B = sp.Identity(N) - eta * gd_step_scale(n, variant) * J * J.T
    assert_matrix_expr_identity(
        J * (theta - eta * grad) + offset,
        B * resid,
        "one GD step: r_{t+1} = (I − (η/n)K) r_t (symbolic N, p)",
    )
    t = sp.Symbol("t", integer=True, nonnegative=True)
    r0 = sp.MatrixSymbol("r0", N, 1)
    assert_matrix_expr_identity(
        B * (B**t * r0), B ** (t + 1) * r0, "induction step: B·(B^t r_0) = B^{t+1} r_0"
    )
    lam, c0 = sp.Symbol("lambda"), sp.Symbol("c0")
    c = sp.Function("c")
    sol = sp.rsolve(c(t + 1) - (1 - eta * lam / n) * c(t), c(t), {c(0): c0})
    assert_identity(sol, c0 * (1 - eta * lam / n) ** t, "rsolve: c_t = (1 − ηλ/n)^t c_0")
    power = loss_power(t, variant)
    assert_identity(
        sp.expand_power_base(sol**2, force=True),
        c0**2 * (1 - eta * lam / n) ** power,
        "c_t² = (1 − ηλ/n)^{2t} c_0²",
    )
    s = sp.Symbol("s", nonnegative=True)
    x = sp.Function("x")
    flow = sp.dsolve(sp.Eq(x(s).diff(s), -lam / n * x(s)), x(s), ics={x(0): c0})
    assert_identity(flow.rhs, c0 * sp.exp(-lam * s / n), "gradient flow: e^{−λt/n} c_0")


def bound_coefficients(bound, w_flat, w_steep, rho):
    """Coefficients of q_flat and q_steep in L_T/L_0 − bound (any N): L_T/L_0 = Σ_j w_j q_j,
    m = Σ_flat q_j, Σ_j q_j = 1; q_f, q_s are the weights of one generic flat / steep eigenvalue,
    the other eigenvalues contribute the free symbols R (to L_T/L_0), m_rest and one_rest."""
    q_f, q_s, R, m_rest, one_rest = sp.symbols("q_f q_s R m_rest one_rest")
    ratio = w_flat * q_f + w_steep * q_s + R
    diff = ratio - bound(q_f + m_rest, q_f + q_s + one_rest, rho)
    return sp.expand(sp.diff(diff, q_f)), sp.expand(sp.diff(diff, q_s))


def _certify_power_gap(coef, A, B, M, factors, what, summand):
    """coef ≥ 0 via coef = A^M − B^M = (A − B)·Σ_{i<M} A^i B^{M−1−i} (telescoping lemma).

    ``factors``: (F1, F2, denominator, cert1, cert2) with A − B = F1·F2/denominator (denominator
    a positive symbol power) and each certᵢ = (target = den_i·Fᵢ, terms, atoms) a nonnegativity
    certificate of the numerator. ``summand``: (terms, atoms) certifying A^i B^j ≥ 0 for symbolic
    i, j ≥ 0 (atoms: A and B once they are certified ≥ 0, or squares).
    """
    assert_identity(coef, A**M - B**M, f"{what}: coefficient = A^M − B^M")
    F1, F2, den = factors[:3]
    assert_identity(A - B, F1 * F2 / den, f"{what}: A − B factorization")
    for target, terms, atoms in factors[3:]:
        assert_nonneg_certificate(target, terms, atoms, f"{what}: factor of A − B is ≥ 0")
    terms, atoms = summand
    assert_nonneg_certificate(A**I_ * B**J_, terms, atoms, f"{what}: summand A^i B^j ≥ 0")


I_, J_ = sp.symbols("i j", integer=True, nonnegative=True)


def _check_sign_certificates(variant) -> None:
    eta, n = sp.symbols("eta n", positive=True)
    lam, eps, lam_max = sp.symbols("lambda epsilon lambda_max", real=True)
    T = sp.Symbol("T", integer=True, positive=True)
    y = lambda v: 1 - eta * v / n  # noqa: E731
    w_lam, rho = y(lam) ** (2 * T), rho_eps(eta, eps, n, T)

    # Lower bound: hypothesis n − ηε ≥ 0 (dropped by a mutant: ε is only ≥ 0), as stated.
    cond = lower_condition(eta, eps, n, variant)
    lower_slack = slack(cond) if cond is not None else eps
    c_flat, c_steep = bound_coefficients(
        lambda m, one, r: claimed_lower(m, one, r, variant), w_lam, w_lam, rho
    )
    atoms = [eta, eps - lam, 1 / n, lower_slack]
    base_atoms = atoms + [y(lam), y(eps)]
    _certify_power_gap(
        c_flat,
        y(lam),
        y(eps),
        2 * T,
        (eta, eps - lam, n, (n * (y(lam) - y(eps)), [(1, [eta, eps - lam], 1)], atoms)),
        "lower bound, flat coefficient w_j − ρ",
        ([(1, [y(lam) ** I_, y(eps) ** J_], 1)], base_atoms),
    )
    # the bases y_ε = (n − ηε)/n and y_j = (n − ηε)/n + η(ε − λ_j)/n are ≥ 0 under the condition
    assert_nonneg_certificate(y(eps), [(1, [1 / n, n - eta * eps], 1)], atoms,
                              "lower bound: y_ε = 1 − ηε/n ≥ 0")
    assert_nonneg_certificate(
        y(lam), [(1, [1 / n, n - eta * eps], 1), (1, [1 / n, eta, eps - lam], 1)], atoms,
        "lower bound: y_j = 1 − ηλ_j/n ≥ 0")
    assert_nonneg_certificate(c_steep, [(1, [], y(lam) ** T)], [],
                              "lower bound, steep coefficient w_j = (y_j^T)² ≥ 0")

    # Upper bound: hypothesis s = 2n − ηλ_max − ηε ≥ 0 (mutant: s = 2n − ηλ_max), K ≽ 0.
    s = slack(upper_condition(eta, eps, lam_max, n, variant))
    c_flat, c_steep = bound_coefficients(
        lambda m, one, r: claimed_upper(m, one, r, variant), w_lam, w_lam, rho
    )
    flat_atoms = [s, eta, lam, lam_max - lam, eps]
    _certify_power_gap(
        -c_flat,
        sp.Integer(1),
        y(lam) ** 2,
        T,
        (
            1 - y(lam),
            1 + y(lam),
            1,
            (n * (1 - y(lam)), [(1, [eta, lam], 1)], flat_atoms),
            (
                n * (1 + y(lam)),
                [(1, [s], 1), (1, [eta, lam_max - lam], 1), (1, [eta, eps], 1)],
                flat_atoms,
            ),
        ),
        "upper bound, flat coefficient 1 − w_j",
        ([(1, [], y(lam) ** J_)], []),
    )
    steep_atoms = [s, eta, lam - eps, lam_max - lam]
    _certify_power_gap(
        -c_steep,
        y(eps) ** 2,
        y(lam) ** 2,
        T,
        (
            y(eps) - y(lam),
            y(eps) + y(lam),
            1,
            (n * (y(eps) - y(lam)), [(1, [eta, lam - eps], 1)], steep_atoms),
            (n * (y(eps) + y(lam)), [(1, [s], 1), (1, [eta, lam_max - lam], 1)], steep_atoms),
        ),
        "upper bound, steep coefficient ρ − w_j",
        ([(1, [], y(eps) ** I_ * y(lam) ** J_)], []),
    )

    # Special case ηλ_max ≤ n ⇒ the upper condition for every ε ≥ 0 (steep j exists: λ_j > ε),
    # and the only factor used when no eigenvalue is steep.
    special = [n - eta * lam_max, eta, lam_max - lam, lam - eps, lam_max]
    assert_nonneg_certificate(
        2 * n - eta * lam_max - eta * eps,
        [(2, [n - eta * lam_max], 1), (1, [eta, lam_max - lam], 1), (1, [eta, lam - eps], 1)],
        special,
        "ηλ_max ≤ n and a steep λ_j > ε ⇒ ηλ_max + ηε ≤ 2n",
    )
    assert_nonneg_certificate(
        2 * n - eta * lam,
        [(2, [n - eta * lam_max], 1), (1, [eta, lam_max - lam], 1), (1, [eta, lam_max], 1)],
        special,
        "ηλ_max ≤ n ⇒ 2n − ηλ_j ≥ 0 (flat factor, no steep eigenvalue)",
    )


def _check_isotropic(variant) -> None:
    """E over an isotropic r_0: q_j = c_j²/‖r_0‖² sum to 1 (Parseval, c = Uᵀr_0, UUᵀ = I) and are
    exchangeable (cited), so E[q_j] = 1/N; the N − rank_ε(K) flat eigenvalues (K ≽ 0) give
    E[m_ε], and linearity gives E[L_T/L_0] = (1/N)Σ_j w_j."""
    N = sp.Symbol("N", integer=True, positive=True)
    r = sp.Symbol("r", integer=True, nonnegative=True)  # rank_ε(K) ≤ N
    U, r0 = sp.MatrixSymbol("U", N, N), sp.MatrixSymbol("r0", N, 1)
    c = U.T * r0
    assert_matrix_expr_identity(
        matmul_replace_adjacent(c.T * c, (U, U.T), sp.Identity(N)), r0.T * r0,
        "Parseval: Σ_j c_j² = ‖Uᵀr_0‖² = ‖r_0‖², so Σ_j q_j = 1",
    )
    e, j = sp.Symbol("e"), sp.Symbol("j", integer=True)
    # exchangeability: E[q_j] = e for every j; linearity: Σ_j E[q_j] = E[Σ_j q_j] = 1.
    solutions = sp.solve(sp.Eq(sp.Sum(e, (j, 1, N)).doit(), 1), e)
    assert_true(len(solutions) == 1, "E[q_j] is determined by Σ_j E[q_j] = 1")
    e_q = solutions[0]
    # flat = λ_j ≤ ε; K ≽ 0 so the others are exactly the rank_ε(K) = r with |λ_j| > ε.
    assert_identity(sp.Sum(e_q, (j, 1, N - r)).doit(), expected_flat_mass(N, r, variant),
                    "isotropic r_0: E[m_ε] = Σ_{flat} E[q_j] = (N − rank_ε(K))/N")
    w = sp.IndexedBase("w")
    assert_identity(sp.simplify(sp.Sum(w[j] * e_q, (j, 1, N)) - sp.Sum(w[j], (j, 1, N)) / N), 0,
                    "isotropic r_0: E[L_T/L_0] = Σ_j w_j E[q_j] = (1/N)Σ_j w_j")
    rho, tau = sp.symbols("rho tau", positive=True)
    E_m = expected_flat_mass(N, r, variant)
    # necessary: ρE[m] ≤ E[L_T/L_0] ≤ τ  ⇔  rank ≥ N(1 − τ/ρ)   (N(τ − ρE[m])/ρ = rank − bound)
    assert_identity(N * (tau - rho * E_m) / rho, r - necessary_rank(N, tau, rho, variant),
                    "necessary ε-rank condition: ρE[m_ε] ≤ τ ⇔ rank_ε ≥ N(1 − τ/ρ)")
    # sufficient: E[m] ≤ (τ−ρ)/(1−ρ) ⇔ rank ≥ N(1 − (τ−ρ)/(1−ρ)), and then the upper bound ≤ τ
    bound = (tau - rho) / (1 - rho)
    assert_identity(N * (bound - E_m), r - sufficient_rank(N, tau, rho, variant),
                    "sufficient ε-rank condition: E[m_ε] ≤ (τ−ρ)/(1−ρ) ⇔ "
                    "rank_ε ≥ N(1 − (τ−ρ)/(1−ρ))")


def _check_consequences(variant) -> None:
    rho, tau, q, m = sp.symbols("rho tau q m", positive=True)
    # sufficiency: the upper bound m + ρ(1 − m) is increasing in m (slope 1 − ρ) and equals τ at
    # m = (τ − ρ)/(1 − ρ).
    upper = claimed_upper(m, 1, rho, variant)
    assert_identity(upper.subs(m, (tau - rho) / (1 - rho)), tau,
                    "sufficiency: m = (τ−ρ)/(1−ρ) makes the upper bound equal τ")
    # necessity: ρm ≤ L_T/L_0 ≤ τ ⇒ m ≤ τ/ρ: τ/ρ − m = (τ − L_T/L_0)/ρ + (L_T/L_0 − ρm)/ρ.
    ratio = sp.Symbol("R")
    lower_gap = ratio - claimed_lower(m, 1, rho, variant)
    assert_nonneg_certificate(tau / rho - m, [(1, [1 / rho, tau - ratio], 1),
                                             (1, [1 / rho, lower_gap], 1)],
                              [1 / rho, tau - ratio, lower_gap],
                              "necessity: ρ_ε m_ε ≤ L_T/L_0 ≤ τ ⇒ m_ε ≤ τ/ρ_ε")
    bound_lo, ratio_lo = lower_bound_counterexample()
    assert_true(bound_lo > ratio_lo, "K=[1], n=η=T=1, ε=2: lower bound fails (1 > 0)")
    bound_up, ratio_up = upper_bound_counterexample()
    assert_true(ratio_up > bound_up, "K=[3/2], n=η=T=1, ε=1: upper bound fails (¼ > 0)")


def falsifier_grid(variant) -> None:
    """Exact rational instances (n = 1, N = 2) satisfying the stated conditions: the claimed
    bounds must hold on each. Not part of the proof; it rejects false bounds concretely."""
    half = Fraction(1, 2)
    lams = [Fraction(v) for v in (0, half, 1, Fraction(3, 2), 2, 3)]
    for eta, T, eps, l1, l2, q1 in product(
        (half, Fraction(1)),
        (1, 2),
        lams[:5],
        lams,
        lams,
        (Fraction(0), Fraction(1, 3), Fraction(1)),
    ):
        w = [(1 - eta * lv) ** (2 * T) for lv in (l1, l2)]
        q = [q1, 1 - q1]
        ratio = w[0] * q[0] + w[1] * q[1]
        m = sum(qq for lv, qq in zip((l1, l2), q, strict=True) if lv <= eps)
        rho = (1 - eta * eps) ** (2 * T)
        lower_ok = eta * eps <= 1 or variant == "lower_without_condition"
        if lower_ok and not claimed_lower(m, 1, rho, variant) <= ratio:
            raise AssertionError(
                f"lower bound violated at η={eta}, T={T}, ε={eps}, λ=({l1}, {l2}), q₁={q1}"
            )
        extra = 0 if variant == "upper_condition_without_eps" else eta * eps
        if eta * max(l1, l2) + extra <= 2 and not ratio <= claimed_upper(m, 1, rho, variant):
            raise AssertionError(
                f"upper bound violated at η={eta}, T={T}, ε={eps}, λ=({l1}, {l2}), q₁={q1}"
            )


def check(variant: str | None = None) -> None:
    """Verify T8 symbolically; raise AssertionError if any fact fails."""
    variant = choose_variant(variant, MUTANTS)
    check_telescoping_lemma(2 if variant == "telescoping_wrong_recursion" else 1)
    _check_closed_form(variant)
    _check_sign_certificates(variant)
    _check_consequences(variant)
    _check_isotropic(variant)
    falsifier_grid(variant)


def statement(variant: str | None = None) -> str:
    """The printed statement, generated from the claim functions the check verifies."""
    eta, eps, n, lam_max, N, tau, t, T = sp.symbols("eta epsilon n lambda_max N tau t T")
    rho, m, rank, lam = sp.symbols("rho_epsilon m_epsilon rank_epsilon(K) lambda_j")
    lo = lower_condition(eta, eps, n, variant)
    return (
        f"r_t = (I − η·{fmt(gd_step_scale(n, variant))}·K)^t r_0; "
        f"L_t = (1/2n)Σ_j (1 − ηλ_j/n)^({fmt(loss_power(t, variant))}) c_j²; "
        f"ρ_ε = {fmt(rho_eps(eta, eps, n, T))}; "
        f"{fmt(claimed_lower(m, 1, rho, variant))} ≤ L_T/L_0 if "
        f"{fmt(lo) if lo is not None else 'ε ≥ 0'}; "
        f"L_T/L_0 ≤ {fmt(claimed_upper(m, 1, rho, variant))} if "
        f"{fmt(upper_condition(eta, eps, lam_max, n, variant))}; isotropic r_0 (N = nk): "
        f"E[m_ε] = {fmt(expected_flat_mass(N, rank, variant))}, necessary rank_ε(K) ≥ "
        f"{fmt(necessary_rank(N, tau, rho, variant))}, sufficient rank_ε(K) ≥ "
        f"{fmt(sufficient_rank(N, tau, rho, variant))}"
    )


STATEMENT = statement()
