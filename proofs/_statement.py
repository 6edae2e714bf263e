"""Statements as data: a theorem is an object, checked and printed from the same fields.

A ``Theorem`` holds its quantified symbols, its hypotheses, its definitions and its claims, each a
sympy object built from ``proofs._defs``. ``check(theorem)`` in each module reads the hypotheses
and the conclusion from this object (never a retyped copy), and ``render_theorem`` prints it. A
false variant of a theorem is the same object with one field changed (``with_claim``): the check
must reject it, and the printed text changes with it.

A check records what it proved in a ``Report``: identities at symbolic size, implications decided
by the SMT solver, inductions (base and step checked against the claim's own conclusion), sampled
instances, and named lemmas left to prose. A failed step raises ``ProofError`` naming the step,
with the rendered relation and, for a solver step, a concrete counterexample.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from proofs import _render, _smt


class ProofError(AssertionError):
    """A step of a proof check failed (an ``AssertionError``, so the runner reports it)."""


@dataclass(frozen=True)
class Claim:
    """One conclusion with its own hypotheses (in addition to the theorem's), its own bound
    variables and the definitions it uses. ``name`` is an identifier in words."""

    name: str
    conclusion: sp.Basic
    hypotheses: tuple = ()
    variables: tuple = ()
    definitions: tuple = ()


@dataclass(frozen=True)
class Theorem:
    """A statement as data; ``render_theorem(self)`` is its printed form."""

    id: str
    variables: tuple
    hypotheses: tuple
    claims: tuple[Claim, ...]
    definitions: tuple = ()
    lemmas: tuple[str, ...] = ()  # named standard lemmas left to prose (words only)

    def claim(self, name: str) -> Claim:
        """The claim called ``name`` (``ValueError`` for an unknown name)."""
        for c in self.claims:
            if c.name == name:
                return c
        raise ValueError(f"claim must be one of {[c.name for c in self.claims]}, got {name!r}")

    def with_claim(self, name: str, **changes) -> Theorem:
        """A copy with claim ``name``'s fields replaced (a false variant, for tests)."""
        self.claim(name)
        claims = tuple(dataclasses.replace(c, **changes) if c.name == name else c
                       for c in self.claims)
        return dataclasses.replace(self, claims=claims)

    def replace(self, **changes) -> Theorem:
        """A copy with theorem-level fields replaced."""
        return dataclasses.replace(self, **changes)

    def hypotheses_of(self, name: str) -> tuple:
        """The theorem's hypotheses followed by claim ``name``'s own."""
        return tuple(self.hypotheses) + tuple(self.claim(name).hypotheses)

    def render(self) -> str:
        """The printed statement (``proofs._render.render_theorem``)."""
        return _render.render_theorem(self)

    def expand(self, expr, claim: str | None = None):
        """``expr`` with the definitions (the theorem's, then claim ``claim``'s) whose left side
        is a symbol substituted, innermost first, derivatives evaluated once their argument is
        fully expanded."""
        defs = list(self.definitions) + (list(self.claim(claim).definitions) if claim else [])
        rules = {d.lhs: d.rhs for d in defs
                 if isinstance(d.lhs, (sp.Symbol, sp.MatrixSymbol, sp.Indexed))}
        resolved: dict = {}
        while len(resolved) < len(rules):
            ready = [lhs for lhs, rhs in rules.items() if lhs not in resolved
                     and not (_atoms(rhs) & (set(rules) - set(resolved)))]
            if not ready:
                raise ValueError(f"definitions of {self.id} are circular")
            for lhs in ready:
                resolved[lhs] = evaluate_derivatives(rules[lhs].xreplace(resolved))
        return evaluate_derivatives(expr.xreplace(resolved))


def _atoms(expr) -> set:
    """The symbols, matrix symbols and indexed entries occurring in ``expr``."""
    return set(expr.atoms(sp.Symbol, sp.MatrixSymbol, sp.Indexed))


@dataclass
class Report:
    """What a check proved, step by step (filled by the ``Report`` methods, read by the runner)."""

    theorem: Theorem
    identities: list[str] = field(default_factory=list)
    solver: list[str] = field(default_factory=list)
    inductions: list[str] = field(default_factory=list)
    instances: list[str] = field(default_factory=list)
    falsifier: dict = field(default_factory=dict)

    # -- symbolic identities -------------------------------------------------------------
    def identity(self, name: str, lhs, rhs) -> None:
        """Assert ``lhs = rhs`` as a rational identity (expand, cancel) at symbolic size."""
        if not is_zero(sp.sympify(lhs) - sp.sympify(rhs)):
            raise ProofError(f"{self.theorem.id} {name}: identity fails: "
                             f"{_render.render(sp.Eq(lhs, rhs, evaluate=False))}")
        self.identities.append(name)

    def matrix_identity(self, name: str, lhs, rhs) -> None:
        """Assert a matrix-expression identity (``block_collapse``/``doit``/``expand`` of the
        difference is a zero matrix, block by block) for symbolic shapes."""
        diff = sp.block_collapse(sp.sympify(lhs) - sp.sympify(rhs))
        blocks = list(diff.blocks) if isinstance(diff, sp.BlockMatrix) else [diff]
        for block in blocks:
            simplified = sp.expand(block.doit()).doit()
            if not (simplified == 0 or getattr(simplified, "is_ZeroMatrix", False)):
                raise ProofError(f"{self.theorem.id} {name}: matrix identity fails, "
                                 f"difference {_render.render(simplified)}")
        self.identities.append(name)

    def entrywise(self, name: str, A: sp.Matrix, B: sp.Matrix) -> None:
        """Assert explicit matrices equal entry by entry (rational identities); recorded under
        ``name`` with the identities."""
        if A.shape != B.shape:
            raise ProofError(f"{self.theorem.id} {name}: shapes {A.shape} and {B.shape} differ")
        for i in range(A.rows):
            for j in range(A.cols):
                if not is_zero(A[i, j] - B[i, j]):
                    raise ProofError(f"{self.theorem.id} {name}: entry {(i, j)} differs: "
                                     f"{_render.render(sp.Eq(A[i, j], B[i, j]))}")
        self.identities.append(name)

    def holds(self, name: str, fact: bool) -> None:
        """Assert a decided Python / sympy truth value (e.g. a structural zero); recorded under
        ``name`` with the identities (a step that passes shows in the report)."""
        if fact is not True and fact != sp.true:
            raise ProofError(f"{self.theorem.id} {name}: not established ({fact!r})")
        self.identities.append(name)

    # -- the solver ----------------------------------------------------------------------
    def implies(self, name: str, hypotheses: Iterable, conclusion, timeout_ms: int = 20000):
        """Decide ``hypotheses ⇒ conclusion`` over the reals (integers where the symbols are
        declared integer) with z3: the hypotheses plus the negated conclusion must be
        unsatisfiable. A satisfiable query raises with the solver's counterexample."""
        decision = _smt.decide(tuple(hypotheses), conclusion, timeout_ms=timeout_ms)
        if decision.verdict != "proved":
            detail = (f"counterexample {_render.render_counterexample(decision.model)}"
                      if decision.model else decision.verdict)
            raise ProofError(f"{self.theorem.id} {name}: the solver does not prove "
                             f"{_render.render(conclusion)} from the hypotheses ({detail})")
        self.solver.append(name)
        return decision

    def proves(self, name: str, hypotheses: Iterable, conclusion) -> bool:
        """Whether the solver proves ``hypotheses ⇒ conclusion`` (one decision; recorded under
        ``name`` when proved). An unproved implication is not an error here: the caller tries
        the next case or branch."""
        if conclusion is sp.true:
            return True
        if _smt.decide(tuple(hypotheses), conclusion).verdict != "proved":
            return False
        self.solver.append(name)
        return True

    def claim_follows(self, claim_name: str, step: str, established, extra=()) -> None:
        """The solver decides: (theorem hypotheses ∧ claim hypotheses ∧ ``established`` facts ∧
        ``extra``) ⇒ the claim's own conclusion object."""
        thm = self.theorem
        facts = tuple(established) if isinstance(established, (list, tuple)) else (established,)
        self.implies(f"{claim_name}: {step}",
                     thm.hypotheses_of(claim_name) + facts + tuple(extra),
                     thm.claim(claim_name).conclusion)

    def use_claim(self, source: str, target: str, rules: dict | None = None):
        """Claim ``source``'s conclusion as a fact in the proof of claim ``target``: the solver
        first decides that ``target``'s hypotheses imply each hypothesis of ``source`` (a proved
        fact is never used outside the conditions it was proved under). Returns the conclusion
        with ``rules`` (``xreplace``) applied."""
        thm = self.theorem
        for hypothesis in thm.hypotheses_of(source):
            self.implies(f"{target}: conditions of {source}", thm.hypotheses_of(target),
                         hypothesis.xreplace(rules) if rules else hypothesis)
        conclusion = thm.claim(source).conclusion
        return conclusion.xreplace(rules) if rules else conclusion

    # -- induction -----------------------------------------------------------------------
    def induction(self, name: str, predicate: Callable, var: sp.Symbol, base,
                  hypothesis_facts: Callable | None = None, *, prove_step: Callable) -> None:
        """Induction on the integer ``var`` from ``base``: ``predicate(value)`` returns the
        relation P(value) (built from the claim's own objects); the base P(base) must be an
        identity (an ``Eq`` whose sides agree), and ``prove_step(P(var), P(var + 1))`` must
        establish P(var + 1) from P(var) (it raises on failure)."""
        base_rel = predicate(base)
        _assert_relation_identity(self, f"{name}: base", base_rel)
        prove_step(predicate(var), predicate(var + 1))
        self.inductions.append(f"{name} (on {_render.render(var)}, from "
                               f"{_render.render(base)})")

    def instance(self, name: str) -> None:
        """Record a sampled instance (checked at fixed size: not part of the general proof)."""
        self.instances.append(name)


def _assert_relation_identity(report: Report, name: str, relation) -> None:
    """An induction's base: an equation whose sides agree as a rational identity (or that sympy
    already evaluated to true)."""
    if relation is sp.true:
        report.identities.append(name)
    elif isinstance(relation, sp.Equality):
        report.identity(name, relation.lhs, relation.rhs)
    else:
        raise ProofError(f"{report.theorem.id} {name}: not an identity: "
                         f"{_render.render(relation)}")


def evaluate_derivatives(expr):
    """Every unevaluated ``Derivative`` in ``expr`` replaced by sympy's ``diff`` (which, unlike
    ``Derivative.doit``, handles matrix-calculus gradients such as ∇_θ of a quadratic form)."""
    if not hasattr(expr, "replace"):
        return expr
    return expr.replace(lambda e: isinstance(e, sp.Derivative),
                        lambda e: sp.diff(e.expr, *e.variables))


def is_zero(expr) -> bool:
    """True iff ``expr`` is identically zero: rational expressions by expand and cancel; with
    symbolic exponents (y·y^t against y^(t+1)) by sympy's simplify as the fallback."""
    expanded = sp.expand(sp.sympify(expr))
    if expanded == 0 or sp.cancel(expanded) == 0:
        return True
    combined = sp.expand(sp.powsimp(sp.sympify(expr)))
    return combined == 0 or sp.simplify(combined) == 0


# -- the numeric falsifier --------------------------------------------------------------
def _numeric(value):
    return np.asarray(value, dtype=float)


def evaluate_relation(relation, values: dict, rtol: float = 1e-9) -> bool:
    """Evaluate a relation (or And/Or of relations) of the statement on numbers: ``values`` maps
    the relation's free symbols (scalars, MatrixSymbols, IndexedBases) to floats / arrays.
    Equalities and inequalities get a tolerance of ``rtol`` times the scale of both sides (float64
    round-off of the independent numpy computations that produced ``values``, e.g. eigenvalues of
    matrices whose entries are O(1): ≈ 1e-13 relative, so 1e-9 leaves room without hiding an
    error of a constant factor or a dropped term, which is O(1) relative)."""
    if relation is sp.true or relation is True:
        return True
    if relation is sp.false or relation is False:
        return False
    if isinstance(relation, sp.And):
        return all(evaluate_relation(a, values, rtol) for a in relation.args)
    if isinstance(relation, sp.Or):
        return any(evaluate_relation(a, values, rtol) for a in relation.args)
    if isinstance(relation, sp.Not):
        return not evaluate_relation(relation.args[0], values, rtol)
    if isinstance(relation, sp.Implies):
        return (not evaluate_relation(relation.args[0], values, rtol)
                or evaluate_relation(relation.args[1], values, rtol))
    if not isinstance(relation, sp.core.relational.Relational):
        raise ValueError(f"relation must be a sympy relation or boolean, got {relation!r}")
    lhs, rhs = (evaluate_expr(side, values) for side in (relation.lhs, relation.rhs))
    scale = max(1.0, float(np.max(np.abs(lhs), initial=0.0)),
                float(np.max(np.abs(rhs), initial=0.0)))
    tol = rtol * scale
    if isinstance(relation, sp.Equality):
        return bool(np.all(np.abs(lhs - rhs) <= tol))
    if isinstance(relation, sp.Unequality):
        return bool(np.any(np.abs(lhs - rhs) > tol))
    if isinstance(relation, (sp.LessThan, sp.StrictLessThan)):
        return bool(np.all(lhs <= rhs + tol))
    return bool(np.all(lhs + tol >= rhs))  # GreaterThan, StrictGreaterThan


def strict_relation_holds(relation, values: dict) -> bool:
    """A hypothesis evaluated without tolerance (an instance must satisfy it exactly as drawn)."""
    return evaluate_relation(relation, values, rtol=0.0)


def _sum_value(total, values: dict) -> float:
    """A sum's value. A summand free of the sum's indices is counted as many times as the
    limits give. Otherwise the summand is evaluated vectorized (an indexed entry's value is the
    array of all its entries, possibly also spanning outer sums' indices) and all its terms are
    added; their number must be a multiple of the number of indices the limits give (a sum
    whose limits do not match the values is refused)."""
    count = 1
    for _, lo, hi in total.limits:
        count *= int(round(float(evaluate_expr(hi - lo + 1, values))))
    indices = {index for index, _, _ in total.limits}
    summand = evaluate_expr(total.function, values)
    if not (total.function.free_symbols & indices):
        return float(np.sum(summand)) * count
    size = int(np.size(summand))
    if size > 1 and (count == 0 or size % count):
        raise ValueError(f"a sum over {count} indices has {size} terms: the values do not "
                         f"match the limits {total.limits}")
    return float(np.sum(summand))


def evaluate_expr(expr, values: dict):
    """Numeric value of a sympy (matrix) expression with numpy (float64). ``values`` maps
    symbols and matrix symbols to numbers / arrays, and an indexed entry such as ``λ[j]`` to
    the array of all its entries (a generic-index relation then holds entrywise); a sum over
    that index is the numpy sum of its vectorized summand. Any other atom that is not a symbol
    (a ``Derivative``, a function application) may be given a value the same way."""
    expr = sp.sympify(expr)
    replacements: dict = {}
    local = {k: (np.asarray(v, dtype=float) if isinstance(v, (list, tuple)) else v)
             for k, v in values.items()}
    values = local
    for total in sorted(expr.atoms(sp.Sum), key=lambda e: len(str(e))):
        dummy = sp.Dummy()
        local[dummy] = _sum_value(total, values)
        replacements[total] = dummy
    for det in expr.atoms(sp.Determinant):  # numpy's determinant of the evaluated argument
        dummy = sp.Dummy()
        local[dummy] = float(np.linalg.det(evaluate_expr(det.arg, values)))
        replacements[det] = dummy
    # an indexed entry, or any other non-symbol atom given a value (e.g. a derivative)
    given = [key for key in values if isinstance(key, sp.Basic)
             and not isinstance(key, (sp.Symbol, sp.MatrixSymbol)) and expr.has(key)]
    for entry in given:
        dummy = sp.Dummy()
        local[dummy] = values[entry]
        replacements[entry] = dummy
    # integer symbols (sizes) become numbers, so that I_N and shapes are concrete
    sizes = {sym: sp.Integer(int(value)) for sym, value in values.items()
             if isinstance(sym, sp.Symbol) and sym.is_integer and np.ndim(value) == 0}
    expr = expr.xreplace(replacements).xreplace(sizes)
    expr = expr.doit() if expr.atoms(sp.Identity) else expr
    # a size inside a scalar factor may leave 1·K: let the matrix products simplify again
    expr = expr.replace(lambda e: isinstance(e, (sp.MatMul, sp.MatAdd)),
                        lambda e: e.doit(deep=False))
    local.update({key.xreplace(sizes): value for key, value in list(local.items())
                  if isinstance(key, sp.MatrixSymbol)})
    symbols = sorted(expr.free_symbols | set(expr.atoms(sp.MatrixSymbol)), key=str)
    missing = [s for s in symbols if s not in local]
    if missing:
        raise ValueError(f"values must give every free symbol; missing {missing}")
    fn = sp.lambdify(symbols, expr, modules="numpy")
    # numpy evaluates every branch of a Piecewise (numpy.select): a division by zero in a branch
    # that is not taken is discarded; one in the taken branch gives inf or nan, and a relation
    # with nan is false (reported as a violation)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _numeric(fn(*[local[s] for s in symbols]))


def falsify(theorem: Theorem, draw: Callable, trials: int, seed: int = 0) -> dict:
    """Evaluate every claim of ``theorem`` on ``trials`` random instances.

    ``draw(rng, trial)`` returns ``{claim name: values}`` for the claims it can instantiate, with
    ``values`` a dict of numbers for the claim's symbols computed by independent float64 numpy
    code. An instance whose hypotheses do not hold is skipped (counted apart); a conclusion that
    fails on an instance satisfying the hypotheses is a violation. Returns counts per claim:
    ``{name: {"checked": c, "skipped": s, "violations": [...]}}``."""
    rng = np.random.default_rng(seed)
    counts: dict = {c.name: {"checked": 0, "skipped": 0, "violations": []}
                    for c in theorem.claims}
    for trial in range(trials):
        for name, values in draw(rng, trial).items():
            entry = counts[name]
            if not all(strict_relation_holds(h, values) for h in theorem.hypotheses_of(name)):
                entry["skipped"] += 1
                continue
            entry["checked"] += 1
            if not evaluate_relation(theorem.claim(name).conclusion, values):
                entry["violations"].append(trial)
    return counts


__all__ = ["Claim", "ProofError", "Report", "Theorem", "evaluate_expr", "evaluate_relation",
           "falsify", "is_zero"]
