r"""T8 — ε-rank conditions for training the linearized network with mse and gradient descent.

Statement (THEORY.md, with every condition the proof uses)
----------------------------------------------------------
GD with step η on ``L = (1/2n)‖r‖²`` for the linearized model (residual r = Jθ + o, K = JJᵀ ≽ 0
with eigenpairs (λ_j, u_j), c_j = u_jᵀ r_0, ‖r_0‖ > 0): one step maps r to ``(I − (η/n)K) r``, so
each eigendirection evolves as ``c_j(t) = (1 − ηλ_j/n)^t c_j(0)`` and
``L_T/L_0 = R := Σ_j (1 − ηλ_j/n)^{2T} c_j² / Σ_j c_j²`` (spectral theorem and Parseval). With
``m_ε = Σ_{λ_j ≤ ε} c_j² / Σ_j c_j²`` and ``ρ_ε = (1 − ηε/n)^{2T}`` (η, n > 0, ε ≥ 0, T ≥ 1):

    lower:  ρ_ε m_ε ≤ R                   whenever ηε ≤ n,
    upper:  R ≤ m_ε + ρ_ε (1 − m_ε)       whenever ηλ_max + ηε ≤ 2n, and also whenever ηλ_max ≤ n.

Consequences: R ≤ τ and ηε < n ⇒ m_ε ≤ τ/ρ_ε (necessary; ηε < n, not ≤, so that ρ_ε > 0);
m_ε ≤ (τ − ρ_ε)/(1 − ρ_ε) with ρ_ε < τ ≤ 1 and ηλ_max + ηε ≤ 2n ⇒ R ≤ τ (sufficient). For an
isotropic r_0 (expectations over r_0): E[q_j] = 1/N, ``E[m_ε] = 1 − rank_ε(K)/N``,
``E[R] = (1/N) Σ_j (1 − ηλ_j/n)^{2T}``; E[R] ≤ τ and ηε < n ⇒ rank_ε(K) ≥ N(1 − τ/ρ_ε)
(THEORY.md printed this without ηε ≤ n: K = [1], n = η = T = 1, ε = 2, τ = ½ gives E[R] = 0 ≤ τ
and rank_ε(K) = 0 < ½); rank_ε(K) ≥ N(1 − (τ − ρ_ε)/(1 − ρ_ε)) with ρ_ε < τ ≤ 1 and
ηλ_max + ηε ≤ 2n ⇒ E[R] ≤ τ. Gradient flow: c_j(s) = e^{−λ_j s/n} c_j(0), and the two bounds hold
with ρ_ε replaced by e^{−2εs/n} (s ≥ 0) and no step-size condition.

Proof
-----
*Step.* ∇_θL = (1/n)Jᵀr, so r' = J(θ − η∇L) + o = (I − (η/n)K) r. Projecting on u_j
(u_jᵀK = λ_j u_jᵀ) gives c_j(t+1) = y_j c_j(t), y_j = 1 − ηλ_j/n, hence c_j(t) = y_j^t c_j(0)
(induction on t), and by Parseval ‖r_T‖² = Σ_j y_j^{2T} c_j².
*Coefficients.* With q_j = c_j²/Σ c² ≥ 0, Σ q_j = 1, both sides of each bound are sums over j;
multiplying the gap by Σ c² > 0 gives Σ_j c_j² · coef(λ_j), where coef depends on whether λ_j is
flat (≤ ε) or steep (> ε). Each bound holds once every coefficient is ≥ 0:
lower, flat: y_j^{2T} − y_ε^{2T}; lower, steep: y_j^{2T}; upper, flat: 1 − y_j^{2T}; upper,
steep: y_ε^{2T} − y_j^{2T}.
*Signs.* An even power is ≥ 0. A difference A^T − B^T = (A − B) Σ_{i<T} A^i B^{T−1−i} (telescoping
lemma) is ≥ 0 when A − B ≥ 0, A ≥ 0 and B ≥ 0; here A, B ∈ {1, y_j², y_ε²} and each of these three
sign facts is a real polynomial inequality in η, n, ε, λ_j, λ_max implied by the hypotheses and
the case (decided by the solver). E.g. lower, flat: y_j − y_ε = η(ε − λ_j)/n ≥ 0 and
y_ε = 1 − ηε/n ≥ 0 (needs ηε ≤ n); upper, steep: y_ε² − y_j² = (y_ε − y_j)(y_ε + y_j) with
n(y_ε + y_j) = 2n − ηε − ηλ_j ≥ 0 (needs ηλ_max + ηε ≤ 2n, or ηλ_max ≤ n together with ε < λ_j).
*Consequences* are real arithmetic from the bounds, with ρ_ε > 0 from y_ε > 0 (a positive number's
power is positive) and ρ_ε ≥ 0 (an even power). *Isotropy:* the law of r_0 is rotation
invariant, so the q_j are exchangeable and E[q_j] = e with N·e = E[Σ q_j] = 1; linearity of E
turns each bound into the same sum with weights 1/N. *Flow:* dc/ds = −(λ/n)c gives
c(s) = e^{−λs/n}c(0); e^{a} − e^{b} ≥ 0 iff a ≥ b (exp is increasing), decided on the exponents. ∎

What ``check()`` proves
-----------------------
Symbolic: the GD step for MatrixSymbols J (N × p), θ, o (sympy's matrix gradient of the defined
loss); the per-direction closed form by induction on t against the claim's own conclusion; the
flow solution by ``dsolve``; Parseval (UUᵀ = I). For every bound claim the check reads the claim's
conclusion, expands the theorem's definitions of R, m_ε, ρ_ε (and their flow and expectation
versions), reduces the gap to one sum over j (the sums' limits must agree), splits each Piecewise
by its own condition (the solver decides which branch the case takes), and proves every case's
coefficient ≥ 0: by the solver at T = 1 and T = 2 (fixed exponents, full polynomial), and for
symbolic T by the telescoping lemma (induction on the exponent) with the factor signs A − B,
A, B decided by the solver from the claim's hypotheses. Consequences: the solver decides them
from the bound claims' conclusions, after deciding that the consequence's hypotheses imply each
hypothesis of the bound it uses. Isotropic: E[q_j] solved from Σ_j E[q_j] = 1 (symbolic N), the
flat-mass and rank identity summand by summand by the solver, the ratio identity symbolically.
Named lemmas (prose): spectral theorem; exchangeability of an isotropic vector's coordinates;
a positive number's powers are positive; the exponential is increasing and positive.
"""

