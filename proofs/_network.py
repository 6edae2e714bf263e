"""The ReLU MLP of THEORY.md (NTK parameterization) inside one activation region (T4, T5, T5b).

Objects. Layer j = 1, …, L + 1 has the weights W_(j,a,v) (input unit a ≤ m_(j−1), unit v ≤ m_j,
m_0 = d) and the biases b_(j,v) (``PARAMETERS``). At one input x the network's quantities form a
``Copy``: the input x_v, the pre-activations z_(j,v), the activations h_(j,v) (h_0 = x), the masks
D_(j,v) = 1[z_(j,v) > 0], the backward vectors δ_(j,v) of the output c and the output f = f_c(x);
``network_copy(prime=True)`` is the same network at a second input x′ with output c′ (z′, h′, …).
``network_definitions`` builds their definitions from ``proofs._defs`` (``preactivation``,
``relu_activation``, ``relu_mask``, ``backward_vector``): the statements of T4 and T5 carry them.

Proof helpers (each reads the theorem's own definitions; every decision goes to the solver and is
recorded in the report):

- ``definition`` / ``instantiate``: a definition of the theorem at other indices;
- ``resolve_piecewise``: every Piecewise replaced by the branch its conditions select, each
  condition decided by the solver from the given facts (class G of issue 33: never the first
  branch blindly);
- ``perturb``: θ ↦ θ + Σ S·w·e_entry along parameter entries of a symbolic layer; whether a
  parameter of the expression is in that layer is decided by the solver from the facts;
- ``check_masks_locally_constant``: the mask definition is constant on z > 0 and on z < 0, and
  the hypotheses put every pre-activation in one of these open sets (so on a neighbourhood of the
  point every mask is a constant and the network is a polynomial in θ);
- ``parameter_layers``: by induction over the layers (step at a symbolic layer r), the parameter
  layers that occur in h_r are exactly 1, …, r, and those in f exactly 1, …, L + 1;
- ``sums_equal``: equality of sums of products of finite sums (linearity, distributivity over
  independent ranges, renaming and reordering of bound variables).

Sampled networks (exact, sympy; for the checks' cross-checks at depths 1–4): ``sample_network``
draws rational weights, biases and inputs and keeps the masks of the point; ``taylor_outputs``
expands the masked network along one direction per layer; ``evaluate`` evaluates an expression by
the theorem's definitions on such a sample. The numeric falsifiers use ``numpy_mlp_*`` (float64,
independent of all of the above). ``make_net``/``realizing_witness`` are the older fully symbolic
masked MLP (used by T5b).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import sympy as sp

from proofs import _defs as defs
from proofs._render import render
from proofs._statement import ProofError

# -- the network's objects -------------------------------------------------------------------------
L, j, v, a, e = defs.integer("L j v a e")
sigma_w, sigma_b = defs.sigma_w, defs.sigma_b
m = sp.IndexedBase("m", integer=True)  # widths m_0 = d, m_1, …, m_(L+1) = k
W, b = sp.IndexedBase("W", real=True), sp.IndexedBase("b", real=True)
PARAMETERS = (W, b)


@dataclass(frozen=True)
class Copy:
    """The network's quantities at one input: bases x, z, h, D, δ, the output f and its index c."""

    x: sp.IndexedBase
    z: sp.IndexedBase
    h: sp.IndexedBase
    D: sp.IndexedBase
    delta: sp.IndexedBase
    f: sp.Symbol
    c: sp.Symbol


def network_copy(prime: bool = False) -> Copy:
    """The quantities at x (output c), or with ``prime`` at x′ (output c′)."""
    suffix = "_prime" if prime else ""
    bases = {name: sp.IndexedBase(name + suffix, real=True)
             for name in ("x", "z", "h", "D", "delta")}
    return Copy(**bases, f=sp.Symbol("f" + suffix, real=True),
                c=sp.Symbol("c" + suffix, integer=True))


