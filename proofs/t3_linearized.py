r"""T3 — Hessian of the linearized network is its GGN; Gauss–Newton split of the true Hessian.

Statement
---------
Let ``L(θ) = (1/n) Σ_i ℓ_i(f(x_i; θ))`` with any twice-differentiable model f (k outputs) and
per-sample loss ℓ_i, ``g_i = ∇_f ℓ_i`` and ``H_i = ∇²_f ℓ_i``.
(a) For the linearization ``f_lin(x; θ) = f(x; θ_0) + J_0(x)(θ − θ_0)``,
``∇²L_lin(θ) = (1/n) Σ_i J_0(x_i)ᵀ H_i(f_lin(x_i; θ)) J_0(x_i)`` at every θ.
(b) For the model itself, ``∇²L = Ĝ + R`` with ``Ĝ = (1/n) JᵀHJ`` and
``R = (1/n) Σ_i Σ_c g_ic ∇²_θ f_c(x_i)``.

Proof
-----
Chain rule, twice: ``∂_a L = (1/n) Σ_i Σ_c g_ic ∂_a f_c(x_i)``, and by the product rule
``∂_a∂_b L = (1/n) Σ_i Σ_{c,c'} [H_i]_{cc'} ∂_a f_c ∂_b f_{c'} + (1/n) Σ_i Σ_c g_ic ∂_a∂_b f_c``:
the first term is [Ĝ]_ab, the second R_ab — this is (b). For (a), f_lin is affine in θ, so
∂²f_lin = 0 (R vanishes) and ∂f_lin/∂θ = J_0 at every θ; H_i is evaluated at f_lin(x_i; θ). ∎

What ``check()`` proves at general size
---------------------------------------
With *undefined* sympy Functions — an arbitrary smooth model f_c(θ) (k = 3 outputs) and an
arbitrary smooth loss ℓ(u_1, u_2, u_3) — and a generic pair of parameters (θ_a, θ_b), both the
mixed entry (a ≠ b) and the diagonal entry (a = b): sympy's second derivative of ℓ(f(θ))/n equals
(1/n)(Σ_{c,c'} ∂_{cc'}ℓ ∂_a f_c ∂_b f_{c'} + Σ_c ∂_cℓ ∂_a∂_b f_c); the same for the linearization
with symbolic θ_0 (H at f_lin(θ), not at f(θ_0)). Every entry of the Hessian is such a pair, so
this covers any number of parameters; the sum over samples is linear. The k = 3 outputs are a
fixed size (the chain rule is the same sum for any k).
Named lemmas (prose): multivariate chain rule for any k (sympy applies it at k = 3); linearity
of differentiation over the sample sum.
"""

from __future__ import annotations

import sympy as sp

from proofs._sym import assert_identity, choose_variant, fmt

ID = "T3"
CHECKED = ("undefined Functions f(θ), ℓ(u) (any smooth model and loss), generic parameter pair; "
           "real and linearized Hessians")
GENERAL = ("both Hessian identities for an arbitrary smooth model and loss (undefined sympy "
           "Functions), any number of parameters (generic pair θ_a, θ_b, a = b and a ≠ b), any n")
INDUCTION = ""
LEMMAS = ("multivariate chain rule for k outputs (instantiated by sympy at k = 3)",
          "linearity of differentiation over the sample sum")
MUTANTS = {
    "drop_residual": "claims ∇²L = Ĝ for the real network (R omitted)",
    "ggn_missing_1_over_n": "claims Ĝ = JᵀHJ (no 1/n)",
    "lin_hessian_at_theta0": "claims ∇²L_lin(θ) uses H at f(θ_0) instead of f_lin(θ)",
}

K_OUT = 3


def _setup():
    ta, tb = sp.symbols("theta_a theta_b", real=True)
    us = sp.symbols(f"u0:{K_OUT}", real=True)
    f = [sp.Function(f"f{c}")(ta, tb) for c in range(K_OUT)]
    ell = sp.Function("ell")(*us)
    n = sp.Symbol("n", positive=True)
    return ta, tb, us, f, ell, n


def _derivs_at(ell, us, outputs):
    """(∂_cℓ, ∂_c∂_{c'}ℓ) evaluated at the output vector ``outputs``."""
    at = dict(zip(us, outputs, strict=True))
    grad = [sp.diff(ell, u).subs(at) for u in us]
    hess = [[sp.diff(ell, u, v).subs(at) for v in us] for u in us]
    return grad, hess


