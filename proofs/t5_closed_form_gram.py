r"""T5 — closed-form Jacobian Gram (NTK) of a ReLU MLP, layer by layer.

Statement
---------
With ``δ_{L+1,c}(x) = e_c``, ``δ_{l,c}(x) = D_l(x) (σ_w/√m_l) W_{l+1} δ_{l+1,c}(x)``,
``D_l = diag(1[z_l > 0])``, ``h_0 = x``, ``m_0 = d``:

    K[(i,c),(j,c')] = Σ_{l=1}^{L+1} ((σ_w²/m_{l−1}) ⟨h_{l−1}(x_i), h_{l−1}(x_j)⟩ + σ_b²)
                                      · ⟨δ_{l,c}(x_i), δ_{l,c'}(x_j)⟩.

Each layer's term is a sample-wise (Hadamard) product of a feature Gram and a backward Gram.

Proof
-----
``δ_{l,c} = ∂f_c/∂z_l`` (backpropagation): ``δ_{L+1,c} = e_c`` since f = z_{L+1}; and
``z_{l+1} = (σ_w/√m_l) W_{l+1}ᵀ φ(z_l) + σ_b b_{l+1}`` gives
``∂z_{l+1}/∂z_l = (σ_w/√m_l) W_{l+1}ᵀ D_l``, so ``δ_{l,c} = D_l (σ_w/√m_l) W_{l+1} δ_{l+1,c}``
(transpose of the chain rule; D_l is symmetric). Since ``z_{l,u} = (σ_w/√m_{l−1}) Σ_a W_l[a,u]
h_{l−1,a} + σ_b b_{l,u}``: ``∂f_c/∂W_l[a,u] = (σ_w/√m_{l−1}) h_{l−1,a} δ_{l,c,u}`` and
``∂f_c/∂b_{l,u} = σ_b δ_{l,c,u}``. The Gram entry sums products of these over all parameters;
summing over (a, u) factorizes into ``(σ_w²/m_{l−1})⟨h_{l−1}(x_i), h_{l−1}(x_j)⟩⟨δ_{l,c}(x_i),
δ_{l,c'}(x_j)⟩``, and the bias adds ``σ_b²⟨δ, δ'⟩``. Summing over layers gives the formula. ∎

What ``check()`` proves at general size
---------------------------------------
One layer with symbolic widths: (i) the backward step δ_l = (∂z_{l+1}/∂z_l)ᵀ δ_{l+1}
= D_l(σ_w/√m_l)W_{l+1}δ_{l+1} by sympy's matrix derivative (MatrixSymbols, D_l symmetric);
(ii) the parameter derivatives ∂(δᵀz_l)/∂W_l[a,u] = (σ_w/√m_{l−1}) h_a δ_u and
∂(δᵀz_l)/∂b_{l,u} = σ_b δ_u by differentiating the index sums (symbolic m_{l−1}, m_l, symbolic
index positions); (iii) ⟨hδᵀ, h′δ′ᵀ⟩_F = ⟨h, h′⟩⟨δ, δ′⟩ as double sums with symbolic bounds
(summand identity + distributivity); (iv) the layer's Gram term
((σ_w²/m_{l−1})⟨h, h′⟩ + σ_b²)⟨δ, δ′⟩ from (ii)–(iii). Induction over depth: δ_{L+1,c} = e_c
and step (i) give δ_{l,c} = ∂f_c/∂z_l for every l (downward induction); the Gram entry is the sum
over layers of (iv). Sample (exact, sympy): a symbolic MLP (1, 3, 2, 2), n = 2, whose JJᵀ (sympy
Jacobian) equals the closed form entrywise.
Named lemmas (prose): chain rule; the parameter inner product splits over the layers (a
partition of coordinates); distributivity Σ_aΣ_u f(a)g(u) = (Σ_a f(a))(Σ_u g(u)).
"""

from __future__ import annotations

import sympy as sp

from proofs._network import make_net, realizing_witness
from proofs._sym import (
    assert_double_sum_factorizes,
    assert_identity,
    assert_matrix_expr_identity,
    assert_matrix_identity,
    assert_true,
    choose_variant,
    fmt,
)

