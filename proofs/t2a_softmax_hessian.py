r"""T2a — bounds on the softmax cross-entropy output Hessian (lemma for T2), for every k.

Statement
---------
For p in the open simplex (p_c > 0, Σ_c p_c = 1, k ≥ 2 classes) let ``H = diag p − ppᵀ``. Then
``H𝟙 = 0`` and, for every x ⊥ 𝟙,

    p_min ‖x‖² ≤ xᵀHx ≤ min(p_max, ½) ‖x‖².

So with ``P = I − 𝟙𝟙ᵀ/k``: ``H = PHP`` and ``p_min P ≼ H ≼ min(p_max, ½) P``.

Proof
-----
``(H𝟙)_c = p_c − p_c Σ_e p_e = 0``. Write ``x̄ = Σ_c p_c x_c``, m = p_min, M = p_max.
(L) for x ⊥ 𝟙 (Σ_c x_c = 0):
    xᵀHx − m‖x‖² = Σ_e (p_e − m)(x_e − x̄)² + k·m·x̄² − 2m·x̄·(Σ_e x_e),
and the last term vanishes on 𝟙^⊥; the others are ≥ 0 (p_e − m ≥ 0, m ≥ 0, squares).
(U1) any x:  M‖x‖² − xᵀHx = Σ_e (M − p_e) x_e² + x̄².
(U2) any x:  ½‖x‖² − xᵀHx = ½ Σ_e (1 − 2p_e)² x_e² + Σ_{e<f} p_e p_f (x_e + x_f)².
Each is an identity of quadratic forms in x, proved by comparing the coefficient of x_c² and of
x_c x_d (c ≠ d) for generic classes c, d, where sums over the other classes use
Σ_{e≠c} p_e = 1 − p_c and Σ_{e∉{c,d}} p_e = 1 − p_c − p_d (the only place Σ p = 1 enters).
Restricting to the invariant subspace 𝟙^⊥ (H𝟙 = 0, H symmetric) gives the Loewner form. The
constants are sharp: if two classes tie at the minimum, x = e_1 − e_2 gives xᵀHx/‖x‖² = p_min;
p = (⅓, ⅓, ⅓) and p = (½, ½) attain min(p_max, ½). ∎

What ``check()`` proves at general size
---------------------------------------
All three identities for *symbolic* k by coefficient comparison: every quadratic form is built
from five primitives (Σ_e f(p_e)x_e², (Σ_e ℓ(p_e)x_e)², Σ_e w(p_e)(x_e − Σ_f ℓ(p_f)x_f)²,
Σ_{e<f} w(p_e, p_f)(x_e + x_f)², (Σ_e x_e)(Σ_f ℓ(p_f)x_f)) whose generic coefficients of x_c² and
x_c x_d are computed with the sum rules above (a sum over "the other classes" is only formed of
expressions affine in p_e, else the check refuses). Each primitive's coefficient formulas are
validated against sympy's expansion at k = 3 and 4 (so a wrong primitive fails). Certificates
use only nonnegative coefficients, the atoms p_e − m, M − p_e, p_e p_f, m and squares; the
constraint term (Σ x)(…) is allowed only in (L). H𝟙 = 0 for symbolic k. The sharpness witnesses
refute any larger lower constant (e.g. 2·p_min·p_max at p = (.01, .01, .98)). Each certificate is
declared once as a list of (primitive, weight); the identity and the weight check read the same
list, and a weight counts as ≥ 0 only if it factors into numbers ≥ 0, even powers and hypothesis
quantities (p_e − p_min, p_max − p_e, p_e, p_f, p_min, k) — so xᵀHx ≤ p_min‖x‖², whose (U1)
identity holds with weight p_min − p_e, is rejected by the weight check.
Named lemma (prose): the WLOG labelling is not needed — m and M are symbols with p_e − m ≥ 0,
M − p_e ≥ 0 for every e; restriction of a quadratic form to an invariant subspace.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from proofs._sym import assert_identity, assert_true, choose_variant, fmt

ID = "T2a"
CHECKED = (
    "certificates (L), (U1), (U2) for symbolic k by coefficient comparison "
    "(x_c², x_c x_d); sharpness witnesses"
)
GENERAL = (
    "H𝟙 = 0 and the three certificates (L), (U1), (U2) for symbolic k (any number of "
    "classes), coefficient comparison with Σ_{e∉{c,d}} p_e = 1 − p_c − p_d; every weight the "
    "certificates use is ≥ 0 by factoring into hypothesis quantities"
)
INDUCTION = ""
LEMMAS = (
    "restriction of a quadratic form to an invariant subspace (H𝟙 = 0 ⇒ Loewner form on 𝟙^⊥)",
)
MUTANTS = {
    "lower_constant_doubled": "claims 2·p_min‖x‖² ≤ xᵀHx",
    "lower_2_pmin_pmax": "claims 2·p_min·p_max‖x‖² ≤ xᵀHx (false for k = 3, p = (.01, .01, .98))",
    "upper_half_to_quarter": "claims xᵀHx ≤ ¼‖x‖²",
    "hessian_sign_flipped": "uses H = diag p + ppᵀ (swapped sign of the rank-one term)",
    "sum_rule_wrong": "uses Σ_{e∉{c,d}} p_e = 1 − p_c (forgets p_d) in the coefficient comparison",
    "upper_pmin": "claims xᵀHx ≤ p_min‖x‖² (its (U1) identity holds; its weight p_min − p_e < 0)",
}

k = sp.Symbol("k", integer=True, positive=True)
p_c, p_d, p_e, p_f = sp.symbols("p_c p_d p_e p_f", positive=True)
m, M = sp.symbols("m M", positive=True)  # p_min, p_max


@dataclass(frozen=True)
class QForm:
    """A permutation-symmetric quadratic form in x ∈ R^k given by its generic coefficients:
    ``diag`` = coefficient of x_c² (a function of p_c), ``off`` = coefficient of x_c x_d for
    c ≠ d (a symmetric function of p_c, p_d); both may involve k, m, M."""

    diag: sp.Expr
    off: sp.Expr

    def __add__(self, other: QForm) -> QForm:
        return QForm(self.diag + other.diag, self.off + other.off)

    def __sub__(self, other: QForm) -> QForm:
        return QForm(self.diag - other.diag, self.off - other.off)

    def scale(self, c) -> QForm:
        return QForm(c * self.diag, c * self.off)


_SUM_RULE_VARIANT: list[str | None] = [None]


def sum_others(f, excluded: tuple) -> sp.Expr:
    """Σ_{e ∉ excluded} f(p_e) for f affine in p_e: (k − |excluded|)·f(0) + f′·(1 − Σ excluded)."""
    expr = sp.expand(f(p_e))
    poly = sp.Poly(expr, p_e)
    if poly.degree() > 1:
        raise AssertionError(f"sum over the other classes of a non-affine term {expr}")
    slope, const = poly.coeff_monomial(p_e), poly.coeff_monomial(1)
    rest = 1 - sum(excluded)
    if _SUM_RULE_VARIANT[0] == "sum_rule_wrong" and len(excluded) == 2:
        rest = 1 - excluded[0]
    return (k - len(excluded)) * const + slope * rest


def weighted_norm(f) -> QForm:
    """Σ_e f(p_e) x_e²."""
    return QForm(f(p_c), sp.Integer(0))


def square_of_linear(ell) -> QForm:
    """(Σ_e ℓ(p_e) x_e)²."""
    return QForm(ell(p_c) ** 2, 2 * ell(p_c) * ell(p_d))


def shifted_squares(w, ell) -> QForm:
    """Σ_e w(p_e)(x_e − Σ_f ℓ(p_f) x_f)²: the e = c (and e = d) terms explicitly, the others
    through ``sum_others``."""
    lc, ld = ell(p_c), ell(p_d)
    diag = w(p_c) * (1 - lc) ** 2 + lc**2 * sum_others(w, (p_c,))
    off = (
        -2 * w(p_c) * (1 - lc) * ld
        - 2 * w(p_d) * (1 - ld) * lc
        + 2 * lc * ld * sum_others(w, (p_c, p_d))
    )
    return QForm(diag, off)


def pair_squares(w) -> QForm:
    """Σ_{e<f} w(p_e, p_f)(x_e + x_f)² (w symmetric)."""
    return QForm(sum_others(lambda q: w(p_c, q), (p_c,)), 2 * w(p_c, p_d))


def constraint_term(ell) -> QForm:
    """(Σ_e x_e)(Σ_f ℓ(p_f) x_f) — zero on 𝟙^⊥."""
    return QForm(ell(p_c), ell(p_c) + ell(p_d))


def hessian_form(variant: str | None = None) -> QForm:
    """xᵀ(diag p − ppᵀ)x (mutant: + ppᵀ)."""
    sign = 1 if variant == "hessian_sign_flipped" else -1
    return weighted_norm(lambda q: q) + square_of_linear(lambda q: q).scale(sign)


def assert_same_form(lhs: QForm, rhs: QForm, what: str) -> None:
    assert_identity(lhs.diag, rhs.diag, f"{what}: coefficient of x_c²")
    assert_identity(lhs.off, rhs.off, f"{what}: coefficient of x_c x_d")


def _validate_primitives() -> None:
    """Each primitive's generic coefficients = sympy's expansion at k = 3, 4 (p on the simplex)."""
    for kk in (3, 4):
        ps = list(sp.symbols(f"q1:{kk + 1}", positive=True))
        xs = list(sp.symbols(f"x1:{kk + 1}", real=True))
        simplex = {ps[-1]: 1 - sum(ps[:-1])}
        w = lambda q: q - m  # noqa: E731
        ell = lambda q: q  # noqa: E731
        explicit = {
            "weighted_norm": (
                weighted_norm(lambda q: q * (1 - q)),
                sum(pp * (1 - pp) * x**2 for pp, x in zip(ps, xs, strict=True)),
            ),
            "square_of_linear": (
                square_of_linear(ell),
                sum(pp * x for pp, x in zip(ps, xs, strict=True)) ** 2,
            ),
            "shifted_squares": (
                shifted_squares(w, ell),
                sum(
                    w(pe) * (xe - sum(pf * xf for pf, xf in zip(ps, xs, strict=True))) ** 2
                    for pe, xe in zip(ps, xs, strict=True)
                ),
            ),
            "pair_squares": (
                pair_squares(lambda a, b: a * b),
                sum(
                    ps[e] * ps[f] * (xs[e] + xs[f]) ** 2
                    for e in range(kk)
                    for f in range(e + 1, kk)
                ),
            ),
            "constraint_term": (
                constraint_term(ell),
                sum(xs) * sum(pp * x for pp, x in zip(ps, xs, strict=True)),
            ),
        }
        for name, (form, expr) in explicit.items():
            poly = sp.Poly(sp.expand(expr), *xs)
            at = {p_c: ps[0], p_d: ps[1], k: kk}
            assert_identity(
                form.diag.subs(at).subs(simplex),
                poly.coeff_monomial(xs[0] ** 2).subs(simplex),
                f"primitive {name}: x_c² coefficient at k = {kk}",
            )
            assert_identity(
                form.off.subs(at).subs(simplex),
                poly.coeff_monomial(xs[0] * xs[1]).subs(simplex),
                f"primitive {name}: x_c x_d coefficient at k = {kk}",
            )


def _as_fn(weight):
    """A weight given as an expression in p_e (and p_f) as a function of the class variables."""
    def fn(q, r=None):
        if r is None:
            return weight.subs(p_e, q)
        return weight.subs({p_e: q, p_f: r}, simultaneous=True)

    return fn


def certificate_form(terms) -> QForm:
    """Σ of primitive forms with the given weights: terms = [(primitive name, weight)], the
    weight an expression in p_e (and p_f for pair_squares, a constant for square_of_linear)."""
    total = QForm(sp.Integer(0), sp.Integer(0))
    for name, weight in terms:
        w = _as_fn(sp.sympify(weight))
        if name == "weighted_norm":
            form = weighted_norm(w)
        elif name == "shifted_squares":
            form = shifted_squares(w, lambda q: q)
        elif name == "square_of_linear":
            form = square_of_linear(lambda q: q).scale(weight)
        elif name == "pair_squares":
            form = pair_squares(w)
        elif name == "constraint_term":
            form = constraint_term(lambda q: q).scale(weight)
        else:
            raise ValueError(name)
        total = total + form
    return total


def lower_terms(a):
    """(L): xᵀHx − a‖x‖² = Σ_e(p_e − m)(x_e − x̄)² + k·m·x̄² − 2m·x̄·Σx (x ⊥ 𝟙)."""
    return [("shifted_squares", p_e - m), ("square_of_linear", k * m), ("constraint_term", -2 * m)]


def upper_terms(b_pmax, b_half):
    """(U1) b‖x‖² − xᵀHx = Σ_e(b − p_e)x_e² + x̄² and (U2) ½‖x‖² − xᵀHx = ½Σ_e(1 − 2p_e)²x_e² +
    Σ_{e<f} p_e p_f (x_e + x_f)²: the weights of (U1) are computed from the claimed b."""
    return ([("weighted_norm", b_pmax - p_e), ("square_of_linear", 1)],
            [("weighted_norm", (1 - 2 * p_e) ** 2 / 2), ("pair_squares", p_e * p_f)])


# Quantities the hypotheses make ≥ 0: p_min ≤ p_e ≤ p_max for every class, p > 0, k ≥ 1.
_NONNEG = (p_e - m, M - p_e, m, M, k, p_e, p_f)


def certify_weight(weight, what: str) -> None:
    """The weight of a square in a certificate is ≥ 0: after factoring, each factor is a number
    ≥ 0, a hypothesis quantity (p_e − p_min, p_max − p_e, p_e, p_f, p_min, k), or an even power."""
    for factor in sp.Mul.make_args(sp.factor(sp.sympify(weight))):
        if factor.is_number:
            ok = factor.is_nonnegative
        elif isinstance(factor, sp.Pow) and factor.exp.is_integer and factor.exp.is_even:
            ok = True
        else:
            ok = any(sp.expand(factor - atom) == 0 for atom in _NONNEG)
        if not ok:
            raise AssertionError(
                f"certificate weight {weight} is not ≥ 0 (factor {factor}): {what}")


def _check_certificate_weights(*certificates) -> None:
    """Every weight that multiplies a square in the certificates actually used is ≥ 0 (the
    constraint term, zero on 𝟙^⊥, is exempt and allowed only in (L))."""
    for label, terms in certificates:
        for name, weight in terms:
            if name == "constraint_term":
                assert_true(label == "(L)", f"{label}: constraint term only on 𝟙^⊥")
                continue
            certify_weight(weight, f"{label} weight of {name}")


def lower_certificate(a, variant: str | None = None) -> None:
    """(L) for the claimed a: xᵀHx − a‖x‖² equals the certificate form."""
    target = hessian_form(variant) - weighted_norm(lambda q: a)
    assert_same_form(target, certificate_form(lower_terms(a)),
                     "(L) xᵀHx − a‖x‖² certificate (x ⊥ 𝟙)")


def upper_certificates(b_pmax, b_half, variant: str | None = None) -> None:
    """(U1) with constant b_pmax and (U2) with constant b_half."""
    H = hessian_form(variant)
    u1, u2 = upper_terms(b_pmax, b_half)
    assert_same_form(weighted_norm(lambda q: b_pmax) - H, certificate_form(u1),
                     "(U1) p_max‖x‖² − xᵀHx certificate")
    assert_same_form(weighted_norm(lambda q: b_half) - H, certificate_form(u2),
                     "(U2) ½‖x‖² − xᵀHx certificate")


def claimed_constants(variant: str | None = None):
    """(a, b_pmax, b_half) in terms of m = p_min, M = p_max."""
    a = {"lower_constant_doubled": 2 * m, "lower_2_pmin_pmax": 2 * m * M}.get(variant, m)
    if variant == "upper_pmin":
        return a, m, sp.Rational(1, 2)
    half = sp.Rational(1, 4) if variant == "upper_half_to_quarter" else sp.Rational(1, 2)
    return a, M, half


def sharpness_witnesses(a, b_pmax, b_half) -> None:
    """Exact instances where xᵀHx/‖x‖² equals the claimed-optimal constants: a claimed lower
    constant must not exceed the ratio there, a claimed upper constant must not be below it."""
    for probs in (
        [sp.Rational(1, 100), sp.Rational(1, 100), sp.Rational(98, 100)],
        [sp.Rational(1, 10)] * 2 + [sp.Rational(8, 10)],
        [sp.Rational(1, 3)] * 3,
        [sp.Rational(1, 2)] * 2,
        [sp.Rational(1, 5), sp.Rational(1, 5), sp.Rational(3, 10), sp.Rational(3, 10)],
    ):
        pv = sp.Matrix(probs)
        H = sp.diag(*probs) - pv * pv.T
        x = sp.zeros(len(probs), 1)
        x[0], x[1] = 1, -1  # classes 0, 1 tie at the minimum
        ratio = (x.T * H * x)[0, 0] / (x.T * x)[0, 0]
        at = {m: min(probs), M: max(probs)}
        assert_true(
            bool(sp.sympify(a).subs(at) <= ratio),
            f"lower constant {a} ≤ attained ratio {ratio} at p = {probs}",
        )
        if max(probs) == min(probs):  # here the ratio equals p_max and (k = 2) also ½
            upper = min(sp.sympify(b_pmax).subs(at), sp.sympify(b_half))
            assert_true(bool(upper >= ratio), f"upper constant ≥ attained ratio at p = {probs}")


def check(variant: str | None = None) -> None:
    """Verify T2a for symbolic k; raise AssertionError on failure."""
    variant = choose_variant(variant, MUTANTS)
    _SUM_RULE_VARIANT[0] = variant
    try:
        _validate_primitives()
        # H𝟙 = 0: (H𝟙)_c = p_c − p_c·Σ_e p_e, with Σ_e p_e = p_c + Σ_{e≠c} p_e (sum rule).
        sign = 1 if variant == "hessian_sign_flipped" else -1
        row_sum = p_c + sign * p_c * (p_c + sum_others(lambda q: q, (p_c,)))
        assert_identity(row_sum, 0, "H𝟙 = 0 (symbolic k)")
        a, b_pmax, b_half = claimed_constants(variant)
        u1, u2 = upper_terms(b_pmax, b_half)
        _check_certificate_weights(("(L)", lower_terms(a)), ("(U1)", u1), ("(U2)", u2))
        lower_certificate(a, variant)
        upper_certificates(b_pmax, b_half, variant)
        sharpness_witnesses(a, b_pmax, b_half)
    finally:
        _SUM_RULE_VARIANT[0] = None


def statement(variant: str | None = None) -> str:
    """The printed statement, generated from the claims the check verifies."""
    a, b_pmax, b_half = claimed_constants(variant)
    disp = {m: sp.Symbol("p_min"), M: sp.Symbol("p_max")}
    sign = "+" if variant == "hessian_sign_flipped" else "−"
    return (f"H = diag p {sign} ppᵀ, x ⊥ 𝟙: {fmt(sp.sympify(a).subs(disp))}·‖x‖² ≤ xᵀHx ≤ "
            f"min({fmt(sp.sympify(b_pmax).subs(disp))}, {fmt(b_half)})·‖x‖²; H𝟙 = 0 "
            "(any number of classes k)")


STATEMENT = statement()