from __future__ import annotations

import sympy as sp

from proofs import _defs as D
from proofs._render import render
from proofs._statement import Claim, ProofError, Report, Theorem
from proofs._sym import check_telescoping_lemma

# -- symbols -------------------------------------------------------------------------------------
n, eta, eps, tau, lam_max, T, t, j, N = D.n, D.eta, D.eps, D.tau, D.lam_max, D.T, D.t, D.j, D.N
p = D.p
s_time = sp.Symbol("s", real=True)  # gradient-flow time
lam = sp.IndexedBase("lambda", real=True)
c = sp.IndexedBase("c", real=True)
R, m, rho = sp.symbols("R m_epsilon rho_epsilon", real=True)
R_flow, rho_flow = sp.symbols("R_flow rho_flow", real=True)
E_q, E_m, E_R, rank = sp.symbols("E_q E_m E_R rank_epsilon", real=True)
J = sp.MatrixSymbol("J", N, p)
theta = sp.MatrixSymbol("theta", p, 1)
o = sp.MatrixSymbol("o", N, 1)
r = sp.MatrixSymbol("r", N, 1)
r_next = sp.MatrixSymbol("r_next", N, 1)
grad = sp.MatrixSymbol("grad_L", p, 1)
U = sp.MatrixSymbol("U", N, N)
coord = sp.Function("c")  # one eigendirection's coordinate c(t)
lam_1 = sp.Symbol("lambda", real=True)  # one eigendirection's eigenvalue

K = D.ntk_gram(J)
y = D.gd_factor

# -- the statement -----------------------------------------------------------------------------
BASE = (sp.Gt(eta, 0), sp.Gt(n, 0), sp.Ge(eps, 0), sp.Ge(T, 1), sp.Ge(N, 1),
        sp.Ge(lam[j], 0), sp.Le(lam[j], lam_max), sp.Gt(sp.Sum(c[j] ** 2, (j, 1, N)), 0))
LOWER_CONDITION = sp.Le(eta * eps, n)
UPPER_CONDITION = sp.Le(eta * lam_max + eta * eps, 2 * n)
SMALL_STEP = sp.Le(eta * lam_max, n)
NECESSARY_CONDITION = sp.Lt(eta * eps, n)
TAU_RANGE = (sp.Lt(rho, tau), sp.Le(tau, 1))
rank_definition = sp.Sum(sp.Piecewise((1, sp.Abs(lam[j]) > eps), (0, True)), (j, 1, N))

