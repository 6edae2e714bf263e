r"""T4 — the layer-diagonal blocks of a ReLU net's Hessian are exactly the GGN's.

Statement (THEORY.md)
---------------------
A ReLU MLP of depth L ≥ 1 (THEORY.md's conventions: z_(j,v) = (σ_w/√m_{j−1}) Σ_a W_(j,a,v)
h_(j−1,a) + σ_b b_(j,v), h_j = D_j z_j with D_(j,v) = 1[z_(j,v) > 0], h_0 = x, f_c = z_(L+1,c)),
at an input where no pre-activation is 0. For all layers 1 ≤ l, l′ ≤ L + 1, with
θ_l = (W_l, b_l):

- [f_blocks] ``[∇²f_c]_(θ_l,θ_l′) = 0`` whenever l = l′ (every output c);
- [loss_blocks] ``[∇²L]_(θ_l,θ_l′) = [Ĝ]_(θ_l,θ_l′)`` whenever l = l′, for the loss
  L = (1/n) Σ_i ℓ_i(f(x_i)) with any smooth per-sample loss ℓ_i and Ĝ = (1/n) JᵀHJ,
  H = blockdiag(∇²_f ℓ_i).

So the residual R of T3 lives only in the cross-layer blocks. The statement is local: the masks
are constant on the open activation region around the point, not globally. It claims nothing for
l ≠ l′, and indeed those blocks are not 0 in general: at depth 3 the (θ_1, θ_4) block of ∇²f is
nonzero, so a claim "the block (l, l + 3) vanishes" is false (issue 33, class C: that claim
passed when the old check ran at depth 2 only, where l + 3 is never a layer).

Proof
-----
*Masks.* No pre-activation is 0 and z is continuous in θ, so every z_(j,v) keeps its sign on a
neighbourhood U of θ; D_(j,v) is 1 on z > 0 and 0 on z < 0, so every mask is constant on U, and
on U the network is a polynomial in θ with h_j = D_j z_j.
*Which layers occur.* By induction over r: h_0 = x contains no parameter; h_(r+1) = D_(r+1)
z_(r+1) and z_(r+1) contains W_(r+1), b_(r+1) and h_r; so the parameter layers in h_r are exactly
1, …, r, and h_(l−1) does not contain θ_l.
*Affinity.* Fix a layer s (1 ≤ s ≤ L + 1) and two directions P, Q inside θ_s (each moving one
weight entry and one bias entry of layer s, with free coefficients). Claim P(r): ∂²z_(r,v)/∂P∂Q = 0
for s ≤ r ≤ L + 1. Base r = s: z_(s,v) is affine in (W_s, b_s) with h_(s−1) free of θ_s. Step
r → r + 1: z_(r+1,v) = (σ_w/√m_r) Σ_a W_(r+1,a,v) D_(r,a) z_(r,a) + σ_b b_(r+1,v); the layer
r + 1 ≠ s (r ≥ s), so W_(r+1) and b_(r+1) do not move with P, Q; D is constant; so
∂²z_(r+1,v)/∂P∂Q = (σ_w/√m_r) Σ_a W_(r+1,a,v) D_(r,a) ∂²z_(r,a)/∂P∂Q = 0. At r = L + 1,
f_c = z_(L+1,c) is affine in θ_s: [∇²f_c]_(θ_s,θ_s) = 0.
*Loss.* For L = (1/n)Σ_i ℓ_i(f(x_i)) the chain rule gives, for P ∈ θ_l, Q ∈ θ_l′,
∂²L/∂P∂Q = (1/n)Σ_i [Σ_(c,d) ∂_P f_c ∂²ℓ_i/∂f_c∂f_d ∂_Q f_d + Σ_c ∂ℓ_i/∂f_c ∂²f_c/∂P∂Q]; the
first sum is Ĝ's entry, the second is R's (T3), and vanishes when l = l′ by [f_blocks]. ∎

What ``check()`` proves
-----------------------
At general depth L and a symbolic layer s, from the statement's own definitions: the masks
(their definition is constant on each open half-line z > 0, z < 0 and the hypotheses exclude
z = 0: solver); the layers occurring in h_r and in f (induction on r with the step at a symbolic
r, each Piecewise resolved by the solver, the equivalence of the layer sets decided by the
solver); the affinity (induction on r from s to L + 1: the statement's definitions of z and h are
instantiated at r + 1, θ moved along P and Q, sympy differentiates twice, whether a parameter of
the expression is in layer s is decided by the solver from r ≥ s, and the induction hypothesis
∂²z_r/∂P∂Q = 0 is substituted), and the output as the statement defines it (its entries of layers
the induction covers, sympy's second derivative with the induction's result substituted must
vanish). Then for every block of ∇²f in [f_blocks]'s conclusion the solver
decides that the claim's hypotheses make it a diagonal block of an existing layer; the block is
replaced by the proved 0 and the conclusion must be an identity. [loss_blocks]: ∂²L/∂P∂Q by
sympy's chain rule for k outputs and n samples (``_defs.ell``, symbolic k, n), Ĝ's entry expanded
from the claim's own definition of Ĝ; [f_blocks] is used through ``Report.use_claim`` (the solver
decides that loss_blocks' hypotheses imply f_blocks' at the same block, and that the two sides
of the conclusion are the same block), its 0 substituted for every ∂²f_c/∂P∂Q, and the two sides
must agree as sums (normal form of finite sums).
Sampled (exact rational arithmetic; not part of the general proof): networks of depths 1, 2, 3, 4
(every hidden layer with an active unit), expanded along one random rational direction per
layer: every block a claim covers satisfies the claim's conclusion (∇²f, and the mse loss
Hessian against Ĝ), and every block a claim does not cover is not 0 (so the (θ_1, θ_4) block at
depth 3 is nonzero, and a claim covering it is rejected, while samples of depths 1 and 2 alone
would pass it).
Named lemmas (prose): a strict inequality between continuous functions persists on a
neighbourhood; the derivatives of a function at a point depend only on its values near the
point; the multivariate chain rule (``_defs.ell``).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from proofs import _defs as defs
from proofs import _network as net
from proofs._render import render
from proofs._statement import Claim, ProofError, Report, Theorem, is_zero

# -- the statement -------------------------------------------------------------------------------
X = net.network_copy()
L, j, v, a, c = net.L, net.j, net.v, net.a, X.c
l, l_prime = defs.integer("l l_prime")
n, N, p, k = defs.n, defs.N, defs.p, defs.k
hessian_f = sp.IndexedBase("hessian_f", real=True)  # [∇²f_c]_(θ_l,θ_l′)
hessian_L = sp.IndexedBase("hessian_L", real=True)  # [∇²L]_(θ_l,θ_l′)
G_hat_blocks = sp.IndexedBase("G_hat_blocks", real=True)  # [Ĝ]_(θ_l,θ_l′)
J, H, G_hat = sp.MatrixSymbol("J", N, p), sp.MatrixSymbol("H", N, N), sp.MatrixSymbol("G_hat", p, p)

LAYER_RANGE = (sp.Ge(l, 1), sp.Le(l, L + 1), sp.Ge(l_prime, 1), sp.Le(l_prime, L + 1))
DIAGONAL = (sp.Eq(l, l_prime),)

THEOREM = Theorem(
    id="T4",
    variables=(L, l, l_prime, c, n, net.m, net.W, net.b, X.x, defs.sigma_w, defs.sigma_b, J, H),
    hypotheses=(sp.Ge(L, 1), *LAYER_RANGE, net.no_kink(X)),
    definitions=net.network_definitions(X),
    claims=(
        Claim("f_blocks", sp.Eq(hessian_f[c, l, l_prime], 0), hypotheses=DIAGONAL),
        Claim("loss_blocks", sp.Eq(hessian_L[l, l_prime], G_hat_blocks[l, l_prime]),
              hypotheses=DIAGONAL, definitions=(defs.equation(G_hat, defs.ggn(J, H, n)),)),
    ),
    lemmas=("a strict inequality between continuous functions persists on a neighbourhood",
            "derivatives at a point depend only on values near the point",
            "multivariate chain rule"),
)

# -- the proof -------------------------------------------------------------------------------------
P, Q = sp.symbols("P Q", real=True)  # steps along two directions inside the layer s
Z = sp.Function("Z")  # Z(r, v, P, Q): z_(r,v) as a function of the two steps
s, r = sp.symbols("s r", integer=True)
a1, a2, u1, u2, u3, u4 = sp.symbols("a1 a2 u1 u2 u3 u4", integer=True)
weights = sp.symbols("alpha beta gamma kappa", real=True)


def _moves(layer):
    """P moves one weight and one bias entry of ``layer`` (coefficients α, β), Q two others."""
    return ((P, net.W[layer, a1, u1], weights[0]), (P, net.b[layer, u3], weights[1]),
            (Q, net.W[layer, a2, u2], weights[2]), (Q, net.b[layer, u4], weights[3]))


def _affine_in_own_layer(report: Report, occurring) -> sp.Basic:
    """Induction on r from s to L + 1: ∂²z_(r,v)/∂P∂Q = 0 for P, Q inside θ_s. Returns the
    proved range condition on s."""
    thm = report.theorem
    z_def = net.definition(thm.definitions, X.z)
    h_def = net.definition(thm.definitions, X.h)
    proved_range = sp.And(s >= 1, s <= L + 1)  # assumed below and returned: one object
    layer_facts = tuple(thm.hypotheses) + proved_range.args
    q = occurring[1]
    report.implies("the activations below layer s hold no parameter of layer s",
                   layer_facts, sp.Not(occurring[0](s - 1).xreplace({q: s})))

    def second_derivative(expr, facts):
        moved = net.perturb(report, "affinity", expr, _moves(s), facts)
        return sp.diff(moved, P, Q)

    def predicate(value):
        if value == s:  # the base, computed from the definition of z at layer s
            return sp.Eq(second_derivative(net.instantiate(z_def, s, v), layer_facts), 0)
        return sp.Eq(sp.Derivative(Z(value, v, P, Q), P, Q), 0)

    def prove_step(hypothesis, claim):
        facts = layer_facts + (r >= s, r + 1 <= L + 1)
        below = net.resolve_piecewise(report, "affinity step", net.instantiate(h_def, r, a),
                                      facts)
        below = below.xreplace({atom: Z(r, atom.indices[1], P, Q)
                                for atom in below.atoms(sp.Indexed) if atom.base == X.z})
        expr = net.instantiate(z_def, r + 1, v).xreplace({X.h[r, a]: below})
        pattern = hypothesis.lhs
        derivative = second_derivative(expr, facts).replace(
            lambda node: isinstance(node, sp.Derivative)
            and node == pattern.xreplace({v: node.expr.args[1]}),
            lambda node: hypothesis.rhs)
        report.identity("affinity step", derivative.doit(), claim.rhs)

    report.induction("affine in its own layer", predicate, r, s, prove_step=prove_step)
    # the output from its definition: each entry in it is of a layer the induction covers
    # (a pre-activation there, or an activation, a parameter, a mask, an input: affine in θ_s)
    out = net.definition(thm.definitions, X.f).rhs
    for atom in out.atoms(sp.Indexed):
        report.implies("the output's entries are of layers the induction covers", layer_facts,
                       sp.And(atom.indices[0] >= s, atom.indices[0] <= L + 1))
    derivative = sp.diff(out.xreplace({atom: Z(*atom.indices, P, Q)
                                       for atom in out.atoms(sp.Indexed)}), P, Q)
    derivative = derivative.replace(
        lambda node: isinstance(node, sp.Derivative) and node.expr.func == Z
        and sorted(node.variables, key=str) == [P, Q], lambda node: 0)
    report.identity("the output is affine in its own layer", derivative, 0)
    return proved_range


def _diagonal_blocks(report: Report, name: str, conclusion, proved_range, bases):
    """The solver decides that the claim's hypotheses make every block of ``bases`` in the
    conclusion a diagonal block (l, l) of an existing layer; returns {block: (l, l′)}."""
    thm = report.theorem
    blocks = {}
    for atom in sorted(conclusion.atoms(sp.Indexed), key=sp.default_sort_key):  # stable order
        if atom.base not in bases:
            raise ProofError(f"{thm.id} {name}: no proof covers {render(atom)}")
        first, second = atom.indices[-2:]
        report.implies(f"{name}: a diagonal block of an existing layer",
                       thm.hypotheses_of(name),
                       sp.And(sp.Eq(first, second), proved_range.xreplace({s: first})))
        blocks[atom] = (first, second)
    return blocks


def _check_f_blocks(report: Report, proved_range) -> None:
    thm = report.theorem
    conclusion = thm.claim("f_blocks").conclusion
    blocks = _diagonal_blocks(report, "f_blocks", conclusion, proved_range, (hessian_f,))
    zeros = {atom: 0 for atom in blocks}
    report.identity("f_blocks: the proved zero blocks", conclusion.lhs.xreplace(zeros),
                    conclusion.rhs.xreplace(zeros))


def _check_loss_blocks(report: Report, proved_range) -> None:
    """∂²L/∂P∂Q (chain rule, symbolic k and n) against Ĝ's entry (the claim's definition)."""
    thm = report.theorem
    claim = thm.claim("loss_blocks")
    blocks = _diagonal_blocks(report, "loss_blocks", claim.conclusion, proved_range,
                              (hessian_L, G_hat_blocks))
    (first, second), *others = blocks.values()
    for other in others:
        report.implies("loss_blocks: the two sides are the same block", thm.hypotheses_of(
            "loss_blocks"), sp.And(sp.Eq(other[0], first), sp.Eq(other[1], second)))
    i = sp.Symbol("i", integer=True)
    F = sp.Function("F")
    outputs = F(i, P, Q)  # the k outputs at sample i, P in layer first, Q in layer second
    loss = sp.diff(defs.empirical_loss(defs.ell(i, outputs), i, n), P, Q)
    G_def = net.definition(claim.definitions, G_hat)
    Ji, Hi = sp.MatrixSymbol("J_i", k, 2), sp.MatrixSymbol("H_i", k, k)
    entry = G_def.rhs.xreplace({J: Ji, H: Hi})[0, 1]

    def element(node):
        if node.parent == Hi:
            return defs.loss_hessian(i, node.i, node.j, outputs)
        return sp.diff(defs.output_component(outputs, node.i), (P, Q)[int(node.j)])

    from sympy.matrices.expressions.matexpr import MatrixElement

    ggn_entry = sp.Sum(entry.replace(lambda node: isinstance(node, MatrixElement), element),
                       (i, 0, n - 1))
    fact = report.use_claim("f_blocks", "loss_blocks", {l: first, l_prime: second})
    if not (isinstance(fact.lhs, sp.Indexed) and fact.lhs.base == hessian_f
            and fact.lhs.indices[0] == c):
        raise ProofError(f"{thm.id} loss_blocks: f_blocks does not give the blocks of every "
                         "output")
    vanishing = {
        node: fact.rhs.xreplace({c: node.expr.args[1]})
        for node in (loss - ggn_entry).atoms(sp.Derivative)
        if node.expr.func == F and sorted(node.variables, key=str) == [P, Q]}
    values = {atom: (loss if atom.base == hessian_L else ggn_entry) for atom in blocks}
    lhs, rhs = (side.xreplace(values).xreplace(vanishing)
                for side in (claim.conclusion.lhs, claim.conclusion.rhs))
    net.sums_identity(report, "loss_blocks: the GGN block plus a vanishing residual", lhs, rhs)


# -- sampled networks (exact) ----------------------------------------------------------------------
SAMPLES = ((11, (2, 3, 2)), (12, (3, 2, 2, 2)), (13, (2, 3, 2, 2, 2)), (14, (2, 2, 3, 2, 2, 2)))


def _derivatives(terms):
    """(value, {r: ∂/∂s_r}, {(r, t): ∂²/∂s_r∂s_t}) at 0 of a polynomial in the steps s_1, s_2, …
    given as {exponents: coefficient}."""
    first, second, value = {}, {}, sp.Integer(0)
    for exps, coeff in terms.items():
        if sum(exps) == 0:
            value = coeff
        elif sum(exps) == 1:
            first[exps.index(1) + 1] = coeff
        elif sum(exps) == 2:
            used = [t + 1 for t, power in enumerate(exps) for _ in range(power)]
            second[tuple(used)] = coeff * (2 if used[0] == used[1] else 1)
    return value, first, second


def _pair(first, second):
    return tuple(sorted((first, second)))


def _sampled(report: Report) -> None:
    """Depths 1–4: every block a claim covers satisfies its conclusion exactly, every block it
    does not cover is not 0 (sharpness), on a random rational network expanded along one random
    direction per layer (mse loss with random targets for the loss blocks)."""
    thm = report.theorem
    for seed, widths in SAMPLES:
        depth, rng = len(widths) - 2, np.random.default_rng(seed)
        sample = net.sample_network(seed, widths, 2)
        steps = sp.symbols(f"s1:{depth + 2}", real=True)
        expansions = [_derivatives(out[q]) for out in net.taylor_outputs(sample, seed, steps)
                      for q in range(widths[-1])]
        residuals = [value - net._rational(rng) for value, _, _ in expansions]
        count = len(sample.inputs)
        for first in range(1, depth + 2):
            for second in range(1, depth + 2):
                at = {L: depth, l: first, l_prime: second}
                cases = {
                    "f_blocks": [(q % widths[-1] + 1,
                                  {hessian_f[q % widths[-1] + 1, first, second]:
                                   curvature.get(_pair(first, second), 0)})
                                 for q, (_, _, curvature) in enumerate(expansions)],
                    "loss_blocks": [(1, {
                        # ∂²/∂s∂s of (1/2n) Σ (f − y)², and (1/n) Σ ∂f/∂s ∂f/∂s
                        hessian_L[first, second]: sum(
                            slope.get(first, 0) * slope.get(second, 0)
                            + residual * curvature.get(_pair(first, second), 0)
                            for (_, slope, curvature), residual in zip(expansions, residuals,
                                                                        strict=True)) / count,
                        G_hat_blocks[first, second]: sum(
                            slope.get(first, 0) * slope.get(second, 0)
                            for _, slope, _ in expansions) / count})],
                }
                for name, values_list in cases.items():
                    _sample_blocks(thm, name, at, values_list, depth, (first, second))
        report.instance(f"depth {depth} network with widths {' '.join(map(str, widths))}: "
                        "the claimed blocks hold, the others are not zero")


def _sample_blocks(thm, name, at, values_list, depth, layers) -> None:
    """The claim at one block of a sample: where its index hypotheses hold, its conclusion holds
    exactly for every output; where they do not, the conclusion fails for some output."""
    conclusion = thm.claim(name).conclusion
    hypotheses = sp.And(*[hyp for hyp in thm.hypotheses_of(name)
                          if hyp.free_symbols <= {L, l, l_prime, c}])
    covered, results = False, []
    for output, values in values_list:
        point = {**at, c: output}
        covered = hypotheses.xreplace(point) == sp.true
        relation = conclusion.xreplace(point).xreplace(values)
        results.append(is_zero(relation.lhs - relation.rhs)
                       if isinstance(relation, sp.Equality) else relation == sp.true)
    if covered and not all(results):
        raise ProofError(f"{thm.id} {name}: a claimed block fails at depth {depth}, layers "
                         f"{layers[0]} and {layers[1]}")
    if not covered and all(results):
        raise ProofError(f"{thm.id} {name}: the block of layers {layers[0]} and {layers[1]} "
                         f"vanishes at depth {depth} but is not claimed")


def check(theorem: Theorem = THEOREM) -> Report:
    """Prove T4 from ``theorem``'s own definitions, hypotheses and conclusions (raises
    ``ProofError`` on a failed step)."""
    report = Report(theorem)
    net.check_masks_locally_constant(report, X)
    occurring = net.parameter_layers(report, X)
    proved_range = _affine_in_own_layer(report, occurring)
    _check_f_blocks(report, proved_range)
    _check_loss_blocks(report, proved_range)
    _sampled(report)
    return report


# -- the numeric falsifier -------------------------------------------------------------------------
FALSIFIER_TRIALS = 12


def draw(rng, trial: int) -> dict:
    """A random float64 ReLU MLP of depth 1–4 (numpy, N(0, 1) parameters, several widths): the
    Hessian blocks of f_c(x) and of the mse or cross-entropy loss by central differences of the
    explicit backpropagation gradient (exact up to round-off along a coordinate where the network
    is affine, O(h²) otherwise), Ĝ = JᵀHJ/n; one block pair (l, l′), diagonal half the time."""
    depth = 1 + trial % 4
    widths = (int(rng.integers(2, 4)), *rng.integers(2, 4, size=depth), int(rng.integers(2, 4)))
    count, k_out = 3, widths[-1]
    params, inputs, sw, sb = net.numpy_mlp(rng, widths, count)
    theta = net.numpy_flat(params)
    cross_entropy = trial % 2 == 1
    labels = rng.integers(0, k_out, size=count)
    targets = rng.normal(size=(count, k_out))

    def outputs_and_jacobian(point):
        layers = net.numpy_unflat(point, widths)
        zs, _ = net.numpy_mlp_forward(layers, inputs, sw, sb)
        masks = [z > 0 for z in zs[:-1]]
        return zs[-1], net.numpy_mlp_jacobian(layers, inputs, sw, sb, masks)

    def loss_gradient(out, jac):
        if cross_entropy:
            probs = np.exp(out - out.max(axis=1, keepdims=True))
            probs /= probs.sum(axis=1, keepdims=True)
            residual = probs - np.eye(k_out)[labels]
        else:
            residual = out - targets
        return jac.T @ residual.ravel() / count

    out0, jac0 = outputs_and_jacobian(theta)
    size, step = theta.size, 1e-5
    hess_f = np.zeros((jac0.shape[0], size, size))
    hess_loss = np.zeros((size, size))
    for q in range(size):
        shift = np.zeros(size)
        shift[q] = step
        out_p, jac_p = outputs_and_jacobian(theta + shift)
        out_m, jac_m = outputs_and_jacobian(theta - shift)
        hess_f[:, :, q] = (jac_p - jac_m) / (2 * step)
        hess_loss[:, q] = (loss_gradient(out_p, jac_p) - loss_gradient(out_m, jac_m)) / (2 * step)
    if cross_entropy:
        probs = np.exp(out0 - out0.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        blocks = [np.diag(pr) - np.outer(pr, pr) for pr in probs]
    else:
        blocks = [np.eye(k_out)] * count
    out_hessian = np.zeros((count * k_out, count * k_out))
    for i_, block in enumerate(blocks):
        out_hessian[i_ * k_out:(i_ + 1) * k_out, i_ * k_out:(i_ + 1) * k_out] = block
    ggn = jac0.T @ out_hessian @ jac0 / count
    slices = net.numpy_layer_slices(widths)
    first = int(rng.integers(1, depth + 2))
    second = first if rng.random() < 0.5 else int(rng.integers(1, depth + 2))
    output = int(rng.integers(1, k_out + 1))
    rows, cols = slices[first - 1], slices[second - 1]
    zs, _ = net.numpy_mlp_forward(params, inputs, sw, sb)
    common = {L: depth, l: first, l_prime: second, c: output, n: count,
              X.z[j, v]: np.concatenate([z.ravel() for z in zs[:-1]])}
    return {
        "f_blocks": {**common, hessian_f[c, l, l_prime]: hess_f[output - 1][rows, cols]},
        "loss_blocks": {**common, hessian_L[l, l_prime]: hess_loss[rows, cols],
                        G_hat_blocks[l, l_prime]: ggn[rows, cols]},
    }


# -- false statements ------------------------------------------------------------------------------
def false_variants() -> dict[str, Theorem]:
    """False statements the check must reject (one field of ``THEOREM`` changed each)."""
    f_blocks = THEOREM.claim("f_blocks")
    definitions = THEOREM.definitions

    def redefine(target, rhs):
        return THEOREM.replace(definitions=tuple(
            defs.equation(d.lhs, rhs) if d.lhs == target else d for d in definitions))

    z_rhs = net.instantiate(net.definition(definitions, X.z), j, v)
    return {
        # the old MUTANTS, as statements
        "cross_block_too": THEOREM.with_claim(
            "f_blocks", hypotheses=(sp.Or(sp.Eq(l, l_prime), sp.Eq(l_prime, l + 1)),)),
        "smooth_activation": redefine(X.h[j, v], sp.Piecewise(
            (X.x[v], sp.Eq(j, 0)), (X.D[j, v] * (X.z[j, v] + X.z[j, v] ** 2 / 2), True))),
        "step_forgets_mask": THEOREM.replace(hypotheses=THEOREM.hypotheses[:-1]),
        "step_not_affine": redefine(X.z[j, v], z_rhs + defs.sigma_b * net.b[j, v] * sp.Sum(
            X.h[j - 1, a] ** 2, (a, 1, net.m[j - 1])) / 2),
        # issue 33, class C: a block three layers apart (zero at depth 2, not at depth 3)
        "block_three_layers_apart": THEOREM.with_claim(
            "f_blocks", hypotheses=(sp.Or(sp.Eq(l, l_prime), sp.Eq(l_prime, l + 3)),)),
        "every_block": THEOREM.with_claim("f_blocks", hypotheses=()),
        "upper_triangle": THEOREM.with_claim("f_blocks", hypotheses=(sp.Le(l, l_prime),)),
        "wrong_matrix_loss_hessian_zero": THEOREM.with_claim(
            "f_blocks", conclusion=sp.Eq(hessian_L[l, l_prime], 0)),
        "loss_block_doubled_ggn": THEOREM.with_claim(
            "loss_blocks", conclusion=sp.Eq(hessian_L[l, l_prime],
                                            2 * G_hat_blocks[l, l_prime])),
        "loss_cross_blocks": THEOREM.with_claim(
            "loss_blocks", hypotheses=(sp.Eq(l_prime, l + 1),)),
        "ggn_without_one_over_n": THEOREM.with_claim("loss_blocks", definitions=(
            defs.equation(G_hat, J.T * H * J),)),
        "f_block_shifted": THEOREM.with_claim(
            "f_blocks", conclusion=sp.Eq(hessian_f[c, l, l_prime + 1], 0)),
        "mask_not_constant_below_zero": redefine(X.D[j, v], sp.Piecewise(
            (1, X.z[j, v] > 0), (X.z[j, v], True))),
        "mask_is_a_bias": redefine(X.D[j, v], net.b[j, v]),
        "output_squared": redefine(X.f, X.z[L + 1, c] ** 2),
        "loss_block_against_another_layer": THEOREM.with_claim(
            "loss_blocks", conclusion=sp.Eq(hessian_L[l, l], G_hat_blocks[l_prime, l_prime]),
            hypotheses=()),
        "wrong_f_block_value": THEOREM.with_claim(
            "f_blocks", conclusion=sp.Eq(hessian_f[c, l, l_prime], f_blocks.conclusion.rhs + 1)),
    }
