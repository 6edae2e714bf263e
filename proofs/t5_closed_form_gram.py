r"""T5 — closed-form Jacobian Gram (NTK) of a ReLU MLP, layer by layer.

Statement (THEORY.md)
---------------------
A ReLU MLP of depth L ≥ 1 (NTK parameterization, THEORY.md's conventions, indices from 1), two
inputs x, x′ where no pre-activation is 0, outputs c (at x) and c′ (at x′). With the backward
vectors δ_(L+1,v) = [v = c], δ_(j,v) = D_(j,v) Σ_e (σ_w/√m_j) W_(j+1,v,e) δ_(j+1,e) (j ≤ L),
D_(j,v) = 1[z_(j,v) > 0], h_0 = x, m_0 = d, and the primed quantities the same at x′ with c′:

- [backward] ∂f_c/∂z_(l,u) = δ_(l,u) for 1 ≤ l ≤ L + 1, 1 ≤ u ≤ m_l;
- [weight_derivative] ∂f_c/∂W_(l,a,u) = (σ_w/√m_(l−1)) h_(l−1,a) δ_(l,u);
- [bias_derivative] ∂f_c/∂b_(l,u) = σ_b δ_(l,u);
- [gram] K[(x,c),(x′,c′)] = Σ_{l=1}^{L+1} ((σ_w²/m_(l−1)) Φ_(l−1) + σ_b²) Δ_l, with the feature
  Gram Φ_r = ⟨h_r(x), h_r(x′)⟩ and the backward Gram Δ_r = ⟨δ_(r,c)(x), δ_(r,c′)(x′)⟩, where
  K = JJᵀ is written over THEORY.md's parameter list (W_l, b_l), l = 1, …, L + 1.

THEORY.md states T5 without the hypothesis that no pre-activation is 0; at such a point f is not
differentiable (depth 1, d = m_1 = k = 1, z_1 = 0: f = σ_w W_2 φ(z_1)/1 + σ_b b_2 has a kink in
b_1), and the formula then describes backpropagation's convention φ′(0) = 0, not a Jacobian; the
hypothesis is stated here. Each layer's term is a sample-wise product of a feature Gram and a
backward Gram (the NTK face of the Kronecker factorization). The sum runs over every layer
1, …, L + 1: starting it at 2 (or at L − 1, which agrees at L = 2 only) drops the nonzero layer-1
term at depth 3, ending it at L drops the output layer (issue 33, class C).

Proof
-----
*Masks.* No pre-activation is 0, so every mask is constant near the point (T4's argument) and
h_j = D_j z_j there. *Layers.* The parameters occurring in f are exactly those of layers
1, …, L + 1 (induction over the layers), and W_l, b_l occur only in z_l, h_(l−1) being free of
them. *Backward.* f = z_(L+1,c), so ∂f/∂z_(L+1,u) = [u = c] = δ_(L+1,u); z_(t,u) occurs in f only
through z_(t+1,·), and ∂z_(t+1,v)/∂z_(t,u) = (σ_w/√m_t) W_(t+1,u,v) D_(t,u), so the chain rule
gives ∂f/∂z_(t,u) = D_(t,u) Σ_v (σ_w/√m_t) W_(t+1,u,v) δ_(t+1,v) = δ_(t,u) (downward induction).
*Derivatives.* ∂z_(l,v)/∂W_(l,a,u) = (σ_w/√m_(l−1)) h_(l−1,a) [v = u] and ∂z_(l,v)/∂b_(l,u) =
σ_b [v = u], so by the chain rule through z_l the two formulas follow. *Gram.* The entry of JJᵀ
sums the products of the two inputs' derivatives over every parameter; layer l contributes
Σ_a Σ_u (σ_w²/m_(l−1)) h_(l−1,a) h′_(l−1,a) δ_(l,u) δ′_(l,u) + Σ_u σ_b² δ_(l,u) δ′_(l,u)
= ((σ_w²/m_(l−1)) Φ_(l−1) + σ_b²) Δ_l by distributivity. ∎

What ``check()`` proves
-----------------------
From the statement's own definitions, at general depth L and symbolic layer and unit indices: the
masks are locally constant (solver: constant on z > 0 and on z < 0, the hypotheses exclude z = 0);
the parameter layers in h_r and in f (induction over r, step at a symbolic r, solver); the second
input's quantities are the first's renamed; the parameters in z's definition are of z's own layer
and h's definition holds none (so θ_l reaches f only through z_l). [backward]: induction downward
from L + 1, base and step computed from the definitions of f, z, h and δ (each Piecewise resolved by
the solver; the partial derivative by sympy after moving z_(t,u); the chain-rule sum compared with
the definition of δ_(t,u) as finite sums). [weight_derivative], [bias_derivative]: the parameter
named in the claim's conclusion is moved in the definition of z at its layer, sympy differentiates,
the chain rule through z_l uses [backward] (``Report.use_claim``: the solver decides the claim's
hypotheses imply backward's), and the result must equal the claim's right side. [gram]: the solver
decides that the layers of the claimed sum (read from its Sum: the limits) are exactly the layers of
K's parameter list, and that these are exactly the parameter layers occurring in f; inside K's
definition each derivative is replaced by the derivative claims (the solver decides, from the
summation ranges, that each use meets the claim's hypotheses); then K's summand at a symbolic layer
l and the claim's summand at l (Φ and Δ expanded by their definitions) must agree as sums
(linearity, distributivity, renaming of bound variables).
Sampled (exact rational arithmetic; not part of the general proof): depths 1, 2, 3, 4, the entries
((x_1, 1), (x_2, k)), ((x_1, k), (x_2, k)) and ((x_2, 1), (x_2, 1)): K's definition evaluated with
the Jacobian of the masked network (differentiated as a polynomial in all its parameters, no
backward recursion) equals the claimed sum evaluated with its own limits and the statement's
definitions of Φ, Δ, δ, h, z and D (each Piecewise evaluated at the sample's numbers).
Named lemmas (prose): the chain rule; a strict inequality between continuous functions persists
on a neighbourhood.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from proofs import _defs as defs
from proofs import _network as net
from proofs._render import render
from proofs._statement import Claim, ProofError, Report, Theorem, is_zero

# -- the statement -------------------------------------------------------------------------------
X, Xp = net.network_copy(), net.network_copy(prime=True)
L, j, v, a, e = net.L, net.j, net.v, net.a, net.e
l, u = defs.integer("l u")
m, W, b = net.m, net.W, net.b
sigma_w, sigma_b = defs.sigma_w, defs.sigma_b
K = sp.Symbol("K", real=True)  # the Gram entry K[(x, c), (x′, c′)]
Phi = sp.IndexedBase("Phi", real=True)  # Φ_r = ⟨h_r(x), h_r(x′)⟩
Delta = sp.IndexedBase("Delta", real=True)  # Δ_r = ⟨δ_r(x), δ′_r(x′)⟩

LAYER = (sp.Ge(l, 1), sp.Le(l, L + 1))
UNIT = (sp.Ge(u, 1), sp.Le(u, m[l]))
GRAM = sp.Sum((sigma_w**2 / m[l - 1] * Phi[l - 1] + sigma_b**2) * Delta[l], (l, 1, L + 1))

THEOREM = Theorem(
    id="T5",
    variables=(L, X.c, Xp.c, m, W, b, X.x, Xp.x, sigma_w, sigma_b),
    hypotheses=(sp.Ge(L, 1), net.no_kink(X), net.no_kink(Xp)),
    definitions=(
        *net.network_definitions(X, backward=True),
        *net.network_definitions(Xp, backward=True),
        defs.equation(Phi[j], defs.layer_inner_product(X.h, Xp.h, m, j, a)),
        defs.equation(Delta[j], defs.layer_inner_product(X.delta, Xp.delta, m, j, v)),
        defs.equation(K, defs.jacobian_gram_entry(X.f, Xp.f, W, b, m, L, l, a, v)),
    ),
    claims=(
        Claim("backward", sp.Eq(sp.Derivative(X.f, X.z[l, u]), X.delta[l, u]),
              hypotheses=(*LAYER, *UNIT), variables=(l, u)),
        Claim("weight_derivative", sp.Eq(sp.Derivative(X.f, W[l, a, u]),
                                         defs.weight_derivative(sigma_w, m, X.h, X.delta,
                                                                l, a, u)),
              hypotheses=(*LAYER, sp.Ge(a, 1), sp.Le(a, m[l - 1]), *UNIT), variables=(l, a, u)),
        Claim("bias_derivative", sp.Eq(sp.Derivative(X.f, b[l, u]),
                                       defs.bias_derivative(sigma_b, X.delta, l, u)),
              hypotheses=(*LAYER, *UNIT), variables=(l, u)),
        Claim("gram", sp.Eq(K, GRAM)),
    ),
    lemmas=("the chain rule",
            "a strict inequality between continuous functions persists on a neighbourhood"),
)
RENAMING = {getattr(X, name): getattr(Xp, name) for name in ("x", "z", "h", "D", "delta", "f", "c")}

# -- the proof -------------------------------------------------------------------------------------
P = sp.Symbol("P", real=True)  # a step along one coordinate
w_ = sp.Symbol("w", integer=True)  # w layers below the output: layer L + 1 − w
GRAD = sp.Function("grad")  # ∂f/∂z_(l,v) as a function of the unit v, while a sum is evaluated


def _structure(report: Report) -> None:
    """The second input's quantities are defined as the first's; every parameter in z's
    definition belongs to z's own layer and h's definition holds none (so θ_l enters the
    network only through z_l); the masks are locally constant."""
    thm = report.theorem
    for cp in (X, Xp):
        net.check_masks_locally_constant(report, cp)
    first = [d for d in thm.definitions if d.lhs.has(*(RENAMING.keys()))]
    report.holds("the second input's quantities are the first's, renamed",
                 {d.xreplace(RENAMING) for d in first} <= set(thm.definitions))
    z_rhs = net.instantiate(net.definition(thm.definitions, X.z), j, v)
    report.holds("the parameters in a pre-activation are of its own layer",
                 all(atom.indices[0] == j for atom in z_rhs.atoms(sp.Indexed)
                     if atom.base in net.PARAMETERS))
    h_rhs = net.instantiate(net.definition(thm.definitions, X.h), j, v)
    report.holds("an activation holds no parameter",
                 not any(atom.base in net.PARAMETERS for atom in h_rhs.atoms(sp.Indexed)))


def _backward(report: Report) -> None:
    """[backward]: downward induction from the output layer (w = L + 1 − t layers below it)."""
    thm = report.theorem
    defs_ = thm.definitions
    z_def, h_def = net.definition(defs_, X.z), net.definition(defs_, X.h)
    delta_def = net.definition(defs_, X.delta)
    facts0 = tuple(thm.hypotheses)
    top = net.definition(defs_, X.f).rhs

    def predicate(value):
        layer = L + 1 - value
        if value == 0:  # ∂f/∂z_(L+1,u) from f's definition, against δ's definition at L + 1
            return sp.Eq(sp.diff(top, X.z[layer, u]), net.resolve_piecewise(
                report, "backward base", net.instantiate(delta_def, layer, u), facts0))
        return sp.Eq(sp.Derivative(X.f, X.z[layer, u]), X.delta[layer, u])

    def prove_step(hypothesis, claim):
        layer = claim.lhs.variables[0].indices[0]  # t = L − w, one below the hypothesis' layer
        facts = facts0 + (w_ >= 0, layer >= 1, sp.Ge(u, 1), sp.Le(u, m[layer]))
        below = net.resolve_piecewise(report, "backward step", net.instantiate(h_def, layer, a),
                                      facts)
        upper = net.instantiate(z_def, layer + 1, v).xreplace({X.h[layer, a]: below})
        moved = net.perturb(report, "backward step", upper, ((P, X.z[layer, u], 1),), facts)
        partial = net.resolve_piecewise(report, "backward step",
                                        sp.diff(moved, P).doit(), facts)
        (units,) = defs.dense_bias_shape(m, layer + 1)
        chain = sp.Sum(hypothesis.lhs.xreplace({u: v}) * partial, (v, 1, units))
        chain = chain.xreplace({hypothesis.lhs.xreplace({u: v}): hypothesis.rhs.xreplace({u: v})})
        target = net.resolve_piecewise(report, "backward step",
                                       net.instantiate(delta_def, layer, u), facts)
        net.sums_identity(report, "backward step: the chain rule through the next layer",
                          chain, target)

    report.induction("backward vectors are the output's derivatives", predicate, w_, 0,
                     prove_step=prove_step)
    claim = thm.claim("backward")
    proved = {}
    for node in claim.conclusion.atoms(sp.Derivative):
        ((var, _),) = node.variable_count
        if node.expr != X.f or var.base != X.z:
            raise ProofError(f"{thm.id} backward: no proof covers {render(node)}")
        layer, unit = var.indices
        report.implies("backward: a unit of an existing layer", thm.hypotheses_of("backward"),
                       sp.And(layer >= 1, layer <= L + 1, unit >= 1, unit <= m[layer]))
        proved[node] = X.delta[layer, unit]
    report.identity("backward: the proved derivatives", claim.conclusion.lhs.xreplace(proved),
                    claim.conclusion.rhs.xreplace(proved))


def _parameter_derivative(report: Report, name: str) -> None:
    """[weight_derivative] or [bias_derivative]: the chain rule through z at the parameter's
    layer, with backward's conclusion as a fact."""
    thm = report.theorem
    claim = thm.claim(name)
    ((node, (var, _)),) = [(d, d.variable_count[0]) for d in claim.conclusion.atoms(sp.Derivative)]
    if node.expr != X.f or var.base not in net.PARAMETERS:
        raise ProofError(f"{thm.id} {name}: no proof covers {render(node)}")
    facts = thm.hypotheses_of(name)
    layer, unit = var.indices[0], var.indices[-1]
    z_here = net.instantiate(net.definition(thm.definitions, X.z), layer, v)
    moved = net.perturb(report, name, z_here, ((P, var, 1),), facts)
    partial = net.resolve_piecewise(report, name, sp.diff(moved, P).doit(), facts)
    (units,) = defs.dense_bias_shape(m, layer)
    # Σ_v ∂f/∂z_(layer,v) ∂z_(layer,v)/∂θ, with ∂f/∂z_(layer,v) held as grad(v) while summing
    chain = net.resolve_piecewise(report, name, sp.Sum(GRAD(v) * partial, (v, 1, units)).doit(),
                                  facts)
    fact = report.use_claim("backward", name, {l: layer, u: unit})
    derivative = chain.xreplace({GRAD(unit): fact.lhs}).xreplace({fact.lhs: fact.rhs})
    report.identity(f"{name}: the chain rule through the layer",
                    claim.conclusion.lhs.xreplace({node: derivative}), claim.conclusion.rhs)