THEOREM = Theorem(
    id="T8",
    variables=(eta, n, eps, tau, lam_max, s_time, T, N, p, lam, c, J, theta, o, U),
    hypotheses=BASE,
    definitions=(
        D.equation(r, J * theta + o),
        D.equation(grad, sp.Derivative(D.mse_loss(r, n), theta)),
        D.equation(r_next, J * (theta - eta * grad) + o),
        D.equation(rho, D.rho_eps(eta, eps, n, T)),
        D.equation(R, D.loss_ratio(c, lam, eta, n, T, j, N)),
        D.equation(m, D.flat_mass(c, lam, eps, j, N)),
        D.equation(rank, rank_definition),
    ),
    claims=(
        Claim("gd_step", D.equation(r_next, (sp.Identity(N) - eta * K / n) * r)),
        Claim("closed_form", sp.Eq(coord(t), y(eta, lam_1, n) ** t * coord(0)),
              hypotheses=(sp.Ge(t, 0),), variables=(t, lam_1),
              definitions=(D.equation(coord(t + 1), y(eta, lam_1, n) * coord(t)),)),
        Claim("parseval", D.equation((U.T * r).T * (U.T * r), r.T * r),
              hypotheses=(D.equation(U * U.T, sp.Identity(N)),)),
        Claim("lower", sp.Le(rho * m, R), hypotheses=(LOWER_CONDITION,)),
        Claim("upper", sp.Le(R, m + rho * (1 - m)), hypotheses=(UPPER_CONDITION,)),
        Claim("upper_small_step", sp.Le(R, m + rho * (1 - m)), hypotheses=(SMALL_STEP,)),
        Claim("necessary", sp.Le(m, tau / rho),
              hypotheses=(NECESSARY_CONDITION, sp.Le(R, tau))),
        Claim("sufficient", sp.Le(R, tau),
              hypotheses=(UPPER_CONDITION, *TAU_RANGE, sp.Le(m, (tau - rho) / (1 - rho)))),
        Claim("isotropic_flat_mass", sp.Eq(E_m, 1 - rank / N),
              definitions=(D.equation(E_m, sp.Sum(sp.Piecewise((E_q, lam[j] <= eps), (0, True)),
                                                   (j, 1, N))),)),
        Claim("isotropic_ratio", sp.Eq(E_R, sp.Sum(y(eta, lam[j], n) ** (2 * T), (j, 1, N)) / N),
              definitions=(D.equation(E_R, sp.Sum(y(eta, lam[j], n) ** (2 * T) * E_q,
                                                  (j, 1, N))),)),
        Claim("isotropic_necessary", sp.Ge(rank, N * (1 - tau / rho)),
              hypotheses=(NECESSARY_CONDITION, sp.Le(E_R, tau))),
        Claim("isotropic_sufficient", sp.Le(E_R, tau),
              hypotheses=(UPPER_CONDITION, *TAU_RANGE,
                          sp.Ge(rank, N * (1 - (tau - rho) / (1 - rho))))),
        Claim("flow_closed_form", sp.Eq(coord(s_time), sp.exp(-lam_1 * s_time / n) * coord(0)),
              hypotheses=(sp.Ge(s_time, 0),), variables=(lam_1,),
              definitions=(D.equation(sp.Derivative(coord(s_time), s_time),
                                      -lam_1 * coord(s_time) / n),)),
        Claim("flow_lower", sp.Le(rho_flow * m, R_flow), hypotheses=(sp.Ge(s_time, 0),),
              definitions=(D.equation(rho_flow, sp.exp(-2 * eps * s_time / n)),
                           D.equation(R_flow, sp.Sum(sp.exp(-2 * lam[j] * s_time / n)
                                                     * c[j] ** 2, (j, 1, N))
                                      / sp.Sum(c[j] ** 2, (j, 1, N))))),
        Claim("flow_upper", sp.Le(R_flow, m + rho_flow * (1 - m)), hypotheses=(sp.Ge(s_time, 0),),
              definitions=(D.equation(rho_flow, sp.exp(-2 * eps * s_time / n)),
                           D.equation(R_flow, sp.Sum(sp.exp(-2 * lam[j] * s_time / n)
                                                     * c[j] ** 2, (j, 1, N))
                                      / sp.Sum(c[j] ** 2, (j, 1, N))))),
    ),
    lemmas=("spectral theorem", "exchangeability of the coordinates of an isotropic vector",
            "powers of a positive number are positive", "the exponential is increasing"),
)

