r"""T5b — dead units give zero Jacobian columns and GGN null directions (corrected count).

Statement (THEORY.md, corrected)
--------------------------------
Network of depth L ≥ 1 with widths m_0 = d, m_1, …, m_L, m_{L+1} = k (NTK parameterization,
W_j ∈ ℝ^{m_{j−1}×m_j}, indices from 1). At an input x and an output component c, with
D_(j,v) = 1[z_(j,v) > 0], h_(j,v) = D_(j,v) z_(j,v) (h_0 = x), the backward vector
δ_(j,v) = D_(j,v) Σ_t (σ_w/√m_j) W_(j+1,v,t) δ_(j+1,t) in a hidden layer and [v = c] in the output
layer, T5's derivative formulas read ∂f/∂W_(j,a,v) = (σ_w/√m_{j−1}) h_(j−1,a) δ_(j,v) and
∂f/∂b_(j,v) = σ_b δ_(j,v). Every relation between D, z, h, δ, f holds at each input; a unit is
dead when D_(l,u) = 0 at every input (equivalently h_(l,u) = 0 at every input).

- [dead_columns] A dead hidden unit u of layer l (1 ≤ l ≤ L, 1 ≤ u ≤ m_l) has zero Jacobian
  columns for its m_{l−1} incoming weights W_(l,a,u), its bias b_(l,u) and its m_{l+1} outgoing
  weights W_(l+1,u,e).
- [null_count] With d_j = the number of dead units of layer j and Ĝ = (1/n) Jᵀ H J (any H):
  ``p − rank(Ĝ) ≥ Σ_{l=1}^{L} d_l (m_{l−1} + 1 + m_{l+1}) − Σ_{i=1}^{L−1} d_i d_{i+1}``.

THEORY.md's first count, without the last sum, over-counts: the weight W_(l+1,u,v) joining dead u
(layer l) to dead v (layer l+1) is an outgoing weight of u and an incoming weight of v.
Counterexample: sizes (1, 1, 1, 1), both hidden units dead, σ_b > 0: the old count is
(1+1+1) + (1+1+1) = 6 = p, i.e. Ĝ = 0; but ∂f/∂b_3 = σ_b ≠ 0, so Ĝ[b_3, b_3] = σ_b² > 0,
rank(Ĝ) = 1 and p − rank(Ĝ) = 5, the corrected count.

Proof
-----
*Columns.* Unit u of layer l is hidden (1 ≤ l ≤ L), so h_(l,u) = D_(l,u) z_(l,u) = 0 and
δ_(l,u) = D_(l,u)·(…) = 0 at every input. Then ∂f/∂W_(l,a,u) = (…)·δ_(l,u) = 0,
∂f/∂b_(l,u) = σ_b δ_(l,u) = 0 and ∂f/∂W_(l+1,u,e) = (σ_w/√m_l) h_(l,u) δ_(l+1,e) = 0, for every
output and input: these Jacobian columns vanish. Nothing is claimed about W_(l+1,a,u) or b_(l+1):
they carry δ_(l+1,·), which need not vanish.
*Null vectors.* Ĝ = (1/n)JᵀH·J, so a zero column J e_θ = 0 gives Ĝ e_θ = 0; distinct basis
vectors are independent, so p − rank(Ĝ) = dim null(Ĝ) ≥ the number of zero columns.
*Counting.* In W_j (m_{j−1} × m_j) the zero columns form the dead rows (outgoing weights of the
dead units of layer j − 1) and the dead columns (incoming weights of the dead units of layer j):
m_{j−1}m_j − (m_{j−1} − d_{j−1})(m_j − d_j) entries (the complement is a grid); b_j has d_j
(d_0 = d_{L+1} = 0). Call the total C(L). C(1) = d_1(m_0 + 1 + m_2). Making the output layer
L + 1 a hidden layer with d_{L+1} dead units and adding an output layer of width m_{L+2} leaves
the tensors of layers ≤ L unchanged and adds (m_L − d_L)d_{L+1} + d_{L+1} + d_{L+1}m_{L+2}, which is
the bound's increase d_{L+1}(m_L + 1 + m_{L+2}) − d_L d_{L+1}. So C(L) equals the bound for every
depth L ≥ 1. ∎

What ``check()`` proves
-----------------------
[dead_columns] at a symbolic layer l, unit u and depth L: for every derivative named in the
conclusion (W_(l,a,u), b_(l,u), W_(l+1,u,e), read from the object, with the ranges of their sums)
the solver decides that each index lies in its tensor's range (1 ≤ index ≤ m_·); the theorem's own
derivative definition is instantiated, its h and δ expanded once by their definitions, every
Piecewise resolved by its condition (the solver decides the condition, or its negation, from the
claim's hypotheses; an undecided one stays), the hypothesis D_(l,u) = 0 substituted, and the
result must be identically 0. A column of b_(l+1) keeps the undecided δ_(l+1,·) and is
rejected; so is W_(l+1,a,u) (out of range unless u ≤ m_{l+1} is assumed, and then its derivative
keeps δ_(l+1,u)). The conclusion must then hold with these derivatives set to 0.
[null_count]: the definition of d_j must count units meeting dead_columns' hypotheses (solver);
Ĝ's definition must end in the factor J (so Ĝe = 0 when Je = 0, matrix identity); the zero
columns proved in dead_columns, grouped per parameter tensor into full lines, are counted by the
grid complement, and the count equals the claim's bound by induction on the depth L: base L = 1
and step L → L + 1 are identities at symbolic widths and dead counts, the step's bound increase
obtained by peeling the last term of each of the claim's sums. The solver then derives the
conclusion from p − rank(Ĝ) ≥ the count.
Sampled (exact, sympy; not part of the general proof): depths 1–4, e.g. the (1,1,1,1)
counterexample (p − rank(Ĝ) = 5) and sizes (1,2,2,1) with every hidden unit dead (12): the
claimed columns are identically zero in the masked network's Jacobian and the conclusion holds
with p − rank(Ĝ) computed exactly at a point of the activation region.
Named lemmas (prose): T5's derivative formulas (t5); distinct standard basis vectors are
independent; rank–nullity; the complement of full rows and columns of a grid is a grid.
"""