def _use_in_sum(report: Report, source: str, rules: dict, facts) -> sp.Basic:
    """Claim ``source``'s conclusion at the indices ``rules`` inside a sum: the solver decides
    that ``facts`` (the theorem's hypotheses and the summation ranges) imply each of the source's
    hypotheses there."""
    thm = report.theorem
    for hypothesis in thm.hypotheses_of(source):
        report.implies(f"gram: conditions of {source}", facts, hypothesis.xreplace(rules))
    return thm.claim(source).conclusion.xreplace(rules)


def _gram(report: Report, occurring) -> None:
    thm = report.theorem
    claim = thm.claim("gram")
    facts0 = tuple(thm.hypotheses)
    K_def = net.definition(thm.definitions, K).rhs
    claimed = claim.conclusion.rhs
    closed, q = occurring
    if not (isinstance(K_def, sp.Sum) and isinstance(claimed, sp.Sum) and claim.conclusion.lhs
            == K and len(K_def.limits) == 1 and len(claimed.limits) == 1):
        raise ProofError(f"{thm.id} gram: a sum over the layers of the Gram entry is expected")
    ((layer_K, lo_K, hi_K),) = K_def.limits
    ((layer_c, lo_c, hi_c),) = claimed.limits

    def equivalent(step, first, second):
        report.implies(step, facts0, sp.And(sp.Implies(first, second), sp.Implies(second, first)))

    equivalent("gram: the parameter list holds exactly the layers of the output",
               sp.And(q >= lo_K, q <= hi_K), closed(L + 1))
    equivalent("gram: the claimed sum runs over exactly the layers of the parameter list",
               sp.And(q >= lo_c, q <= hi_c), sp.And(q >= lo_K, q <= hi_K))
    sources = {(X.f, W): "weight_derivative", (X.f, b): "bias_derivative",
               (Xp.f, W): "weight_derivative", (Xp.f, b): "bias_derivative"}
    summand = 0
    layer_range = (layer_K >= lo_K, layer_K <= hi_K)
    for limits, product in net.expand_sums(K_def.function):
        ranges = tuple(rel for var, lo, hi in limits for rel in (var >= lo, var <= hi))
        values = {}
        for node in product.atoms(sp.Derivative):
            ((var, _),) = node.variable_count
            source = sources.get((node.expr, var.base))
            if source is None:
                raise ProofError(f"{thm.id} gram: no proof covers {render(node)}")
            pattern = thm.claim(source).conclusion.lhs.variable_count[0][0]
            rules = dict(zip(pattern.indices, var.indices, strict=True))
            fact = _use_in_sum(report, source, rules, facts0 + layer_range + ranges)
            if node.expr == Xp.f:
                fact = fact.xreplace(RENAMING)
            values[node] = fact.rhs
        body = product.xreplace(values)
        for var, lo, hi in reversed(limits):
            body = sp.Sum(body, (var, lo, hi))
        summand += body
    expanded = claimed.function.xreplace({layer_c: layer_K})
    for base in (Phi, Delta):
        grams = net.definition(thm.definitions, base)
        expanded = expanded.xreplace({atom: net.instantiate(grams, *atom.indices)
                                      for atom in expanded.atoms(sp.Indexed)
                                      if atom.base == base})
    net.sums_identity(report, "gram: the layer term", summand, expanded)


