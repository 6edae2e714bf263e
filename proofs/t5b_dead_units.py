r"""T5b — dead units create zero Jacobian columns and GGN null directions (corrected count).

Statement (corrected)
---------------------
If hidden unit u of layer l is dead on all n inputs (h_{l,u}(x_i) = 0 for every i, i.e.
z_{l,u}(x_i) ≤ 0), the Jacobian columns of its m_{l−1} incoming weights W_l[:, u], its bias
b_{l,u} and its m_{l+1} outgoing weights W_{l+1}[u, :] are zero, and each zero column e_j of J
satisfies Ĝe_j = 0. With d_l dead units in layer l (m_{L+1} = k):

    dim null(Ĝ) ≥ Σ_{dead (l,u)} (m_{l−1} + 1 + m_{l+1}) − Σ_{l=1}^{L−1} d_l d_{l+1}.

THEORY.md states the bound without the overlap term; that is false when dead units sit in
adjacent layers, because the weight W_{l+1}[u, v] joining dead u (layer l) to dead v (layer l+1)
is both an outgoing weight of u and an incoming weight of v and is counted twice.
Counterexample: sizes (1, 1, 1, 1), both hidden units dead, σ_b > 0, mse. The THEORY.md count is
(1+1+1) + (1+1+1) = 6 = p, i.e. Ĝ = 0; but ∂f/∂b_3 = σ_b ≠ 0 so Ĝ[b_3, b_3] = σ_b² > 0 and
dim null(Ĝ) = 5 (the corrected count).

Proof
-----
With z_{l,u}(x_i) ≤ 0 on every input, ``D_l[u,u] = 0`` so ``δ_{l,c,u}(x_i) = 0`` (T5 recursion), and
``h_{l,u}(x_i) = 0``. By T5's derivative formulas: ∂f_c/∂W_l[a,u] ∝ h_{l−1,a}δ_{l,c,u} = 0,
∂f_c/∂b_{l,u} = σ_b δ_{l,c,u} = 0, ∂f_c/∂W_{l+1}[u,b] ∝ h_{l,u}δ_{l+1,c,b} = 0. If Je_j = 0 then
``Ĝe_j = (1/n)JᵀH(Je_j) = 0``, and distinct zero columns give independent null vectors, so
dim null(Ĝ) ≥ #zero columns. The zero-column sets of different dead units are disjoint except for
the weights joining two dead units of adjacent layers; each such weight lies in exactly two sets,
so inclusion–exclusion gives the count above. ∎

What ``check()`` verifies symbolically
--------------------------------------
A fully symbolic MLP with sizes (1, 2, 2, 2), n = 2 inputs, unit 1 of layer 1 and unit 0 of layer
2 dead on both inputs (region nonempty: numeric witness): every claimed column of the sympy
Jacobian is identically 0, Ĝe_j = 0 for each (mse and a generic symbolic PSD H), and the number of
distinct zero columns is ≥ the (corrected) count, 8. The THEORY.md count (9) fails this check.
"""

from __future__ import annotations

import sympy as sp

from proofs._network import make_net, realizing_witness
from proofs._sym import assert_true, choose_variant, is_zero, symbolic_matrix

ID = "T5b"
STATEMENT = "dead units ⇒ zero J columns; dim null(Ĝ) ≥ Σ(m_{l−1}+1+m_{l+1}) − Σ d_l d_{l+1}"
CHECKED = "symbolic MLP (1,2,2,2), dead units in adjacent layers: zero columns, Ĝe_j = 0, count"
MUTANTS = {
    "theory_md_count": "THEORY.md's count without the adjacent-layer overlap correction",
    "next_layer_bias": "also claims the next layer's bias columns b_{l+1} vanish",
}

WIDTHS = (1, 2, 2, 2)
DEAD = ((1, 1), (2, 0))  # (layer, unit)
MASKS = (((1, 0), (1, 0)), ((0, 1), (0, 1)))


def dead_unit_columns(net, dead, variant: str | None = None) -> set[int]:
    """Flat parameter indices of incoming weights, bias and outgoing weights of the dead units."""
    index = {t: j for j, t in enumerate(net.params())}
    cols: set[int] = set()
    for l, u in dead:
        W_in, b, W_out = net.weights[l - 1], net.biases[l - 1], net.weights[l]
        cols.update(index[W_in[a, u]] for a in range(W_in.rows))
        cols.add(index[b[u]])
        cols.update(index[W_out[u, c]] for c in range(W_out.cols))
        if variant == "next_layer_bias":
            cols.update(index[t] for t in net.biases[l])
    return cols


def null_count_bound(widths, dead, variant: str | None = None) -> int:
    """Σ_dead (m_{l−1} + 1 + m_{l+1}) − Σ_l d_l d_{l+1} (the overlap term dropped by the mutant)."""
    total = sum(widths[l - 1] + 1 + widths[l + 1] for l, _ in dead)
    if variant == "theory_md_count":
        return total
    per_layer = [sum(1 for l, _ in dead if l == layer) for layer in range(len(widths))]
    return total - sum(per_layer[l] * per_layer[l + 1] for l in range(len(widths) - 1))


def check(variant: str | None = None) -> None:
    """Verify T5b symbolically; raise AssertionError if any fact fails."""
    variant = choose_variant(variant, MUTANTS)
    net = make_net(WIDTHS, MASKS)
    assert_true(realizing_witness(net) is not None, "the dead-unit activation region is nonempty")
    J = net.jacobian()
    zero_cols = {j for j in range(J.cols) if all(is_zero(e) for e in J[:, j])}
    claimed = dead_unit_columns(net, DEAD, variant)
    missing = claimed - zero_cols
    assert_true(not missing, f"Jacobian columns {sorted(missing)} of the dead units are zero")
    N = net.n * net.k
    H_generic = (lambda S: S * S.T)(symbolic_matrix("r", N, N))  # any PSD output Hessian
    for H in (sp.eye(N), H_generic):
        G = J.T * H * J / net.n
        for j in sorted(zero_cols):
            assert_true(all(is_zero(e) for e in G[:, j]), f"Ĝ e_{j} = 0")
    bound = null_count_bound(WIDTHS, DEAD, variant)
    assert_true(len(zero_cols) >= bound,
                f"#zero columns = {len(zero_cols)} ≥ claimed null-space bound {bound}")
