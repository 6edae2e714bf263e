r"""T4 — the layer-diagonal blocks of a ReLU net's Hessian are exactly the GGN's.

Statement
---------
At a point where no pre-activation ``z_{l,u}(x_i)`` is exactly 0, the network output is (locally)
affine in each layer's parameters ``θ_l = (W_l, b_l)`` with all other layers fixed. Hence
``∇²_{θ_lθ_l} f_c(x_i) = 0``, the residual term R of T3 vanishes on every diagonal block, and
``[∇²L]_{θ_lθ_l} = [Ĝ]_{θ_lθ_l}`` for every loss; R lives only in the cross-layer blocks.
(Note: "affine" holds on a neighbourhood — the open activation region — not globally: moving
W_l far enough changes the ReLU pattern of later layers.)

Proof
-----
No pre-activation is 0, so by continuity the 0/1 pattern ``D_l(x_i) = diag(1[z_l(x_i) > 0])`` is
constant on a neighbourhood U of the point, and on U ``h_l = D_l z_l``. Fix every layer but l.
``z_l = (σ_w/√m_{l−1}) W_lᵀ h_{l−1} + σ_b b_l`` is affine in (W_l, b_l) (h_{l−1} does not depend on
θ_l), and every later map ``z ↦ (σ_w/√m) Wᵀ D z + σ_b b`` is affine with fixed D and W. A
composition of affine maps is affine, so on U each f_c(x_i) is affine in θ_l and its second
derivative in θ_l vanishes. By T3(b), ``[∇²L]_{θ_lθ_l} = [Ĝ]_{θ_lθ_l} + (1/n)Σ g_ic [∇²f_c]_{θ_lθ_l}
= [Ĝ]_{θ_lθ_l}``. Cross blocks keep ``∂²f/∂θ_l∂θ_{l'}`` (a product of one factor from each layer),
which is in general nonzero. ∎

What ``check()`` verifies symbolically
--------------------------------------
A fully symbolic MLP with sizes (2, 2, 2, 2) (two hidden layers, so the middle layer has
nonlinear maps on both sides), n = 2 inputs with different activation patterns (region nonempty
by a numeric witness): for every input i, output c and layer l, the (θ_l, θ_l) block of
``∇²_θ f_c(x_i)`` is identically 0 (so R_ll = 0 for any loss); for mse the diagonal blocks of the
sympy Hessian of L equal those of ``(1/n)JᵀJ``; and the (θ_1, θ_2) block of R is not identically
0 (the statement is not vacuous). Deeper nets rest on the composition argument.
"""

from __future__ import annotations

import sympy as sp

from proofs._network import make_net, realizing_witness
from proofs._sym import assert_true, choose_variant, is_zero

ID = "T4"
STATEMENT = "no zero pre-activation ⇒ [∇²L]_{θ_lθ_l} = [Ĝ]_{θ_lθ_l}; R only in cross-layer blocks"
CHECKED = "symbolic MLP (2,2,2,2), n=2: ∇²f diagonal blocks ≡ 0; mse Hessian blocks = JᵀJ/n"
MUTANTS = {
    "cross_block_too": "claims the (θ_1, θ_2) cross block of ∇²L also equals Ĝ's",
    "smooth_activation": "replaces ReLU's linear pieces by φ(z) = z + z²/2 (not piecewise linear)",
}

WIDTHS = (2, 2, 2, 2)
MASKS = (((1, 0), (1, 1)), ((0, 1), (1, 1)))  # D_1(x_i), D_2(x_i) for i = 0, 1


def _blocks(net, variant):
    """Index pairs (rows, cols) of the blocks claimed to carry no residual curvature."""
    slices = net.layer_slices()
    blocks = [(s, s) for s in slices]
    if variant == "cross_block_too":
        blocks.append((slices[0], slices[1]))
    return blocks


def check(variant: str | None = None) -> None:
    """Verify T4 symbolically; raise AssertionError if any identity fails."""
    variant = choose_variant(variant, MUTANTS)
    net = make_net(WIDTHS, MASKS, quadratic_bend=variant == "smooth_activation")
    assert_true(realizing_witness(net) is not None, "the activation region of MASKS is nonempty")
    theta = net.params()
    f = net.outputs()
    n, k = net.n, net.k
    blocks = _blocks(net, variant)
    for i in range(n):
        for c in range(k):
            hess_f = sp.hessian(f[i, c], theta)
            for rows, cols in blocks:
                block = hess_f[rows, cols]
                if not all(is_zero(e) for e in block):
                    raise AssertionError(
                        f"∇²f_{c}(x_{i}) block {rows.start}:{rows.stop} × {cols.start}:{cols.stop}"
                        " is not identically 0")
    y = sp.Matrix(n, k, lambda i, c: sp.Symbol(f"y{i}{c}", real=True))
    resid = f - y
    loss = sum(resid[i, c] ** 2 for i in range(n) for c in range(k)) / (2 * n)
    hess = sp.hessian(loss, theta)
    J = net.jacobian()
    ggn = J.T * J / n
    for rows, cols in blocks:
        if not all(is_zero(e) for e in hess[rows, cols] - ggn[rows, cols]):
            raise AssertionError("mse: a diagonal block of ∇²L differs from Ĝ's")
    s1, s2 = net.layer_slices()[:2]
    assert_true(not all(is_zero(e) for e in hess[s1, s2] - ggn[s1, s2]),
                "R has a nonzero cross-layer block (θ_1, θ_2) (statement not vacuous)")