# -- sampled networks (exact) ----------------------------------------------------------------------
SAMPLES = ((21, (2, 3, 2)), (22, (3, 2, 2, 2)), (23, (2, 3, 2, 2, 2)), (24, (2, 2, 3, 2, 2, 2)))


def _sampled(report: Report) -> None:
    thm = report.theorem
    claim = thm.claim("gram")
    for seed, widths in SAMPLES:
        depth = len(widths) - 2
        sample = net.sample_network(seed, widths, 2)
        tables = {
            W: {(r, p + 1, s + 1): Wr[p, s] for r, Wr in enumerate(sample.weights, start=1)
                for p in range(Wr.rows) for s in range(Wr.cols)},
            b: {(r, p + 1): br[p] for r, br in enumerate(sample.biases, start=1)
                for p in range(br.rows)},
            m: {(r,): width for r, width in enumerate(widths)},
        }
        jacobians = [net.sample_jacobian(sample, i) for i in range(2)]
        for (i, i2), c_out, c_out2 in _cases(widths):
            tables[X.x] = {(p + 1,): value for p, value in enumerate(sample.inputs[i])}
            tables[Xp.x] = {(p + 1,): value for p, value in enumerate(sample.inputs[i2])}
            tables[sp.Derivative] = {
                **{(X.f, key[1], *key[2:]): value for key, value in jacobians[i].items()
                   if key[0] == c_out},
                **{(Xp.f, key[1], *key[2:]): value for key, value in jacobians[i2].items()
                   if key[0] == c_out2}}
            fixed = {L: depth, X.c: c_out, Xp.c: c_out2, sigma_w: sample.sigma_w,
                     sigma_b: sample.sigma_b}
            cache: dict = {}
            gram = net.evaluate(net.definition(thm.definitions, K).rhs, thm.definitions, tables,
                                fixed, cache)
            lhs = net.evaluate(claim.conclusion.lhs.xreplace({K: gram}), thm.definitions, tables,
                               fixed, cache)
            rhs = net.evaluate(claim.conclusion.rhs, thm.definitions, tables, fixed, cache)
            if not is_zero(lhs - rhs):
                raise ProofError(f"{thm.id} gram: the closed form differs from the Gram entry at "
                                 f"depth {depth} (inputs {i + 1} and {i2 + 1}, outputs {c_out} and "
                                 f"{c_out2})")
        report.instance(f"depth {depth} network with widths {' '.join(map(str, widths))}: "
                        "three Gram entries against the closed form")