def network_definitions(cp: Copy, backward: bool = False) -> tuple:
    """z, h, D and f = z_(L+1,c) at one input (and δ with ``backward``), from ``proofs._defs``."""
    out = (
        defs.equation(cp.z[j, v], defs.preactivation(W, b, cp.h, m, sigma_w, sigma_b, j, v, a)),
        defs.equation(cp.h[j, v], defs.relu_activation(cp.x, cp.D, cp.z, j, v)),
        defs.equation(cp.D[j, v], defs.relu_mask(cp.z, j, v)),
        defs.equation(cp.f, cp.z[L + 1, cp.c]),
    )
    if backward:
        out += (defs.equation(cp.delta[j, v], defs.backward_vector(cp.D, W, cp.delta, m, sigma_w,
                                                                   L, j, v, cp.c, e)),)
    return out


def no_kink(cp: Copy):
    """No pre-activation is exactly 0 (the point lies inside an activation region)."""
    return sp.Ne(cp.z[j, v], 0)


# -- reading the theorem's definitions -------------------------------------------------------------
def definition(definitions, target):
    """The definition whose left side is ``target`` (a symbol) or an entry of ``target`` (an
    IndexedBase)."""
    found = [d for d in definitions
             if d.lhs == target or (isinstance(d.lhs, sp.Indexed) and d.lhs.base == target)]
    if len(found) != 1:
        raise ProofError(f"the statement must define {render(target)} once, "
                         f"found {len(found)} definitions")
    return found[0]


def instantiate(defn, *indices):
    """The right side of an indexed definition at ``indices`` (bound variables of its sums renamed
    apart from the new indices first)."""
    lhs = defn.lhs
    if len(indices) != len(lhs.indices) or not all(isinstance(i, sp.Symbol) for i in lhs.indices):
        raise ProofError(f"the definition of {render(lhs)} is not a definition at generic indices")
    rhs = rename_bound(defn.rhs, set().union(*(sp.sympify(i).free_symbols for i in indices)))
    return rhs.xreplace(dict(zip(lhs.indices, indices, strict=True)))


def rename_bound(expr, used):
    """``expr`` with the bound variables of its sums that are in ``used`` renamed to fresh ones."""
    for total in expr.atoms(sp.Sum):
        clash = {var: sp.Dummy(var.name, integer=True) for var, *_ in total.limits if var in used}
        expr = expr.xreplace({total: total.xreplace(clash)}) if clash else expr
    return expr


# -- solver decisions ------------------------------------------------------------------------------
def resolve_piecewise(report, name: str, expr, facts):
    """Each Piecewise of ``expr`` replaced by its selected branch: the first branch whose condition
    the solver proves from ``facts``, after every earlier condition is refuted by the solver."""

    def select(piecewise):
        for value, condition in piecewise.args:
            if report.proves(f"{name}: branch condition", facts, condition):
                return value
            if not report.proves(f"{name}: branch excluded", facts, sp.Not(condition)):
                raise ProofError(f"{report.theorem.id} {name}: the facts decide neither "
                                 f"{render(condition)} nor its negation")
        raise ProofError(f"{report.theorem.id} {name}: no branch of {render(piecewise)} applies")

    return expr.replace(lambda node: isinstance(node, sp.Piecewise), select)


def same_layer(report, name: str, facts, first, second) -> bool:
    """True for the same layer index, False for indices the solver proves different."""
    if sp.expand(first - second) == 0:
        return True
    if report.proves(f"{name}: layers differ", facts, sp.Ne(first, second)):
        return False
    raise ProofError(f"{report.theorem.id} {name}: the facts do not tell the layers "
                     f"{render(first)} and {render(second)} apart")


def perturb(report, name: str, expr, moves, facts):
    """``expr`` with every parameter entry X_(r,…) replaced by X_(r,…) + Σ S·w·[same entry] over
    the ``moves`` (S, entry, w) of the same tensor X: the network at θ + Σ S·w·e_entry. Whether r
    is the entry's layer is decided by the solver; the other indices give Kronecker deltas."""
    expr = rename_bound(expr, set().union(*(entry.free_symbols for _, entry, _ in moves)))
    replacements = {}
    for atom in expr.atoms(sp.Indexed):
        shift = sp.Integer(0)
        for symbol, entry, weight in moves:
            if atom.base == entry.base and same_layer(report, name, facts, atom.indices[0],
                                                      entry.indices[0]):
                deltas = [sp.KroneckerDelta(p, q)
                          for p, q in zip(atom.indices[1:], entry.indices[1:], strict=True)]
                shift += symbol * weight * sp.Mul(*deltas)
        if shift != 0:
            replacements[atom] = atom + shift
    return expr.xreplace(replacements)