from __future__ import annotations

import itertools

import numpy as np
import sympy as sp

from proofs import _defs as defs
from proofs._network import make_net, realizing_witness
from proofs._render import render
from proofs._statement import Claim, ProofError, Report, Theorem, is_zero

# -- the statement -------------------------------------------------------------------------------
L, l, u, i, j, v, a, e, c, t = defs.integer("L l u i j v a e c t")
p, N, n = defs.p, defs.N, defs.n
sigma_w, sigma_b = defs.sigma_w, defs.sigma_b
f = sp.Symbol("f", real=True)  # the output f_c at an input: ∂f/∂θ is a Jacobian column entry
m = sp.IndexedBase("m", integer=True)  # widths m_0 = d, ..., m_{L+1} = k
d = sp.IndexedBase("d", integer=True)  # dead units per layer
W, b, x, z, h, D, delta = (sp.IndexedBase(name, real=True)
                           for name in ("W", "b", "x", "z", "h", "D", "delta"))
J = sp.MatrixSymbol("J", N, p)
H = sp.MatrixSymbol("H", N, N)
G_hat = sp.MatrixSymbol("G_hat", p, p)
rank = defs.rank

NETWORK = (
    defs.equation(D[j, v], defs.relu_mask(z, j, v)),
    defs.equation(h[j, v], defs.relu_activation(x, D, z, j, v)),
    defs.equation(delta[j, v], defs.backward_vector(D, W, delta, m, sigma_w, L, j, v, c, t)),
    defs.equation(sp.Derivative(f, W[j, a, v]), defs.weight_derivative(sigma_w, m, h, delta,
                                                                        j, a, v)),
    defs.equation(sp.Derivative(f, b[j, v]), defs.bias_derivative(sigma_b, delta, j, v)),
)
DEAD = sp.Eq(D[l, u], 0)
DEAD_UNIT = (sp.Ge(l, 1), sp.Le(l, L), sp.Ge(u, 1), sp.Le(u, m[l]), DEAD)
INCOMING = sp.Eq(sp.Sum(sp.Derivative(f, W[l, a, u]) ** 2, (a, 1, m[l - 1])), 0)
BIAS = sp.Eq(sp.Derivative(f, b[l, u]), 0)
OUTGOING = sp.Eq(sp.Sum(sp.Derivative(f, W[l + 1, u, e]) ** 2, (e, 1, m[l + 1])), 0)
BOUND = (sp.Sum(d[l] * (m[l - 1] + 1 + m[l + 1]), (l, 1, L))
         - sp.Sum(d[i] * d[i + 1], (i, 1, L - 1)))
