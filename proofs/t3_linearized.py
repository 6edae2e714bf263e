r"""T3 — Hessian of the linearized network is its GGN; Gauss–Newton split of the true Hessian.

Statement (THEORY.md T3, as data in ``THEOREM``)
-------------------------------------------------
A smooth model f with k outputs on n samples (output c of sample i: ``f(i, c, θ_a, θ_b)``; the
output vector ``f(i, θ_a, θ_b)``) and a smooth per-sample loss ``ℓ(i, u)`` of the output vector;
``θ_a, θ_b`` is any pair of parameters (the others held fixed; a Hessian entry involves two). All
objects come from ``proofs._defs``: ``L := (1/n) Σ_{i=0}^{n−1} ℓ(i, f(i, θ))``
(``empirical_loss``), ``Ĝ_ab`` the (a, b) entry of ``ggn(J, H, n) = (1/n) JᵀHJ`` with
``J_{(i,c),a} = ∂f(i, c)/∂θ_a`` and ``H = blockdiag(∂²ℓ/∂u∂u(i, f(i, θ)))`` (``ggn_entry``), and
``R_ab := (1/n) Σ_i Σ_c ∂ℓ/∂u_c(i, f(i, θ)) ∂²f(i, c)/∂θ_a∂θ_b`` (``residual_entry``).

(real) ``∂²L/∂θ_a∂θ_b = Ĝ_ab + R_ab``.
(linearized) with ``f_lin(i, c, θ) := f(i, c, θ_0) + ∂_a f(i, c, θ_0)(θ_a − θ_a0) +
∂_b f(i, c, θ_0)(θ_b − θ_b0)`` and ``L_lin := (1/n) Σ_i ℓ(i, f_lin(i, θ))``:
``∂²L_lin/∂θ_a∂θ_b = Ĝ_lin,ab``, the (a, b) entry of ``(1/n) J_0ᵀ H(f_lin(θ)) J_0`` — the output
Hessian at the linearized outputs at θ, not at f(θ_0).

Proof
-----
Chain rule, twice: ``∂_b L = (1/n) Σ_i Σ_c ∂ℓ/∂u_c ∂_b f_c``, and by the product rule and the
chain rule again ``∂_a∂_b L = (1/n) Σ_i Σ_{c,d} ∂²ℓ/∂u_c∂u_d ∂_a f_d ∂_b f_c + (1/n) Σ_i Σ_c
∂ℓ/∂u_c ∂_a∂_b f_c``; the first term is Ĝ_ab (relabel c ↔ d, ∂²ℓ symmetric), the second R_ab. For
the linearization, ∂_a f_lin = ∂_a f(θ_0) is constant, so ∂²f_lin = 0 (R vanishes) and J = J_0 at
every θ, with ℓ's Hessian evaluated at f_lin(θ). A diagonal entry (a = b) is the mixed entry of
the model (s, t) ↦ f(θ + (s + t)e_a); an entry of a p-parameter Hessian is that of the model
restricted to its two parameters. ∎

What ``check()`` proves
-----------------------
Reading every object from the theorem: the claim's left side is expanded with the theorem's
definitions (``Theorem.expand``: L, L_lin) and differentiated by sympy, at *symbolic* n and k,
for arbitrary (undefined) f; the derivative of ``_defs.ell`` and ``_defs.loss_gradient`` is the
multivariate chain rule over the k outputs (``Σ_{c=0}^{k−1}``, a named lemma: the rule of those
classes), the product rule and the sum over samples are sympy's. The linearization's own
definition (f_lin) is substituted and differentiated. Both sides are then written as sums over
(sample, output) indices; terms with the same summation ranges are compared after renaming the
bound indices and symmetrizing over indices with equal ranges, which must agree identically (so
a wrong range, a missing 1/n, a halved loss, the wrong evaluation point or a dropped residual
fail). Named lemmas (prose): the multivariate chain rule; symmetry of second derivatives;
relabelling and reordering of finite sums; the diagonal and p-parameter reductions above; Ĝ as a
sum of per-sample blocks (block multiplication with a block-diagonal H).
"""