# -- the masks -------------------------------------------------------------------------------------
def check_masks_locally_constant(report, cp: Copy) -> None:
    """D_(j,v) as the statement defines it: free of z_(j,v) in each branch, equal at any two points
    of z > 0 and at any two points of z < 0 (open sets), and the statement's hypotheses put
    z_(j,v) in one of the two (solver). Hence each mask is constant on a neighbourhood of the point
    (continuity of z in θ) and its derivative in θ is 0 there."""
    thm = report.theorem
    mask = instantiate(definition(thm.definitions, cp.D), j, v)
    zeta, other = cp.z[j, v], sp.Symbol("zeta", real=True)
    report.holds("masks: a function of the pre-activation alone",
                 mask.free_symbols <= {zeta, cp.z.label, j, v})
    report.implies("masks: no pre-activation on the boundary", thm.hypotheses,
                   sp.Or(zeta > 0, zeta < 0))
    moved = mask.xreplace({zeta: other})
    for side in (sp.And(zeta > 0, other > 0), sp.And(zeta < 0, other < 0)):
        report.implies("masks: constant on an open half-line", (side,), sp.Eq(mask, moved))


# -- which parameter layers occur, by induction over the layers ------------------------------------
def parameter_layers(report, cp: Copy):
    """Induction over the layers r = 0, 1, …, L (step at a symbolic r): the parameter layers
    occurring in h_r are exactly those q with 1 ≤ q ≤ r (read off the statement's definitions of
    h and z: the parameters of layer r + 1 and, by the hypothesis, those of h_r); then those of
    f = z_(L+1,c) are exactly 1 ≤ q ≤ L + 1. Returns the closed form as a function of (r, q)."""
    thm = report.theorem
    q, r = sp.Symbol("q", integer=True), sp.Symbol("r", integer=True)
    z_def, h_def = definition(thm.definitions, cp.z), definition(thm.definitions, cp.h)

    def closed(layer, index=q):
        return sp.And(index >= 1, index <= layer)

    def occurring(expr, upto, facts, name):
        """The layers occurring in ``expr``: its parameters' layers, and closed(e) for each
        activation h_(e,·) with 0 ≤ e ≤ ``upto`` (proved before)."""
        cases = []
        for atom in expr.atoms(sp.Indexed):
            if atom.base in PARAMETERS:
                cases.append(sp.Eq(q, atom.indices[0]))
            elif atom.base == cp.h:
                layer = atom.indices[0]
                report.implies(f"{name}: activation of a layer already covered", facts,
                               sp.And(layer >= 0, layer <= upto))
                cases.append(closed(layer))
            elif atom.base == cp.z:
                raise ProofError(f"{thm.id} {name}: a pre-activation is left undefined")
        return sp.Or(*cases)

    def equivalent(name, facts, first, second):
        report.implies(name, facts, sp.And(sp.Implies(first, second), sp.Implies(second, first)))

    facts0 = tuple(thm.hypotheses)
    base = resolve_piecewise(report, "layers occurring, base", instantiate(h_def, 0, v), facts0)
    equivalent("layers occurring, base", facts0, occurring(base, -1, facts0, "base"), closed(0))
    step_facts = facts0 + (r >= 0, r + 1 <= L)
    step = resolve_piecewise(report, "layers occurring, step", instantiate(h_def, r + 1, v),
                             step_facts)
    step = step.xreplace({atom: instantiate(z_def, *atom.indices)
                          for atom in step.atoms(sp.Indexed) if atom.base == cp.z})
    equivalent("layers occurring, step", step_facts,
               occurring(step, r, step_facts, "step"), closed(r + 1))
    report.inductions.append(f"parameter layers occurring in {render(cp.h[r, v])} "
                             f"(on {render(r)}, from 0)")
    out = definition(thm.definitions, cp.f).rhs
    out = out.xreplace({atom: instantiate(z_def, *atom.indices)
                        for atom in out.atoms(sp.Indexed) if atom.base == cp.z})
    equivalent("layers occurring in the output", facts0, occurring(out, L, facts0, "output"),
               closed(L + 1))
    return closed, q


