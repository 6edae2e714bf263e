r"""T9 — progress of gradient descent on the local quadratic model (any loss).

Statement
---------
For ``q(Δ) = L_0 + gᵀΔ + ½ΔᵀĜΔ`` with Ĝ ≽ 0 (eigenpairs λ_j ≥ 0, g_j = component of g on the
j-th eigenvector) and T GD steps ``Δ_{t+1} = Δ_t − η(g + ĜΔ_t)`` from Δ_0 = 0 with ηλ_max ≤ 1:

    L_0 − q(Δ_T) = ½ Σ_j (g_j²/λ_j)(1 − (1 − ηλ_j)^{2T})      (term = Tη g_j² when λ_j = 0),
    L_0 − q(Δ_T) ≤ ½ Σ_{λ_j > ε} g_j²/λ_j + Tη Σ_{λ_j ≤ ε} g_j².

Proof
-----
In Ĝ's eigenbasis GD decouples: ``d_{t+1} = (1 − ηλ)d_t − ηg`` (per direction), d_0 = 0, whose
solution is ``d_t = −(g/λ)(1 − (1 − ηλ)^t)`` (λ > 0; fixed point −g/λ, contraction 1 − ηλ), and
``d_t = −tηg`` for λ = 0. With s = 1 − (1 − ηλ)^T the decrease in that direction is
``−(g d + ½λd²) = (g²/λ)(s − s²/2) = (g²/2λ)(1 − (1 − s)²) = (g²/2λ)(1 − (1 − ηλ)^{2T})``.
As λ → 0 this tends to Tηg² (derivative of 1 − (1 − ηλ)^{2T} at 0 is 2Tη). Bound: for λ_j > ε
use (1 − ηλ_j)^{2T} ≥ 0 (even power). For λ_j ≤ ε (0 < ηλ_j ≤ 1) use the geometric sum
``1 − (1 − x)^{2T} = x Σ_{i=0}^{2T−1} (1 − x)^i ≤ 2T x`` since 0 ≤ 1 − x ≤ 1, i.e. the term is at
most ½(g²/λ)·2Tηλ = Tηg². ∎

What ``check()`` verifies symbolically
--------------------------------------
With symbolic g, λ, η and integer t, T: ``rsolve`` solves the per-direction recurrence to the
closed form; the decrease equals ½(g²/λ)(1 − (1 − ηλ)^{2T}); its λ → 0 limit is Tηg²; the λ = 0
recurrence gives d_t = −tηg and decrease Tηg²; the geometric-sum identity
x Σ_{i<2T}(1 − x)^i = 1 − (1 − x)^{2T} (sympy ``summation``) and (1 − ηλ)^{2T} ≥ 0 for a real
base (sympy assumptions); the remaining fact (1 − x)^i ≤ 1 for 0 ≤ 1 − x ≤ 1 is prose; and for
a symbolic 2 × 2 diagonal Ĝ the full vector
iteration matches the per-direction formula (decoupling). The orthogonal change of basis to
Ĝ's eigenvectors is prose.
"""

from __future__ import annotations

import sympy as sp

from proofs._sym import assert_identity, assert_true, choose_variant

ID = "T9"
STATEMENT = "L_0 − q(Δ_T) = ½Σ(g_j²/λ_j)(1−(1−ηλ_j)^{2T}) ≤ ½Σ_{λ>ε}g_j²/λ_j + TηΣ_{λ≤ε}g_j²"
CHECKED = "rsolve closed form, decrease identity, λ→0 limit, geometric-sum bound, decoupling"
MUTANTS = {
    "progress_exponent_T": "claims the decrease uses (1 − ηλ)^T instead of ^{2T}",
    "drift_halved": "claims the flat-direction drift is ½Tηg² per direction",
}


def claimed_decrease(g, lam, eta, T, variant: str | None = None):
    """½(g²/λ)(1 − (1 − ηλ)^{2T}) (mutant: exponent T)."""
    power = T if variant == "progress_exponent_T" else 2 * T
    return g**2 / (2 * lam) * (1 - (1 - eta * lam) ** power)


def claimed_drift(g, eta, T, variant: str | None = None):
    """Tηg²: the decrease along a direction with λ = 0 (the λ → 0 limit)."""
    return (T * eta * g**2 / 2) if variant == "drift_halved" else T * eta * g**2


def check(variant: str | None = None) -> None:
    """Verify T9 symbolically; raise AssertionError if any fact fails."""
    variant = choose_variant(variant, MUTANTS)
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
    claim = claimed_decrease(g, lam, eta, T, variant)
    assert_identity(sp.powsimp(sp.expand(decrease - claim)), 0,
                    "decrease = ½(g²/λ)(1 − (1 − ηλ)^{2T})")
    assert_identity(sp.limit(claimed_decrease(g, lam, eta, T), lam, 0),
                    claimed_drift(g, eta, T, variant), "λ → 0 limit of the decrease = Tηg²")
    flat = sp.rsolve(d(t + 1) - d(t) + eta * g, d(t), {d(0): 0})
    assert_identity(flat, -t * eta * g, "λ = 0: d_t = −tηg")
    assert_identity(-g * flat.subs(t, T), claimed_drift(g, eta, T, variant),
                    "λ = 0: decrease = Tηg²")

    x = sp.Symbol("x", positive=True)
    i = sp.Symbol("i", integer=True, nonnegative=True)
    geometric = x * sp.summation((1 - x) ** i, (i, 0, 2 * T - 1))
    assert_identity(geometric, 1 - (1 - x) ** (2 * T), "x Σ_{i<2T}(1−x)^i = 1 − (1−x)^{2T}")
    z = sp.Symbol("z", real=True)  # z = 1 − ηλ: any real base
    assert_true((z ** (2 * T)).is_nonnegative, "(1 − ηλ)^{2T} ≥ 0 (even power)")

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
