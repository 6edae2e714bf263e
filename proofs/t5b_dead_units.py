r"""T5b — dead units create zero Jacobian columns and GGN null directions (corrected count).

Statement (THEORY.md, corrected)
--------------------------------
If hidden unit u of layer l is dead on all n inputs (h_{l,u}(x_i) = 0, z_{l,u}(x_i) < 0 for every
i), the Jacobian columns of its m_{l−1} incoming weights W_l[:, u], its bias b_{l,u} and its
m_{l+1} outgoing weights W_{l+1}[u, :] are zero, and each zero column e_j of J satisfies
Ĝe_j = 0. With d_l dead units in layer l (m_0 = d, m_{L+1} = k, d_0 = d_{L+1} = 0):

    dim null(Ĝ) = p − rank(Ĝ) ≥ Σ_{dead (l,u)} (m_{l−1} + 1 + m_{l+1}) − Σ_{l=1}^{L−1} d_l d_{l+1}.

The version without the last sum (THEORY.md's first version) over-counts: the weight W_{l+1}[u, v]
joining dead u (layer l) to dead v (layer l+1) is both an outgoing weight of u and an incoming
weight of v. Counterexample: sizes (1, 1, 1, 1), both hidden units dead, σ_b > 0: the old count
is (1+1+1) + (1+1+1) = 6 = p, i.e. Ĝ = 0; but ∂f/∂b_3 = σ_b ≠ 0, so Ĝ[b_3, b_3] = σ_b² > 0,
rank(Ĝ) = 1 and dim null(Ĝ) = p − rank(Ĝ) = 5, the corrected count.

Proof
-----
*One layer step (any widths).* D_l[u,u] = 0 and D_l is diagonal, so (D_l v)_u = 0 for every v:
δ_{l,c,u} = (D_l (σ_w/√m_l) W_{l+1} δ_{l+1,c})_u = 0 and h_{l,u} = (D_l z_l)_u = 0. By T5's
derivative formulas ∂f_c/∂W_l[a,u] = (σ_w/√m_{l−1}) h_{l−1,a} δ_{l,c,u} = 0,
∂f_c/∂b_{l,u} = σ_b δ_{l,c,u} = 0 and ∂f_c/∂W_{l+1}[u,b] = (σ_w/√m_l) h_{l,u} δ_{l+1,c,b} = 0.
If Je_j = 0 then Ĝe_j = (1/n)JᵀH(Je_j) = 0; distinct zero columns give independent null vectors,
so p − rank(Ĝ) ≥ #zero columns. *Counting, one weight matrix.* In W_{l+1} (m_l × m_{l+1}) the
zero entries include the d_l dead rows and the d_{l+1} dead columns: by complement counting
m_l m_{l+1} − (m_l − d_l)(m_{l+1} − d_{l+1}) = d_l m_{l+1} + m_l d_{l+1} − d_l d_{l+1} entries;
biases add d_l. *Induction over depth.* Let C(L) = Σ_{l=1}^{L+1} (d_{l−1}m_l + m_{l−1}d_l −
d_{l−1}d_l) + Σ_{l≤L} d_l (d_0 = d_{L+1} = 0) and B(L) the bound. C(0) = B(0) = 0; making the
output layer L+1 a hidden layer with d_{L+1} dead units and adding an output layer of width
m_{L+2} adds m_L d_{L+1} − d_L d_{L+1} + d_{L+1}m_{L+2} + d_{L+1} to C and
d_{L+1}(m_L + 1 + m_{L+2}) − d_L d_{L+1} to B: equal, so C(L) = B(L) for every depth. ∎

What ``check()`` proves at general size
---------------------------------------
The one-layer step with symbolic widths: (D_l g)_u = Σ_j δ_{uj}D_{l,j}g_j for an arbitrary vector g
(indexed sums), the only hypothesis D_{l,u} = 0; each claimed zero derivative (incoming weights,
bias, outgoing weights) must then simplify to 0 (a claim about the next layer's bias does not);
Je = 0 ⇒ Ĝe = 0. The complement count of one weight matrix with symbolic m_l, m_{l+1}, d_l,
d_{l+1}. The claimed bound ``null_count_bound`` is Σ_l ``layer_term`` (the function tests and
instances call), and the induction step proves that the zero-column count grows by exactly
``layer_term`` of the new layer (symbolic widths and dead counts): so min(d_l, d_{l+1}) for
d_l·d_{l+1}, or m_l for m_{l−1}, fails there. Exact instance with several dead units per layer in
adjacent layers: sizes (1, 2, 2, 1), every hidden unit dead, p − rank(Ĝ) = 12 = the bound (both
false variants claim 14).
Instances (exact, sympy): the (1,1,1,1) counterexample — Jacobian by differentiation, rank(Ĝ) = 1,
p − rank(Ĝ) = 5 = corrected count < 6 = old count; sizes (1, 2, 2, 2) with dead units in adjacent
layers (region nonempty: numeric witness): every claimed column is identically 0 and
p − rank(Ĝ) (exact rank at a rational point of the region, ≤ the generic value) = 12 ≥ 8.
Named lemmas (prose): T5's derivative formulas (proved in t5); distinct standard basis vectors
are independent; |A × B| = |A||B|.
"""