ID = "T5"
CHECKED = (
    "backward step, parameter derivatives, Frobenius factorization for symbolic widths; "
    "induction over depth; sample MLP (1,3,2,2) entrywise"
)
GENERAL = (
    "one layer, symbolic widths: δ_l = D_l(σ_w/√m_l)W_{l+1}δ_{l+1}; ∂f/∂W_l = (σ_w/√m_{l−1})hδᵀ, "
    "∂f/∂b_l = σ_bδ; ⟨hδᵀ, h′δ′ᵀ⟩_F = ⟨h,h′⟩⟨δ,δ′⟩; the layer term"
)
INDUCTION = "δ_{l,c} = ∂f_c/∂z_l downward from δ_{L+1,c} = e_c; K = Σ over layers"
LEMMAS = (
    "chain rule",
    "inner product splits over the layer partition of θ",
    "distributivity of finite sums",
)
MUTANTS = {
    "missing_bias_term": "drops the σ_b² term of each layer",
    "scale_uses_m_l": "uses σ_w²/m_l instead of σ_w²/m_{l−1}",
    "delta_without_mask": "omits D_l in the backward recursion",
    "frobenius_mixed_indices": "pairs feature and backward indices wrongly in ⟨hδᵀ, h′δ′ᵀ⟩_F",
}

WIDTHS = (1, 3, 2, 2)
MASKS = (((1, 0, 1), (1, 1, 0)), ((0, 1), (1, 1)))  # D_1(x_i), D_2(x_i), i = 0, 1


def layer_term(sw, sb, m_prev, m_l, hh, dd, variant=None):
    """Layer l's term of K: ((σ_w²/m_{l−1})⟨h_{l−1}, h′_{l−1}⟩ + σ_b²)⟨δ_l, δ′_l⟩."""
    fan_in = m_l if variant == "scale_uses_m_l" else m_prev
    bias = 0 if variant == "missing_bias_term" else sb**2
    return (sw**2 / fan_in * hh + bias) * dd


def backward_mask(D, identity, variant=None):
    """The mask in δ_l = D_l(σ_w/√m_l)W_{l+1}δ_{l+1}."""
    return identity if variant == "delta_without_mask" else D


def backward_vectors(net, i: int, c: int, variant: str | None = None) -> list[sp.Matrix]:
    """δ_{1,c}(x_i), …, δ_{L+1,c}(x_i) by the T5 recursion (index l−1 holds δ_l)."""
    L = net.depth
    delta = sp.zeros(net.k, 1)
    delta[c] = 1
    deltas = [delta]
    for l in range(L, 0, -1):
        mask = backward_mask(sp.diag(*net.masks[l - 1][i]), sp.eye(net.widths[l]), variant)
        delta = mask * (net.sigma_w / sp.sqrt(net.widths[l])) * net.weights[l] * delta
        deltas.append(delta)
    return deltas[::-1]


def closed_form_gram(net, variant: str | None = None) -> sp.Matrix:
    """The T5 formula for K (nk × nk, row i·k + c)."""
    n, k, L = net.n, net.k, net.depth
    acts = [net.forward(i)[1] for i in range(n)]
    deltas = {(i, c): backward_vectors(net, i, c, variant) for i in range(n) for c in range(k)}
    K = sp.zeros(n * k, n * k)
    for i in range(n):
        for j in range(n):
            for l in range(1, L + 2):
                hh = (acts[i][l - 1].T * acts[j][l - 1])[0, 0]
                for c in range(k):
                    for c2 in range(k):
                        back = (deltas[(i, c)][l - 1].T * deltas[(j, c2)][l - 1])[0, 0]
                        K[i * k + c, j * k + c2] += layer_term(
                            net.sigma_w, net.sigma_b, net.widths[l - 1], net.widths[l], hh, back,
                            variant)
    return K