def ggn_scale(n, variant=None):
    """The factor of JᵀHJ in Ĝ."""
    return 1 if variant == "ggn_missing_1_over_n" else 1 / n


def residual_term(resid, n, variant=None):
    """R = (1/n)Σ_i Σ_c ∂ℓ/∂f_c ∇²f_c (dropped by a mutant)."""
    return 0 if variant == "drop_residual" else resid / n


def lin_hessian_point(f_lin, f0, variant=None):
    """Where the output Hessian of ∇²L_lin(θ) is evaluated."""
    return f0 if variant == "lin_hessian_at_theta0" else f_lin


def _check_real(variant) -> None:
    ta, tb, us, f, ell, n = _setup()
    loss = ell.subs(dict(zip(us, f, strict=True))) / n
    grad, hess = _derivs_at(ell, us, f)
    scale = ggn_scale(n, variant)
    for x, y in ((ta, tb), (ta, ta)):
        ggn = sum(hess[c][d] * sp.diff(f[c], x) * sp.diff(f[d], y)
                  for c in range(K_OUT) for d in range(K_OUT))
        resid = sum(grad[c] * sp.diff(f[c], x, y) for c in range(K_OUT))
        claimed = scale * ggn + residual_term(resid, n, variant)
        assert_identity(sp.diff(loss, x, y) - claimed, 0,
                        f"∂²L/∂{x}∂{y} = [Ĝ + R] for arbitrary smooth f, ℓ")


def _check_linearized(variant) -> None:
    """f(θ_0) and J_0 do not depend on θ, so they are free symbols F_c, J_{c,a} (arbitrary values
    of an arbitrary model at θ_0); f_lin is affine in θ."""
    ta, tb, us, _, ell, n = _setup()
    a0, b0 = sp.symbols("theta_a0 theta_b0", real=True)
    F0 = sp.symbols(f"F0:{K_OUT}", real=True)
    J0 = [sp.symbols(f"J{c}_a J{c}_b", real=True) for c in range(K_OUT)]
    f_lin = [F0[c] + J0[c][0] * (ta - a0) + J0[c][1] * (tb - b0) for c in range(K_OUT)]
    for c in range(K_OUT):
        for x, y in ((ta, tb), (ta, ta), (tb, tb)):
            assert_identity(sp.diff(f_lin[c], x, y), 0, "f_lin is affine: ∂²f_lin = 0")
    # Differentiate ℓ(g(θ))/n for undefined g, then put g = f_lin and evaluate the derivatives of
    # f_lin (sympy keeps ℓ's derivatives at a point in one canonical Subs form this way).
    g = [sp.Function(f"g{c}")(ta, tb) for c in range(K_OUT)]
    loss = ell.subs(dict(zip(us, g, strict=True))) / n
    to_lin = dict(zip(g, f_lin, strict=True))
    _, hess = _derivs_at(ell, us, lin_hessian_point(f_lin, F0, variant))
    for (x, ix), (y, iy) in (((ta, 0), (tb, 1)), ((ta, 0), (ta, 0)), ((tb, 1), (tb, 1))):
        claimed = sum(hess[c][d] * J0[c][ix] * J0[d][iy]
                      for c in range(K_OUT) for d in range(K_OUT)) / n
        assert_identity(sp.diff(loss, x, y).subs(to_lin).doit() - claimed, 0,
                        f"∂²L_lin/∂{x}∂{y} = [(1/n) J_0ᵀ H(f_lin(θ)) J_0]")


def check(variant: str | None = None) -> None:
    """Verify T3 for arbitrary smooth f and ℓ; raise AssertionError if any identity fails."""
    variant = choose_variant(variant, MUTANTS)
    _check_real(variant)
    _check_linearized(variant)


def statement(variant: str | None = None) -> str:
    """The printed statement, generated from the claims the check verifies."""
    n, R, GHJ = sp.symbols("n R JᵀHJ")
    at = lin_hessian_point(sp.Symbol("f_lin(θ)"), sp.Symbol("f(θ_0)"), variant)
    return (f"∇²L_lin(θ) = (1/n)J_0ᵀ H({fmt(at)}) J_0 at every θ; ∇²L = "
            f"{fmt(ggn_scale(n, variant) * GHJ + residual_term(n * R, n, variant))} with "
            "R = (1/n)Σ_i Σ_c ∂ℓ/∂f_c ∇²f_c (any smooth model and loss)")


STATEMENT = statement()