DEAD_COUNT = defs.equation(d[j], sp.Sum(sp.Piecewise((1, sp.Eq(D[j, v], 0)), (0, True)),
                                        (v, 1, m[j])))

THEOREM = Theorem(
    id="T5b",
    variables=(L, l, u, p, N, m, d, W, b, x, z, D, h, delta, sigma_w, sigma_b, n, J, H),
    hypotheses=(sp.Ge(L, 1),),
    definitions=NETWORK,
    claims=(
        Claim("dead_columns", sp.And(INCOMING, BIAS, OUTGOING), hypotheses=DEAD_UNIT),
        Claim("null_count", sp.Ge(p - rank(G_hat), BOUND),
              definitions=(DEAD_COUNT, defs.equation(G_hat, defs.ggn(J, H, n)))),
    ),
    lemmas=("derivative formulas of T5", "distinct standard basis vectors are independent",
            "rank and nullity add up to the number of columns",
            "the complement of full rows and columns of a grid is a grid"),
)

SHAPES = {W: defs.dense_weight_shape, b: defs.dense_bias_shape}


# -- solver helpers ------------------------------------------------------------------------------
def _unknowns(exprs) -> dict:
    """Indexed entries, sums and rank(·) → solver unknowns named by their printed form."""
    atoms: set = set()
    for expr in exprs:
        atoms |= sp.sympify(expr).atoms(sp.Indexed, sp.Sum, sp.core.function.AppliedUndef)
    return {atom: (sp.Dummy(render(atom), integer=True) if atom.is_integer
                   else sp.Dummy(render(atom), real=True)) for atom in atoms}


def _implies(report: Report, name: str, hypotheses, conclusion) -> None:
    unknowns = _unknowns((*hypotheses, conclusion))
    report.implies(name, [hyp.xreplace(unknowns) for hyp in hypotheses],
                   conclusion.xreplace(unknowns))


def _decided(hypotheses, conclusion) -> bool:
    from proofs import _smt

    unknowns = _unknowns((*hypotheses, conclusion))
    return _smt.decide([hyp.xreplace(unknowns) for hyp in hypotheses],
                       conclusion.xreplace(unknowns)).verdict == "proved"


# -- dead_columns --------------------------------------------------------------------------------
def _derivatives(expr, limits=()):
    """(Derivative, {summation variable: (low, high)}) for every derivative in ``expr``."""
    if isinstance(expr, sp.Derivative):
        return [(expr, dict(limits))]
    inner = tuple(limits) + (tuple((var, (lo, hi)) for var, lo, hi in expr.limits)
                             if isinstance(expr, sp.Sum) else ())
    return [found for arg in expr.args for found in _derivatives(arg, inner)]


def _instantiate(definition, target):
    """The definition's right side at the indices of ``target`` (same base as its left side),
    summation variables that clash with the new indices renamed apart first."""
    pattern = definition.lhs.variables[0] if isinstance(definition.lhs, sp.Derivative) \
        else definition.lhs
    used = set().union(*(sp.sympify(index).free_symbols for index in target.indices))
    rhs = definition.rhs.xreplace({total: total.xreplace(
        {var: sp.Dummy(var.name, integer=True) for var, *_ in total.limits if var in used})
        for total in definition.rhs.atoms(sp.Sum)})
    return rhs.xreplace(dict(zip(pattern.indices, target.indices, strict=True)))


def _resolve(expr, hypotheses, report: Report, what: str):
    """Each Piecewise → the first branch whose condition the hypotheses imply, after branches
    whose condition they refute; a Piecewise with an undecided condition stays as it is."""

    def pick(piecewise):
        for value, condition in piecewise.args:
            if _decided(hypotheses, condition):
                report.solver.append(f"{what}: branch condition")
                return value
            if not _decided(hypotheses, sp.Not(condition)):
                break
        return piecewise

    return expr.replace(lambda node: isinstance(node, sp.Piecewise), pick)