BOUND_CLAIMS = ("lower", "upper", "upper_small_step", "flow_lower", "flow_upper")
FIXED_EXPONENTS = (1,)


# -- the proof -----------------------------------------------------------------------------------
def _expand(expr):
    """``sp.expand`` that keeps every power with a symbolic exponent and every exponential
    whole (their bases are what the sign proofs read)."""
    protected = {e: sp.Dummy() for e in expr.atoms(sp.Pow, sp.exp)
                 if isinstance(e, sp.exp) or e.exp.free_symbols}
    back = {v: k for k, v in protected.items()}
    return sp.expand(expr.xreplace(protected)).xreplace(back)


def _single_sum(expr, what: str, report: Report):
    """Write ``expr`` (a linear combination of sums over j) as one sum's summand: every term
    must be (factor free of j) · Σ_{j=1}^{N}; the limits must be those of the definitions."""
    summand = sp.Integer(0)
    for term in sp.Add.make_args(_expand(expr)):
        sums = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.Sum)]
        if len(sums) != 1:
            raise ProofError(f"{report.theorem.id} {what}: a term is not one sum over the "
                             f"eigenvalues: {term}")
        (total,) = sums
        factor = term / total
        (index, lo, hi), = total.limits
        if index != j or lo != 1 or hi != N or j in factor.free_symbols:
            raise ProofError(f"{report.theorem.id} {what}: sums over different ranges "
                             f"{total.limits}")
        summand += factor * total.function
    return summand


def _cases(coefficient, hypotheses, report: Report, what: str):
    """The coefficient in each case flat / steep: every Piecewise is resolved by its own
    conditions, the branch being the one the solver proves taken under the case."""
    cases = {"flat": sp.Le(lam[j], eps), "steep": sp.Gt(lam[j], eps)}
    out = {}
    for case, condition in cases.items():
        def resolve(pw, condition=condition, case=case):
            for value, cond in pw.args:
                if report.proves(f"{what}, {case} case, branch condition",
                                 (*hypotheses, condition), cond):
                    return value
            raise ProofError(f"{report.theorem.id} {what}: no branch is taken in the {case} case")

        out[case] = (condition, coefficient.replace(lambda e: isinstance(e, sp.Piecewise),
                                                    resolve))
    return out


def _power_terms(coefficient):
    """``coefficient`` as a list of (sign, kind, payload) terms, each ± A^T (kind "power",
    payload A), ± 1 (kind "power", payload 1) or ± e^a (kind "exp", payload a)."""
    terms = []
    for term in sp.Add.make_args(_expand(coefficient)):
        sign = -1 if term.could_extract_minus_sign() else 1
        body = -term if sign < 0 else term
        if body == 1:
            terms.append((sign, "one", sp.Integer(1)))
        elif isinstance(body, sp.exp):
            terms.append((sign, "exp", body.args[0]))
        elif isinstance(body, sp.Pow) and T in body.exp.free_symbols:
            per_t = sp.simplify(body.exp / T)
            if not (per_t.is_Integer and per_t > 0) or T in body.base.free_symbols:
                return None
            terms.append((sign, "power", body.base ** per_t))
        else:
            return None
    return terms


