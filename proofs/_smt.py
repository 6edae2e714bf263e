"""Implications between real polynomial / rational (in)equalities, decided by z3.

``decide(hypotheses, conclusion)`` asks z3 (nonlinear real arithmetic, nlsat) whether the
hypotheses together with the negated conclusion are satisfiable:

- unsat: the implication holds for every real assignment (integer for symbols declared
  ``integer=True``): verdict ``"proved"``;
- sat: a concrete counterexample (``model``: symbol → exact rational), verdict ``"refuted"``;
- unknown / timeout: verdict ``"unknown"`` (never counted as proved).

Only a symbol's integrality is read off its sympy assumptions. Signs (``positive=True``,
``nonnegative=True``) are *not*: every sign fact the solver may use must be a hypothesis, so it is
printed with the statement. Division ``a/b`` is sent as z3's real division, for which z3 treats
``b = 0`` as an unconstrained value; to keep a proof from resting on that, ``decide`` adds
``b ≠ 0`` for every denominator to the *hypotheses only when the hypotheses already imply it*,
and otherwise reports the denominator as an unmet side condition (verdict ``"unknown"``).
Supported: +, ·, integer powers (negative ones as division), rational constants, Min, Max, Abs,
Piecewise, ≤ < ≥ > = ≠, And, Or, Not, Implies; any other term (a sum with symbolic limits, a power
with a symbolic exponent, an exponential) is abstracted as a fresh real variable (sound for
proving; a counterexample that uses one is reported as "unknown"). A relation between two integer
polynomials (integer symbols and constants under +, ·, natural powers: layer and unit indices)
stays in z3's integer arithmetic: through ToReal, z3 returns "unknown" even on linear index facts
such as q ≤ r + 1 ∧ q ≠ r + 1 ⇒ q ≤ r.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import sympy as sp
import z3


@dataclass(frozen=True)
class Decision:
    """The solver's answer: ``verdict`` in {"proved", "refuted", "unknown"}; ``model`` holds a
    counterexample (sympy symbol → sympy Rational) when refuted; ``reason`` says why unknown."""

    verdict: str
    model: dict = field(default_factory=dict)
    reason: str = ""


class _Translator:
    def __init__(self):
        self.vars: dict = {}
        self.denominators: list = []
        self.abstracted: list = []

    def var(self, sym):
        if sym not in self.vars:
            make = z3.Int if sym.is_integer else z3.Real
            self.vars[sym] = make(str(sym))
        return self.vars[sym]

    def __call__(self, e):  # noqa: C901 - one dispatch on the node type
        e = sp.sympify(e)
        if e is sp.true or e == sp.true:
            return z3.BoolVal(True)
        if e is sp.false or e == sp.false:
            return z3.BoolVal(False)
        if isinstance(e, (sp.Symbol, sp.Indexed)):
            return self.var(e)  # an indexed symbol stands for one generic entry
        if isinstance(e, (sp.Integer, sp.Rational)):
            return z3.RealVal(str(e.p)) / z3.RealVal(str(e.q)) if e.q != 1 \
                else z3.RealVal(str(e.p))
        if isinstance(e, sp.Float):
            frac = Fraction(str(e))
            return z3.RealVal(frac.numerator) / z3.RealVal(frac.denominator)
        if isinstance(e, sp.Add):
            return z3.Sum([self._real(a) for a in e.args])
        if isinstance(e, sp.Mul):
            return z3.Product([self._real(a) for a in e.args])
        if isinstance(e, sp.Pow):
            exp = e.exp
            if not (exp.is_Integer):
                return self.opaque(e)
            base = self._real(e.base)
            power = int(exp)
            if power == 0:
                return z3.RealVal(1)
            out = base
            for _ in range(abs(power) - 1):
                out = out * base
            if power < 0:
                self.denominators.append(out)
                return z3.RealVal(1) / out
            return out
        if isinstance(e, sp.Max):
            args = [self._real(a) for a in e.args]
            out = args[0]
            for a in args[1:]:
                out = z3.If(a > out, a, out)
            return out
        if isinstance(e, sp.Min):
            args = [self._real(a) for a in e.args]
            out = args[0]
            for a in args[1:]:
                out = z3.If(a < out, a, out)
            return out
        if isinstance(e, sp.Abs):
            a = self._real(e.args[0])
            return z3.If(a >= 0, a, -a)
        if isinstance(e, sp.Piecewise):
            out = None
            for expr, cond in reversed(e.args):
                value = self._real(expr)
                out = value if out is None else z3.If(self(cond), value, out)
            return out
        if isinstance(e, tuple(_RELATIONS)) and None not in (sides := self._integer_sides(e)):
            return _RELATIONS[type(e)](*sides)  # both sides integer: z3's integer arithmetic
        if isinstance(e, sp.Equality):
            return self._real(e.lhs) == self._real(e.rhs)
        if isinstance(e, sp.Unequality):
            return self._real(e.lhs) != self._real(e.rhs)
        if isinstance(e, sp.LessThan):
            return self._real(e.lhs) <= self._real(e.rhs)
        if isinstance(e, sp.StrictLessThan):
            return self._real(e.lhs) < self._real(e.rhs)
        if isinstance(e, sp.GreaterThan):
            return self._real(e.lhs) >= self._real(e.rhs)
        if isinstance(e, sp.StrictGreaterThan):
            return self._real(e.lhs) > self._real(e.rhs)
        if isinstance(e, sp.And):
            return z3.And([self(a) for a in e.args])
        if isinstance(e, sp.Or):
            return z3.Or([self(a) for a in e.args])
        if isinstance(e, sp.Not):
            return z3.Not(self(e.args[0]))
        if isinstance(e, sp.Implies):
            return z3.Implies(self(e.args[0]), self(e.args[1]))
        if isinstance(e, sp.Expr):
            return self.opaque(e)
        raise ValueError(f"expression outside the solver's fragment: {e!r}")

    def opaque(self, e):
        """A term outside real arithmetic (a sum with symbolic limits, a symbolic power, an
        exponential) stands for a fresh real variable, the same one wherever it occurs. Sound
        for proving: every real model of the formula gives a model of the abstraction, so an
        unsat abstraction means the implication holds. A counterexample may then be spurious,
        and says so."""
        if e not in self.vars:
            self.vars[e] = z3.Real(f"[{e}]")
            self.abstracted.append(e)
        return self.vars[e]

    def _integer_sides(self, relation):
        return self._integer(relation.lhs), self._integer(relation.rhs)

    def _integer(self, e):
        """An integer polynomial (integer constants and symbols under +, · and natural powers) in
        z3's integer sort, or None. Relations between two such terms stay in integer arithmetic
        (the same relation as over the reals, but z3 decides it far better than through
        ToReal)."""
        e = sp.sympify(e)
        if isinstance(e, sp.Integer):
            return z3.IntVal(int(e))
        if isinstance(e, (sp.Symbol, sp.Indexed)):
            return self.var(e) if e.is_integer else None
        if isinstance(e, (sp.Add, sp.Mul)):
            parts = [self._integer(arg) for arg in e.args]
            if None in parts:
                return None
            return z3.Sum(parts) if isinstance(e, sp.Add) else z3.Product(parts)
        if isinstance(e, sp.Pow) and e.exp.is_Integer and e.exp > 0:
            base = self._integer(e.base)
            return None if base is None else z3.Product([base] * int(e.exp))
        return None

    def _real(self, e):
        value = self(e)
        if z3.is_int(value):
            return z3.ToReal(value)
        return value


_RELATIONS = {
    sp.Equality: lambda x, y: x == y, sp.Unequality: lambda x, y: x != y,
    sp.LessThan: lambda x, y: x <= y, sp.StrictLessThan: lambda x, y: x < y,
    sp.GreaterThan: lambda x, y: x >= y, sp.StrictGreaterThan: lambda x, y: x > y,
}


def _to_sympy(value):
    if z3.is_int_value(value):
        return sp.Integer(value.as_long())
    if z3.is_rational_value(value):
        return sp.Rational(value.numerator_as_long(), value.denominator_as_long())
    if z3.is_algebraic_value(value):
        return sp.Float(value.approx(20).as_decimal(20).rstrip("?"))
    return sp.sympify(str(value))


def decide(hypotheses, conclusion, timeout_ms: int = 20000) -> Decision:
    """Decide ``∧ hypotheses ⇒ conclusion`` (see the module docstring)."""
    tr = _Translator()
    hyps = [tr(h) for h in hypotheses]
    concl = tr(conclusion)
    solver = z3.Solver()
    solver.set("timeout", int(timeout_ms))
    solver.add(*hyps)
    # every denominator must be nonzero under the hypotheses (a side condition, itself decided)
    for den in tr.denominators:
        side = z3.Solver()
        side.set("timeout", int(timeout_ms))
        side.add(*hyps, den == 0)
        if side.check() != z3.unsat:
            return Decision("unknown", reason=f"a denominator may vanish: {den}")
        solver.add(den != 0)
    solver.add(z3.Not(concl))
    result = solver.check()
    if result == z3.unsat:
        return Decision("proved")
    if result == z3.sat:
        model = solver.model()
        values = {sym: _to_sympy(model.eval(v, model_completion=True))
                  for sym, v in tr.vars.items()}
        if tr.abstracted:
            return Decision("unknown", model=values,
                            reason="counterexample over abstracted terms (may be spurious)")
        return Decision("refuted", model=values)
    return Decision("unknown", reason=solver.reason_unknown())


__all__ = ["Decision", "decide"]