from __future__ import annotations

import itertools

import numpy as np
import sympy as sp

from proofs import _defs as D
from proofs._statement import Claim, Report, Theorem, evaluate_derivatives

# -- symbols -------------------------------------------------------------------------------------
n, k = D.n, D.k
i, c, d = D.integer("i c d")
ta, tb, ta0, tb0 = D.real("theta_a theta_b theta_a0 theta_b0")
f, f_lin = sp.Function("f"), sp.Function("f_lin")
L, L_lin = sp.symbols("L L_lin", real=True)
G_ab, R_ab, G_lin_ab = sp.symbols("G_hat_ab R_ab G_hat_lin_ab", real=True)
outputs, outputs_lin = f(i, ta, tb), f_lin(i, ta, tb)

# -- the statement -------------------------------------------------------------------------------
THEOREM = Theorem(
    id="T3",
    variables=(n, k, ta, tb, ta0, tb0, f, D.ell),
    hypotheses=(sp.Ge(n, 1), sp.Ge(k, 1)),
    definitions=(
        D.equation(L, D.empirical_loss(D.ell(i, outputs), i, n)),
        D.equation(G_ab, D.ggn_entry(lambda x: sp.Derivative(f(i, x, ta, tb), ta),
                                     lambda y: sp.Derivative(f(i, y, ta, tb), tb),
                                     lambda x, y: D.loss_hessian(i, x, y, outputs), i, n, k, c, d)),
        D.equation(R_ab, D.residual_entry(lambda x: D.loss_gradient(i, x, outputs),
                                          lambda x: sp.Derivative(f(i, x, ta, tb), ta, tb),
                                          i, n, k, c)),
        D.equation(f_lin(i, c, ta, tb),
                   f(i, c, ta0, tb0) + sp.Derivative(f(i, c, ta0, tb0), ta0) * (ta - ta0)
                   + sp.Derivative(f(i, c, ta0, tb0), tb0) * (tb - tb0)),
        D.equation(L_lin, D.empirical_loss(D.ell(i, outputs_lin), i, n)),
        D.equation(G_lin_ab, D.ggn_entry(lambda x: sp.Derivative(f(i, x, ta0, tb0), ta0),
                                         lambda y: sp.Derivative(f(i, y, ta0, tb0), tb0),
                                         lambda x, y: D.loss_hessian(i, x, y, outputs_lin),
                                         i, n, k, c, d)),
    ),
    claims=(
        Claim("real", sp.Eq(sp.Derivative(L, ta, tb), G_ab + R_ab)),
        Claim("linearized", sp.Eq(sp.Derivative(L_lin, ta, tb), G_lin_ab)),
    ),
    lemmas=("multivariate chain rule", "symmetry of second derivatives",
            "relabelling and reordering of finite sums",
            "a diagonal Hessian entry is a mixed entry of a reparametrized model",
            "an entry of a Hessian involves two parameters",
            "block multiplication with a block-diagonal output Hessian"),
)


# -- the proof -----------------------------------------------------------------------------------
def _expanded(theorem: Theorem, expr, name: str):
    """``expr`` with the theorem's definitions expanded, derivatives evaluated, then every
    definition of a function value (the linearization's outputs) substituted and differentiated."""
    expr = theorem.expand(expr, name)
    for definition in theorem.definitions:
        head = definition.lhs
        if isinstance(head, sp.core.function.AppliedUndef):
            expr = expr.replace(
                lambda e, head=head: e.func == head.func and len(e.args) == len(head.args),
                lambda e, definition=definition: definition.rhs.xreplace(
                    dict(zip(definition.lhs.args, e.args, strict=True))))
    return evaluate_derivatives(expr)


def _terms(expr, limits=()) -> list:
    """``expr`` as a list of (body, limits): ``expr`` = Σ over terms of the sum of the body over
    its limits (nested sums flattened, factors moved inside)."""
    if isinstance(expr, sp.Add):
        return [term for arg in expr.args for term in _terms(arg, limits)]
    if isinstance(expr, sp.Sum):
        return _terms(expr.function, tuple(expr.limits) + limits)
    if isinstance(expr, sp.Mul):
        for position, factor in enumerate(expr.args):
            if factor.has(sp.Sum):
                rest = sp.Mul(*expr.args[:position], *expr.args[position + 1:])
                return [(body * rest, lims) for body, lims in _terms(factor, limits)]
    return [(expr, limits)]


