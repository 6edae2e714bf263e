r"""T9 — progress of gradient descent on the local quadratic model (any loss, any η > 0).

Statement (THEORY.md T9, corrected: Ĝ ≽ 0 is a hypothesis of the bound)
-----------------------------------------------------------------------
For the quadratic model ``q(Δ) = L_0 + gᵀΔ + ½ΔᵀĜΔ`` (``_defs.quadratic_model``) and T ≥ 1 GD
steps ``Δ_{t+1} = Δ_t − η∇q(Δ_t)`` from Δ_0 = 0, with η > 0: in Ĝ's eigenbasis (eigenvalues
λ_j, g_j the components of g, d_{j,t} those of Δ_t) the model is
``q_t := q(Δ_t) = L_0 + Σ_j (g_j d_{j,t} + λ_j d_{j,t}²/2)`` and the step is
``d_{j,t+1} = d_{j,t} − η(g_j + λ_j d_{j,t})``, ``d_{j,0} = 0``. Then

- decrease: ``L_0 − q_T = Σ_j {g_j²(1 − (1 − ηλ_j)^{2T})/(2λ_j) if λ_j ≠ 0; Tηg_j² otherwise}``
  (the second branch is the λ_j → 0 limit of the first); for every real λ_j;
- bound: ``L_0 − q_T ≤ Σ_{λ_j > ε} g_j²/(2λ_j) + Tη Σ_{λ_j ≤ ε} g_j²`` whenever ε ≥ 0 and
  **λ_j ≥ 0** (Ĝ ≽ 0);
- monotone: ``L_0 − q_T ≤ L_0 − q_{T+1}`` whenever ηλ_j ≤ 2 for every j;
- Bernoulli (the lemma the bound uses): ``(1 − x)^{2T} ≥ 1 − 2Tx`` for every real x.

THEORY.md printed the bound without Ĝ ≽ 0, and it is false then: for λ < 0 the flat term exceeds
Tηg². Counterexample: one direction, λ = −1, g = 1, η = 1, T = 1, ε = 0: d_1 = −ηg = −1,
q(Δ_1) = L_0 + g·d_1 + λd_1²/2 = L_0 − 3/2, so L_0 − q(Δ_1) = 3/2 > Tηg² = 1 (λ ≤ ε: flat).

Proof
-----
*Eigenbasis.* With Ĝ = UΛUᵀ (UᵀU = I), g = Uγ, Δ = Uδ: gᵀΔ = γᵀδ and ΔᵀĜΔ = δᵀΛδ, so
q(Uδ) = L_0 + Σ_j (γ_j δ_j + λ_j δ_j²/2); ∇q(Δ) = g + ĜΔ and Uᵀ(Δ − η∇q(Δ)) = δ − η(γ + Λδ):
GD decouples into d_{j,t+1} = d_{j,t} − η ∂q_j/∂d = (1 − ηλ_j) d_{j,t} − ηg_j.
*Closed form* (induction on t): d_{j,t} = −(g_j/λ_j)(1 − (1 − ηλ_j)^t) for λ_j ≠ 0, d_{j,t} = −tηg_j
for λ_j = 0. *Decrease:* −(g d_T + λd_T²/2) = (g²/2λ)(1 − Y²) with Y = (1 − ηλ)^T, and Tηg² for
λ = 0. *Bound*, per direction (then sum): steep (λ > ε ≥ 0): g²/(2λ) − (g²/2λ)(1 − Y²) =
g²Y²/(2λ) ≥ 0; flat with 0 < λ ≤ ε: Tηg² − (g²/2λ)(1 − Y²) = (g²/2λ)(Y² − 1 + 2Tηλ) ≥ 0 by
Bernoulli at x = ηλ; flat with λ = 0: equality. (For λ < 0 the flat slack is
(g²/2λ)(Y² − 1 + 2Tηλ) ≤ 0, with equality only when g = 0 or T = 0: the hypothesis is needed.)
*Monotone:* the increment of a direction is (g²/2λ)Y²ηλ(2 − ηλ) = g²Y²η(2 − ηλ)/2 ≥ 0 when
ηλ ≤ 2 (any sign of λ), and ηg² ≥ 0 for λ = 0. *Bernoulli*: for x ≤ 1 put y = 1 − x ≥ 0; by the
telescoping lemma (y − 1)Σ_{i<E} y^i = y^E − 1, so y^E − 1 − E(y − 1) = Σ_{i<E}(y − 1)(y^i − 1)
= Σ_{i<E}(y − 1)² Σ_{k<i} y^k ≥ 0 (E = 2T); for x > 1, (1 − x)^{2T} = ((1 − x)^T)² ≥ 0 > 1 − 2Tx. ∎

What ``check()`` proves
-----------------------
The definitions against ``_defs.quadratic_model``, at symbolic size p: the orthogonal change of
basis (matrix identity with UᵀU = I) and the diagonal reduction (each delta sum's branch chosen by
the solver on the sum's range) give the printed q_t; the vector GD step Uᵀ(Δ − η∇q(Δ)), with ∇q
from sympy's matrix calculus, gives the printed d_{j,t+1} entrywise; the claims are proved from
these derived objects (so the printed definitions are checked once, against ``_defs``). The
closed form of the derived recursion from the printed start d_{j,0}, solved by ``rsolve`` and
proved by induction on t (base and step identities, powers y·y^t = y^(t+1) written through one
symbol), in both cases λ_j ≠ 0 and λ_j = 0. Every claim is then read from the theorem: q_s
replaced by the derived model at the claim's times, both sides reduced to one sum over the
model's range (a sum over another range, or constant parts that do
not cancel, are rejected), the iterates replaced by the closed forms, and every Piecewise split by
its own conditions (combinations the solver finds inconsistent dropped; λ_j = 0 substituted where
the case forces it). Decrease: an identity in every case at symbolic T. Bound: the solver on the
full polynomial at T = 1, 2, 3, and for T ≥ 4 (the solver checks that these cover T ≥ 1) with
(1 − ηλ_j)^T abstracted as Y and the Bernoulli claim's own conclusion at x = ηλ_j as the fact
(after deciding that the bound's hypotheses imply Bernoulli's); dropping λ_j ≥ 0 gets a
counterexample λ_j < 0. Monotone: the solver at symbolic T with (1 − ηλ_j)^{T+1} = Y·(1 − ηλ_j).
Bernoulli, with exponent, base and coefficient read from the claim: the telescoping lemma by
induction (``_sym.check_telescoping_lemma``); for a nonnegative base the claim's gap must be the
telescoped sum Σ_{i<E}(y − 1)(y^i − 1) (each summand (y − 1)²Σ_{k<i}y^k ≥ 0); for a negative base
the exponent must be even and the solver decides the claim with the power as a square. Nothing is
sampled. Named lemmas (prose): spectral theorem; termwise comparison of finite sums; a power of
a nonnegative number is nonnegative.

Numeric falsifier (not part of the proof): a real GD loop on random quadratic models (sizes 1 to
8, eigendecomposition by ``numpy.linalg.eigh`` or by construction with exact zero eigenvalues,
steps past 2/λ_max included), q(Δ_t) evaluated in the original coordinates.
"""