def _cases(widths):
    """(inputs, outputs): two inputs with two different outputs, two inputs with the last output
    twice, one input with the first output twice."""
    return (((0, 1), 1, widths[-1]), ((0, 1), widths[-1], widths[-1]), ((1, 1), 1, 1))


def check(theorem: Theorem = THEOREM) -> Report:
    """Prove T5 from ``theorem``'s own definitions, hypotheses and conclusions (raises
    ``ProofError`` on a failed step)."""
    report = Report(theorem)
    _structure(report)
    occurring = net.parameter_layers(report, X)
    _backward(report)
    _parameter_derivative(report, "weight_derivative")
    _parameter_derivative(report, "bias_derivative")
    _gram(report, occurring)
    _sampled(report)
    return report


# -- the numeric falsifier -------------------------------------------------------------------------
FALSIFIER_TRIALS = 16


def draw(rng, trial: int) -> dict:
    """A random float64 ReLU MLP of depth 1–4 (numpy, N(0, 1) parameters, several widths), two
    inputs, two outputs: K by the central-difference Jacobian (exact up to round-off: the network
    is affine along each coordinate near the point), Φ_(l−1) from the forward pass, Δ_l from
    δ_l = ∂f/∂z_l by central differences in z_l."""
    depth = 1 + trial % 4
    widths = (int(rng.integers(2, 5)), *rng.integers(2, 5, size=depth), int(rng.integers(2, 4)))
    params, inputs, sw, sb = net.numpy_mlp(rng, widths, 2)
    c_out, c_out2 = (int(rng.integers(0, widths[-1])) for _ in range(2))
    theta, step = net.numpy_flat(params), 1e-3

    def outputs(point=None, shift=None):
        layers = params if point is None else net.numpy_unflat(point, widths)
        return net.numpy_mlp_forward(layers, inputs, sw, sb, shift=shift)[0][-1]

    jac = np.zeros((2, widths[-1], theta.size))
    for s in range(theta.size):
        move = np.zeros(theta.size)
        move[s] = step
        jac[:, :, s] = (outputs(theta + move) - outputs(theta - move)) / (2 * step)
    zs, hs = net.numpy_mlp_forward(params, inputs, sw, sb)
    features = np.array([hs[r][0] @ hs[r][1] for r in range(depth + 1)])
    backward = []
    for r in range(1, depth + 2):
        deltas = np.zeros((2, widths[r]))
        for s in range(widths[r]):
            move = np.zeros((2, widths[r]))
            move[:, s] = step
            diff = (outputs(shift=(r, move)) - outputs(shift=(r, -move))) / (2 * step)
            deltas[:, s] = diff[:, (c_out, c_out2)].diagonal()
        backward.append(deltas[0] @ deltas[1])
    return {"gram": {
        L: depth, sigma_w: sw, sigma_b: sb, K: jac[0, c_out] @ jac[1, c_out2],
        Phi[l - 1]: features, Delta[l]: np.array(backward), m[l - 1]: np.array(widths[:-1]),
        X.z[j, v]: np.concatenate([z[0] for z in zs[:-1]]),
        Xp.z[j, v]: np.concatenate([z[1] for z in zs[:-1]]),
    }}