def _nonnegative_coefficient(coefficient, hypotheses, report: Report, what: str) -> None:
    """coefficient ≥ 0 under ``hypotheses``: the solver on the full polynomial at fixed T, and
    for symbolic T the telescoping lemma with the factor signs decided by the solver."""
    if T in coefficient.free_symbols:
        for fixed in FIXED_EXPONENTS:
            report.implies(f"{what} at exponent {fixed}",
                           (*[h.subs(T, fixed) for h in hypotheses],),
                           sp.Ge(coefficient.subs(T, fixed), 0))
    terms = _power_terms(coefficient)
    if terms is None or not terms or len(terms) > 2:
        raise ProofError(f"{report.theorem.id} {what}: the coefficient is not a difference of "
                         f"two powers or exponentials: {coefficient}")
    positive = [term for term in terms if term[0] > 0]
    negative = [term for term in terms if term[0] < 0]
    if len(positive) != 1 or len(negative) > 1:
        raise ProofError(f"{report.theorem.id} {what}: the coefficient has no nonnegative form: "
                         f"{coefficient}")
    (_, kind_a, a), = positive
    if not negative:
        if kind_a == "power" and not (a.is_Pow and a.exp % 2 == 0):
            report.implies(f"{what}, base sign", hypotheses, sp.Ge(a, 0))
        report.holds(f"{what}, single term", kind_a in ("power", "exp", "one"))
        return
    (_, kind_b, b), = negative
    kinds = {kind_a, kind_b}
    if kinds <= {"exp", "one"}:  # e^a − e^b ≥ 0 ⇔ a ≥ b (1 = e^0)
        exponent = {"exp": lambda v: v, "one": lambda v: sp.Integer(0)}
        report.implies(f"{what}, exponents ordered", hypotheses,
                       sp.Ge(exponent[kind_a](a), exponent[kind_b](b)))
        return
    if not kinds <= {"power", "one"}:
        raise ProofError(f"{report.theorem.id} {what}: mixed powers and exponentials")
    # A^T − B^T = (A − B)·Σ_{i<T} A^i B^(T−1−i): telescoping lemma, then three sign facts
    report.identity(f"{what}, difference of powers", coefficient, a**T - b**T)
    check_telescoping_lemma()
    report.implies(f"{what}, first factor", hypotheses, sp.Ge(a - b, 0))
    report.implies(f"{what}, larger base", hypotheses, sp.Ge(a, 0))
    report.implies(f"{what}, smaller base", hypotheses, sp.Ge(b, 0))


def _prove_bound(report: Report, name: str, weight) -> None:
    """A bound claim (lhs ≤ rhs) whose sides are sums over j with weights ``weight`` ≥ 0."""
    thm = report.theorem
    claim = thm.claim(name)
    if not isinstance(claim.conclusion, sp.LessThan):
        raise ProofError(f"{thm.id} {name}: the conclusion is not an inequality")
    gap = thm.expand(claim.conclusion.rhs - claim.conclusion.lhs, name)
    normalizer = sp.Sum(weight, (j, 1, N))
    summand = _single_sum(_as_sums(_expand(gap * normalizer), normalizer), name,
                          report)
    coefficient = sp.piecewise_fold(_expand(summand / weight))
    if weight.atoms(sp.Indexed) & coefficient.atoms(sp.Indexed):
        raise ProofError(f"{thm.id} {name}: the gap is not weighted by the eigen weights")
    hypotheses = thm.hypotheses_of(name)
    for case, (condition, value) in _cases(coefficient, hypotheses, report, name).items():
        _nonnegative_coefficient(value, (*hypotheses, condition), report, f"{name}, {case} case")


def _as_sums(expr, normalizer):
    """Every term of ``expr`` free of sums multiplied into the normalizer's sum (Σ_j w_j = the
    normalizer), so that the whole expression is a combination of sums over j."""
    out = sp.Integer(0)
    for term in sp.Add.make_args(expr):
        if term.atoms(sp.Sum):
            out += term
        else:
            out += sp.Sum(term * normalizer.function, *normalizer.limits)
    return out


def _check_gd_step(report: Report) -> None:
    thm = report.theorem
    claim = thm.claim("gd_step")
    report.matrix_identity("gradient step", thm.expand(claim.conclusion.lhs),
                           thm.expand(claim.conclusion.rhs))
    # iterating the step: B·(B^t r_0) = B^(t+1) r_0, so r_t = B^t r_0 (induction on t)
    r0, powers = sp.MatrixSymbol("r_0", N, 1), sp.MatrixSymbol("B", N, N)
    report.matrix_identity("matrix power step", powers * (powers**t * r0),
                           powers ** (t + 1) * r0)


def _check_closed_form(report: Report) -> None:
    thm = report.theorem
    claim = thm.claim("closed_form")
    (recursion,) = claim.definitions
    factor = recursion.rhs / coord(t)

    def sides(value):
        return (claim.conclusion.lhs.xreplace({t: value}),
                claim.conclusion.rhs.xreplace({t: value}))

    base_lhs, base_rhs = sides(0)
    report.identity("closed form, base", base_lhs, base_rhs)
    # step: c(t + 1) is the recursion's left side; it equals factor·c(t), and by the induction
    # hypothesis factor times the closed form at t; that must be the closed form at t + 1
    now_lhs, now_rhs = sides(t)
    next_lhs, next_rhs = sides(t + 1)
    report.holds("closed form, the recursion defines the next term", next_lhs == recursion.lhs)
    report.holds("closed form, the hypothesis is about the current term",
                 now_lhs == coord(t) and factor.free_symbols.isdisjoint({t}))
    report.identity("closed form, induction step", factor * now_rhs, next_rhs)
    report.inductions.append(f"closed_form (on t, from 0): {render(claim.conclusion)}")
    # the same recurrence solved by sympy's rsolve
    solved = sp.rsolve(coord(t + 1) - recursion.rhs, coord(t), {coord(0): coord(0)})
    report.identity("closed form, recurrence solver", solved, claim.conclusion.rhs)