from __future__ import annotations

import itertools

import numpy as np
import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from proofs import _defs as D
from proofs._smt import decide
from proofs._statement import Claim, ProofError, Report, Theorem
from proofs._sym import check_telescoping_lemma, matmul_replace_adjacent, telescoping_claim

# -- symbols -------------------------------------------------------------------------------------
eta, eps, T, t, j, p = D.eta, D.eps, D.T, D.t, D.j, D.p
L0 = sp.Symbol("L_0", real=True)
x = sp.Symbol("x", real=True)
g = sp.IndexedBase("g", real=True)  # components of the gradient on Ĝ's eigenvectors
lam = sp.IndexedBase("lambda", real=True)  # eigenvalues of Ĝ
d = sp.IndexedBase("d", real=True)  # components of the GD iterate Δ_t
q = sp.IndexedBase("q", real=True)  # q_t = q(Δ_t)
Y = sp.Symbol("Y", real=True)  # stands for (1 − ηλ_j)^T in the solver steps
FIXED_STEPS = (1, 2, 3)  # exponents at which the solver decides the bound on the full polynomial


def _direction_model(value):
    """One eigendirection of ``_defs.quadratic_model`` (L_0 = 0): g_j·v + λ_j·v²/2."""
    one = sp.ImmutableMatrix
    return D.quadratic_model(one([[0]]), one([[g[j]]]), one([[lam[j]]]), one([[value]]))[0, 0]


