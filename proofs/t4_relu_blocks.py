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

What ``check()`` proves at general size
---------------------------------------
With MatrixSymbols of symbolic widths: the one-layer step —
z_l = (σ_w/√m_{l−1})W_lᵀh_{l−1} + σ_b b_l has first derivatives in W_l and in b_l that
contain neither W_l nor b_l, so ∂²z_l/∂θ_l² = 0; the
induction step over the later layers — if z = Mθ + c (M, c free of θ, θ = vec θ_l of symbolic
length) then z' = (σ_w/√m)WᵀDz + σ_b b has ∂z'/∂θ = (σ_w/√m)MᵀDᵀW (the derivative sympy
computes from z', which contains θ, is tested to be free of θ, and equals this), so by
induction over the number of later layers f is affine in θ_l on the region and
[∇²f_c]_{θ_lθ_l} = 0, hence R_ll = 0 (T3(b)). The cross derivative ∂z_{l+1}/∂θ_l contains
W_{l+1}, so the cross block is not covered (and the sample below shows it is nonzero).
Sample (exact, sympy): a symbolic MLP (2, 2, 2, 2), n = 2, two activation patterns (region
nonempty by a numeric witness): diagonal blocks of ∇²f vanish, mse Hessian blocks = JᵀJ/n, and
the (θ_1, θ_2) block of R is not identically 0.
Named lemmas (prose): constancy of ReLU masks on an open activation region (continuity); the
second derivative of an affine map is 0; T3(b).
"""

from __future__ import annotations

import sympy as sp

from proofs._network import make_net, realizing_witness
from proofs._sym import assert_matrix_expr_identity, assert_true, choose_variant, fmt, is_zero

ID = "T4"
CHECKED = (
    "one-layer step & induction over later layers with symbolic widths; sample MLP (2,2,2,2): "
    "∇²f diagonal blocks ≡ 0, cross block of R ≠ 0"
)
GENERAL = (
    "a layer is affine in its own (W_l, b_l) (first derivatives free of θ_l) for symbolic "
    "widths; affine-in-θ_l is preserved by each later masked layer (the derivative sympy "
    "computes from z′ = (σ_w/√m)WᵀD(Mθ + c) + σ_b b is free of θ)"
)
INDUCTION = "f affine in θ_l: over the number of later layers (step: z = Mθ + c ⇒ z' = M'θ + c')"
LEMMAS = (
    "masks constant on an open activation region",
    "second derivative of an affine map is 0",
    "T3(b)",
)
MUTANTS = {
    "cross_block_too": "claims the (θ_1, θ_2) cross block of ∇²L also equals Ĝ's",
    "smooth_activation": "replaces ReLU's linear pieces by φ(z) = z + z²/2 (not piecewise linear)",
    "step_forgets_mask": "induction step with z' = (σ_w/√m)Wᵀz + σ_b b (derivative without D)",
    "step_not_affine": "induction step through a later layer that is not affine in z "
    "(z' = (σ_w/√m)WᵀDz + σ_b b + σ_b b·zᵀz/2)",
}

WIDTHS = (2, 2, 2, 2)
MASKS = (((1, 0), (1, 1)), ((0, 1), (1, 1)))  # D_1(x_i), D_2(x_i) for i = 0, 1


def claimed_blocks(l, lp, variant=None):
    """Condition on layers (l, l′) under which [∇²L]_{θ_lθ_l′} = [Ĝ]_{θ_lθ_l′} is claimed."""
    if variant == "cross_block_too":
        return sp.Or(sp.Eq(l, lp), sp.Eq(lp, l + 1))
    return sp.Eq(l, lp)


def _blocks(net, variant):
    """Index pairs (rows, cols) of the blocks claimed to carry no residual curvature."""
    slices = net.layer_slices()
    l, lp = sp.symbols("l lp", integer=True)
    return [(s1, s2) for i, s1 in enumerate(slices) for j, s2 in enumerate(slices)
            if claimed_blocks(l, lp, variant).subs({l: i, lp: j}) == sp.true]


def _free_of(expr, symbols) -> bool:
    """True iff no MatrixSymbol in ``symbols`` occurs in ``expr``."""
    present = expr.atoms(sp.MatrixSymbol)
    return not any(s in present for s in symbols)


def _check_general(variant) -> None:
    m0, m1, m2, P = sp.symbols("m_0 m_1 m_2 P", integer=True, positive=True)
    sw, sb = sp.symbols("sigma_w sigma_b", positive=True)
    h = sp.MatrixSymbol("h", m0, 1)
    W1, b1 = sp.MatrixSymbol("W_l", m0, m1), sp.MatrixSymbol("b_l", m1, 1)
    z1 = sw / sp.sqrt(m0) * W1.T * h + sb * b1
    for wrt in (W1, b1):
        first = sp.diff(z1, wrt)
        assert_true(
            _free_of(first, (W1, b1)),
            f"one layer: ∂z_l/∂{wrt} = {first} is free of θ_l ⇒ ∂²z_l/∂θ_l² = 0",
        )
    theta = sp.MatrixSymbol("theta", P, 1)  # vec θ_l
    M, c = sp.MatrixSymbol("M", m1, P), sp.MatrixSymbol("c", m1, 1)
    D, W2, b2 = (
        sp.MatrixSymbol("D", m1, m1),
        sp.MatrixSymbol("W", m1, m2),
        sp.MatrixSymbol("b", m2, 1),
    )
    z = M * theta + c
    z_next = sw / sp.sqrt(m1) * W2.T * D * z + sb * b2
    if variant == "step_not_affine":  # a later layer that bends: adds σ_b·b·(zᵀz)/2
        z_next = z_next + sb * b2 * (z.T * z) / 2
    claimed = (
        sw / sp.sqrt(m1) * M.T * W2
        if variant == "step_forgets_mask"
        else sw / sp.sqrt(m1) * M.T * D.T * W2
    )
    derivative = sp.diff(z_next, theta)  # computed by sympy from z_next, which contains θ
    assert_true(not _free_of(z_next, (theta,)), "induction step: z' depends on θ (not vacuous)")
    assert_true(_free_of(derivative, (theta,)),
                "induction step: the computed ∂z'/∂θ is free of θ (z' affine in θ)")
    assert_matrix_expr_identity(derivative, claimed, "induction step: ∂z'/∂θ = (σ_w/√m)MᵀDᵀW")
    # Cross derivative: ∂z_{l+1}/∂θ_l contains W_{l+1}, so the (θ_l, θ_{l+1}) block need not vanish.
    cross = sp.diff(z_next, theta)
    if variant == "cross_block_too":
        assert_true(_free_of(cross, (W2,)), "claimed: ∂z_{l+1}/∂θ_l is free of θ_{l+1}")
    else:
        assert_true(
            not _free_of(cross, (W2,)),
            "cross block: ∂z_{l+1}/∂θ_l depends on W_{l+1} (not covered, not claimed)",
        )


def check(variant: str | None = None) -> None:
    """Verify T4 symbolically; raise AssertionError if any identity fails."""
    variant = choose_variant(variant, MUTANTS)
    _check_general(variant)
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
                        " is not identically 0"
                    )
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
    assert_true(
        not all(is_zero(e) for e in hess[s1, s2] - ggn[s1, s2]),
        "R has a nonzero cross-layer block (θ_1, θ_2) (statement not vacuous)",
    )


def statement(variant: str | None = None) -> str:
    """The printed statement, generated from the claims the check verifies."""
    l, lp = sp.symbols("l l′", integer=True)
    return ("no zero pre-activation (open activation region) ⇒ "
            f"[∇²L]_(θ_l,θ_l′) = [Ĝ]_(θ_l,θ_l′) whenever {fmt(claimed_blocks(l, lp, variant))}; "
            "R lives only in the other blocks")


STATEMENT = statement()