def _dead_unit(theorem: Theorem):
    """(layer, unit) of the dead-unit hypothesis D_(l,u) = 0 of dead_columns."""
    for hyp in theorem.hypotheses_of("dead_columns"):
        if isinstance(hyp, sp.Equality) and isinstance(hyp.lhs, sp.Indexed) and hyp.lhs.base == D:
            return hyp.lhs.indices
    raise ProofError("T5b dead_columns: no dead unit among the hypotheses")


def _check_dead_columns(theorem: Theorem, report: Report) -> list:
    """Prove every derivative named in dead_columns vanishes; return them with their ranges."""
    claim = theorem.claim("dead_columns")
    hyps = theorem.hypotheses_of("dead_columns")
    layer, _ = _dead_unit(theorem)
    derivative_defs = {dfn.lhs.variables[0].base: dfn for dfn in theorem.definitions
                       if isinstance(dfn.lhs, sp.Derivative)}
    entry_defs = {dfn.lhs.base: dfn for dfn in theorem.definitions
                  if isinstance(dfn.lhs, sp.Indexed)}
    substitutions = {hyp.lhs: hyp.rhs for hyp in hyps
                     if isinstance(hyp, sp.Equality) and isinstance(hyp.lhs, sp.Indexed)}
    found = _derivatives(claim.conclusion)
    for derivative, ranges in found:
        theta = derivative.variables[0]
        what = f"dead_columns, {theta.base} at layer offset {theta.indices[0] - layer}"
        sizes = SHAPES[theta.base](m, theta.indices[0])
        for index, size in zip(theta.indices[1:], sizes, strict=True):
            low, high = ranges.get(index, (index, index))
            _implies(report, f"{what}: index range", hyps,
                     sp.And(sp.Ge(low, 1), sp.Le(high, size)))
        value = _instantiate(derivative_defs[theta.base], theta)
        value = value.xreplace({atom: _instantiate(entry_defs[atom.base], atom)
                                for atom in value.atoms(sp.Indexed) if atom.base in entry_defs})
        value = _resolve(value, hyps, report, what).xreplace(substitutions)
        report.identity(f"{what}: column vanishes", value, 0)
    report.holds("dead_columns: conclusion with the vanishing columns",
                 claim.conclusion.xreplace({der: 0 for der, _ in found}).doit())
    return found


# -- null_count ----------------------------------------------------------------------------------
def _check_dead_count(theorem: Theorem, report: Report):
    """d_j := Σ_v [cond]: every unit it counts meets dead_columns' hypotheses (solver)."""
    claim = theorem.claim("null_count")
    layer, unit = _dead_unit(theorem)
    count = next(dfn for dfn in claim.definitions if isinstance(dfn.lhs, sp.Indexed))
    (index,) = count.lhs.indices
    (var, low, high), = count.rhs.limits
    (one, condition), (zero, otherwise) = count.rhs.function.args
    report.holds("null_count: the dead count adds one per unit meeting its condition",
                 one == 1 and zero == 0 and otherwise == sp.true)
    facts = (*theorem.hypotheses, sp.Ge(index, 1), sp.Le(index, L), sp.Ge(var, low),
             sp.Le(var, high), condition)
    for hyp in theorem.hypotheses_of("dead_columns"):
        _implies(report, "null_count: a counted unit is a dead unit of dead_columns", facts,
                 hyp.xreplace({layer: index, unit: var}))
    return count.lhs.base


def _check_null_vectors(theorem: Theorem, report: Report) -> None:
    """Ĝ's definition ends in the factor J, so Je = 0 gives Ĝe = 0."""
    claim = theorem.claim("null_count")
    ggn = next(dfn.rhs for dfn in claim.definitions if dfn.lhs == G_hat)
    report.holds("null_count: the GGN ends in the Jacobian factor",
                 isinstance(ggn, sp.MatMul) and ggn.args[-1] == J)
    prefix = sp.MatMul(*ggn.args[:-1])
    report.matrix_identity("null_count: a zero Jacobian column is a GGN null vector",
                           prefix * sp.ZeroMatrix(J.rows, 1), sp.ZeroMatrix(G_hat.rows, 1))


