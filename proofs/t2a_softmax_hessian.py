r"""T2a — bounds on the softmax cross-entropy output Hessian (lemma for T2), for every k.

Statement
---------
For k ≥ 2 classes, p ∈ ℝ^k with ``𝟙ᵀp = 1`` and bounds ``0 < p_min ≤ p_j ≤ p_max`` for every
class j (so p is in the open simplex; p_min = min_j p_j and p_max = max_j p_j are the natural
choice), let ``H = diag(p) − ppᵀ``. Then

    kernel:  H𝟙 = 0;
    lower:   p_min · xᵀx ≤ xᵀHx            for every x with 𝟙ᵀx = 0;
    upper:   xᵀHx ≤ min(p_max, ½) · xᵀx    for every x.

So with ``P = I − 𝟙𝟙ᵀ/k``: ``p_min P ≼ H ≼ min(p_max, ½) P`` (T2 uses this through x = Pw).
The upper bound is stated for every x (THEORY.md states it on 𝟙^⊥; it holds on all of ℝ^k). The
lower bound needs 𝟙ᵀx = 0: at x = 𝟙, xᵀHx = 0 < k·p_min.

Proof
-----
Write ``x̄ = pᵀx``. (H𝟙)_c = p_c − p_c Σ_e p_e = 0.
(L) xᵀHx − p_min xᵀx = Σ_e (p_e − p_min)(x_e − x̄)² + k·p_min·x̄² − 2 p_min x̄ (𝟙ᵀx):
the last term vanishes when 𝟙ᵀx = 0, the others are ≥ 0 (p_e − p_min ≥ 0, k·p_min ≥ 0).
(U1) p_max xᵀx − xᵀHx = Σ_e (p_max − p_e) x_e² + x̄² ≥ 0.
(U2) ½ xᵀx − xᵀHx = ½ Σ_e (1 − 2p_e)² x_e² + ½ Σ_e Σ_f [e ≠ f] p_e p_f (x_e + x_f)² ≥ 0.
Hence xᵀHx ≤ p_max xᵀx and xᵀHx ≤ ½ xᵀx, i.e. xᵀHx ≤ min(p_max, ½) xᵀx. Each certificate is an
identity of quadratic forms in x, proved by comparing the coefficient of x_c² and of x_c x_d
(c ≠ d) for generic classes c, d: a sum over all classes is split into its terms at the named
classes plus a sum over the others, and a sum over the others of an expression affine in p_e is
(number of others)·(constant) + (slope)·(1 − Σ named p), the only place 𝟙ᵀp = 1 enters. ∎

What ``check()`` proves, for symbolic k
---------------------------------------
Every matrix expression of the statement (H𝟙, xᵀHx, xᵀx, 𝟙ᵀx, pᵀx, with H from the theorem's
definition) is turned into index sums by sympy's own entry rules; the sums are split at generic
distinct classes (c, d for a quadratic form, i for a vector entry) and the sums over the other
classes evaluated with the sum rule read from the theorem's hypothesis 𝟙ᵀp = 1 (its range must be
the whole class range). This proves H𝟙 = 0 entry by entry and the three certificates (L), (U1),
(U2) coefficient by coefficient, for every k. The term of (L) that needs 𝟙ᵀx = 0 is built from
the lower claim's own hypothesis (dropping it breaks the identity). The solver (z3) decides: that
two distinct classes exist (k ≥ 2); that each certificate weight is ≥ 0 from the theorem's
hypotheses instantiated at the weight's classes (p_e − p_min ≥ 0, p_max − p_e ≥ 0, k·p_min ≥ 0,
p_e p_f [e ≠ f] ≥ 0 with the indicator between 0 and 1); and that each claim's own conclusion
follows from the certificates (a sum of nonnegative terms is ≥ 0), so the constants a claim
prints are exactly what is proved at general p, not at uniform p (e.g. the upper constant
min((p_min + p_max)/2, ½) is refuted: at p = (.3, .3, .4), x = (1, 1, −2), xᵀHx/xᵀx = .36 > .35).
Named lemmas (prose): a quadratic form is determined by the coefficients of its squares and of
its products of two distinct coordinates, and all classes play the same role; a sum over all
classes is its terms at named distinct classes plus the sum over the others; a sum of
nonnegative terms is nonnegative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from proofs import _defs as D
from proofs._render import render
from proofs._statement import Claim, ProofError, Report, Theorem

# -- the statement ---------------------------------------------------------------------------------
k, j = D.k, D.j
p = sp.MatrixSymbol("p", k, 1)
x = sp.MatrixSymbol("x", k, 1)
H = sp.MatrixSymbol("H", k, k)
p_min, p_max = D.real("p_min p_max")
ONE = D.ones(k)
SQUARED_NORM = D.scalar(x.T * x)
FORM = D.scalar(x.T * H * x)
HALF = sp.Rational(1, 2)

THEOREM = Theorem(
    id="T2a",
    variables=(k, p, x, p_min, p_max),
    hypotheses=(sp.Ge(k, 2), sp.Gt(p_min, 0), sp.Le(p_min, p[j, 0]), sp.Le(p[j, 0], p_max),
                sp.Eq(D.scalar(ONE.T * p), 1)),
    definitions=(D.equation(H, D.softmax_hessian(p)),),
    claims=(
        Claim("kernel", D.equation(H * ONE, sp.ZeroMatrix(k, 1))),
        Claim("lower", sp.Le(p_min * SQUARED_NORM, FORM),
              hypotheses=(sp.Eq(D.scalar(ONE.T * x), 0),)),
        Claim("upper", sp.Le(FORM, sp.Min(p_max, HALF) * SQUARED_NORM)),
    ),
    lemmas=(
        "a quadratic form is determined by the coefficients of its squares and of its products "
        "of two distinct coordinates, and all classes play the same role",
        "a sum over all classes is its terms at named distinct classes plus the sum over the "
        "other classes",
        "a sum of nonnegative terms is nonnegative",
    ),
)


# -- sums over the classes, for a symbolic number of classes -------------------------------------
def scalar_hypotheses(hypotheses) -> tuple:
    """The hypotheses the solver reads (matrix equations left out)."""
    return tuple(h for h in hypotheses if not isinstance(h.lhs, sp.MatrixExpr))


def to_sums(expr):
    """Entries of matrix products and sums as index sums (sympy's own entry rules)."""
    return expr.replace(
        lambda e: isinstance(e, MatrixElement) and not isinstance(e.parent, sp.MatrixSymbol),
        lambda e: to_sums(e.parent._entry(e.i, e.j)))


class Classes:
    """Index sums over the classes 0, …, size − 1 at generic distinct classes.

    ``coefficients(expr, points, vector)`` splits every sum over the classes into its terms at
    the named ``points`` (and at the other classes of enclosing sums) plus a sum over the other
    classes, resolves [a = b] for distinct named classes, differentiates once by each point's
    coordinate of ``vector`` (the generic coefficient of a linear or quadratic form), and
    evaluates every sum over the other classes: affine in the probability of its class, with
    the sum rule Σ_j p_j = total read from the hypotheses."""

    def __init__(self, report: Report, hypotheses, size):
        self.report, self.size, self.rests = report, size, {}
        self.probs = self.total = None
        for h in hypotheses:
            total = to_sums(h.lhs) if isinstance(h, sp.Equality) else None
            if isinstance(total, sp.Sum) and self._full_range(total.limits[-1]) \
                    and isinstance(total.function, MatrixElement) \
                    and total.function.i == total.limits[0][0]:
                self.probs, self.total = total.function.parent, h.rhs
        report.implies("two distinct classes exist", scalar_hypotheses(hypotheses),
                       sp.Ge(size, 2))

    def _full_range(self, limit) -> bool:
        _, lo, hi = limit
        return lo == 0 and sp.expand(hi - self.size + 1) == 0

    def _split(self, expr, known: list):
        if isinstance(expr, sp.Sum):
            *inner, limit = expr.limits
            if not self._full_range(limit):
                raise ProofError(f"{self.report.theorem.id}: a sum over a range other than the "
                                 f"classes: {render(expr)}")
            body = sp.Sum(expr.function, *inner) if inner else expr.function
            rest = sp.Dummy("r", integer=True)
            self.rests[rest] = tuple(known)
            terms = [self._split(body.xreplace({limit[0]: q}), known) for q in known]
            tail = self._split(body.xreplace({limit[0]: rest}), [*known, rest])
            return sp.Add(*terms, sp.Sum(tail, (rest, 0, self.size - 1)))
        if isinstance(expr, sp.KroneckerDelta):
            return sp.Integer(int(expr.args[0] == expr.args[1]))
        if not expr.args or isinstance(expr, (sp.MatrixSymbol, MatrixElement)):
            return expr
        return expr.func(*[self._split(a, known) for a in expr.args])

    def _evaluate(self, expr):
        if isinstance(expr, sp.Sum) and expr.limits[0][0] in self.rests:
            return self._others(expr)
        if not expr.args or isinstance(expr, MatrixElement):
            return expr
        return expr.func(*[self._evaluate(a) for a in expr.args])

    def _others(self, total: sp.Sum):
        """Σ over the classes other than the named ones of an expression affine in p_r."""
        rest = total.limits[0][0]
        named = self.rests[rest]
        body = sp.expand(self._evaluate(total.function))
        slope, others = sp.Integer(0), sp.Integer(0)
        if self.probs is not None:
            entry = MatrixElement(self.probs, rest, 0)
            slope = body.coeff(entry)
            others = self.total - sum(MatrixElement(self.probs, q, 0) for q in named)
            body = sp.expand(body - slope * entry)
        if body.has(rest) or slope.has(rest):
            raise ProofError(f"{self.report.theorem.id}: a sum over the other classes that the "
                             f"sum rule cannot evaluate: {render(body)}")
        return (self.size - len(named)) * body + slope * others

    def coefficients(self, expr, points: list, vector=None) -> list:
        """The generic coefficient(s) of ``expr`` at distinct classes ``points``: with a
        ``vector``, the derivative by the coordinates of ``vector`` at the points (for a
        quadratic form at two points: twice the coefficient of a square, and the coefficient of
        a product)."""
        split = self._split(to_sums(expr), list(points))
        if vector is None:
            return [self._evaluate(split)]
        coords = [sp.Dummy("u") for _ in points]
        split = split.xreplace({MatrixElement(vector, q, 0): u for q, u in zip(points, coords)})
        if len(points) == 1:
            derivatives = [sp.diff(split, coords[0])]
        else:
            derivatives = [sp.diff(split, coords[0], 2), sp.diff(split, *coords)]
        return [self._evaluate(d) for d in derivatives]

    def zero(self, name: str, expr, vector, degree: int = 2) -> None:
        """``expr`` is the zero linear (``degree`` 1) or quadratic (2) form in ``vector``: its
        generic coefficients vanish."""
        points = [sp.Dummy("c", integer=True) for _ in range(degree)]
        for value in self.coefficients(expr, points, vector):
            self.report.identity(name, value, 0)

    def zero_matrix(self, name: str, M) -> None:
        """The matrix expression ``M`` is zero: every entry of an explicit size, or for a symbolic
        size the entry at generic distinct classes (i, j) and on the diagonal (i, i)."""
        if all(isinstance(s, (int, sp.Integer)) for s in M.shape):
            self.report.entrywise(name, sp.Matrix(M.as_explicit()), sp.zeros(*M.shape))
            self.report.identities.append(name)
            return
        i, i2 = sp.Dummy("i", integer=True), sp.Dummy("j", integer=True)
        cases = [(i, 0, [i])] if M.cols == 1 else [(i, i2, [i, i2]), (i, i, [i])]
        for row, col, points in cases:
            value, = self.coefficients(MatrixElement(M, row, col), points)
            self.report.identity(name, value, 0)


# -- certificates: sums of weighted squares ------------------------------------------------------
@dataclass(frozen=True)
class Square:
    """Σ over ``indices`` (each over all classes) of weight · base²; ``name`` in words."""

    name: str
    weight: sp.Expr
    base: sp.Expr
    indices: tuple = ()

    @property
    def value(self):
        term = self.weight * self.base**2
        return sp.Sum(term, *[(e, 0, k - 1) for e in self.indices]) if self.indices else term


def weights_nonnegative(report: Report, label: str, squares, hypotheses) -> tuple:
    """The solver decides every weight ≥ 0 from the hypotheses instantiated at the weight's
    classes (per-class hypotheses carry the free index j); an indicator [e = f] in a weight is a
    number between 0 and 1. Returns the facts ``value ≥ 0`` (a sum of nonnegative terms)."""
    for square in squares:
        weight = sp.sympify(square.weight)
        indicators = {d: sp.Dummy("t") for d in weight.atoms(sp.KroneckerDelta)}
        local = [h.xreplace({j: q}) for h in hypotheses for q in square.indices
                 if j in h.free_symbols]
        local += [sp.And(sp.Ge(t, 0), sp.Le(t, 1)) for t in indicators.values()]
        report.implies(f"{label}: weight of the {square.name} is nonnegative",
                       scalar_hypotheses(hypotheses) + tuple(local),
                       sp.Ge(weight.xreplace(indicators), 0))
    return tuple(sp.Ge(square.value, 0) for square in squares)


def _classes():
    return sp.Dummy("e", integer=True), sp.Dummy("f", integer=True)


def lower_certificate(theorem: Theorem):
    """(L): squares, and the multiplier term of each hypothesis of the lower claim (the solver
    then uses the hypothesis itself)."""
    e, _ = _classes()
    mean = D.scalar(p.T * x)
    squares = (Square("deviation from the mean", p[e, 0] - p_min, x[e, 0] - mean, (e,)),
               Square("mean", k * p_min, mean))
    constraints = [h.lhs - h.rhs for h in theorem.claim("lower").hypotheses]
    return squares, sum((-2 * p_min * mean * c for c in constraints), sp.Integer(0))


def upper_certificates():
    """(U1) with constant p_max and (U2) with constant ½: (constant, squares)."""
    e, f = _classes()
    mean = D.scalar(p.T * x)
    return ((p_max, (Square("gap to the largest probability", p_max - p[e, 0], x[e, 0], (e,)),
                     Square("mean", 1, mean))),
            (HALF, (Square("distance to one half", (1 - 2 * p[e, 0]) ** 2 / 2, x[e, 0], (e,)),
                    Square("pair", (1 - sp.KroneckerDelta(e, f)) * p[e, 0] * p[f, 0] / 2,
                           x[e, 0] + x[f, 0], (e, f)))))


def check(theorem: Theorem = THEOREM) -> Report:
    """Prove T2a for a symbolic number of classes k; raises ``ProofError`` on a failed step."""
    report = Report(theorem)
    classes = Classes(report, theorem.hypotheses, k)

    kernel = theorem.claim("kernel").conclusion
    classes.zero_matrix("kernel: every entry of the row sums",
                        theorem.expand(kernel.lhs - kernel.rhs))

    hypotheses = theorem.hypotheses_of("lower")
    squares, multiplier = lower_certificate(theorem)
    classes.zero("lower: certificate identity", theorem.expand(
        FORM - p_min * SQUARED_NORM - sum(s.value for s in squares) - multiplier), x)
    facts = weights_nonnegative(report, "lower", squares, hypotheses)
    report.implies("lower: the claimed bound from the certificate",
                   scalar_hypotheses(hypotheses) + facts + (
                       sp.Eq(FORM - p_min * SQUARED_NORM,
                             sum(s.value for s in squares) + multiplier),),
                   theorem.claim("lower").conclusion)

    hypotheses = theorem.hypotheses_of("upper")
    facts = ()
    for constant, squares in upper_certificates():
        certificate = sum(s.value for s in squares)
        classes.zero("upper: certificate identity",
                     theorem.expand(constant * SQUARED_NORM - FORM - certificate), x)
        facts += weights_nonnegative(report, "upper", squares, hypotheses) + (
            sp.Eq(constant * SQUARED_NORM - FORM, certificate),)
    report.implies("upper: the claimed bound from both certificates",
                   scalar_hypotheses(hypotheses) + facts, theorem.claim("upper").conclusion)
    return report


# -- the numeric falsifier -----------------------------------------------------------------------
FALSIFIER_TRIALS = 40


def _dyadic_simplex(rng, size: int, bits: int = 10):
    """A random point of the open simplex with dyadic entries (exact sums in float64); every
    third draw ties the two smallest entries (the lower bound's extremal case)."""
    cuts = np.sort(rng.choice(np.arange(1, 2**bits), size=size - 1, replace=False))
    counts = np.diff(np.concatenate([[0], cuts, [2**bits]]))
    if size > 2 and rng.integers(3) == 0:
        order = np.argsort(counts)
        low = (counts[order[0]] + counts[order[1]]) // 2
        counts[order[2]] += counts[order[0]] + counts[order[1]] - 2 * low
        counts[order[0]] = counts[order[1]] = low
    return counts / 2.0**bits


def draw(rng, trial: int) -> dict:
    """Random p on the simplex (k = 2 … 7), H = diag(p) − ppᵀ by numpy; for the lower bound an
    integer x with zero sum, the difference of the two smallest classes' basis vectors, or (one
    trial in four, skipped) x = 𝟙; for the upper bound numpy's top eigenvector of H or a
    Gaussian x."""
    size = int(rng.integers(2, 8))
    probs = _dyadic_simplex(rng, size)
    hessian = np.diag(probs) - np.outer(probs, probs)
    common = {k: size, j: np.arange(size), p: probs[:, None], H: hessian,
              p_min: float(probs.min()), p_max: float(probs.max())}
    if trial % 4 == 3:  # outside the lower bound's hypothesis (skipped): catches its omission
        lower_x = np.ones(size)
    elif trial % 2:
        smallest = np.argsort(probs)[:2]
        lower_x = np.zeros(size)
        lower_x[smallest] = (1.0, -1.0)
    else:
        lower_x = rng.integers(-5, 6, size=size).astype(float)
        lower_x[-1] = -lower_x[:-1].sum()
    upper_x = np.linalg.eigh(hessian)[1][:, -1] if trial % 3 else rng.normal(size=size)
    return {"kernel": {**common, x: rng.normal(size=(size, 1))},
            "lower": {**common, x: lower_x[:, None]},
            "upper": {**common, x: upper_x[:, None]}}


# -- false statements the check must reject ------------------------------------------------------
def false_variants() -> dict[str, Theorem]:
    """False versions of T2a, one field changed each (the old mutants and issue 33's classes)."""
    hypotheses = THEOREM.hypotheses
    simplex = hypotheses[-1]
    return {
        "lower_constant_doubled": THEOREM.with_claim(
            "lower", conclusion=sp.Le(2 * p_min * SQUARED_NORM, FORM)),
        "lower_2_pmin_pmax": THEOREM.with_claim(
            "lower", conclusion=sp.Le(2 * p_min * p_max * SQUARED_NORM, FORM)),
        "upper_half_to_quarter": THEOREM.with_claim(
            "upper", conclusion=sp.Le(FORM, sp.Min(p_max, HALF / 2) * SQUARED_NORM)),
        "hessian_sign_flipped": THEOREM.replace(
            definitions=(D.equation(H, THEOREM.definitions[0].rhs + 2 * p * p.T),)),
        "sum_rule_wrong": THEOREM.replace(hypotheses=tuple(h for h in hypotheses if h != simplex)
                                          + (sp.Eq(sp.Sum(p[j, 0], (j, 0, k - 2)), 1),)),
        "upper_pmin": THEOREM.with_claim(
            "upper", conclusion=sp.Le(FORM, sp.Min(p_min, HALF) * SQUARED_NORM)),
        # class E: an upper constant that is right at uniform p only; false at p = (.3, .3, .4)
        "upper_mean_of_extremes": THEOREM.with_claim(
            "upper", conclusion=sp.Le(FORM, sp.Min((p_min + p_max) / 2, HALF) * SQUARED_NORM)),
        # class A: the lower bound for every x instead of x orthogonal to the ones vector
        "lower_for_every_x": THEOREM.with_claim("lower", hypotheses=()),
        "simplex_as_inequality": THEOREM.replace(hypotheses=tuple(
            sp.Le(h.lhs, h.rhs) if h == simplex else h for h in hypotheses)),
        "positivity_dropped": THEOREM.replace(hypotheses=tuple(
            h for h in hypotheses if h != sp.Gt(p_min, 0))),
        "kernel_of_the_probabilities": THEOREM.with_claim(
            "kernel", conclusion=D.equation(H * p, sp.ZeroMatrix(k, 1))),
    }