# -- sums of products of finite sums ------------------------------------------------------------
def expand_sums(expr):
    """``expr`` as [(limits, summand)]: Σ over the limits (outermost first) of the summand, by
    linearity and distributivity, with every bound variable renamed to a fresh one."""
    out = []
    for term in sp.Add.make_args(sp.expand(expr)):
        partial = [((), sp.Integer(1))]
        for factor in sp.Mul.make_args(term):
            base, power = factor.as_base_exp()
            if isinstance(base, sp.Sum) and power.is_Integer and power > 0:
                copies = [base] * int(power)
            else:
                copies = [factor]
            for item in copies:
                if isinstance(item, sp.Sum):
                    fresh = {var: sp.Dummy(var.name, integer=True) for var, *_ in item.limits}
                    limits = tuple((fresh[var], lo.xreplace(fresh), hi.xreplace(fresh))
                                   for var, lo, hi in reversed(item.limits))
                    inner = [(limits + more, s)
                             for more, s in expand_sums(item.function.xreplace(fresh))]
                else:
                    inner = [((), item)]
                partial = [(l1 + l2, s1 * s2) for l1, s1 in partial for l2, s2 in inner]
        out.extend(partial)
    return out


def _canonical(limits, summand):
    """(ranges, summand) with the bound variables renamed in a canonical order: the order of
    independent ranges is free (finite sums commute), ties broken by the printed summand."""
    best = None
    for order in itertools.permutations(limits):
        seen: set = set()
        valid = True
        for var, lo, hi in order:
            bound = {w for w, *_ in limits}
            if (lo.free_symbols | hi.free_symbols) & (bound - seen):
                valid = False
                break
            seen.add(var)
        if not valid:
            continue
        names = {var: sp.Symbol(f"summation{k}", integer=True)
                 for k, (var, _, _) in enumerate(order)}
        ranges = tuple((lo.xreplace(names), hi.xreplace(names)) for _, lo, hi in order)
        body = sp.expand(summand.xreplace(names))
        key = (str(ranges), str(body))
        if best is None or key < best[0]:
            best = (key, ranges, body)
    return best[1], best[2]


def sums_equal(lhs, rhs) -> bool:
    """Whether two sums of products of finite sums are equal, summand by summand after bringing
    both to the normal form (linearity, distributivity, renaming and reordering of bound
    variables); summands with the same ranges are compared as rational expressions."""
    grouped: dict = {}
    for sign, side in ((1, lhs), (-1, rhs)):
        for limits, summand in expand_sums(side):
            ranges, body = _canonical(limits, summand)
            grouped[ranges] = grouped.get(ranges, 0) + sign * body
    return all(sp.expand(body) == 0 or sp.cancel(sp.expand(body)) == 0
               for body in grouped.values())


def sums_identity(report, name: str, lhs, rhs) -> None:
    """Record ``lhs = rhs`` as an identity of sums (``sums_equal``), or raise."""
    if not sums_equal(lhs, rhs):
        raise ProofError(f"{report.theorem.id} {name}: the sums differ: "
                         f"{render(sp.Eq(lhs, rhs, evaluate=False))}")
    report.identities.append(name)