def _families(found, theorem: Theorem) -> dict:
    """(base, axis) → layer offset of the dead units whose full lines along that axis vanish."""
    layer, unit = _dead_unit(theorem)
    families: dict = {}
    for derivative, ranges in found:
        theta = derivative.variables[0]
        offset = theta.indices[0] - layer
        sizes = SHAPES[theta.base](m, theta.indices[0])
        axes = [q for q, index in enumerate(theta.indices[1:]) if index == unit]
        full = all(ranges.get(index) == (1, size)
                   for q, (index, size) in enumerate(zip(theta.indices[1:], sizes, strict=True))
                   if q not in axes)
        if not (len(axes) == 1 and full and offset.is_Integer and offset >= 0
                and is_zero(sizes[axes[0]] - defs.dense_bias_shape(m, layer)[0])
                and (theta.base, axes[0]) not in families):
            raise ProofError(f"T5b null_count: the zero columns of {render(theta)} are not "
                             f"full lines of one tensor indexed by the dead units")
        families[(theta.base, axes[0])] = offset
    return families


def _dead(x_layer, depth, count_base, hyps):
    """d at layer ``x_layer`` of a network of depth ``depth``: 0 outside the hidden layers."""
    if _decided(hyps, sp.And(sp.Ge(x_layer, 1), sp.Le(x_layer, depth))):
        return count_base[x_layer]
    if _decided(hyps, sp.Or(sp.Lt(x_layer, 1), sp.Gt(x_layer, depth))):
        return sp.Integer(0)
    raise ProofError(f"T5b null_count: layer {render(x_layer)} undecided at depth "
                     f"{render(depth)}")


def _tensor_count(base, layer, depth, families, count_base, hyps):
    """Zero entries of the tensor ``base`` of ``layer``: all minus the grid of live lines."""
    sizes = SHAPES[base](m, layer)
    live = [size - (_dead(layer - families[(base, q)], depth, count_base, hyps)
                    if (base, q) in families else 0) for q, size in enumerate(sizes)]
    return sp.Mul(*sizes) - sp.Mul(*live)


def _union_count(layers, depth, families, count_base, hyps):
    return sp.Add(*[_tensor_count(base, layer, depth, families, count_base, hyps)
                    for layer in layers for base in SHAPES])


def _advance(expr, var):
    """``expr`` at ``var + 1``, each sum over a range ending at a function of ``var`` written as
    the same sum plus its new last terms."""
    split = {}
    for total in expr.atoms(sp.Sum):
        (index, low, high), = total.limits
        extra = sp.expand(high.xreplace({var: var + 1}) - high)
        if var in total.function.free_symbols | low.free_symbols or not (
                extra.is_Integer and extra >= 0):
            raise ProofError(f"T5b null_count: cannot peel the sum {render(total)}")
        split[total.xreplace({var: var + 1})] = total + sp.Add(
            *[total.function.xreplace({index: high + step}) for step in range(1, int(extra) + 1)])
    return expr.xreplace({var: var + 1}).xreplace(split)


def _check_null_count(theorem: Theorem, report: Report, found) -> None:
    claim = theorem.claim("null_count")
    hyps = theorem.hypotheses_of("null_count")
    count_base = _check_dead_count(theorem, report)
    _check_null_vectors(theorem, report)
    families = _families(found, theorem)
    bound = claim.conclusion.rhs
    base = sp.Integer(1)
    _implies(report, "null_count: every depth is at least the induction base", hyps,
             sp.Ge(L, base))
    report.identity("null_count: zero columns at depth one equal the bound",
                    _union_count((base, base + 1), base, families, count_base, hyps),
                    bound.xreplace({L: base}).doit())
    step_count = (_union_count((L + 1, L + 2), L + 1, families, count_base, hyps)
                  - _union_count((L + 1,), L, families, count_base, hyps))
    report.identity("null_count: one more hidden layer adds as many zero columns as the bound",
                    step_count, _advance(bound, L) - bound)
    report.inductions.append(f"null_count: zero columns equal the bound (on {render(L)}, "
                             f"from {render(base)})")
    _implies(report, "null_count: conclusion from the zero column count",
             (*hyps, sp.Ge(G_hat.cols - rank(G_hat), bound)), claim.conclusion)


