r"""T9 — progress of gradient descent on the local quadratic model (any loss, any η > 0).

Statement
---------
For ``q(Δ) = L_0 + gᵀΔ + ½ΔᵀĜΔ`` with Ĝ ≽ 0 (eigenpairs λ_j ≥ 0, g_j = component of g on the
j-th eigenvector) and T GD steps ``Δ_{t+1} = Δ_t − η(g + ĜΔ_t)`` from Δ_0 = 0, for every η > 0:

    L_0 − q(Δ_T) = ½ Σ_j (g_j²/λ_j)(1 − (1 − ηλ_j)^{2T})      (term = Tη g_j² when λ_j = 0),
    L_0 − q(Δ_T) ≤ ½ Σ_{λ_j > ε} g_j²/λ_j + Tη Σ_{λ_j ≤ ε} g_j².

The decrease is nondecreasing in T when ηλ_max ≤ 2 (no condition is needed for the bound).

Proof
-----
In Ĝ's eigenbasis GD decouples: ``d_{t+1} = (1 − ηλ)d_t − ηg`` (per direction), d_0 = 0, whose
solution is ``d_t = −(g/λ)(1 − (1 − ηλ)^t)`` (λ > 0) and ``d_t = −tηg`` (λ = 0). With
s = 1 − (1 − ηλ)^T the decrease ``−(g d_T + ½λd_T²) = (g²/2λ)(1 − (1 − ηλ)^{2T})``; for λ = 0 it
is Tηg², the λ → 0 limit. Bound, term by term:
steep (λ_j > ε ≥ 0): g²/(2λ) − term = (g²/2λ)(1 − ηλ)^{2T} ≥ 0 (even power, any η);
flat (0 < λ_j ≤ ε): Tηg² − term = (g²/2λ)((1 − ηλ)^{2T} − 1 + 2Tηλ) ≥ 0 by Bernoulli's inequality
for even powers, (1 − x)^{2T} ≥ 1 − 2Tx for *every* real x (so for every η > 0): with y = 1 − x,
for y ≥ 0: y^{2T} − 1 − 2T(y − 1) = Σ_{i<2T}(y − 1)(y^i − 1) = Σ_{i<2T}(y − 1)² Σ_{j<i} y^j ≥ 0
(telescoping lemma twice); for y < 0 (x > 1): y^{2T} ≥ 0 > 1 − 2Tx = −(2T − 1) − 2T(x − 1).
flat with λ_j = 0: term = Tηg² exactly. Summing the per-direction slacks gives the bound.
Monotonicity: term(T+1) − term(T) = (g²/2λ)(1 − ηλ)^{2T}·ηλ(2 − ηλ) ≥ 0 when ηλ ≤ 2. ∎

What ``check()`` proves at general size
---------------------------------------
With symbolic g, λ, η, t and integer T (no step-size assumption anywhere): ``rsolve`` solves the
per-direction recurrence; the decrease identity and its λ → 0 limit; the λ = 0 recurrence;
Bernoulli's inequality, claimed as (1 − x)^E ≥ 1 − C·x with (E, C) = (2T, 2T), for symbolic T in
both cases: x ≤ 1 (y = 1 − x ≥ 0): the claimed gap must equal Σ_{i<E}(y − 1)(y^i − 1) =
[(y − 1)S_E] − E(y − 1) (telescoping lemma; fails for C ≠ E, e.g. the false 1 − T·x), each summand
Σ_{j<i}(y − 1)²y^j with y^j a power of the hypothesis y ≥ 0; x > 1: the gap must equal
((1 − x)^T)² + 2(T − 1) + 1 + 2T(x − 1) (fails for odd powers); the telescoping lemma by induction
(``_sym.check_telescoping_lemma``); the assembled bound: the coefficient of
each class in ``bound − decrease`` for a generic steep and a generic flat direction (any number of
directions) is certified ≥ 0 — steep as ½·(1/λ)·(g(1 − ηλ)^T)², flat as ½·(1/λ)·g²·[the
Bernoulli gap proved above, at x = ηλ]; the monotonicity certificate
(hypothesis 2 − ηλ ≥ 0). The decoupling is checked for the full vector iteration with symbolic
diagonal Ĝ (two directions, two steps); a grid of exact rational instances (η up to 3, far past
any step-size condition) is a falsifier, not part of the proof.
Named lemma (prose): spectral theorem (orthogonal change of basis to Ĝ's eigenvectors decouples
GD and preserves gᵀΔ and ΔᵀĜΔ).
"""

from __future__ import annotations

from fractions import Fraction
from itertools import product

import sympy as sp

