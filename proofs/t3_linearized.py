r"""T3 — Hessian of the linearized network is its GGN; Gauss–Newton split of the true Hessian.

Statement
---------
Let ``L(θ) = (1/n) Σ_i ℓ_i(f(x_i; θ))`` with any twice-differentiable per-sample loss ℓ_i of the
k outputs, ``g_i = ∇_f ℓ_i`` and ``H_i = ∇²_f ℓ_i``.
(a) For the linearization ``f_lin(x; θ) = f(x; θ_0) + J_0(x)(θ − θ_0)``,
``∇²L_lin(θ) = (1/n) Σ_i J_0(x_i)ᵀ H_i(f_lin(x_i; θ)) J_0(x_i)`` at every θ (exactly the GGN
built from J_0 and the Hessians at the current linearized outputs).
(b) For the network itself, ``∇²L = Ĝ + R`` with ``Ĝ = (1/n) JᵀHJ`` and
``R = (1/n) Σ_i Σ_c g_ic ∇²_θ f_c(x_i)``.

Proof
-----
Chain rule, twice. ``∂L/∂θ_a = (1/n) Σ_i Σ_c g_ic ∂f_c(x_i)/∂θ_a``. Differentiating again, the
product rule gives two terms:
``∂²L/∂θ_a∂θ_b = (1/n) Σ_i Σ_{c,c'} [H_i]_{cc'} ∂_a f_c ∂_b f_{c'}``
``+ (1/n) Σ_i Σ_c g_ic ∂²_{ab} f_c``.
The first is ``[(1/n) JᵀHJ]_{ab}``, the second ``R_{ab}`` — this is (b). For (a), f_lin is affine
in θ, so ``∂²f_lin = 0`` (R vanishes) and ``∂f_lin/∂θ = J_0`` at every θ; the first term remains
with H_i evaluated at the current output f_lin(x_i; θ). (For mse H_i = I and ∇²L_lin is constant.)
∎

What ``check()`` verifies symbolically
--------------------------------------
A fully symbolic ReLU MLP with sizes (1, 2, 2), n = 2 inputs, inside a fixed activation region
(masks chosen so both inputs have different patterns; a numeric witness confirms the region is
nonempty), symbolic σ_w, σ_b, inputs, targets and a generic non-quadratic loss
``ℓ(e) = ½‖e‖² + γ e_1² e_2`` of the residual e = f − y (so H_i depends on θ and g_i ≠ 0):
(b) the 10 × 10 Hessian of L, computed by sympy from the composed expression, equals Ĝ + R entry
by entry; (a) with a second set of symbols θ_0, the Hessian of L_lin equals
``(1/n) J_0ᵀ H(f_lin(θ)) J_0`` entry by entry. Other sizes rest on the chain-rule proof.
"""

from __future__ import annotations

import sympy as sp

from proofs._network import make_net, realizing_witness
from proofs._sym import assert_matrix_identity, assert_true, choose_variant

ID = "T3"
STATEMENT = "∇²L_lin(θ) = (1/n)J_0ᵀH(θ)J_0 at every θ; ∇²L = Ĝ + R (R = residual·∇²f term)"
CHECKED = "symbolic MLP (1,2,2), n=2, generic cubic loss: full 10×10 Hessians entrywise"
MUTANTS = {
    "drop_residual": "claims ∇²L = Ĝ for the real network (R omitted)",
    "ggn_missing_1_over_n": "claims Ĝ = JᵀHJ (no 1/n)",
    "lin_hessian_at_theta0": "claims ∇²L_lin(θ) uses H at f(θ_0) instead of f_lin(θ)",
}

WIDTHS = (1, 2, 2)
MASKS = (((1, 0), (1, 1)),)  # D_1(x_i) for i = 0, 1


def generic_loss(f: sp.Matrix, y: sp.Matrix) -> sp.Expr:
    """A non-quadratic loss of k = 2 outputs: ½‖e‖² + γ e_1² e_2, e = f − y."""
    gamma = sp.Symbol("gamma", real=True)
    e = f - y
    return (e.T * e)[0, 0] / 2 + gamma * e[0] ** 2 * e[1]


def _per_sample(net, y):
    """Outputs f_i (k × 1), ℓ_i, g_i and H_i as functions of a free output vector."""
    u = sp.Matrix(sp.symbols(f"u0:{net.k}", real=True))
    pieces = []
    for i in range(net.n):
        yi = y[i, :].T
        ell = generic_loss(u, yi)
        pieces.append((ell, sp.Matrix([ell]).jacobian(u).T, sp.hessian(ell, list(u))))
    return u, pieces


def _check_real_network(net, y, variant) -> None:
    theta = net.params()
    f = net.outputs()
    u, pieces = _per_sample(net, y)
    n, k = net.n, net.k
    loss = sum(pieces[i][0].subs(dict(zip(u, f[i, :], strict=True))) for i in range(n)) / n
    hess = sp.hessian(loss, theta)
    J = net.jacobian()
    scale = 1 if variant == "ggn_missing_1_over_n" else sp.Rational(1, n)
    ggn = sp.zeros(len(theta), len(theta))
    resid = sp.zeros(len(theta), len(theta))
    for i in range(n):
        at_f = dict(zip(u, f[i, :], strict=True))
        J_i = J[i * k:(i + 1) * k, :]
        ggn += J_i.T * pieces[i][2].subs(at_f) * J_i
        for c in range(k):
            resid += pieces[i][1][c].subs(at_f) * sp.hessian(f[i, c], theta)
    claimed = scale * ggn
    if variant != "drop_residual":
        claimed += resid / n
    assert_matrix_identity(hess, claimed, "∇²L = (1/n)JᵀHJ + R for the symbolic ReLU MLP")


def _check_linearized(net, y, variant) -> None:
    theta = net.params()
    theta0 = [sp.Symbol(f"{t.name}_0", real=True) for t in theta]
    at0 = dict(zip(theta, theta0, strict=True))
    n, k = net.n, net.k
    f0 = net.outputs().subs(at0)
    J0 = net.jacobian().subs(at0)
    delta = sp.Matrix(theta) - sp.Matrix(theta0)
    u, pieces = _per_sample(net, y)
    loss, claimed = sp.Integer(0), sp.zeros(len(theta), len(theta))
    for i in range(n):
        J0_i = J0[i * k:(i + 1) * k, :]
        f_lin_i = f0[i, :].T + J0_i * delta
        loss += pieces[i][0].subs(dict(zip(u, f_lin_i, strict=True)))
        at_out = f0[i, :].T if variant == "lin_hessian_at_theta0" else f_lin_i
        claimed += J0_i.T * pieces[i][2].subs(dict(zip(u, at_out, strict=True))) * J0_i
    assert_matrix_identity(sp.hessian(loss / n, theta), claimed / n,
                           "∇²L_lin(θ) = (1/n) J_0ᵀ H(f_lin(θ)) J_0")


def check(variant: str | None = None) -> None:
    """Verify T3 symbolically; raise AssertionError if any identity fails."""
    variant = choose_variant(variant, MUTANTS)
    net = make_net(WIDTHS, MASKS)
    assert_true(realizing_witness(net) is not None, "the activation region of MASKS is nonempty")
    y = sp.Matrix(net.n, net.k, lambda i, c: sp.Symbol(f"y{i}{c}", real=True))
    _check_real_network(net, y, variant)
    _check_linearized(net, y, variant)