# -- sampled instances (exact) -------------------------------------------------------------------
# (widths, dead units (layer, unit) counted from 1, inputs): depths 1 to 4
INSTANCES = (
    ((2, 3, 1), ((1, 2),), 2),
    ((1, 1, 1, 1), ((1, 1), (2, 1)), 1),
    ((1, 2, 2, 1), ((1, 1), (1, 2), (2, 1), (2, 2)), 1),
    ((1, 2, 1, 2, 1), ((1, 2), (2, 1)), 2),
    ((1, 1, 2, 1, 1, 1), ((2, 1), (3, 1)), 1),
)


def _exact_point(net):
    """A rational point of the activation region (σ_w = σ_b = 1) from a numeric witness."""
    X, weights, biases = realizing_witness(net)
    point = {net.sigma_w: 1, net.sigma_b: 1}
    pairs = [(net.X, X), *zip(net.weights, weights, strict=True),
             *zip(net.biases, biases, strict=True)]
    for symbols, values in pairs:
        point.update(zip(symbols, map(sp.Rational, np.reshape(values, -1)), strict=True))
    return point


def _check_instance(theorem: Theorem, report: Report, widths, dead_units, inputs) -> None:
    depth = len(widths) - 2
    masks = tuple(tuple(tuple(0 if (layer, unit + 1) in dead_units else 1
                              for unit in range(widths[layer])) for _ in range(inputs))
                  for layer in range(1, depth + 1))
    net = make_net(widths, masks)
    params = net.params()
    jac = net.jacobian()
    entry = {W: lambda idx: net.weights[idx[0] - 1][idx[1] - 1, idx[2] - 1],
             b: lambda idx: net.biases[idx[0] - 1][idx[1] - 1, 0]}
    layer, unit = _dead_unit(theorem)
    sizes = {m[q]: w for q, w in enumerate(widths)}
    for dead_layer, dead_index in dead_units:
        unit_values = {layer: dead_layer, unit: dead_index, L: depth}

        def at(expr, unit_values=unit_values):
            return int(sp.sympify(expr.xreplace(unit_values)).xreplace(sizes))

        for derivative, ranges in _derivatives(theorem.claim("dead_columns").conclusion):
            theta = derivative.variables[0]
            spans = [range(at(ranges[idx][0]), at(ranges[idx][1]) + 1) if idx in ranges
                     else (at(idx),) for idx in theta.indices]
            for combo in itertools.product(*spans):
                column = params.index(entry[theta.base](combo))
                report.holds(f"widths {widths}: claimed column is zero",
                             all(is_zero(value) for value in jac[:, column]))
    claim = theorem.claim("null_count")
    counts = {}
    for hidden in range(1, depth + 1):
        count = next(dfn for dfn in claim.definitions if isinstance(dfn.lhs, sp.Indexed))
        alive = {D[hidden, w + 1]: int(any(row[w] for row in masks[hidden - 1]))
                 for w in range(widths[hidden])}
        value = count.rhs.xreplace({count.lhs.indices[0]: hidden}).xreplace(
            sizes).doit().xreplace(alive)
        counts[count.lhs.base[hidden]] = value
    point = _exact_point(net)
    ggn = next(dfn.rhs for dfn in claim.definitions if dfn.lhs == G_hat)
    explicit = ggn.xreplace({J: sp.ImmutableMatrix(jac.xreplace(point)),
                             H: sp.ImmutableMatrix(sp.eye(jac.rows)), n: inputs}).doit()
    ranks = {atom: sp.Matrix(explicit).rank()
             for atom in claim.conclusion.atoms(sp.core.function.AppliedUndef)}
    sizes[p] = len(params)
    verdict = claim.conclusion.xreplace(ranks).xreplace({L: depth}).doit().xreplace(
        sizes).xreplace(counts)
    report.holds(f"widths {widths}: null count holds exactly", verdict)
    report.instance(f"depth {depth}, widths {widths}, dead units {dead_units}, exact")