from proofs._sym import (
    assert_identity,
    assert_nonneg_certificate,
    check_telescoping_lemma,
    choose_variant,
    fmt,
    telescoping_summand,
)

ID = "T9"
CHECKED = ("rsolve closed form, decrease identity, Bernoulli (even powers, symbolic T), assembled "
           "bound with no step-size condition, monotonicity")
GENERAL = ("per-direction closed form and decrease for symbolic λ, η, T; Bernoulli "
           "(1−x)^{2T} ≥ 1−2Tx for every real x and symbolic T; the assembled bound for any number "
           "of directions and every η > 0; monotone in T when ηλ_max ≤ 2")
INDUCTION = "telescoping lemma (a−b)Σ_{i<M}a^ib^{M−1−i} = a^M − b^M (step M → M+1)"
LEMMAS = ("spectral theorem (orthogonal eigenbasis of Ĝ decouples GD)",)
MUTANTS = {
    "progress_exponent_T": "claims the decrease uses (1 − ηλ)^T instead of ^{2T}",
    "drift_halved": "claims the flat-direction drift is ½Tηg² per direction",
    "bernoulli_odd_power": "uses Bernoulli for odd powers (1 − x)^{2T+1} ≥ 1 − (2T+1)x, all real x",
    "bernoulli_coefficient_T": "uses the false lemma (1 − x)^{2T} ≥ 1 − T·x (T = 1, x = ½: ¼ ≥ ½)",
    "steep_bound_quartered": "claims the steep term is at most g²/(4λ)",
    "flat_bound_half_drift": "claims the flat term is at most ½Tηg² in the assembled bound",
}


def claimed_decrease(g, lam, eta, T, variant: str | None = None):
    """½(g²/λ)(1 − (1 − ηλ)^{2T}) (mutant: exponent T)."""
    power = T if variant == "progress_exponent_T" else 2 * T
    return g**2 / (2 * lam) * (1 - (1 - eta * lam) ** power)


def claimed_drift(g, eta, T, variant: str | None = None):
    """Tηg²: the decrease along a direction with λ = 0 (the λ → 0 limit)."""
    return (T * eta * g**2 / 2) if variant == "drift_halved" else T * eta * g**2


def claimed_bound_terms(g, lam, eta, T, variant: str | None = None):
    """(steep bound g²/(2λ), flat bound Tηg²) of the assembled inequality."""
    steep = g**2 / (4 * lam) if variant == "steep_bound_quartered" else g**2 / (2 * lam)
    flat = T * eta * g**2 / (2 if variant == "flat_bound_half_drift" else 1)
    return steep, flat


def _check_closed_form(variant) -> None:
    g, eta, lam = sp.Symbol("g", real=True), sp.Symbol("eta", positive=True), \
        sp.Symbol("lambda", positive=True)
    t = sp.Symbol("t", integer=True, nonnegative=True)
    T = sp.Symbol("T", integer=True, positive=True)
    d = sp.Function("d")
    sol = sp.rsolve(d(t + 1) - (1 - eta * lam) * d(t) + eta * g, d(t), {d(0): 0})
    closed = -(g / lam) * (1 - (1 - eta * lam) ** t)
    assert_identity(sol, closed, "rsolve: d_t = −(g/λ)(1 − (1 − ηλ)^t)")
    d_T = closed.subs(t, T)
    decrease = -(g * d_T + lam * d_T**2 / 2)
    assert_identity(sp.powsimp(sp.expand(decrease - claimed_decrease(g, lam, eta, T, variant))), 0,
                    "decrease = ½(g²/λ)(1 − (1 − ηλ)^{2T})")
    assert_identity(sp.limit(claimed_decrease(g, lam, eta, T), lam, 0),
                    claimed_drift(g, eta, T, variant), "λ → 0 limit of the decrease = Tηg²")
    flat = sp.rsolve(d(t + 1) - d(t) + eta * g, d(t), {d(0): 0})
    assert_identity(flat, -t * eta * g, "λ = 0: d_t = −tηg")
    assert_identity(-g * flat.subs(t, T), claimed_drift(g, eta, T, variant),
                    "λ = 0: decrease = Tηg²")
    # Decoupling: vector GD with diagonal Ĝ = diag(λ₁, λ₂), two steps, equals the formula.
    l1, l2 = sp.symbols("l1 l2", positive=True)
    gv = sp.Matrix(sp.symbols("g1 g2", real=True))
    Ghat = sp.diag(l1, l2)
    delta = sp.zeros(2, 1)
    for _ in range(2):
        delta = delta - eta * (gv + Ghat * delta)
    q_drop = -((gv.T * delta)[0, 0] + (delta.T * Ghat * delta)[0, 0] / 2)
    formula = sum(claimed_decrease(gv[j], lj, eta, 2, variant) for j, lj in enumerate((l1, l2)))
    assert_identity(q_drop, formula, "vector GD (2 steps, diagonal Ĝ) = Σ_j per-direction formula")