def _check_general(variant) -> None:
    m0, m1, m2 = sp.symbols("m_0 m_1 m_2", integer=True, positive=True)
    sw, sb = sp.symbols("sigma_w sigma_b", positive=True)
    # (i) backward step: sympy's derivative of z_{l+1} w.r.t. z_l is (∂z_{l+1}/∂z_l)ᵀ.
    z, D = sp.MatrixSymbol("z", m1, 1), sp.MatrixSymbol("D", m1, m1)
    W, b, delta = (
        sp.MatrixSymbol("W", m1, m2),
        sp.MatrixSymbol("b", m2, 1),
        sp.MatrixSymbol("delta", m2, 1),
    )
    z_next = sw / sp.sqrt(m1) * W.T * D * z + sb * b
    step = (sp.diff(z_next, z) * delta).xreplace({D.T: D})
    mask = backward_mask(D, sp.Identity(m1), variant)
    assert_matrix_expr_identity(
        step,
        mask * (sw / sp.sqrt(m1)) * W * delta,
        "backward step δ_l = D_l(σ_w/√m_l)W_{l+1}δ_{l+1}",
    )
    # (ii) parameter derivatives of δᵀz_l, z_l = (σ_w/√m_{l−1})W_lᵀh + σ_b b_l, index sums.
    a, u, a0, u0, r1, r2 = sp.symbols("a u a0 u0 r1 r2", integer=True, nonnegative=True)
    m_in, m_out = a0 + 1 + r1, u0 + 1 + r2  # symbolic widths with (a0, u0) in range
    Wi, h, d, bi = (sp.IndexedBase(name) for name in ("W", "h", "delta", "b"))
    lin = sp.Sum(
        d[u] * (sw / sp.sqrt(m_in) * sp.Sum(Wi[a, u] * h[a], (a, 0, m_in - 1)) + sb * bi[u]),
        (u, 0, m_out - 1),
    )
    dW = sp.diff(lin, Wi[a0, u0]).doit().doit()
    db = sp.diff(lin, bi[u0]).doit()
    assert_identity(dW, sw / sp.sqrt(m_in) * h[a0] * d[u0], "∂f/∂W_l[a,u] = (σ_w/√m_{l−1}) h_a δ_u")
    assert_identity(db, sb * d[u0], "∂f/∂b_{l,u} = σ_b δ_u")
    # (iii) Frobenius: ⟨hδᵀ, h′δ′ᵀ⟩_F = Σ_a Σ_u (hδᵀ)[a,u](h′δ′ᵀ)[a,u] = ⟨h,h′⟩⟨δ,δ′⟩, the
    # entries taken from the outer products of MatrixSymbols.
    M0, M1 = sp.symbols("M0 M1", integer=True, positive=True)
    hv, hpv = sp.MatrixSymbol("h", M0, 1), sp.MatrixSymbol("hp", M0, 1)
    dv, dpv = sp.MatrixSymbol("delta", M1, 1), sp.MatrixSymbol("deltap", M1, 1)
    outer, outer_p = hv * dv.T, hpv * dpv.T
    second = outer_p[u, a] if variant == "frobenius_mixed_indices" else outer_p[a, u]
    frob = sp.Sum(outer[a, u] * second, (a, 0, M0 - 1), (u, 0, M1 - 1))
    assert_double_sum_factorizes(
        frob,
        sp.Sum(hv[a, 0] * hpv[a, 0], (a, 0, M0 - 1)),
        sp.Sum(dv[u, 0] * dpv[u, 0], (u, 0, M1 - 1)),
        "⟨hδᵀ, h′δ′ᵀ⟩_F = ⟨h, h′⟩⟨δ, δ′⟩",
    )
    # (iv) the layer term from (ii)–(iii): weights give (σ_w²/m)⟨h,h′⟩⟨δ,δ′⟩, bias σ_b²⟨δ,δ′⟩.
    hh, dd = sp.symbols("hh dd", real=True)  # ⟨h, h′⟩, ⟨δ, δ′⟩
    # the factors are read off the derivatives computed in (ii): ∂f/∂W = w·h_a δ_u, ∂f/∂b = β·δ_u
    w_factor, b_factor = sp.cancel(dW / (h[a0] * d[u0])), sp.cancel(db / d[u0])
    assert_identity(
        w_factor**2 * hh * dd + b_factor**2 * dd,
        layer_term(sw, sb, m_in, m_out, hh, dd, variant),
        "layer term = ((σ_w²/m_{l−1})⟨h,h′⟩ + σ_b²)⟨δ,δ′⟩",
    )


def check(variant: str | None = None) -> None:
    """Verify T5 symbolically; raise AssertionError if any identity fails."""
    variant = choose_variant(variant, MUTANTS)
    _check_general(variant)
    net = make_net(WIDTHS, MASKS)
    assert_true(realizing_witness(net) is not None, "the activation region of MASKS is nonempty")
    J = net.jacobian()
    assert_matrix_identity(J * J.T, closed_form_gram(net, variant), "JJᵀ = closed-form T5 Gram")


def statement(variant: str | None = None) -> str:
    """The printed statement, generated from the claims the check verifies."""
    sw, sb, m_prev, m_l = sp.symbols("sigma_w sigma_b m_(l−1) m_l")
    hh, dd = sp.Symbol("⟨h_(l−1),h′_(l−1)⟩"), sp.Symbol("⟨δ_(l,c),δ′_(l,c′)⟩")
    D, one = sp.symbols("D_l I")
    term = layer_term(sw, sb, m_prev, m_l, hh, dd, variant)
    return (f"K[(i,c),(j,c′)] = Σ_(l=1..L+1) {fmt(term)}"
            f" with δ_(L+1,c) = e_c, δ_l = {fmt(backward_mask(D, one, variant))}·(σ_w/√m_l)"
            "·W_(l+1)·δ_(l+1)")


STATEMENT = statement()