def _check_parseval(report: Report) -> None:
    thm = report.theorem
    claim = thm.claim("parseval")
    (orthogonal,) = claim.hypotheses
    lhs = sp.expand(claim.conclusion.lhs.doit())
    rewritten = lhs.replace(lambda e: isinstance(e, sp.MatMul),
                            lambda e: _replace_adjacent(e, orthogonal))
    report.matrix_identity("Parseval", rewritten, claim.conclusion.rhs)


def _replace_adjacent(product, rule):
    """Replace the adjacent factors of ``rule.lhs`` (a product) by ``rule.rhs`` in ``product``."""
    pattern = list(rule.lhs.args)
    args = list(product.args)
    for i in range(len(args) - len(pattern) + 1):
        if args[i:i + len(pattern)] == pattern:
            return sp.MatMul(*args[:i], rule.rhs, *args[i + len(pattern):]).doit()
    return product


def _check_consequence(report: Report, name: str, source: str, facts=()) -> None:
    used = report.use_claim(source, name)
    sign = _rho_sign(report, name)
    report.claim_follows(name, "from the bound", (used, sign, *facts))


def _rho_sign(report: Report, name: str):
    """ρ_ε > 0 when the claim's hypotheses give 1 − ηε/n > 0 (powers of a positive number are
    positive), otherwise ρ_ε ≥ 0 (an even power)."""
    thm = report.theorem
    base = D.gd_factor(eta, eps, n)
    from proofs._smt import decide

    if decide(thm.hypotheses_of(name), sp.Gt(base, 0)).verdict == "proved":
        report.implies(f"{name}: positive base", thm.hypotheses_of(name), sp.Gt(base, 0))
        return sp.Gt(rho, 0)
    return sp.Ge(rho, 0)


def _check_isotropic(report: Report) -> None:
    thm = report.theorem
    # exchangeability: E[q_j] = e for every j, and Σ_j E[q_j] = E[Σ_j q_j] = 1
    solutions = sp.solve(sp.Eq(sp.Sum(E_q, (j, 1, N)).doit(), 1), E_q)
    report.holds("expected weight is determined", len(solutions) == 1)
    expected_weight = solutions[0]
    weight_rule = {E_q: expected_weight}

    claim = thm.claim("isotropic_flat_mass")
    lhs = thm.expand(claim.conclusion.lhs, "isotropic_flat_mass").xreplace(weight_rule)
    rhs = thm.expand(claim.conclusion.rhs, "isotropic_flat_mass")
    unit = sp.Sum(expected_weight, (j, 1, N))
    difference = _single_sum(_as_sums(_expand(lhs - rhs), unit),
                             "isotropic_flat_mass", report)
    report.implies("isotropic_flat_mass, each summand", thm.hypotheses_of("isotropic_flat_mass"),
                   sp.Eq(difference, 0))

    claim = thm.claim("isotropic_ratio")
    lhs = thm.expand(claim.conclusion.lhs, "isotropic_ratio").xreplace(weight_rule)
    report.identity("isotropic_ratio", (lhs - claim.conclusion.rhs).doit(), 0)

    # the bounds in expectation: the same coefficients with weights E[q_j]
    for name, source, bound in (("isotropic_necessary", "lower", sp.Le(rho * E_m, E_R)),
                                ("isotropic_sufficient", "upper",
                                 sp.Le(E_R, E_m + rho * (1 - E_m)))):
        for hypothesis in thm.hypotheses_of(source):
            report.implies(f"{name}: conditions of {source}", thm.hypotheses_of(name),
                           hypothesis)
        gap = (bound.rhs - bound.lhs).xreplace({
            E_m: thm.claim("isotropic_flat_mass").definitions[0].rhs,
            E_R: thm.claim("isotropic_ratio").definitions[0].rhs, rho: D.rho_eps(eta, eps, n, T)})
        summand = _single_sum(_as_sums(_expand(gap), sp.Sum(E_q, (j, 1, N))),
                              name, report)
        coefficient = sp.piecewise_fold(_expand(summand / E_q))
        hypotheses = thm.hypotheses_of(name)
        for case, (cond, value) in _cases(coefficient, hypotheses, report, name).items():
            _nonnegative_coefficient(value, (*hypotheses, cond), report, f"{name}, {case} case")
        mass = report.use_claim("isotropic_flat_mass", name)
        report.claim_follows(name, "from the expected bound",
                             (bound, mass, _rho_sign(report, name), sp.Ge(N, 1)))