def claimed_bernoulli(T, variant: str | None = None):
    """(E, C) of the lemma (1 − x)^E ≥ 1 − C·x for every real x (true: E = C = 2T)."""
    if variant == "bernoulli_odd_power":
        return 2 * T + 1, 2 * T + 1
    if variant == "bernoulli_coefficient_T":
        return 2 * T, T
    return 2 * T, 2 * T


def bernoulli_gap(x, T, variant: str | None = None):
    """(1 − x)^E − (1 − C·x), the quantity the lemma claims ≥ 0."""
    E, C = claimed_bernoulli(T, variant)
    return (1 - x) ** E - (1 - C * x)


def check_bernoulli(variant: str | None = None) -> None:
    """The claimed lemma (1 − x)^E ≥ 1 − Cx (true: E = C = 2T, symbolic T ≥ 1), both cases, by
    certificates whose terms are written for the true lemma and whose target is the claim."""
    T = sp.Symbol("T", integer=True, positive=True)
    E, _ = claimed_bernoulli(T, variant)
    x = sp.Symbol("x", real=True)
    gap = bernoulli_gap(x, T, variant)
    # Case x ≤ 1, y = 1 − x ≥ 0 (hypothesis atom y). Telescoping lemma (a = y, b = 1):
    # Q := (y − 1)S_E(y, 1) = y^E − 1, so Σ_{i<E}(y − 1)(y^i − 1) = Q − E(y − 1); the claim must
    # equal this sum exactly (it fails for any coefficient C ≠ E).
    y = sp.Symbol("y", real=True)
    Q = sp.Symbol("Q")
    telescoped = (Q - E * (y - 1)).subs(Q, y**E - 1)
    assert_identity(gap.subs(x, 1 - y), telescoped,
                    "Bernoulli, x ≤ 1: (1 − x)^E − 1 + Cx = Σ_{i<E}(y − 1)(y^i − 1), y = 1 − x")
    # each summand (y − 1)(y^i − 1) = (y − 1)·(y − 1)S_i(y, 1) = Σ_{j<i} (y − 1)² y^j (lemma
    # again): y^j is a power of the hypothesis atom y ≥ 0, (y − 1)² a square.
    i, j = sp.symbols("i j", integer=True, nonnegative=True)
    assert_identity(telescoping_summand(y, 1, i, j), y**j,
                    "Bernoulli, x ≤ 1: S_i(y, 1) = Σ_{j<i} y^j (telescoping summand at b = 1)")
    assert_nonneg_certificate((y - 1) ** 2 * y**j, [(1, [y**j], y - 1)], [y],
                              "Bernoulli, x ≤ 1: (y − 1)² y^j ≥ 0 for y ≥ 0")
    # Case x > 1 (hypotheses x − 1 ≥ 0, T − 1 ≥ 0): (1 − x)^{2T} = ((1 − x)^T)² and
    # −1 + 2Tx = 2(T − 1) + 1 + 2T(x − 1).
    assert_nonneg_certificate(
        gap,
        [(1, [], (1 - x) ** T), (2, [T - 1], 1), (1, [], 1), (2, [T, x - 1], 1)],
        [x - 1, T - 1, T],
        "Bernoulli, x > 1: (1 − x)^E − 1 + Cx = ((1 − x)^T)² + 2(T − 1) + 1 + 2T(x − 1)",
    )