# -- false statements ------------------------------------------------------------------------------
def false_variants() -> dict[str, Theorem]:
    """False statements the check must reject (one field of ``THEOREM`` changed each)."""

    def gram(expr):
        return THEOREM.with_claim("gram", conclusion=sp.Eq(K, expr))

    def redefine(target, rhs):  # at both inputs when the target is a network quantity
        changed = {target.xreplace(RENAMING): rhs.xreplace(RENAMING), target: rhs}
        return THEOREM.replace(definitions=tuple(
            defs.equation(d.lhs, changed[d.lhs]) if d.lhs in changed else d
            for d in THEOREM.definitions))

    term = GRAM.function
    (recursion, _), (top, _) = defs.backward_vector(X.D, W, X.delta, m, sigma_w, L, j, v, X.c,
                                                    e).args
    without_mask = defs.backward_vector(X.D, W, X.delta, m, sigma_w, L, j, v, X.c, e).xreplace(
        {X.D[j, v]: 1})
    return {
        # the old MUTANTS, as statements
        "missing_bias_term": gram(sp.Sum(term.xreplace({sigma_b: 0}), (l, 1, L + 1))),
        "scale_uses_m_l": gram(sp.Sum(term.xreplace({m[l - 1]: m[l]}), (l, 1, L + 1))),
        "delta_without_mask": redefine(X.delta[j, v], without_mask),
        "frobenius_mixed_indices": redefine(Phi[j], defs.layer_inner_product(
            X.h, X.h, m, j, a)),
        # issue 33, class C: the layer sum's limits
        "sum_starts_at_two": gram(sp.Sum(term, (l, 2, L + 1))),
        "sum_ends_at_depth": gram(sp.Sum(term, (l, 1, L))),
        "sum_starts_at_depth_minus_one": gram(sp.Sum(term, (l, L - 1, L + 1))),
        "sum_ends_past_the_output": gram(sp.Sum(term, (l, 1, L + 2))),
        # wrong constants, signs and indices
        "scale_not_squared": gram(sp.Sum(term.xreplace({sigma_w**2: sigma_w}), (l, 1, L + 1))),
        "bias_term_subtracted": gram(sp.Sum(term.xreplace({sigma_b**2: -sigma_b**2}),
                                            (l, 1, L + 1))),
        "features_of_the_same_layer": gram(sp.Sum(term.xreplace({Phi[l - 1]: Phi[l]}),
                                                  (l, 1, L + 1))),
        "weight_scale_uses_m_l": THEOREM.with_claim("weight_derivative", conclusion=sp.Eq(
            sp.Derivative(X.f, W[l, a, u]), sigma_w / sp.sqrt(m[l]) * X.h[l - 1, a]
            * X.delta[l, u])),
        "bias_derivative_without_sigma": THEOREM.with_claim("bias_derivative", conclusion=sp.Eq(
            sp.Derivative(X.f, b[l, u]), X.delta[l, u])),
        "backward_top_doubled": redefine(X.delta[j, v], defs.backward_vector(
            X.D, W, X.delta, m, sigma_w, L, j, v, X.c, e).xreplace(
            {sp.KroneckerDelta(v, X.c): 2 * sp.KroneckerDelta(v, X.c)})),
        "backward_scale_uses_m_next": redefine(X.delta[j, v], defs.backward_vector(
            X.D, W, X.delta, m, sigma_w, L, j, v, X.c, e).xreplace({m[j]: m[j + 1]})),
        "backward_beyond_the_output": THEOREM.with_claim("backward", hypotheses=(
            sp.Ge(l, 1), sp.Le(l, L + 2), *UNIT)),
        "kink_allowed": THEOREM.replace(hypotheses=THEOREM.hypotheses[:1]),
        "gram_is_zero": gram(sp.Integer(0)),
        "backward_in_the_activations": THEOREM.with_claim("backward", conclusion=sp.Eq(
            sp.Derivative(X.f, X.h[l, u]), X.delta[l, u])),
        "derivative_in_the_input": THEOREM.with_claim("weight_derivative", conclusion=sp.Eq(
            sp.Derivative(X.f, X.x[a]), defs.weight_derivative(sigma_w, m, X.h, X.delta,
                                                              l, a, u))),
        "second_input_delta_without_mask": THEOREM.replace(definitions=tuple(
            defs.equation(d.lhs, without_mask.xreplace(RENAMING)) if d.lhs == Xp.delta[j, v]
            else d for d in THEOREM.definitions)),
        "preactivation_uses_the_previous_weights": redefine(X.z[j, v], net.instantiate(
            net.definition(THEOREM.definitions, X.z), j, v).xreplace(
            {W[j, a, v]: W[j - 1, a, v]})),
        "activation_adds_a_bias": redefine(X.h[j, v], sp.Piecewise(
            (X.x[v], sp.Eq(j, 0)), (X.D[j, v] * X.z[j, v] + b[j, v], True))),
        "parameter_list_from_two": redefine(K, defs.jacobian_gram_entry(
            X.f, Xp.f, W, b, m, L, l, a, v).xreplace({(l, 1, L + 1): (l, 2, L + 1)})),
        "backward_recursion_stops_early": redefine(X.delta[j, v], sp.Piecewise(
            (recursion, sp.Lt(j, L)), (top, True))),
    }