from __future__ import annotations

import sympy as sp

from proofs._network import make_net, realizing_witness
from proofs._sym import (
    assert_identity,
    assert_matrix_expr_identity,
    assert_true,
    choose_variant,
    fmt,
    is_zero,
)

ID = "T5b"
CHECKED = (
    "one-layer step (symbolic widths), complement count, induction over depth; "
    "(1,1,1,1) counterexample, (1,2,2,2) and all-dead (1,2,2,1) instances against p − rank(Ĝ)"
)
GENERAL = (
    "dead unit (D_l,uu = 0) ⇒ the three derivative formulas vanish (index sums, symbolic "
    "widths) and Ĝe_j = 0; zero entries of one weight matrix d_l m_{l+1} + m_l d_{l+1} − "
    "d_l d_{l+1} for symbolic sizes; the claimed bound null_count_bound is the sum proved by "
    "induction"
)
INDUCTION = "count C(L) = bound B(L) over depth L (base L = 0, step L → L+1, symbolic widths)"
LEMMAS = ("T5 derivative formulas", "independence of distinct basis vectors", "|A×B| = |A||B|")
MUTANTS = {
    "theory_md_count": "THEORY.md's first count, without the adjacent-layer overlap correction",
    "next_layer_bias": "also claims the next layer's bias columns b_{l+1} vanish",
    "grid_union_without_intersection": "counts d_l m_{l+1} + m_l d_{l+1} zero entries in W_{l+1}",
    "overlap_min": "subtracts Σ_l min(d_l, d_{l+1}) instead of Σ_l d_l·d_{l+1}",
    "incoming_uses_m_l": "counts m_l incoming weights per dead unit instead of m_{l−1}",
}

WIDTHS = (1, 2, 2, 2)
DEAD = ((1, 1), (2, 0))  # (layer, unit)
MASKS = (((1, 0), (1, 0)), ((0, 1), (0, 1)))
ALL_DEAD_WIDTHS = (1, 2, 2, 1)  # every hidden unit dead: two per layer, adjacent layers
ALL_DEAD_MASKS = (((0, 0), (0, 0)), ((0, 0), (0, 0)))
ALL_DEAD = ((1, 0), (1, 1), (2, 0), (2, 1))
COUNTEREXAMPLE_WIDTHS = (1, 1, 1, 1)
COUNTEREXAMPLE_DEAD = ((1, 0), (2, 0))


def zero_column_names(variant: str | None = None) -> list[str]:
    """The parameters of a dead unit u of layer l whose Jacobian columns are claimed zero."""
    names = ["W_l[:,u]", "b_l[u]", "W_(l+1)[u,:]"]
    return names + (["b_(l+1)[:]"] if variant == "next_layer_bias" else [])