def _check_assembled_bound(variant) -> None:
    g_s, g_f, g_0 = sp.symbols("g_s g_f g_0", real=True)  # generic steep / flat(λ>0) / λ = 0
    lam_s, lam_f, eta = sp.symbols("lambda_s lambda_f eta", positive=True)
    T = sp.Symbol("T", integer=True, positive=True)
    a_s, a_f, a_0 = sp.symbols("a_s a_f a_0")  # indicator weights to read off each coefficient
    steep_b, _ = claimed_bound_terms(g_s, lam_s, eta, T, variant)
    _, flat_b = claimed_bound_terms(g_f, lam_f, eta, T, variant)
    _, flat_b0 = claimed_bound_terms(g_0, lam_f, eta, T, variant)
    bound = a_s * steep_b + a_f * flat_b + a_0 * flat_b0
    decrease = (a_s * claimed_decrease(g_s, lam_s, eta, T)
                + a_f * claimed_decrease(g_f, lam_f, eta, T) + a_0 * claimed_drift(g_0, eta, T))
    gap = sp.expand(bound - decrease)
    c_s, c_f, c_0 = (sp.diff(gap, a) for a in (a_s, a_f, a_0))
    # steep (λ > ε ≥ 0, hypothesis 1/λ > 0): slack = ½·(1/λ)·(g(1 − ηλ)^T)², any η.
    assert_nonneg_certificate(c_s, [(sp.Rational(1, 2), [1 / lam_s], g_s * (1 - eta * lam_s) ** T)],
                              [1 / lam_s], "steep slack = (g²/2λ)(1 − ηλ)^{2T} ≥ 0 (any η)")
    # flat (0 < λ ≤ ε): slack = ½·(1/λ)·g²·[Bernoulli gap at x = ηλ], the gap that
    # check_bernoulli proved ≥ 0 for every real x (so every η > 0).
    bern = bernoulli_gap(eta * lam_f, T, variant)
    assert_nonneg_certificate(c_f, [(sp.Rational(1, 2), [1 / lam_f, bern], g_f)],
                              [1 / lam_f, bern],
                              "flat slack = (g²/2λ)((1 − ηλ)^{2T} − 1 + 2Tηλ) ≥ 0 by Bernoulli")
    assert_identity(c_0, 0, "λ = 0: the flat bound Tηg² is attained (slack 0)")


def _check_monotone() -> None:
    g, lam, eta = sp.Symbol("g", real=True), sp.Symbol("lambda", positive=True), \
        sp.Symbol("eta", positive=True)
    T = sp.Symbol("T", integer=True, positive=True)
    inc = claimed_decrease(g, lam, eta, T + 1) - claimed_decrease(g, lam, eta, T)
    factored = g**2 / (2 * lam) * (1 - eta * lam) ** (2 * T) * eta * lam * (2 - eta * lam)
    assert_identity(sp.powsimp(sp.expand(sp.powsimp(sp.expand_power_exp(inc)) - factored)), 0,
                    "term(T+1) − term(T) = (g²/2λ)(1 − ηλ)^{2T}·ηλ(2 − ηλ)")
    assert_nonneg_certificate(eta * lam * (2 - eta * lam), [(1, [eta * lam, 2 - eta * lam], 1)],
                              [eta * lam, 2 - eta * lam], "ηλ(2 − ηλ) ≥ 0 when ηλ ≤ 2")


def falsifier_grid(variant) -> None:
    """Exact rational instances (one direction each, η up to 3): the claimed per-direction bound
    must hold. Not part of the proof; it rejects false bounds concretely."""
    vals = [Fraction(v) for v in (Fraction(1, 4), Fraction(1, 2), 1, 2, 3)]
    for eta, lam, eps, T in product(vals, vals, [Fraction(0)] + vals, (1, 2, 3)):
        g2 = Fraction(1)
        term = g2 / (2 * lam) * (1 - (1 - eta * lam) ** (2 * T))
        steep, flat = claimed_bound_terms(1, lam, eta, T, variant)
        if not term <= (steep if lam > eps else flat):
            raise AssertionError(f"T9 bound violated at η={eta}, λ={lam}, ε={eps}, T={T}")
        power, coef = claimed_bernoulli(T, variant)
        x = eta * lam
        if not (1 - x) ** power >= 1 - coef * x:
            raise AssertionError(f"Bernoulli violated at x={x}, power {power}")


def check(variant: str | None = None) -> None:
    """Verify T9 symbolically; raise AssertionError if any fact fails."""
    variant = choose_variant(variant, MUTANTS)
    check_telescoping_lemma()
    _check_closed_form(variant)
    check_bernoulli(variant)
    _check_assembled_bound(variant)
    _check_monotone()
    falsifier_grid(variant)


def statement(variant: str | None = None) -> str:
    """The printed statement, generated from the claim functions the check verifies."""
    g, lam, eta, T, x = sp.symbols("g_j lambda_j eta T x")
    E, C = claimed_bernoulli(T, variant)
    steep, flat = claimed_bound_terms(g, lam, eta, T, variant)
    return (
        f"L_0 − q(Δ_T) = Σ_j {fmt(claimed_decrease(g, lam, eta, T, variant))} "
        f"(λ_j = 0: {fmt(claimed_drift(g, eta, T, variant))}) ≤ Σ_(λ_j>ε) {fmt(steep)} + "
        f"Σ_(λ_j≤ε) {fmt(flat)}, any η > 0; Bernoulli {fmt(sp.Ge((1 - x) ** E, 1 - C * x))} "
        "for every real x"
    )


STATEMENT = statement()