_BOUND = sp.symbols("s0:6", cls=sp.Dummy)


def _canonical(body, limits):
    """(ranges, body) with the bound indices renamed in the order of their ranges and the body
    averaged over the exchanges of indices with the same range."""
    ordered = sorted(limits, key=lambda lim: sp.default_sort_key(sp.Tuple(*lim[1:])))
    ranges = tuple(sp.Tuple(*lim[1:]) for lim in ordered)
    body = body.xreplace({lim[0]: _BOUND[pos] for pos, lim in enumerate(ordered)})
    bound = _BOUND[:len(ordered)]
    swaps = [perm for perm in itertools.permutations(range(len(ordered)))
             if all(ranges[a] == ranges[b] for a, b in enumerate(perm))]
    symmetric = sum(body.xreplace({bound[a]: bound[b] for a, b in enumerate(perm)})
                    for perm in swaps) / len(swaps)
    return ranges, symmetric


def _grouped(expr) -> dict:
    groups: dict = {}
    for body, limits in _terms(expr):
        ranges, body = _canonical(body, limits)
        groups[ranges] = groups.get(ranges, 0) + body
    return groups


def _check_hessian(report: Report, theorem: Theorem, name: str) -> None:
    """The claim's two sides, expanded, agree sum by sum (same index ranges)."""
    claim = theorem.claim(name).conclusion
    lhs, rhs = (_grouped(_expanded(theorem, side, name)) for side in (claim.lhs, claim.rhs))
    for ranges in sorted(set(lhs) | set(rhs), key=sp.default_sort_key):
        report.identity(f"{name}: sums over {len(ranges)} indices",
                        lhs.get(ranges, 0), rhs.get(ranges, 0))


def check(theorem: Theorem = THEOREM) -> Report:
    """Prove T3 (see the module docstring); raise ``ProofError`` on a failed step."""
    report = Report(theorem)
    for claim in theorem.claims:
        _check_hessian(report, theorem, claim.name)
    return report


# -- the numeric falsifier -------------------------------------------------------------------------
FALSIFIER_TRIALS = 16


class _Dual:
    """A hyper-dual number v + a·e1 + b·e2 + ab·e1e2 (e1² = e2² = 0) with numpy components:
    arithmetic on it carries first and mixed second derivatives exactly (no formula for them)."""

    def __init__(self, v, a=0.0, b=0.0, ab=0.0):
        self.v = np.asarray(v, dtype=float)
        self.a, self.b, self.ab = (np.broadcast_to(np.asarray(x, dtype=float), self.v.shape)
                                   for x in (a, b, ab))

    def __add__(self, other):
        o = _lift(other)
        return _Dual(self.v + o.v, self.a + o.a, self.b + o.b, self.ab + o.ab)

    def __sub__(self, other):
        return self + _lift(other).scale(-1.0)

    def scale(self, s):
        return _Dual(s * self.v, s * self.a, s * self.b, s * self.ab)

    def __mul__(self, other):
        o = _lift(other)
        return _Dual(self.v * o.v, self.v * o.a + self.a * o.v, self.v * o.b + self.b * o.v,
                     self.v * o.ab + self.a * o.b + self.b * o.a + self.ab * o.v)

    def __matmul__(self, other):
        o = _lift(other)
        return _Dual(self.v @ o.v, self.v @ o.a + self.a @ o.v, self.v @ o.b + self.b @ o.v,
                     self.v @ o.ab + self.a @ o.b + self.b @ o.a + self.ab @ o.v)

    def apply(self, fn, d1, d2):
        """fn(x) with its first and second derivatives d1, d2 at the value."""
        v, g, h = fn(self.v), d1(self.v), d2(self.v)
        return _Dual(v, g * self.a, g * self.b, g * self.ab + h * self.a * self.b)

    def total(self, axis=None):
        return _Dual(*(np.sum(x, axis=axis) for x in (self.v, self.a, self.b, self.ab)))