def dead_unit_columns(net, dead, variant: str | None = None) -> set[int]:
    """Flat parameter indices of incoming weights, bias and outgoing weights of the dead units."""
    index = {t: j for j, t in enumerate(net.params())}
    cols: set[int] = set()
    for l, u in dead:
        W_in, b, W_out = net.weights[l - 1], net.biases[l - 1], net.weights[l]
        cols.update(index[W_in[a, u]] for a in range(W_in.rows))
        cols.add(index[b[u]])
        cols.update(index[W_out[u, c]] for c in range(W_out.cols))
        if "b_(l+1)[:]" in zero_column_names(variant):
            cols.update(index[t] for t in net.biases[l])
    return cols


def layer_term(m_prev, m, m_next, d_prev, d, variant: str | None = None):
    """Layer l's share of the bound: d_l(m_{l−1} + 1 + m_{l+1}) − d_{l−1}d_l (works on numbers
    and on sympy symbols; the induction in ``_check_counting`` proves exactly this expression)."""
    m_in = m if variant == "incoming_uses_m_l" else m_prev
    if variant == "theory_md_count":
        overlap = 0
    elif variant == "overlap_min":
        overlap = sp.Min(d_prev, d)
    else:
        overlap = d_prev * d
    return d * (m_in + 1 + m_next) - overlap


def null_count_bound(widths, dead, variant: str | None = None):
    """Σ_dead (m_{l−1} + 1 + m_{l+1}) − Σ_l d_l d_{l+1} = Σ_{l=1}^{L} layer_term(l): the claimed
    lower bound on p − rank(Ĝ) for sizes ``widths`` and dead units ``dead`` = [(layer, unit)]."""
    L = len(widths) - 2
    counts = [sum(1 for l, _ in dead if l == layer) for layer in range(L + 2)]  # d_0 = d_{L+1} = 0
    return sum(layer_term(widths[l - 1], widths[l], widths[l + 1], counts[l - 1], counts[l],
                          variant) for l in range(1, L + 1))


def _check_one_layer_step(variant) -> None:
    """D_l = diag(D_{l,0}, …) with D_{l,u} = 0 (unit u dead): for *any* vector g (g = (σ_w/√m_l)
    W_{l+1}δ_{l+1} or g = z_l), (D_l g)_u = Σ_j δ_{uj} D_{l,j} g_j = 0, so δ_{l,u} = 0 and
    h_{l,u} = 0, and the three derivative formulas of T5 vanish; Je = 0 ⇒ Ĝe = 0."""
    m, m_next = sp.symbols("m m_next", integer=True, positive=True)
    u, v, j, a = sp.symbols("u v j a", integer=True, nonnegative=True)
    sw, sb, fan = sp.symbols("sigma_w sigma_b fan", positive=True)
    Dl, Dn, g, gn, h_prev = (sp.IndexedBase(s) for s in ("D_l", "D_next", "g", "g_next", "h"))
    dead = {Dl[u]: 0}  # the hypothesis: unit u of layer l is dead, nothing else

    def masked(D, vec, index, size):  # (diag(D) vec)_index
        return sp.Sum(sp.KroneckerDelta(index, j) * D[j] * vec[j], (j, 0, size - 1)).doit()

    delta_u = masked(Dl, g, u, m)
    h_u = masked(Dl, g, u, m)  # h_{l,u} = (D_l z_l)_u, same form with g = z_l
    delta_next_v = masked(Dn, gn, v, m_next)
    claimed_zero = {
        "∂f/∂W_l[a,u] = (σ_w/√m_{l−1}) h_{l−1,a} δ_{l,u}": sw / sp.sqrt(fan) * h_prev[a] * delta_u,
        "∂f/∂b_{l,u} = σ_b δ_{l,u}": sb * delta_u,
        "∂f/∂W_{l+1}[u,v] = (σ_w/√m_l) h_{l,u} δ_{l+1,v}": sw / sp.sqrt(m) * h_u * delta_next_v,
    }
    if "b_(l+1)[:]" in zero_column_names(variant):
        claimed_zero["∂f/∂b_{l+1,v} = σ_b δ_{l+1,v}"] = sb * delta_next_v
    for what, expr in claimed_zero.items():
        value = sp.simplify(sp.piecewise_fold(expr.xreplace(dead)))
        assert_true(value == 0, f"dead unit u of layer l (D_l,uu = 0): {what} = 0 (got {value})")
    p, N = sp.symbols("p N", integer=True, positive=True)
    J, H = sp.MatrixSymbol("J", N, p), sp.MatrixSymbol("H", N, N)
    e_j = sp.MatrixSymbol("e_j", p, 1)
    n = sp.Symbol("n", positive=True)
    G = J.T * H * J / n
    # Ĝe_j = (1/n)JᵀH(Je_j): associativity; with the dead column Je_j = 0 it is 0.
    assert_matrix_expr_identity(G * e_j, (J.T * H / n) * (J * e_j), "Ĝe_j = (1/n)JᵀH(Je_j)")
    assert_matrix_expr_identity((J.T * H / n) * sp.ZeroMatrix(N, 1), sp.ZeroMatrix(p, 1),
                                "J e_j = 0 ⇒ Ĝ e_j = 0")