def _check_flow(report: Report) -> None:
    thm = report.theorem
    claim = thm.claim("flow_closed_form")
    (ode,) = claim.definitions
    solved = sp.dsolve(sp.Eq(ode.lhs, ode.rhs), coord(s_time), ics={coord(0): coord(0)})
    report.identity("flow closed form", solved.rhs, claim.conclusion.rhs)


def check(theorem: Theorem = THEOREM) -> Report:
    """Prove T8 (see the module docstring); raise ``ProofError`` on a failed step."""
    report = Report(theorem)
    check_telescoping_lemma(report)
    _check_gd_step(report)
    _check_closed_form(report)
    _check_parseval(report)
    for name in BOUND_CLAIMS:
        _prove_bound(report, name, c[j] ** 2)
    _check_consequence(report, "necessary", "lower")
    _check_consequence(report, "sufficient", "upper", facts=(sp.Ge(m, 0),))
    _check_isotropic(report)
    _check_flow(report)
    return report


# -- the numeric falsifier -------------------------------------------------------------------------
FALSIFIER_TRIALS = 60


def draw(rng, trial: int) -> dict:
    """A random linearized least-squares problem trained by plain numpy GD on θ (gradient by
    central differences of the loss, exact for a quadratic up to round-off), with ε, τ, η drawn
    around the conditions' boundaries; values for the bound and consequence claims."""
    import numpy as np

    size, params = int(rng.integers(1, 7)), int(rng.integers(1, 8))
    samples = float(rng.integers(1, 5))
    jac = rng.normal(size=(size, params))
    offset = rng.normal(size=size)
    theta0 = rng.normal(size=params)
    gram = jac @ jac.T
    eigvals, eigvecs = np.linalg.eigh(gram)
    eigvals = np.clip(eigvals, 0.0, None)
    top = float(eigvals.max())
    step = float(rng.uniform(0.05, 2.5)) * samples / max(top, 1e-3)
    steps = int(rng.integers(1, 6))
    epsilon = float(rng.uniform(0.0, 1.3)) * max(top, 1e-3)
    tau_value = float(rng.uniform(0.05, 1.0))

    def loss(th):
        res = jac @ th + offset
        return res @ res / (2 * samples)

    def gradient(th, h=1e-2):
        basis = np.eye(params)
        return np.array([(loss(th + h * e) - loss(th - h * e)) / (2 * h) for e in basis])

    th = theta0.copy()
    for _ in range(steps):
        th = th - step * gradient(th)
    r0 = jac @ theta0 + offset
    ratio = loss(th) / loss(theta0)
    coords = eigvecs.T @ r0
    flat = float(np.sum(coords[eigvals <= epsilon] ** 2) / np.sum(coords**2))
    rho_value = (1 - step * epsilon / samples) ** (2 * steps)
    flow_time = float(rng.uniform(0, 3))
    flow_ratio = float(np.sum(np.exp(-2 * eigvals * flow_time / samples) * coords**2)
                       / np.sum(coords**2))
    common = {eta: step, n: samples, eps: epsilon, T: steps, N: size, tau: tau_value,
              lam_max: top, lam[j]: eigvals, c[j]: coords, R: ratio, m: flat, rho: rho_value}
    theta_next = theta0 - step * gradient(theta0)
    step_values = {J: jac, theta: theta0.reshape(-1, 1), o: offset.reshape(-1, 1),
                   r: r0.reshape(-1, 1), r_next: (jac @ theta_next + offset).reshape(-1, 1),
                   eta: step, n: samples, N: size, p: params, eps: epsilon, T: steps,
                   lam[j]: eigvals, lam_max: top, c[j]: coords}
    flow = {**common, s_time: flow_time, R_flow: flow_ratio,
            rho_flow: float(np.exp(-2 * epsilon * flow_time / samples))}
    return {"gd_step": step_values, "lower": common, "upper": common,
            "upper_small_step": common, "necessary": common, "sufficient": common,
            "flow_lower": flow, "flow_upper": flow}