# -- the statement -------------------------------------------------------------------------------
MODEL = D.equation(q[t], L0 + sp.Sum(_direction_model(d[j, t]), (j, 1, p)))
STEP = D.equation(d[j, t + 1], d[j, t] - eta * sp.diff(_direction_model(d[j, t]), d[j, t]))
START = D.equation(d[j, 0], 0)
FLAT_LIMIT = T * eta * g[j] ** 2
NONZERO = sp.Ne(lam[j], 0)
DECREASE = sp.Sum(sp.Piecewise(
    (g[j] ** 2 * (1 - (1 - eta * lam[j]) ** (2 * T)) / (2 * lam[j]), NONZERO),
    (FLAT_LIMIT, True)), (j, 1, p))
BOUND = (sp.Sum(sp.Piecewise((g[j] ** 2 / (2 * lam[j]), lam[j] > eps), (0, True)), (j, 1, p))
         + T * eta * sp.Sum(sp.Piecewise((g[j] ** 2, lam[j] <= eps), (0, True)), (j, 1, p)))

THEOREM = Theorem(
    id="T9",
    variables=(L0, eta, eps, x, T, p, g, lam),
    hypotheses=(sp.Gt(eta, 0), sp.Ge(T, 1)),
    definitions=(START, STEP, MODEL),
    claims=(
        Claim("decrease", sp.Eq(L0 - q[T], DECREASE)),
        Claim("bound", sp.Le(L0 - q[T], BOUND), hypotheses=(sp.Ge(eps, 0), sp.Ge(lam[j], 0))),
        Claim("monotone", sp.Le(L0 - q[T], L0 - q[T + 1]), hypotheses=(sp.Le(eta * lam[j], 2),)),
        Claim("bernoulli", sp.Ge((1 - x) ** (2 * T), 1 - 2 * T * x)),
    ),
    lemmas=("spectral theorem", "termwise comparison of finite sums",
            "a power of a nonnegative number is nonnegative"),
)


# -- reading the statement -----------------------------------------------------------------------
def _definition(report: Report, lhs):
    for definition in report.theorem.definitions:
        if definition.lhs == lhs:
            return definition.rhs
    raise ProofError(f"{report.theorem.id}: no definition of {lhs}")


def _per_direction(report: Report, expr, limits, what: str) -> tuple:
    """``expr`` = constant + Σ_k c_k·Σ_{j} f_k(j) with every sum over ``limits`` (the model's
    directions): returns (constant, Σ_k c_k f_k(j)); a sum over another range is rejected."""
    constant, summand = sp.Integer(0), sp.Integer(0)
    for term in sp.Add.make_args(expr):
        sums = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.Sum)]
        if not sums:
            constant += term
            continue
        (total,) = sums
        (index, lo_k, hi_k), = total.limits
        if (lo_k, hi_k) != limits:
            raise ProofError(f"{report.theorem.id} {what}: a sum runs over another range than "
                             "the directions of the model")
        summand += term / total * total.function.xreplace({index: j})
    return constant, summand


def _abstract(expr, base, var=T):
    """Powers base^(k·var + c) (k ≥ 1, c ≥ 0 integers) written Y^k·base^c, Y standing for
    base^var (so that y·y^t and y^(t+1) agree, and the solver sees a polynomial)."""
    def rewrite(power):
        k = power.exp.coeff(var)
        return Y**k * base ** sp.expand(power.exp - k * var)

    return expr.replace(lambda e: isinstance(e, sp.Pow) and e.base == base
                        and var in e.exp.free_symbols, rewrite)


def _cases(hypotheses, relation):
    """(conditions, relation with every Piecewise replaced by one branch) for each combination of
    branches whose conditions are consistent with the hypotheses (the solver discards the rest);
    the relation is kept unevaluated."""
    pieces = sorted(relation.atoms(sp.Piecewise), key=str)
    for choice in itertools.product(*(range(len(pw.args)) for pw in pieces)):
        conditions, branch = [], {}
        for pw, k in zip(pieces, choice):
            earlier = [sp.Not(cond) for _, cond in pw.args[:k]]
            conditions += [*earlier, pw.args[k].cond]
            branch[pw] = pw.args[k].expr
        if decide((*hypotheses, *conditions), sp.false).verdict != "proved":
            yield tuple(conditions), relation.func(relation.lhs.xreplace(branch),
                                                   relation.rhs.xreplace(branch), evaluate=False)