def _lift(x):
    return x if isinstance(x, _Dual) else _Dual(x)


def _loss(u, target, kind: str):
    """Per-sample losses of the output rows u (n × k): mse ½‖u − y‖² or softmax cross-entropy."""
    if kind == "mse":
        diff = u - target
        return (diff * diff).total(axis=1).scale(0.5)
    shift = np.max(u.v, axis=1, keepdims=True)
    expo = (u - shift).apply(np.exp, np.exp, np.exp)
    logsum = expo.total(axis=1).apply(np.log, lambda x: 1 / x, lambda x: -1 / x**2)
    picked = (u * target).total(axis=1)
    return logsum + _Dual(shift[:, 0]) - picked


def _loss_derivatives(u, target, kind: str):
    """∂ℓ/∂u and ∂²ℓ/∂u∂u of each sample at the output rows u (closed forms)."""
    if kind == "mse":
        return u - target, np.broadcast_to(np.eye(u.shape[1]), (u.shape[0],) + (u.shape[1],) * 2)
    probs = np.exp(u - u.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    hess = np.einsum("ic,cd->icd", probs, np.eye(u.shape[1])) - np.einsum("ic,id->icd",
                                                                          probs, probs)
    return probs - target, hess


def draw(rng, trial: int) -> dict:
    """A random one-hidden-layer tanh network (n samples, k outputs, mse or cross-entropy) and a
    parameter pair (equal on some trials: a diagonal entry); the Hessian entry of L and of L_lin
    by hyper-dual arithmetic on the loss itself, Ĝ_ab, R_ab, Ĝ_lin,ab from the model's and the
    loss's own derivatives, all float64 numpy."""
    samples, outs, width, dim = int(rng.integers(1, 5)), int(rng.integers(1, 4)), 3, 2
    kind = "ce" if trial % 2 and outs > 1 else "mse"
    x = rng.normal(size=(samples, dim))
    target = (np.eye(outs)[rng.integers(0, outs, size=samples)] if kind == "ce"
              else rng.normal(size=(samples, outs)))
    theta0 = rng.normal(size=width * dim + outs * width)
    # on most trials two incoming weights of one hidden unit (there the residual is nonzero)
    a, b = (int(rng.integers(0, width)) * dim + rng.integers(0, dim, size=2) if trial % 3
            else rng.integers(0, theta0.size, size=2))
    b = a if trial % 4 == 3 else b

    def model(theta: _Dual) -> _Dual:
        first = _Dual(*(t[: width * dim].reshape(width, dim) for t in
                        (theta.v, theta.a, theta.b, theta.ab)))
        second = _Dual(*(t[width * dim:].reshape(outs, width) for t in
                         (theta.v, theta.a, theta.b, theta.ab)))
        hidden = (first @ x.T).apply(np.tanh, lambda z: 1 - np.tanh(z) ** 2,
                                     lambda z: -2 * np.tanh(z) * (1 - np.tanh(z) ** 2))
        out = second @ hidden  # k × n
        return _Dual(out.v.T, out.a.T, out.b.T, out.ab.T)

    def seeded(point):
        ea, eb = np.zeros(point.size), np.zeros(point.size)
        ea[a], eb[b] = 1.0, 1.0
        return _Dual(point, ea, eb)

    point = theta0.copy()
    point[[a, b]] += rng.normal(size=2)
    out = model(seeded(point))
    hess_L = float(_loss(out, target, kind).total().ab) / samples
    grad, hess = _loss_derivatives(out.v, target, kind)
    ggn = np.einsum("icd,ic,id->", hess, out.a, out.b) / samples
    residual = np.einsum("ic,ic->", grad, out.ab) / samples
    out0 = model(seeded(theta0))
    shift = point - theta0
    lin = _Dual(out0.v + out0.a * shift[a] + (out0.b * shift[b] if b != a else 0.0),
                out0.a, out0.b)
    hess_lin = float(_loss(lin, target, kind).total().ab) / samples
    _, hess_at_lin = _loss_derivatives(lin.v, target, kind)
    ggn_lin = np.einsum("icd,ic,id->", hess_at_lin, out0.a, out0.b) / samples
    common = {n: float(samples), k: outs}
    return {"real": {**common, sp.Derivative(L, ta, tb): hess_L, G_ab: ggn, R_ab: residual},
            "linearized": {**common, sp.Derivative(L_lin, ta, tb): hess_lin,
                           G_lin_ab: ggn_lin}}


# -- false variants --------------------------------------------------------------------------------
def false_variants() -> dict[str, Theorem]:
    """False statements the check must reject (one field of ``THEOREM`` changed each)."""
    defs = {str(dn.lhs): dn for dn in THEOREM.definitions}

    def redefine(name, rhs):
        return THEOREM.replace(definitions=tuple(
            D.equation(dn.lhs, rhs) if dn is defs[name] else dn for dn in THEOREM.definitions))

    def ggn_from(jac_a, jac_b, hess, scale=n, outputs_count=k):
        return D.ggn_entry(jac_a, jac_b, hess, i, scale, outputs_count, c, d)

    def da(x):
        return sp.Derivative(f(i, x, ta, tb), ta)

    def db(y):
        return sp.Derivative(f(i, y, ta, tb), tb)

    def hess(x, y):
        return D.loss_hessian(i, x, y, outputs)

    return {
        # the old MUTANTS
        "drop_residual": THEOREM.with_claim(
            "real", conclusion=sp.Eq(sp.Derivative(L, ta, tb), G_ab)),
        "ggn_missing_one_over_n": redefine("G_hat_ab", ggn_from(da, db, hess, scale=1)),
        "lin_hessian_at_theta0": redefine("G_hat_lin_ab", D.ggn_entry(
            lambda x: sp.Derivative(f(i, x, ta0, tb0), ta0),
            lambda y: sp.Derivative(f(i, y, ta0, tb0), tb0),
            lambda x, y: D.loss_hessian(i, x, y, f(i, ta0, tb0)), i, n, k, c, d)),
        # class B: the loss halved (or any definition retyped) in one place only
        "loss_halved": redefine("L", D.empirical_loss(D.ell(i, outputs), i, n) / 2),
        "linearized_loss_halved": redefine(
            "L_lin", D.empirical_loss(D.ell(i, outputs_lin), i, n) / 2),
        "residual_without_one_over_n": redefine("R_ab", n * defs["R_ab"].rhs),
        # wrong sign, wrong derivative, wrong term
        "residual_subtracted": THEOREM.with_claim(
            "real", conclusion=sp.Eq(sp.Derivative(L, ta, tb), G_ab - R_ab)),
        "ggn_same_parameter_twice": redefine("G_hat_ab", ggn_from(da, da, hess)),
        "residual_second_derivative_in_one_parameter": redefine(
            "R_ab", D.residual_entry(lambda x: D.loss_gradient(i, x, outputs),
                                     lambda x: sp.Derivative(f(i, x, ta, tb), ta, ta),
                                     i, n, k, c)),
        "linearized_with_the_real_residual": THEOREM.with_claim(
            "linearized", conclusion=sp.Eq(sp.Derivative(L_lin, ta, tb), G_lin_ab + R_ab)),
        "linearization_without_slope": redefine(
            "f_lin(i, c, theta_a, theta_b)",
            f(i, c, ta0, tb0) + sp.Derivative(f(i, c, ta0, tb0), ta0) * (ta - ta0)),
        # wrong index ranges; a claim at sizes never checked (class C)
        "ggn_outputs_short_by_one": redefine("G_hat_ab", ggn_from(da, db, hess,
                                                                   outputs_count=k - 1)),
        "ggn_outputs_capped_at_three": redefine(
            "G_hat_ab", ggn_from(da, db, hess, outputs_count=sp.Min(k, 3))),
        "loss_samples_from_one": redefine(
            "L", sp.Sum(D.ell(i, outputs), (i, 1, n)) / n),
    }