def weight_matrix_zero_entries(m_in, m_out, d_in, d_out, variant=None):
    """Zero entries of W (m_in × m_out) from d_in dead rows and d_out dead columns."""
    if variant == "grid_union_without_intersection":
        return d_in * m_out + m_in * d_out
    return d_in * m_out + m_in * d_out - d_in * d_out


def _check_counting(variant) -> None:
    m_in, m_out, d_in, d_out = sp.symbols("m_in m_out d_in d_out", integer=True, nonnegative=True)
    assert_identity(
        m_in * m_out - (m_in - d_in) * (m_out - d_out),
        weight_matrix_zero_entries(m_in, m_out, d_in, d_out, variant),
        "one weight matrix: |dead rows ∪ dead columns| by complement counting",
    )
    # Induction over depth: the zero-column count C(L) equals the claimed bound B(L) =
    # null_count_bound = Σ_{l≤L} layer_term(l). Step: the output layer L+1 (width m_{L+1},
    # nothing dead) becomes hidden with d_{L+1} dead units, a new output layer of width m_{L+2}
    # is added; layers ≤ L keep their terms, so B grows by layer_term(L+1) exactly.
    mL, mL1, mL2, dL, dL1 = sp.symbols("m_L m_L1 m_L2 d_L d_L1", integer=True, nonnegative=True)
    W = lambda *a: weight_matrix_zero_entries(*a, variant=variant)  # noqa: E731
    count_step = (W(mL, mL1, dL, dL1) - W(mL, mL1, dL, 0)) + W(mL1, mL2, dL1, 0) + dL1
    bound_step = layer_term(mL, mL1, mL2, dL, dL1, variant)
    assert_identity(count_step, bound_step,
                    "induction step L → L+1: count and claimed bound grow alike (symbolic sizes)")
    # Base L = 0 (sizes (d, k), no hidden layer): no dead units, count 0 = bound.
    assert_identity(W(mL, mL1, 0, 0), 0, "induction base L = 0: no dead units, count 0")
    assert_true(null_count_bound((mL, mL1), [], variant) == 0, "induction base: B(0) = 0")
    # The claimed function is that sum: at depth 2 with symbolic sizes it equals the formula of
    # the statement (Σ_dead (m_{l−1} + 1 + m_{l+1}) − Σ d_l d_{l+1}) for any dead counts.
    m0, m1, m2, m3 = sp.symbols("m_0 m_1 m_2 m_3", integer=True, positive=True)
    d1, d2 = sp.symbols("d_1 d_2", integer=True, nonnegative=True)
    t1 = layer_term(m0, m1, m2, 0, d1, variant)
    t2 = layer_term(m1, m2, m3, d1, d2, variant)
    assert_identity(t1 + t2, d1 * (m0 + 1 + m2) + d2 * (m1 + 1 + m3) - d1 * d2,
                    "B(2) = d_1(m_0 + 1 + m_2) + d_2(m_1 + 1 + m_3) − d_1 d_2")