# -- the definitions from _defs.quadratic_model ----------------------------------------------------
def _branch(report: Report, piecewise, inside: tuple):
    """The value of the branch of ``piecewise`` that the solver proves taken under ``inside``."""
    for value, cond in piecewise.args:
        if decide(inside, cond).verdict == "proved":
            report.solver.append("eigenbasis coordinates, the branch taken")
            return value
    raise ProofError(f"{report.theorem.id}: no branch is taken in the eigenbasis coordinates")


def _derive_definitions(report: Report) -> tuple:
    """``_defs.quadratic_model`` and its gradient step written in Ĝ's eigenbasis (Ĝ = UΛUᵀ,
    UᵀU = I, Λ diagonal) at symbolic size p: the model q_t (a constant plus sums over the
    directions), the directions' range, and the step d_{j,t+1}. The printed definitions must be
    these (identities); the claims are then proved from the derived objects."""
    U, Lam = sp.MatrixSymbol("U", p, p), sp.MatrixSymbol("Lambda", p, p)
    gam, delta, L0m = (sp.MatrixSymbol("gamma", p, 1), sp.MatrixSymbol("delta", p, 1),
                       sp.MatrixSymbol("L_0", 1, 1))
    Delta = sp.MatrixSymbol("Delta", p, 1)

    def basis_change(expr):
        return matmul_replace_adjacent(sp.expand(expr), (U.T, U), sp.Identity(p))

    def coordinate(element):  # entries in the eigenbasis, Λ diagonal, rows counted from 1
        row = element.i + 1
        return {Lam: sp.KroneckerDelta(element.i, element.j) * lam[row], gam: g[row],
                delta: d[row, t], L0m: L0}[element.parent]

    def coordinates(expr):
        expr = expr.replace(lambda e: isinstance(e, MatrixElement), coordinate).doit()
        for total in expr.atoms(sp.Sum):  # a sum's Piecewise, resolved on the sum's range
            (index, lo, hi), = total.limits
            inside = (sp.Ge(index, lo), sp.Le(index, hi))
            body = total.function.replace(lambda e: isinstance(e, sp.Piecewise),
                                          lambda e, inside=inside: _branch(report, e, inside))
            expr = expr.xreplace({total: sp.Sum(body, (index, lo, hi)).change_index(
                index, index + 1, j)})
        return expr

    model = coordinates(basis_change(
        D.quadratic_model(L0m, U * gam, U * Lam * U.T, U * delta))[0, 0])
    (_, lo, hi), = model.atoms(sp.Sum).pop().limits
    gradient = sp.diff(D.quadratic_model(L0m, U * gam, U * Lam * U.T, Delta), Delta)
    step = basis_change((U.T * (Delta - eta * gradient)).xreplace({Delta: U * delta,
                                                                   Lam.T: Lam}))
    # entry j (row j − 1), its delta sum resolved on the directions' range
    step = coordinates(step[j - 1, 0]).replace(
        lambda e: isinstance(e, sp.Piecewise),
        lambda e: _branch(report, e, (sp.Ge(j, lo), sp.Le(j, hi))))
    for name, mine, theirs in zip(
            ("constant", "one direction"), _per_direction(report, model, (lo, hi), "model"),
            _per_direction(report, _definition(report, q[t]), (lo, hi), "model")):
        report.identity(f"model definition, {name}", theirs, mine)
    report.identity("step definition, the gradient step of the model",
                    _definition(report, d[j, t + 1]), step)
    return model, (lo, hi), step


# -- the closed form of the GD recursion -----------------------------------------------------------
def _closed_forms(report: Report, step) -> tuple:
    """d_{j,t} for λ_j ≠ 0 and for λ_j = 0 (each solved by ``rsolve`` from the recursion and the
    printed start, and proved by induction on t), and the factor 1 − ηλ_j of the recursion."""
    start = _definition(report, d[j, 0])
    current = sp.Function("d_t")
    factor = sp.diff(step, d[j, t])
    forms = []
    for case, rules in (("nonzero eigenvalue", {}), ("zero eigenvalue", {lam[j]: 0})):
        recursion = step.xreplace(rules).xreplace({d[j, t]: current(t)})
        closed = sp.rsolve(current(t + 1) - recursion, current(t), {current(0): start})
        report.identity(f"closed form, {case}, base", closed.subs(t, 0), start)
        report.identity(f"closed form, {case}, induction step",
                        _abstract(recursion.xreplace({current(t): closed}), factor, t),
                        _abstract(closed.subs(t, t + 1), factor, t))
        report.inductions.append(f"closed form of the GD iterate, {case} (on t, from 0)")
        forms.append(closed)
    return (*forms, factor)


