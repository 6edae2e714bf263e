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

What ``check()`` verifies symbolically
--------------------------------------
A fully symbolic MLP with sizes (1, 3, 2, 2) (all widths different from their neighbours, so
an m_{l−1} ↔ m_l mix-up is detected), n = 2 inputs with different activation patterns inside
one region (nonempty: numeric witness), symbolic σ_w, σ_b: the 4 × 4 Gram ``JJᵀ`` (J by sympy
differentiation of the composed network) equals the closed form entry by entry. Other sizes rest
on the backpropagation proof.
"""

from __future__ import annotations

import sympy as sp

from proofs._network import make_net, realizing_witness
from proofs._sym import assert_matrix_identity, assert_true, choose_variant

ID = "T5"
STATEMENT = "K = Σ_l ((σ_w²/m_{l−1})⟨h_{l−1},h'_{l−1}⟩ + σ_b²)⟨δ_{l,c}, δ'_{l,c'}⟩ (backprop δ)"
CHECKED = "symbolic MLP (1,3,2,2), n=2: JJᵀ (sympy Jacobian) = closed form, all 16 entries"
MUTANTS = {
    "missing_bias_term": "drops the σ_b² term of each layer",
    "scale_uses_m_l": "uses σ_w²/m_l instead of σ_w²/m_{l−1}",
    "delta_without_mask": "omits D_l in the backward recursion",
}

WIDTHS = (1, 3, 2, 2)
MASKS = (((1, 0, 1), (1, 1, 0)), ((0, 1), (1, 1)))  # D_1(x_i), D_2(x_i), i = 0, 1


def backward_vectors(net, i: int, c: int, variant: str | None = None) -> list[sp.Matrix]:
    """δ_{1,c}(x_i), …, δ_{L+1,c}(x_i) by the T5 recursion (index l−1 holds δ_l)."""
    L = net.depth
    delta = sp.zeros(net.k, 1)
    delta[c] = 1
    deltas = [delta]
    for l in range(L, 0, -1):
        mask = sp.eye(net.widths[l]) if variant == "delta_without_mask" else \
            sp.diag(*net.masks[l - 1][i])
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
                fan_in = net.widths[l] if variant == "scale_uses_m_l" else net.widths[l - 1]
                feature = (net.sigma_w**2 / fan_in) * (acts[i][l - 1].T * acts[j][l - 1])[0, 0]
                bias = 0 if variant == "missing_bias_term" else net.sigma_b**2
                for c in range(k):
                    for c2 in range(k):
                        back = (deltas[(i, c)][l - 1].T * deltas[(j, c2)][l - 1])[0, 0]
                        K[i * k + c, j * k + c2] += (feature + bias) * back
    return K


def check(variant: str | None = None) -> None:
    """Verify T5 symbolically; raise AssertionError if any identity fails."""
    variant = choose_variant(variant, MUTANTS)
    net = make_net(WIDTHS, MASKS)
    assert_true(realizing_witness(net) is not None, "the activation region of MASKS is nonempty")
    J = net.jacobian()
    assert_matrix_identity(J * J.T, closed_form_gram(net, variant), "JJᵀ = closed-form T5 Gram")