def check(theorem: Theorem = THEOREM) -> Report:
    """Prove T5b (see the module docstring); raise ``ProofError`` on a failed step."""
    report = Report(theorem)
    found = _check_dead_columns(theorem, report)
    _check_null_count(theorem, report, found)
    for widths, dead_units, inputs in INSTANCES:
        _check_instance(theorem, report, widths, dead_units, inputs)
    return report


# -- the numeric falsifier -------------------------------------------------------------------------
FALSIFIER_TRIALS = 40


def _forward(params, X, sw, sb):
    """Outputs (n × k) and pre-activations of a float64 ReLU MLP, NTK parameterization."""
    hidden, pre = X, []
    for idx, (weight, bias) in enumerate(params):
        zl = sw / np.sqrt(weight.shape[0]) * hidden @ weight + sb * bias
        pre.append(zl)
        hidden = np.maximum(zl, 0.0) if idx < len(params) - 1 else zl
    return hidden, pre


def _jacobian(params, X, sw, sb):
    """J (nk × p, row i·k + c) by one-sided differences: with the ReLU masks fixed, f is affine
    in each single parameter, so the difference quotient is exact up to round-off; None if a
    step would change a mask."""
    out, pre = _forward(params, X, sw, sb)
    flat = [arr for pair in params for arr in pair]
    columns = []
    for arr in flat:
        for pos in np.ndindex(arr.shape):
            old = arr[pos]
            arr[pos] = old + 1e-3
            moved, pre_moved = _forward(params, X, sw, sb)
            arr[pos] = old
            if any(np.any((zm > 0) != (z0 > 0)) for zm, z0 in zip(pre_moved[:-1], pre[:-1],
                                                                   strict=True)):
                return None
            columns.append(((moved - out) / 1e-3).reshape(-1))
    return np.stack(columns, axis=1)