def _side(report: Report, expr, derived, what: str) -> tuple:
    """A side of a claim as (constant, one direction's term): each q_s replaced by the derived
    model at time s, the sums reduced to one direction, each iterate d_{j,s} replaced by its
    closed form (a Piecewise on λ_j ≠ 0)."""
    model, limits, (general, zero, _) = derived
    unfolded = expr.replace(lambda e: isinstance(e, sp.Indexed) and e.base == q,
                            lambda e: model.xreplace({t: e.indices[0]}))
    constant, term = _per_direction(report, unfolded, limits, what)

    def iterate(entry):
        time = entry.indices[1]
        return sp.Piecewise((general.subs(t, time), NONZERO), (zero.subs(t, time), True))

    term = term.replace(lambda e: isinstance(e, sp.Indexed) and e.base == d, iterate)
    return constant, sp.piecewise_fold(term)


def _claim_sides(report: Report, name: str, derived) -> tuple:
    """(hypotheses, per-direction relation) of claim ``name``: the constants must cancel."""
    thm = report.theorem
    relation = thm.claim(name).conclusion
    left = _side(report, relation.lhs, derived, name)
    right = _side(report, relation.rhs, derived, name)
    report.identity(f"{name}: the constant parts agree", left[0], right[0])
    return thm.hypotheses_of(name), relation.func(left[1], right[1], evaluate=False)


def _pinned(hypotheses, conditions, relation):
    """``relation`` with λ_j = 0 substituted where the case's conditions force it."""
    if decide((*hypotheses, *conditions), sp.Eq(lam[j], 0)).verdict == "proved":
        return relation.func(relation.lhs.xreplace({lam[j]: 0}),
                             relation.rhs.xreplace({lam[j]: 0}), evaluate=False)
    return relation


# -- the claims ------------------------------------------------------------------------------------
def _check_decrease(report: Report, derived) -> None:
    hypotheses, relation = _claim_sides(report, "decrease", derived)
    for conditions, case in _cases(hypotheses, relation):
        case = _pinned(hypotheses, conditions, case)
        report.identity("decrease, one direction, in a case of the branches", case.lhs, case.rhs)


def _check_bound(report: Report, derived) -> None:
    hypotheses, relation = _claim_sides(report, "bound", derived)
    for steps in FIXED_STEPS:
        fixed = [h.subs(T, steps) for h in hypotheses]
        for conditions, case in _cases(fixed, relation.subs(T, steps)):
            report.implies(f"bound, one direction, number of steps fixed at {steps}",
                           (*fixed, *conditions), case)
    # the remaining numbers of steps at symbolic T, with Bernoulli's claim as the fact
    beyond = sp.Ge(T, max(FIXED_STEPS) + 1)
    report.implies("bound: the fixed and the symbolic numbers of steps cover every case",
                   hypotheses, sp.Or(*(sp.Eq(T, steps) for steps in FIXED_STEPS), beyond))
    factor = derived[2][2]
    fact = _abstract(report.use_claim("bernoulli", "bound", {x: eta * lam[j]}), factor)
    for conditions, case in _cases(hypotheses, _abstract(relation, factor)):
        report.implies("bound, one direction, every larger number of steps",
                       (*hypotheses, beyond, *conditions, fact), case)


def _check_monotone(report: Report, derived) -> None:
    hypotheses, relation = _claim_sides(report, "monotone", derived)
    for conditions, case in _cases(hypotheses, _abstract(relation, derived[2][2])):
        report.implies("monotone, one direction", (*hypotheses, *conditions), case)