# -- false variants ------------------------------------------------------------------------------
def false_variants() -> dict[str, Theorem]:
    """False statements the check must reject (one field of ``THEOREM`` changed each)."""
    upper = THEOREM.claim("upper")
    iso_mass = THEOREM.claim("isotropic_flat_mass")
    return {
        "step_missing_one_over_n": THEOREM.with_claim(
            "gd_step", conclusion=D.equation(r_next, (sp.Identity(N) - eta * K) * r)),
        "loss_exponent_t": THEOREM.replace(definitions=tuple(
            D.equation(R, sp.Sum(y(eta, lam[j], n) ** T * c[j] ** 2, (j, 1, N))
                       / sp.Sum(c[j] ** 2, (j, 1, N))) if d.lhs == R else d
            for d in THEOREM.definitions)),
        "closed_form_exponent_plus_one": THEOREM.with_claim(
            "closed_form", conclusion=sp.Eq(coord(t), y(eta, lam_1, n) ** (t + 1) * coord(0))),
        "upper_drops_rho_term": THEOREM.with_claim("upper", conclusion=sp.Le(R, m)),
        "lower_bound_doubled": THEOREM.with_claim("lower", conclusion=sp.Le(2 * rho * m, R)),
        "upper_rho_squared": THEOREM.with_claim(
            "upper", conclusion=sp.Le(R, m + rho**2 * (1 - m))),
        "lower_without_condition": THEOREM.with_claim("lower", hypotheses=()),
        "lower_condition_two_n": THEOREM.with_claim(
            "lower", hypotheses=(sp.Le(eta * eps, 2 * n),)),
        "lower_condition_three_halves_n": THEOREM.with_claim(
            "lower", hypotheses=(sp.Le(eta * eps, 3 * n / 2),)),
        "upper_condition_without_eps": THEOREM.with_claim(
            "upper", hypotheses=(sp.Le(eta * lam_max, 2 * n),)),
        "upper_condition_half_eps": THEOREM.with_claim(
            "upper", hypotheses=(sp.Le(eta * lam_max + eta * eps / 2, 2 * n),)),
        "upper_small_step_two_n": THEOREM.with_claim(
            "upper_small_step", hypotheses=(sp.Le(eta * lam_max, 2 * n),)),
        "necessary_without_condition": THEOREM.with_claim(
            "necessary", hypotheses=(sp.Le(R, tau),)),
        "sufficient_without_upper_condition": THEOREM.with_claim(
            "sufficient", hypotheses=upper.hypotheses[:0] + THEOREM.claim(
                "sufficient").hypotheses[1:]),
        "isotropic_rank_over_n": THEOREM.with_claim(
            "isotropic_flat_mass", conclusion=sp.Eq(E_m, rank / N)),
        "isotropic_flat_count_plus_one": THEOREM.with_claim(
            "isotropic_flat_mass", conclusion=sp.Eq(E_m, 1 - (rank - 1) / N)),
        "isotropic_necessary_without_condition": THEOREM.with_claim(
            "isotropic_necessary", hypotheses=(sp.Le(E_R, tau),)),
        "isotropic_ratio_twice": THEOREM.with_claim(
            "isotropic_ratio",
            conclusion=sp.Eq(E_R, 2 * sp.Sum(y(eta, lam[j], n) ** (2 * T), (j, 1, N)) / N)),
        "isotropic_flat_mass_strict": THEOREM.with_claim(
            "isotropic_flat_mass", definitions=(D.equation(E_m, sp.Sum(sp.Piecewise(
                (E_q, lam[j] < eps), (0, True)), (j, 1, N))),) + iso_mass.definitions[1:]),
        "flow_exponent_sign": THEOREM.with_claim(
            "flow_closed_form",
            conclusion=sp.Eq(coord(s_time), sp.exp(lam_1 * s_time / n) * coord(0))),
        "flow_lower_doubled": THEOREM.with_claim(
            "flow_lower", conclusion=sp.Le(2 * rho_flow * m, R_flow)),
        "theorem_drops_nonnegative_spectrum": THEOREM.replace(
            hypotheses=tuple(h for h in BASE if h != sp.Ge(lam[j], 0))),
    }