# -- sampled networks (exact) ----------------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    """A network with rational parameters and inputs, its widths (d, m_1, …, m_L, k) and the masks
    of its point (``masks[i][r]`` is the 0/1 column D_(r+1) at input i)."""

    widths: tuple[int, ...]
    weights: tuple[sp.Matrix, ...]
    biases: tuple[sp.Matrix, ...]
    inputs: tuple[sp.Matrix, ...]
    sigma_w: sp.Rational
    sigma_b: sp.Rational
    masks: tuple


def _rational(rng) -> sp.Rational:
    return sp.Rational(int(rng.integers(-9, 10)), int(rng.integers(1, 5)))


def sample_network(seed: int, widths, n_inputs: int) -> Sample:
    """Rational weights, biases, inputs and σ's (seeded), with the masks of the point; redrawn
    until no pre-activation is 0 and every hidden layer has an active unit at every input (no
    layer cuts the network off)."""
    rng = np.random.default_rng(seed)
    while True:  # W_r = √m_(r−1)·(rational): the scaled products (σ_w/√m_(r−1)) W_r are rational
        weights = tuple(sp.sqrt(widths[r - 1])
                        * sp.Matrix(widths[r - 1], widths[r], lambda *_: _rational(rng))
                        for r in range(1, len(widths)))
        biases = tuple(sp.Matrix(widths[r], 1, lambda *_: _rational(rng))
                       for r in range(1, len(widths)))
        inputs = tuple(sp.Matrix(widths[0], 1, lambda *_: _rational(rng))
                       for _ in range(n_inputs))
        sw, sb = sp.Rational(int(rng.integers(1, 7)), 4), sp.Rational(int(rng.integers(1, 7)), 4)
        masks, ok = [], True
        for x in inputs:
            h, layers = x, []
            for r in range(1, len(widths) - 1):
                z = sw / sp.sqrt(widths[r - 1]) * weights[r - 1].T * h + sb * biases[r - 1]
                layers.append(tuple(int(bool(entry > 0)) for entry in z))
                ok = ok and all(entry != 0 for entry in z) and any(layers[-1])
                h = sp.diag(*layers[-1]) * z
            masks.append(tuple(layers))
        if ok:
            return Sample(tuple(widths), weights, biases, inputs, sw, sb, tuple(masks))


def taylor_outputs(sample: Sample, seed: int, steps):
    """The outputs f(x_i) of the sample's masked network at θ + Σ_r steps[r−1]·U_r (one random
    direction U_r per layer r, its weight part √m_(r−1) times a rational matrix): exact
    polynomials in the steps, as {exponents: rational coefficient}, one list of k per input."""
    from sympy.polys.rings import ring

    rng = np.random.default_rng(seed)
    R, *gens = ring([str(step) for step in steps], sp.QQ)
    layers = []
    for Wr, br, step in zip(sample.weights, sample.biases, gens, strict=True):
        scaled = Wr / sp.sqrt(Wr.rows)  # rational: (σ_w/√m) W_r = σ_w·scaled
        layers.append((
            [[R(scaled[p, q]) + step * R(_rational(rng)) for q in range(Wr.cols)]
             for p in range(Wr.rows)],
            [R(br[q]) + step * R(_rational(rng)) for q in range(br.rows)]))
    sw, sb = R(sample.sigma_w), R(sample.sigma_b)
    out = []
    for x, masks in zip(sample.inputs, sample.masks, strict=True):
        h = [R(value) for value in x]
        for r, (Wr, br) in enumerate(layers, start=1):
            z = [sw * sum((Wr[p][q] * h[p] for p in range(len(h))), R(0)) + sb * br[q]
                 for q in range(len(br))]
            h = [value * mask for value, mask in zip(z, masks[r - 1], strict=True)] \
                if r < len(layers) else z
        out.append([{exps: R.domain.to_sympy(coeff) for exps, coeff in value.terms()}
                    for value in h])
    return out


def sample_jacobian(sample: Sample, i: int) -> dict:
    """∂f_c(x_i)/∂θ for every output c (from 1) and parameter entry θ, by differentiating the
    masked network as an exact polynomial in all its parameters (independent of any backward
    recursion): {(c, W or b, indices from 1): value}. The weights are W_r = √m_(r−1)·w, and the
    polynomial is taken in the rational w (∂f/∂W = ∂f/∂w / √m_(r−1))."""
    from sympy.polys.rings import ring

    names, point, keys = [], [], []
    for r, (Wr, br) in enumerate(zip(sample.weights, sample.biases, strict=True), start=1):
        for p in range(Wr.rows):
            for q in range(Wr.cols):
                names.append(f"w{r}_{p}_{q}")
                point.append(Wr[p, q] / sp.sqrt(Wr.rows))
                keys.append(((W, r, p + 1, q + 1), 1 / sp.sqrt(Wr.rows)))
        for q in range(br.rows):
            names.append(f"b{r}_{q}")
            point.append(br[q])
            keys.append(((b, r, q + 1), sp.Integer(1)))
    R, *gens = ring(names, sp.QQ)
    sw, sb, start = R(sample.sigma_w), R(sample.sigma_b), 0
    h = [R(value) for value in sample.inputs[i]]
    for r, (Wr, br) in enumerate(zip(sample.weights, sample.biases, strict=True), start=1):
        w = [gens[start + p * Wr.cols:start + (p + 1) * Wr.cols] for p in range(Wr.rows)]
        bias = gens[start + Wr.rows * Wr.cols:start + Wr.rows * Wr.cols + br.rows]
        start += Wr.rows * Wr.cols + br.rows
        z = [sw * sum((w[p][q] * h[p] for p in range(Wr.rows)), R(0)) + sb * bias[q]
             for q in range(Wr.cols)]
        h = [value * mask for value, mask in zip(z, sample.masks[i][r - 1], strict=True)] \
            if r < len(sample.weights) else z
    at = [R.domain.convert(value) for value in point]
    out = {}
    for c, poly in enumerate(h):
        gradient = [R.domain.zero] * len(gens)
        for exps, coeff in poly.terms():  # ∂(coeff·Π x^e)/∂x_q at the point, term by term
            for q in (q for q, power in enumerate(exps) if power):
                term = coeff * exps[q]
                for t, power in enumerate(exps):
                    term *= at[t] ** (power - (t == q))
                gradient[q] += term
        out.update({(c + 1, *key): R.domain.to_sympy(value) * factor
                    for value, (key, factor) in zip(gradient, keys, strict=True)})
    return out


_DERIVATIVE = sp.Function("derivative")  # ∂y/∂X_(i…) as derivative(y, X, i, …) while summing


def evaluate(expr, definitions, tables: dict, fixed: dict, cache: dict):
    """The exact value of ``expr`` on a sample: the symbols of ``fixed`` set, the entries of the
    bases in ``tables`` ({base: {indices: value}}) and the derivatives ∂y/∂X_(i…) (in
    ``tables[sp.Derivative]``, keys (y, X, i, …)) looked up, every other entry computed from its
    definition in ``definitions``; sums and Piecewise are evaluated by sympy once their limits and
    conditions are numbers."""
    expr = sp.sympify(expr).xreplace(fixed).replace(
        lambda node: isinstance(node, sp.Derivative),
        lambda node: _DERIVATIVE(node.expr, node.variables[0].base, *node.variables[0].indices))
    for _ in range(200):
        entries = {x for x in expr.atoms(sp.Indexed, _DERIVATIVE) if _concrete(x)}
        if not entries and not expr.atoms(sp.Sum, sp.Piecewise):
            return sp.expand(expr)
        expr = expr.xreplace({x: _lookup(x, definitions, tables, fixed, cache)
                              for x in entries})
        expr = expr.replace(  # sums with numbers as limits, written out term by term
            lambda node: isinstance(node, sp.Sum) and all(
                bound.is_Integer for _, lo, hi in node.limits for bound in (lo, hi)),
            _write_out)
    raise ProofError(f"evaluation of {render(expr)} does not terminate")


def _write_out(total):
    body = total.function
    for var, lo, hi in total.limits:  # innermost first
        body = sp.Add(*[body.xreplace({var: value}) for value in range(int(lo), int(hi) + 1)])
    return body


def _concrete(atom) -> bool:
    indices = atom.args[2:] if isinstance(atom, _DERIVATIVE) else atom.indices
    return all(sp.sympify(index).is_Integer for index in indices)


def _lookup(atom, definitions, tables, fixed, cache):
    if atom not in cache:
        if isinstance(atom, _DERIVATIVE):
            value = tables[sp.Derivative][(atom.args[0], atom.args[1], *map(int, atom.args[2:]))]
        elif atom.base in tables:
            value = tables[atom.base][tuple(map(int, atom.indices))]
        else:
            key = ("definition", atom.base)
            if key not in cache:
                cache[key] = definition(definitions, atom.base)
            rhs = cache[key].rhs.xreplace(dict(zip(cache[key].lhs.indices, atom.indices,
                                                   strict=True)))
            value = evaluate(rhs, definitions, tables, fixed, cache)
        cache[atom] = value
    return cache[atom]


# -- a float64 numpy MLP for the numeric falsifiers (independent of everything above) --------------
def numpy_mlp(rng, widths, n_inputs, margin=0.05):
    """Random N(0, 1) parameters (list of (W, b)), inputs X (n × d), σ_w, σ_b, drawn until every
    pre-activation is at least ``margin`` away from 0."""
    while True:
        params = [(rng.normal(size=(widths[r - 1], widths[r])), rng.normal(size=widths[r]))
                  for r in range(1, len(widths))]
        X = rng.normal(size=(n_inputs, widths[0]))
        sw, sb = rng.uniform(0.5, 2.0), rng.uniform(0.2, 1.5)
        zs, _ = numpy_mlp_forward(params, X, sw, sb)
        if min(np.min(np.abs(z)) for z in zs[:-1]) > margin:
            return params, X, sw, sb


def numpy_mlp_forward(params, X, sw, sb, masks=None, shift=None):
    """Pre-activations z_1..z_(L+1) and activations h_0..h_L (rows = inputs) of the ReLU MLP; with
    ``masks`` the ReLU is replaced by those fixed 0/1 patterns (the network on the activation
    region); ``shift`` = (layer r, array) adds the array to z_r (for ∂f/∂z_r)."""
    h, zs, hs = X, [], [X]
    for r, (Wr, br) in enumerate(params, start=1):
        z = sw / np.sqrt(Wr.shape[0]) * h @ Wr + sb * br
        if shift is not None and shift[0] == r:
            z = z + shift[1]
        zs.append(z)
        if r < len(params):
            h = z * (masks[r - 1] if masks is not None else (z > 0))
            hs.append(h)
    return zs, hs


def numpy_flat(params):
    """θ as one vector in ravel order: W_1 (row-major), b_1, W_2, b_2, …"""
    return np.concatenate([np.concatenate([Wr.ravel(), br]) for Wr, br in params])


def numpy_unflat(theta, widths):
    """The inverse of ``numpy_flat``."""
    params, start = [], 0
    for r in range(1, len(widths)):
        size = widths[r - 1] * widths[r]
        Wr = theta[start:start + size].reshape(widths[r - 1], widths[r])
        br = theta[start + size:start + size + widths[r]]
        params.append((Wr, br))
        start += size + widths[r]
    return params


def numpy_layer_slices(widths):
    """The slice of θ holding (W_r, b_r), r = 1..L+1."""
    out, start = [], 0
    for r in range(1, len(widths)):
        size = widths[r - 1] * widths[r] + widths[r]
        out.append(slice(start, start + size))
        start += size
    return out


def numpy_mlp_jacobian(params, X, sw, sb, masks):
    """J (n·k × p, row i·k + c) of the masked network by explicit backpropagation."""
    zs, hs = numpy_mlp_forward(params, X, sw, sb, masks)
    n, k = X.shape[0], params[-1][0].shape[1]
    rows = []
    for i in range(n):
        for c in range(k):
            grad = np.zeros(k)
            grad[c] = 1.0
            blocks = []
            for r in range(len(params), 0, -1):
                Wr = params[r - 1][0]
                scale = sw / np.sqrt(Wr.shape[0])
                blocks.append(np.concatenate([np.outer(scale * hs[r - 1][i], grad).ravel(),
                                              sb * grad]))
                if r > 1:
                    grad = masks[r - 2][i] * (scale * Wr @ grad)
            rows.append(np.concatenate(blocks[::-1]))
    return np.array(rows)


# -- the older fully symbolic masked MLP (T5b) -----------------------------------------------------
@dataclass(frozen=True)
class SymbolicNet:
    """Symbols and expressions of a masked MLP with sizes ``widths = (d, m_1, …, m_L, k)``."""

    widths: tuple[int, ...]
    masks: tuple[tuple[tuple[int, ...], ...], ...]  # masks[l-1][i] = D_l(x_i) diagonal
    X: sp.Matrix  # n × d input symbols
    sigma_w: sp.Symbol
    sigma_b: sp.Symbol
    weights: tuple[sp.Matrix, ...]  # W_l (m_{l-1} × m_l)
    biases: tuple[sp.Matrix, ...]  # b_l (m_l × 1)

    @property
    def n(self) -> int:
        return self.X.rows

    @property
    def k(self) -> int:
        return self.widths[-1]

    @property
    def depth(self) -> int:
        return len(self.widths) - 2

    def params(self) -> list[sp.Symbol]:
        """Flat parameter list in ravel_pytree order: W_1 (row-major), b_1, W_2, b_2, …"""
        flat: list[sp.Symbol] = []
        for Wr, br in zip(self.weights, self.biases, strict=True):
            flat.extend(list(Wr))  # sympy iterates row-major
            flat.extend(list(br))
        return flat

    def forward(self, i: int):
        """(preacts z_1..z_{L+1}, acts h_0..h_L) for input i, with φ(z_l) = D_l(x_i) z_l."""
        h = self.X[i, :].T
        acts, preacts = [h], []
        for r, (Wr, br) in enumerate(zip(self.weights, self.biases, strict=True), start=1):
            z = self.sigma_w / sp.sqrt(self.widths[r - 1]) * Wr.T * h + self.sigma_b * br
            preacts.append(z)
            if r <= self.depth:
                h = sp.diag(*self.masks[r - 1][i]) * z
                acts.append(h)
        return preacts, acts

    def outputs(self) -> sp.Matrix:
        """f(X) as an n × k matrix of polynomials."""
        return sp.Matrix.vstack(*[self.forward(i)[0][-1].T for i in range(self.n)])

    def jacobian(self) -> sp.Matrix:
        """J (nk × p), row index i·k + c, by direct symbolic differentiation."""
        f = self.outputs().reshape(self.n * self.k, 1)
        return f.jacobian(self.params())


def make_net(widths: tuple[int, ...], masks, prefix: str = "") -> SymbolicNet:
    """Symbolic masked MLP with the given sizes and activation masks (one per hidden layer)."""
    n = len(masks[0])
    X = sp.Matrix(n, widths[0], lambda i, q: sp.Symbol(f"{prefix}x{i}{q}", real=True))
    weights, biases = [], []
    for r in range(1, len(widths)):
        weights.append(sp.Matrix(widths[r - 1], widths[r],
                                 lambda p, q, r=r: sp.Symbol(f"{prefix}W{r}_{p}{q}", real=True)))
        biases.append(sp.Matrix(widths[r], 1,
                                lambda p, _, r=r: sp.Symbol(f"{prefix}b{r}_{p}", real=True)))
    masks = tuple(tuple(tuple(int(t) for t in row) for row in layer) for layer in masks)
    return SymbolicNet(tuple(widths), masks, X, sp.Symbol("sigma_w", positive=True),
                       sp.Symbol("sigma_b", positive=True), tuple(weights), tuple(biases))


def realizing_witness(net: SymbolicNet, seed: int = 0, tries: int = 20000):
    """A numeric point (X, params, σ_w, σ_b) whose ReLU pattern is exactly ``net.masks``.

    Returns the list of pre-activation sign patterns found, or None. Pure numpy (fast); it shows
    the activation region the symbolic checks live in is a nonempty open set.
    """
    rng = np.random.default_rng(seed)
    d, n = net.widths[0], net.n
    target = [np.array(layer, dtype=bool) for layer in net.masks]
    for _ in range(tries):
        X = rng.normal(size=(n, d))
        layers = range(1, len(net.widths))
        Ws = [rng.normal(size=(net.widths[r - 1], net.widths[r])) for r in layers]
        bs = [rng.normal(size=net.widths[r]) for r in range(1, len(net.widths))]
        h, ok = X, True
        for r in range(1, net.depth + 1):
            z = h @ Ws[r - 1] / np.sqrt(net.widths[r - 1]) + bs[r - 1]
            if not np.array_equal(z > 0, target[r - 1]) or np.any(z == 0):
                ok = False
                break
            h = np.maximum(z, 0.0)
        if ok:
            return X, Ws, bs
    return None