def draw(rng, trial: int) -> dict:
    """A random ReLU MLP of depth 1–4 (cycling) with planted dead units (bias set so that every
    pre-activation is ≤ −1; some layers entirely dead), numpy Jacobian by exact difference
    quotients, Ĝ = JᵀHJ/n with H = I (mse) or the softmax Hessian blocks (ce), and the dead
    counts d_j measured on the inputs."""
    depth = trial % 4 + 1
    widths = [int(rng.integers(1, 4)) for _ in range(depth + 2)]
    inputs = int(rng.integers(1, 6))
    sw, sb = float(rng.uniform(0.5, 2)), float(rng.uniform(0.5, 2))
    X = rng.normal(size=(inputs, widths[0]))
    params = [(rng.normal(size=(widths[q - 1], widths[q])), rng.normal(size=widths[q]))
              for q in range(1, depth + 2)]
    all_dead = rng.random() < 0.3
    hidden = X
    for q in range(1, depth + 1):
        weight, bias = params[q - 1]
        drive = sw / np.sqrt(widths[q - 1]) * hidden @ weight
        for unit in range(widths[q]):
            if all_dead or rng.random() < 0.4:
                bias[unit] = (-1.0 - drive[:, unit].max()) / sb
        hidden = np.maximum(drive + sb * bias, 0.0)
    jac = _jacobian(params, X, sw, sb)
    if jac is None:
        return {}
    out, pre = _forward(params, X, sw, sb)
    outputs = widths[-1]
    if trial % 2:
        probs = np.exp(out - out.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        hess = np.zeros((inputs * outputs, inputs * outputs))
        for row, prob in enumerate(probs):
            block = slice(row * outputs, (row + 1) * outputs)
            hess[block, block] = np.diag(prob) - np.outer(prob, prob)
    else:
        hess = np.eye(inputs * outputs)
    ggn = jac.T @ hess @ jac / inputs
    dead = np.array([0.0] + [float(np.sum(np.all(zl <= 0, axis=0))) for zl in pre[:-1]] + [0.0])
    wid = np.array(widths, dtype=float)
    return {"null_count": {L: depth, p: ggn.shape[0], G_hat: ggn,
                           m[l - 1]: wid[:depth], m[l + 1]: wid[2:depth + 2],
                           d[l]: dead[1:depth + 1], d[i]: dead[1:depth],
                           d[i + 1]: dead[2:depth + 1]}}


# -- false variants ------------------------------------------------------------------------------
def false_variants() -> dict[str, Theorem]:
    """False statements the check must reject (one field of ``THEOREM`` changed each)."""

    def columns(*parts, hypotheses=DEAD_UNIT) -> Theorem:
        return THEOREM.with_claim("dead_columns", conclusion=sp.And(*parts),
                                  hypotheses=hypotheses)

    def bound(value) -> Theorem:
        return THEOREM.with_claim("null_count", conclusion=sp.Ge(p - rank(G_hat), value))

    overlap = sp.Sum(d[i] * d[i + 1], (i, 1, L - 1))
    per_unit = sp.Sum(d[l] * (m[l - 1] + 1 + m[l + 1]), (l, 1, L))
    next_bias = sp.Eq(sp.Sum(sp.Derivative(f, b[l + 1, e]) ** 2, (e, 1, m[l + 1])), 0)
    count = THEOREM.claim("null_count")
    return {
        # old MUTANTS of this module, as statements
        "theory_md_count": bound(per_unit),
        "next_layer_bias": columns(INCOMING, BIAS, OUTGOING, next_bias),
        "grid_union_without_intersection": bound(
            sp.Sum(d[l] * m[l + 1], (l, 1, L)) + sp.Sum(m[l - 1] * d[l], (l, 1, L))
            + sp.Sum(d[l], (l, 1, L))),
        "overlap_min": bound(per_unit - sp.Sum(sp.Min(d[i], d[i + 1]), (i, 1, L - 1))),
        "incoming_uses_m_l": bound(sp.Sum(d[l] * (m[l] + 1 + m[l + 1]), (l, 1, L)) - overlap),
        # class F: a wrong column set named for the dead unit
        "outgoing_column_instead_of_row": columns(INCOMING, BIAS, sp.Eq(sp.Sum(
            sp.Derivative(f, W[l + 1, e, u]) ** 2, (e, 1, m[l])), 0)),
        "next_layer_bias_only": columns(INCOMING, BIAS, sp.Eq(sp.Derivative(f, b[l + 1, u]), 0)),
        "incoming_range_past_the_matrix": columns(sp.Eq(sp.Sum(
            sp.Derivative(f, W[l, a, u]) ** 2, (a, 1, m[l])), 0), BIAS, OUTGOING),
        # dropped hypotheses: the unit is not dead, or it is an output unit
        "incoming_columns_unit_norm": columns(sp.Eq(INCOMING.lhs, 1), BIAS, OUTGOING),
        "unit_not_dead": columns(INCOMING, BIAS, OUTGOING, hypotheses=DEAD_UNIT[:-1]),
        "output_layer_unit": columns(INCOMING, BIAS, OUTGOING,
                                     hypotheses=(DEAD_UNIT[0],) + DEAD_UNIT[2:]),
        # the count: wrong range, wrong matrix, rank for nullity
        "overlap_from_second_layer": bound(per_unit - sp.Sum(d[i] * d[i + 1], (i, 2, L - 1))),
        "count_plus_one": bound(per_unit - overlap + 1),
        "rank_instead_of_nullity": THEOREM.with_claim(
            "null_count", conclusion=sp.Ge(rank(G_hat), BOUND)),
        "damped_ggn": THEOREM.with_claim("null_count", definitions=(
            DEAD_COUNT, defs.equation(G_hat, defs.ggn(J, H, n) + sp.Identity(p)))),
        "dead_count_doubled": THEOREM.with_claim("null_count", definitions=(
            defs.equation(d[j], sp.Sum(sp.Piecewise((2, sp.Eq(D[j, v], 0)), (0, True)),
                                       (v, 1, m[j]))), count.definitions[1])),
        "dead_count_of_live_units": THEOREM.with_claim("null_count", definitions=(
            defs.equation(d[j], sp.Sum(sp.Piecewise((1, sp.Eq(D[j, v], 1)), (0, True)),
                                       (v, 1, m[j]))), count.definitions[1])),
    }