def _check_bernoulli(report: Report) -> None:
    """The claim's own relation, its left side a power y^E of a base y read from the claim: for
    y ≥ 0 its gap against the right side must be the telescoped sum, for y < 0 (E even) the
    solver decides it with y^E as a square."""
    thm = report.theorem
    claim = thm.claim("bernoulli")
    power, bound = claim.conclusion.lhs, claim.conclusion.rhs
    exponent, y = power.exp, sp.Symbol("y", real=True)
    (x_of_y,) = sp.solve(sp.Eq(power.base, y), x)
    # y ≥ 0: gap = Σ_{i<E}(y − 1)(y^i − 1) = (y − 1)S_E(y, 1) − E(y − 1), with
    # (y − 1)S_E(y, 1) = y^E − 1 by the telescoping lemma (proved by induction in check); each
    # summand is (y − 1)·(y − 1)S_i(y, 1) = (y − 1)²·Σ_{k<i} y^k, a square times powers of y ≥ 0
    telescoped = telescoping_claim(y, 1, exponent).rhs - exponent * (y - 1)
    report.identity("bernoulli, nonnegative base: the gap is the telescoped sum",
                    (power - bound).xreplace({x: x_of_y}), telescoped)
    # y < 0: E = 2M, y^E = Z² with Z = y^M
    report.holds("bernoulli: the exponent is even", bool((exponent / 2).is_integer))
    Z = sp.Symbol("Z", real=True)
    report.implies("bernoulli, negative base",
                   (*thm.hypotheses_of("bernoulli"), sp.Lt(power.base, 0)),
                   claim.conclusion.xreplace({power: Z**2}))


def check(theorem: Theorem = THEOREM) -> Report:
    """Prove T9 (see the module docstring); raise ``ProofError`` on a failed step."""
    report = Report(theorem)
    check_telescoping_lemma(report)
    model, limits, step = _derive_definitions(report)
    derived = (model, limits, _closed_forms(report, step))
    _check_decrease(report, derived)
    _check_bernoulli(report)
    _check_bound(report, derived)
    _check_monotone(report, derived)
    return report


# -- the numeric falsifier -------------------------------------------------------------------------
FALSIFIER_TRIALS = 30


def draw(rng, trial: int) -> dict:
    """A real GD loop Δ ← Δ − η(g + ĜΔ) on a random quadratic model (sizes 1 to 8): Ĝ = BBᵀ/n +
    I/20 with ``numpy.linalg.eigh``, or (every third trial) Ĝ = Q diag(λ) Qᵀ with exactly zero
    eigenvalues; η up to 3.2/λ_max (past the step condition); q(Δ_t) evaluated in the original
    coordinates, g_j = u_jᵀ g."""
    size = (1, 2, 3, 5, 8)[trial % 5]
    steps = int(rng.integers(1, 7))
    grad, start = rng.normal(size=size), float(rng.normal())
    if trial % 3 == 0:
        basis, _ = np.linalg.qr(rng.normal(size=(size, size)))
        eig = rng.uniform(0.1, 2.0, size=size)
        eig[rng.random(size) < 0.4] = 0.0
        hess = basis @ np.diag(eig) @ basis.T
    else:
        factor = rng.normal(size=(size, size))
        hess = factor @ factor.T / size + np.eye(size) / 20
        eig, basis = np.linalg.eigh(hess)
    top = float(max(eig.max(), 1e-3))
    step = float(rng.uniform(0.05, 1.0 if trial % 2 else 1.6)) * 2 / top
    delta, model = np.zeros(size), []
    for _ in range(steps + 2):
        model.append(start + grad @ delta + delta @ hess @ delta / 2)
        delta = delta - step * (grad + hess @ delta)
    cuts = np.concatenate([[0.0], np.sort(eig), [2 * top]])
    level = int(rng.integers(0, cuts.size - 1))
    epsilon = float((cuts[level] + cuts[level + 1]) / 2) if trial % 4 else 0.0
    values = {L0: start, eta: step, T: steps, p: size, eps: epsilon, g[j]: basis.T @ grad,
              lam[j]: eig, q[T]: model[steps], q[T + 1]: model[steps + 1]}
    return {"decrease": values, "bound": values, "monotone": values,
            "bernoulli": {eta: step, T: steps, x: float(rng.uniform(-3, 3))}}