def _check_counterexample(variant) -> None:
    net = make_net(COUNTEREXAMPLE_WIDTHS, (((0,),), ((0,),)))
    J = net.jacobian()
    G = J.T * J / net.n
    assert_true(is_zero(G[-1, -1] - net.sigma_b**2), "(1,1,1,1): Ĝ[b₃, b₃] = σ_b²")
    null_dim = len(net.params()) - G.rank()
    bound = null_count_bound(COUNTEREXAMPLE_WIDTHS, COUNTEREXAMPLE_DEAD, variant)
    assert_true(
        null_dim == 5 and null_dim >= bound,
        f"(1,1,1,1), both hidden units dead: p − rank(Ĝ) = {null_dim} ≥ claimed {bound}",
    )


def _check_instance(variant, widths, masks, dead, expected_null=None) -> None:
    net = make_net(widths, masks)
    witness = realizing_witness(net)
    assert_true(witness is not None, "the dead-unit activation region is nonempty")
    J = net.jacobian()
    zero_cols = {j for j in range(J.cols) if all(is_zero(e) for e in J[:, j])}
    claimed = dead_unit_columns(net, dead, variant)
    missing = claimed - zero_cols
    assert_true(not missing, f"Jacobian columns {sorted(missing)} of the dead units are zero")
    X, Ws, bs = witness
    point = {net.sigma_w: 1, net.sigma_b: 1}
    point.update(
        {s: sp.Rational(repr(float(v))) for s, v in zip(net.X, X.reshape(-1), strict=True)}
    )
    for Wsym, bsym, Wv, bv in zip(net.weights, net.biases, Ws, bs, strict=True):
        point.update(
            {s: sp.Rational(repr(float(v))) for s, v in zip(Wsym, Wv.reshape(-1), strict=True)}
        )
        point.update({s: sp.Rational(repr(float(v))) for s, v in zip(bsym, bv, strict=True)})
    Jv = J.subs(point)
    G = Jv.T * Jv / net.n
    null_dim = len(net.params()) - G.rank()
    bound = null_count_bound(widths, dead, variant)
    assert_true(expected_null is None or null_dim == expected_null,
                f"{widths}: p − rank(Ĝ) = {null_dim} (expected {expected_null})")
    assert_true(null_dim >= bound, f"{widths}: p − rank(Ĝ) = {null_dim} ≥ claimed {bound}")


def check(variant: str | None = None) -> None:
    """Verify T5b; raise AssertionError if any fact fails."""
    variant = choose_variant(variant, MUTANTS)
    _check_one_layer_step(variant)
    _check_counting(variant)
    _check_counterexample(variant)
    _check_instance(variant, WIDTHS, MASKS, DEAD)
    _check_instance(variant, ALL_DEAD_WIDTHS, ALL_DEAD_MASKS, ALL_DEAD, expected_null=12)


def statement(variant: str | None = None) -> str:
    """The printed statement, generated from the claims the check verifies."""
    m_prev, m, m_next, d_prev, d = sp.symbols("m_(l−1) m_l m_(l+1) d_(l−1) d_l")
    term = layer_term(m_prev, m, m_next, d_prev, d, variant)
    return (f"dead unit u of layer l ⇒ zero J columns {', '.join(zero_column_names(variant))}; "
            f"p − rank(Ĝ) ≥ Σ_(l=1..L) [{fmt(term)}] (d_l dead units in layer l, d_0 = 0)")


STATEMENT = statement()