# -- false variants --------------------------------------------------------------------------------
def false_variants() -> dict[str, Theorem]:
    """False statements the check must reject (one field of ``THEOREM`` changed each)."""
    decrease, bound = THEOREM.claim("decrease").conclusion, THEOREM.claim("bound").conclusion
    steep, flat = (sp.Sum(sp.Piecewise((g[j] ** 2 / (2 * lam[j]), lam[j] > eps), (0, True)),
                          (j, 1, p)),
                   sp.Sum(sp.Piecewise((g[j] ** 2, lam[j] <= eps), (0, True)), (j, 1, p)))

    def decrease_terms(steep_term, flat_term, condition=NONZERO):
        return sp.Eq(L0 - q[T], sp.Sum(sp.Piecewise((steep_term, condition), (flat_term, True)),
                                       (j, 1, p)))

    general = g[j] ** 2 * (1 - (1 - eta * lam[j]) ** (2 * T)) / (2 * lam[j])

    def definitions(old, new):
        return tuple(new if dfn == old else dfn for dfn in THEOREM.definitions)

    return {
        "progress_exponent_T": THEOREM.with_claim("decrease", conclusion=decrease_terms(
            g[j] ** 2 * (1 - (1 - eta * lam[j]) ** T) / (2 * lam[j]), FLAT_LIMIT)),
        "drift_halved": THEOREM.with_claim(
            "decrease", conclusion=decrease_terms(general, FLAT_LIMIT / 2)),
        "decrease_branch_for_positive_eigenvalues_only": THEOREM.with_claim(
            "decrease", conclusion=decrease_terms(general, FLAT_LIMIT, lam[j] > 0)),
        "decrease_sign_reversed": THEOREM.with_claim(
            "decrease", conclusion=sp.Eq(q[T] - L0, decrease.rhs)),
        "bernoulli_odd_power": THEOREM.with_claim(
            "bernoulli", conclusion=sp.Ge((1 - x) ** (2 * T + 1), 1 - (2 * T + 1) * x)),
        "bernoulli_coefficient_T": THEOREM.with_claim(
            "bernoulli", conclusion=sp.Ge((1 - x) ** (2 * T), 1 - T * x)),
        "bernoulli_base_sign": THEOREM.with_claim(
            "bernoulli", conclusion=sp.Ge((1 + x) ** (2 * T), 1 - 2 * T * x)),
        "steep_bound_quartered": THEOREM.with_claim("bound", conclusion=sp.Le(
            L0 - q[T], steep.xreplace({g[j] ** 2 / (2 * lam[j]): g[j] ** 2 / (4 * lam[j])})
            + T * eta * flat)),
        "flat_bound_half_drift": THEOREM.with_claim(
            "bound", conclusion=sp.Le(L0 - q[T], steep + T * eta * flat / 2)),
        "flat_bound_capped_at_three_steps": THEOREM.with_claim(
            "bound", conclusion=sp.Le(L0 - q[T], steep + 3 * eta * flat)),
        "flat_bound_quadratic_in_the_steps": THEOREM.with_claim(
            "bound", conclusion=sp.Le(L0 - q[T], steep + T**2 * eta * flat / 4)),
        "bound_flat_sum_from_the_second_direction": THEOREM.with_claim(
            "bound", conclusion=sp.Le(L0 - q[T], steep + T * eta * sp.Sum(
                flat.function, (j, 2, p)))),
        "bound_without_nonnegative_eigenvalues": THEOREM.with_claim(
            "bound", hypotheses=(sp.Ge(eps, 0),)),
        "bound_sign_reversed": THEOREM.with_claim(
            "bound", conclusion=sp.Le(q[T] - L0, bound.rhs)),
        "bound_forgets_the_start": THEOREM.with_claim(
            "bound", conclusion=sp.Le(-q[T], bound.rhs)),
        "monotone_without_step_condition": THEOREM.with_claim("monotone", hypotheses=()),
        "monotone_step_condition_weakened": THEOREM.with_claim(
            "monotone", hypotheses=(sp.Le(eta * lam[j], 3),)),
        "monotone_reversed": THEOREM.with_claim(
            "monotone", conclusion=sp.Le(L0 - q[T + 1], L0 - q[T])),
        "model_without_half": THEOREM.replace(definitions=definitions(MODEL, D.equation(
            q[t], L0 + sp.Sum(g[j] * d[j, t] + lam[j] * d[j, t] ** 2, (j, 1, p))))),
        "step_doubled": THEOREM.replace(definitions=definitions(STEP, D.equation(
            d[j, t + 1], d[j, t] - 2 * eta * (g[j] + lam[j] * d[j, t])))),
    }
