r"""T6 — spectrum of a Kronecker product, its ε-rank, and the L2 shift.

Statement (THEORY.md T6, as data in ``THEOREM``)
-------------------------------------------------
For square A (a × a) and S (b × b) whose characteristic polynomials are
``det(xI_a − A) = Π_{i=1}^{a} (x − α_i)`` and ``det(xI_b − S) = Π_{j=1}^{b} (x − s_j)``:

- mixed product: ``(A ⊗ C)(B ⊗ D) = (AB) ⊗ (CD)`` (A, B a × a; C, D b × b);
- spectrum: ``det(λI_{ab} − A ⊗ S) = Π_{i=1}^{a} Π_{j=1}^{b} (λ − α_i s_j)``, i.e.
  ``eig(A ⊗ S) = {α_i s_j}`` with multiplicity;
- ε-rank: with ``rank_ε := #{(i, j) : |α_i s_j| > ε}`` (the ε-rank of A ⊗ S, by the spectrum) and
  ``rank_A := #{i : |α_i| > 0}``, ``rank_S := #{j : |s_j| > 0}`` (for symmetric A, S the ranks):
  ``rank_ε = #{(i, j) : α_i s_j > ε}`` when A, S ≽ 0 (α_i, s_j ≥ 0), and
  ``rank_ε ≤ rank_A · rank_S`` for every ε ≥ 0;
- L2: ``∇²_θ((κ/2)θᵀθ) = κI_p``, and ``det(λI_p − (M + κI_p)) = det((λ − κ)I_p − M)``: with
  M = ∇²L, the eigenvalues of ∇²(L + (κ/2)‖θ‖²) are those of ∇²L shifted by κ.

With the KFAC block ``Ĝ_ll ≈ A_{l−1} ⊗ S_l`` (A the feature second moment, S the loss-weighted
backward second moment), a low-rank feature covariance forces a collapsed block spectrum (prose,
not a claim: the KFAC block is an approximation).

Proof
-----
*Mixed product.* ``(A ⊗ C)[(i,k),(j,l)] = A_ij C_kl``, so
``((A ⊗ C)(B ⊗ D))[(i,k),(m,q)] = Σ_j Σ_l A_ij C_kl B_jm D_lq = (Σ_j A_ij B_jm)(Σ_l C_kl D_lq)
= ((AB) ⊗ (CD))[(i,k),(m,q)]`` (distributivity).
*Spectrum.* Schur triangularization: A = U T_A U⁻¹, S = V T_S V⁻¹ with T_A, T_S upper triangular
whose diagonals list the roots α_i, s_j of the characteristic polynomials. By the mixed product,
``λI − A ⊗ S = (U ⊗ V)(λI − T_A ⊗ T_S)(U⁻¹ ⊗ V⁻¹)`` and ``(U ⊗ V)(U⁻¹ ⊗ V⁻¹) = I``, so both
sides have the same determinant. With the row index (i, k) ↦ i·b + k, an entry of T_A ⊗ T_S
below the diagonal has i > j or (i = j and k > l), so one factor T_A[i,j] or T_S[k,l] vanishes:
λI − T_A ⊗ T_S is upper triangular with diagonal λ − T_A[i,i]·T_S[k,k] = λ − α_i s_k (up to the
order of the roots), and its determinant is the product of the diagonal.
*ε-rank.* Termwise, for ε ≥ 0: |α s| > ε ≥ 0 forces α ≠ 0 and s ≠ 0, so
[|α_i s_j| > ε] ≤ [|α_i| > 0]·[|s_j| > 0]; summing over the pairs and factoring the double sum
(distributivity) gives rank_ε ≤ rank_A · rank_S. For α_i, s_j ≥ 0, |α_i s_j| = α_i s_j.
*L2.* ∇_θ((κ/2)θᵀθ) = κθ and ∇_θ(κθ) = κI, so ∇²(L + R) = ∇²L + κI, and
``λI − (M + κI) = (λ − κ)I − M``: χ_{M+κI}(λ) = χ_M(λ − κ), every root shifts by κ. ∎

What ``check()`` proves
-----------------------
Everything at symbolic sizes a, b, p, reading each claim's conclusion from the theorem object.
Mixed product: entrywise from the Kronecker definition, the claim's left side a double sum over
the ranges of the right side's two factor sums (the entries of the same matrices), summands
equal by distributivity. Spectrum: the similarity, applying the *proved* mixed-product claim as
the rewrite rule (not sympy's own Kronecker simplification) to the spectrum claim's own
determinant argument with A, S replaced by their Schur forms; the triangularity of the claim's
matrix with A, S replaced by T_A, T_S, decided by the solver (row-major pair order, triangular
factors); its diagonal, which must equal the claim's product factor once the Schur diagonals are
the roots read from the hypotheses, over the ranges of the hypotheses' products. ε-rank: the
definitions must be ``_defs.eps_rank`` of that derived spectrum {α_i s_j} (and of the roots of A
and of S at ε = 0); each summand comparison goes to the solver from the claim's hypotheses (so
a dropped ε ≥ 0 or A, S ≽ 0 gets a counterexample), the sums' ranges must agree, the product of
the rank sums is a double sum by distributivity (summands compared by the solver), and the
claim's relation itself is decided by the solver from the termwise bound with the sums as opaque
reals (so ``rank_A + rank_S`` is refuted with a counterexample). L2: the Hessian of
``_defs.l2_penalty`` by sympy's matrix calculus against the claimed shift, and the shift claim's
determinant argument against the characteristic polynomial (``_defs.char_poly``) of M plus that
proved Hessian. Nothing is sampled. Named lemmas (prose): Schur triangularization; similar
matrices share the characteristic polynomial; the determinant of a triangular matrix is the
product of its diagonal; a product over all pairs is unchanged by reordering the roots;
monotonicity of finite sums.

Numeric falsifier (not part of the proof): random Kronecker products (mixed product), random
PSD A, S of rank-deficient spectra with the ε-rank of ``numpy.kron(A, S)`` from ``eigvalsh`` and
``matrix_rank`` of the factors, and random symmetric M for the L2 shift.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from sympy.matrices.expressions.kronecker import KroneckerProduct

from proofs import _defs as D
from proofs._statement import Claim, ProofError, Report, Theorem, evaluate_derivatives

# -- symbols -------------------------------------------------------------------------------------
a, b = D.integer("a b")
p, lam, eps, kappa = D.p, D.lam, D.eps, D.kappa
x = sp.Symbol("x", real=True)
i, j = D.integer("i j")
A, B = sp.MatrixSymbol("A", a, a), sp.MatrixSymbol("B", a, a)
S = sp.MatrixSymbol("S", b, b)
C, Dm = sp.MatrixSymbol("C", b, b), sp.MatrixSymbol("D", b, b)
M = sp.MatrixSymbol("M", p, p)
theta = sp.MatrixSymbol("theta", p, 1)
alpha, s = sp.IndexedBase("alpha", real=True), sp.IndexedBase("s", real=True)
rank_eps, rank_A, rank_S = sp.symbols("rank_epsilon rank_A rank_S", real=True)

KP = KroneckerProduct
PAIRS = ((i, 1, a), (j, 1, b))


def _indicator(condition):
    return sp.Piecewise((1, condition), (0, True))


# -- the statement -------------------------------------------------------------------------------
CHAR_A = D.equation(D.char_poly(A, x), sp.Product(x - alpha[i], (i, 1, a)))
CHAR_S = D.equation(D.char_poly(S, x), sp.Product(x - s[j], (j, 1, b)))
SYMMETRIC = (D.equation(A.T, A), D.equation(S.T, S))

THEOREM = Theorem(
    id="T6",
    variables=(a, b, p, A, B, C, Dm, S, M, theta, alpha, s, x, lam, eps, kappa),
    hypotheses=(),
    definitions=(
        D.equation(rank_eps, D.eps_rank(alpha[i] * s[j], PAIRS, eps)),
        D.equation(rank_A, D.eps_rank(alpha[i], ((i, 1, a),), 0)),
        D.equation(rank_S, D.eps_rank(s[j], ((j, 1, b),), 0)),
    ),
    claims=(
        Claim("mixed_product", D.equation(sp.MatMul(KP(A, C), KP(B, Dm)), KP(A * B, C * Dm))),
        Claim("spectrum",
              D.equation(D.char_poly(KP(A, S), lam), sp.Product(lam - alpha[i] * s[j], *PAIRS)),
              hypotheses=(CHAR_A, CHAR_S)),
        Claim("eps_rank_count",
              sp.Eq(rank_eps, sp.Sum(_indicator(alpha[i] * s[j] > eps), *PAIRS)),
              hypotheses=(*SYMMETRIC, sp.Ge(alpha[i], 0), sp.Ge(s[j], 0))),
        Claim("eps_rank_bound", sp.Le(rank_eps, rank_A * rank_S),
              hypotheses=(*SYMMETRIC, sp.Ge(eps, 0))),
        Claim("l2_hessian", D.equation(sp.Derivative(D.l2_penalty(kappa, theta), (theta, 2)),
                                       D.l2_hessian_shift(kappa, p))),
        Claim("l2_shift", D.equation(D.char_poly(M + D.l2_hessian_shift(kappa, p), lam),
                                     D.char_poly(M, lam - kappa))),
    ),
    lemmas=("Schur triangularization", "similar matrices share the characteristic polynomial",
            "the determinant of a triangular matrix is the product of its diagonal",
            "a product over all pairs does not depend on the order of the roots",
            "monotonicity of finite sums"),
)


# -- matrix entries from the Kronecker definition --------------------------------------------------
def _is_matrix(expr) -> bool:
    return bool(getattr(expr, "is_Matrix", False))


def _factor_sizes(expr) -> tuple:
    """The sizes of the Kronecker factors of the rows (and columns: square) of ``expr``."""
    if isinstance(expr, KroneckerProduct):
        return sum((_factor_sizes(arg) for arg in expr.args), ())
    return (expr.rows,)


def _entry(expr, row: tuple, col: tuple):
    """Entry ((row), (col)) of a matrix expression, one index per Kronecker factor, from the
    definitions (X ⊗ Y)[(r, r'), (c, c')] = X[r, c]·Y[r', c'], (XY)[r, c] = Σ_k X[r, k]Y[k, c],
    I[(r), (c)] = Π [r = c]."""
    if isinstance(expr, sp.MatAdd):
        return sp.Add(*(_entry(arg, row, col) for arg in expr.args))
    if isinstance(expr, sp.MatMul):
        coeff = sp.Mul(*(arg for arg in expr.args if not _is_matrix(arg)))
        mats = [arg for arg in expr.args if _is_matrix(arg)]
        if len(mats) == 1:
            return coeff * _entry(mats[0], row, col)
        left, right = mats[0], sp.MatMul(*mats[1:])
        inner = tuple(sp.Dummy("k", integer=True) for _ in _factor_sizes(left))
        limits = [(k, 0, size - 1) for k, size in zip(inner, _factor_sizes(left))]
        return coeff * sp.Sum(_entry(left, row, inner) * _entry(right, inner, col), *limits)
    if isinstance(expr, KroneckerProduct):
        first, second = expr.args
        cut = len(_factor_sizes(first))
        return _entry(first, row[:cut], col[:cut]) * _entry(second, row[cut:], col[cut:])
    if isinstance(expr, sp.Identity):
        return sp.Mul(*(sp.KroneckerDelta(r, c) for r, c in zip(row, col)))
    (r,), (c,) = row, col
    return expr[r, c]


def _factorization(double, left, right) -> tuple:
    """Σ_x Σ_y f(x, y) against (Σ_x g(x))(Σ_y h(y)), both built over the same ranges (the
    entries of the same matrices; the rank sums over the ranges the definitions check fixes):
    (f, g·h) with the single sums' indices renamed to the double sum's, for the caller to compare
    (distributivity does the rest)."""
    (vx, _, _), (vy, _, _) = double.limits
    (vg, _, _), = left.limits
    (vh, _, _), = right.limits
    return double.function, left.function.xreplace({vg: vx}) * right.function.xreplace({vh: vy})


def _check_mixed_product(report: Report):
    """Entrywise: the claim's left side is a double sum that must factor into its right side.
    Returns the rewrite rule (X₁ ⊗ Y₁)(X₂ ⊗ Y₂) ↦ the claim's right side, for later steps."""
    claim = report.theorem.claim("mixed_product").conclusion
    row = tuple(sp.Dummy("r", integer=True) for _ in range(2))
    col = tuple(sp.Dummy("c", integer=True) for _ in range(2))
    double = _entry(claim.lhs, row, col)
    summand, product = _factorization(double, *sp.Mul.make_args(_entry(claim.rhs, row, col)))
    report.identity("mixed product entrywise, by distributivity", summand, product)
    (first, second) = claim.lhs.args
    names = (*first.args, *second.args)

    def rule(left, right):
        return claim.rhs.xreplace(dict(zip(names, (*left.args, *right.args))))

    return rule


def _factors(term) -> tuple:
    """The factors of one term of a matrix sum (scalars first)."""
    return term.args if isinstance(term, sp.MatMul) else (term,)


def _rewrite(product, rule):
    """Apply the mixed-product rule to adjacent Kronecker factors of a matrix product, left to
    right."""
    coeff = sp.Mul(*(arg for arg in product.args if not _is_matrix(arg)))
    out: list = []
    for factor in (arg for arg in product.args if _is_matrix(arg)):
        if out and isinstance(out[-1], KroneckerProduct) and isinstance(factor, KroneckerProduct):
            out[-1] = rule(out[-1], factor).doit()
        else:
            out.append(factor)
    return coeff * (out[0] if len(out) == 1 else sp.MatMul(*out))


# -- the spectrum ----------------------------------------------------------------------------------
def _roots(report: Report, claim: str, matrix):
    """The characteristic-polynomial hypothesis of ``matrix`` in claim ``claim``: its root
    family (index, root expression) and its index range (lo, hi)."""
    for hyp in report.theorem.hypotheses_of(claim):
        if isinstance(hyp, sp.Equality) and hyp.lhs == D.char_poly(matrix, x) \
                and isinstance(hyp.rhs, sp.Product):
            (index, lo, hi), = hyp.rhs.limits
            return index, sp.expand(x - hyp.rhs.function), (lo, hi)
    raise ProofError(f"{report.theorem.id} {claim}: no characteristic polynomial hypothesis "
                     f"for {matrix}")


def _check_spectrum(report: Report, rule) -> tuple:
    """Similarity, triangularity and diagonal of the claim's own determinant argument; returns
    the eigenvalue family of A ⊗ S this derives from the hypotheses' roots, and its pair ranges.
    The similarity's λ·I term is the rule applied to (U ⊗ V)(U⁻¹ ⊗ V⁻¹): it must be I."""
    thm = report.theorem
    claim = thm.claim("spectrum")
    arg = claim.conclusion.lhs.arg
    U, T_A = sp.MatrixSymbol("U", a, a), sp.MatrixSymbol("T_A", a, a)
    V, T_S = sp.MatrixSymbol("V", b, b), sp.MatrixSymbol("T_S", b, b)
    P, P_inv = KP(U, V), KP(U.I, V.I)
    schur = arg.xreplace({A: U * T_A * U.I, S: V * T_S * V.I})
    triangular = arg.xreplace({A: T_A, S: T_S})
    conjugated = sp.Add(*(_rewrite(sp.MatMul(P, *_factors(term), P_inv), rule)
                          for term in sp.MatAdd.make_args(sp.expand(triangular))))
    report.matrix_identity("spectrum: similarity by the mixed product", schur, conjugated)

    # triangular: an entry below the diagonal (row-major pair order) vanishes
    ri, rk, cj, cl = D.integer("r_1 r_2 c_1 c_2")
    t_a, t_s = sp.symbols("t_A t_S", real=True)
    below = _entry(triangular, (ri, rk), (cj, cl)).xreplace({T_A[ri, cj]: t_a, T_S[rk, cl]: t_s})
    report.implies("spectrum: the triangular form stays triangular",
                   (sp.Ge(rk, 0), sp.Le(rk, b - 1), sp.Ge(cl, 0), sp.Le(cl, b - 1),
                    sp.Gt(ri * b + rk, cj * b + cl),
                    sp.Implies(sp.Gt(ri, cj), sp.Eq(t_a, 0)),
                    sp.Implies(sp.Gt(rk, cl), sp.Eq(t_s, 0))),
                   sp.Eq(below.rewrite(sp.Piecewise), 0))

    # diagonal: the Schur diagonals are the roots of the hypotheses' characteristic polynomials
    product = claim.conclusion.rhs
    (ia, lo_a, hi_a), (js, lo_s, hi_s) = product.limits
    index_a, root_a, range_a = _roots(report, "spectrum", A)
    index_s, root_s, range_s = _roots(report, "spectrum", S)
    report.holds("spectrum: the pairs range over the roots of A and of S",
                 (lo_a, hi_a, lo_s, hi_s) == (*range_a, *range_s))
    diagonal = _entry(triangular, (ri, rk), (ri, rk)).xreplace({
        T_A[ri, ri]: root_a.xreplace({index_a: ia}), T_S[rk, rk]: root_s.xreplace({index_s: js})})
    report.identity("spectrum: the product factor is the diagonal entry", product.function,
                    diagonal)
    pair = {ia: index_a, js: index_s}
    return (sp.expand(lam - diagonal.xreplace(pair)),
            ((index_a, *range_a), (index_s, *range_s)))


# -- the epsilon-ranks -----------------------------------------------------------------------------
def _scalar(hypotheses) -> tuple:
    """The hypotheses the solver can read (no matrix relations)."""
    return tuple(h for h in hypotheses if not h.atoms(sp.MatrixSymbol))


def _definition(report: Report, symbol):
    for d in report.theorem.definitions:
        if d.lhs == symbol:
            return d.rhs
    raise ProofError(f"{report.theorem.id}: {symbol} is not defined")


def _same_sum(report: Report, name: str, first, second, hypotheses, relation) -> None:
    """Two sums over the same ranges; the solver decides ``relation`` between their summands."""
    ranges = [(lo, hi) for _, lo, hi in first.limits]
    if ranges != [(lo, hi) for _, lo, hi in second.limits]:
        raise ProofError(f"{report.theorem.id} {name}: the sums run over different ranges")
    rename = {v2: v1 for (v1, _, _), (v2, _, _) in zip(first.limits, second.limits)}
    report.implies(f"{name}, summand by summand", _scalar(hypotheses),
                   relation(first.function, second.function.xreplace(rename)))


def _check_eps_ranks(report: Report, eigenvalue, limits) -> None:
    thm = report.theorem
    index_a, root_a, range_a = _roots(report, "spectrum", A)
    index_s, root_s, range_s = _roots(report, "spectrum", S)
    report.holds("the epsilon-rank is that of the proved spectrum",
                 _definition(report, rank_eps) == D.eps_rank(eigenvalue, limits, eps))
    report.holds("the ranks count the nonzero roots",
                 _definition(report, rank_A) == D.eps_rank(root_a, ((index_a, *range_a),), 0)
                 and _definition(report, rank_S) == D.eps_rank(root_s, ((index_s, *range_s),), 0))

    count = thm.claim("eps_rank_count").conclusion
    _same_sum(report, "eps_rank_count", thm.expand(count.lhs), thm.expand(count.rhs),
              thm.hypotheses_of("eps_rank_count"), sp.Eq)

    bound = thm.claim("eps_rank_bound").conclusion
    hypotheses = _scalar(thm.hypotheses_of("eps_rank_bound"))
    pairs = thm.expand(bound.lhs)
    sum_a, sum_s = thm.expand(rank_A), thm.expand(rank_S)
    (va, _, _), = sum_a.limits
    (vs, _, _), = sum_s.limits
    (pa, _, _), (ps, _, _) = pairs.limits
    upper = sp.Sum(sum_a.function.xreplace({va: pa}) * sum_s.function.xreplace({vs: ps}),
                   *pairs.limits)
    summand, product = _factorization(upper, sum_a, sum_s)
    report.implies("eps_rank_bound: product of the ranks, by distributivity", (),
                   sp.Eq(summand, product))
    _same_sum(report, "eps_rank_bound: pair count below the product", pairs, upper,
              hypotheses, sp.Le)
    report.implies("eps_rank_bound: the claimed relation",
                   hypotheses + (sp.Le(pairs, sum_a * sum_s),), thm.expand(bound))


# -- the L2 shift ----------------------------------------------------------------------------------
def _matrix_derivative(expr):
    """sympy's matrix calculus applied to the Derivatives of ``expr``, as a matrix expression
    (sympy returns ``2·κ·I`` as a scalar product when the coefficient is not a single symbol)."""
    derived = evaluate_derivatives(expr)
    return sp.MatMul(*derived.args).doit() if isinstance(derived, sp.Mul) else derived


def _check_l2(report: Report) -> None:
    thm = report.theorem
    hessian = thm.claim("l2_hessian").conclusion
    derived = _matrix_derivative(hessian.lhs)
    report.matrix_identity("the Hessian of the penalty", derived, hessian.rhs)
    shift = thm.claim("l2_shift").conclusion
    report.matrix_identity("l2_shift: the Hessian of the loss plus the penalty", shift.lhs.arg,
                           D.char_poly(M + derived, lam).arg)
    report.matrix_identity("l2_shift: the shifted characteristic polynomial", shift.lhs.arg,
                           shift.rhs.arg)


def check(theorem: Theorem = THEOREM) -> Report:
    """Prove T6 (see the module docstring); raise ``ProofError`` on a failed step."""
    report = Report(theorem)
    rule = _check_mixed_product(report)
    eigenvalue, limits = _check_spectrum(report, rule)
    _check_eps_ranks(report, eigenvalue, limits)
    _check_l2(report)
    return report


# -- the numeric falsifier -------------------------------------------------------------------------
FALSIFIER_TRIALS = 40


def _psd(rng, size: int):
    """A symmetric PSD matrix with some exactly zero eigenvalues: (matrix, eigenvalues)."""
    values = rng.uniform(0.2, 2.0, size=size)
    values[rng.random(size) < 0.3] = 0.0
    basis, _ = np.linalg.qr(rng.normal(size=(size, size)))
    mat = basis @ np.diag(values) @ basis.T
    return (mat + mat.T) / 2, values


def draw(rng, trial: int) -> dict:
    """Random Kronecker products (mixed product), random PSD factors with rank-deficient spectra
    (ε-rank from ``eigvalsh(numpy.kron(A, S))``, ranks from ``matrix_rank``), random symmetric M
    (L2 shift); sizes 1 to 5."""
    na, nb = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    mixed = {A: rng.normal(size=(na, na)), B: rng.normal(size=(na, na)),
             C: rng.normal(size=(nb, nb)), Dm: rng.normal(size=(nb, nb)), a: na, b: nb}
    mat_a, roots_a = _psd(rng, na)
    mat_s, roots_s = _psd(rng, nb)
    kron = np.linalg.eigvalsh(np.kron(mat_a, mat_s))
    products = np.unique(np.outer(roots_a, roots_s))
    positive = products[products > 0]
    # ε strictly between two eigenvalue products (below the smallest positive one every other
    # trial, where the ε-rank is the full count of nonzero pairs)
    cut = int(rng.integers(0, positive.size + 1)) if positive.size and trial % 2 else 0
    edges = np.concatenate([[0.0], positive, [float(positive.max(initial=1.0)) * 2]])
    epsilon = float((edges[cut] + edges[cut + 1]) / 2)
    ranks = {A: mat_a, S: mat_s, a: na, b: nb, eps: epsilon,
             alpha[i]: roots_a.reshape(-1, 1), s[j]: roots_s.reshape(1, -1),
             rank_eps: int(np.sum(np.abs(kron) > epsilon)),
             rank_A: int(np.linalg.matrix_rank(mat_a)), rank_S: int(np.linalg.matrix_rank(mat_s))}
    size = int(rng.integers(1, 6))
    sym = rng.normal(size=(size, size))
    shift = {M: (sym + sym.T) / 2, p: size, kappa: float(rng.normal()), lam: float(rng.normal())}
    return {"mixed_product": mixed, "eps_rank_count": ranks, "eps_rank_bound": ranks,
            "l2_shift": shift}


# -- false variants --------------------------------------------------------------------------------
def false_variants() -> dict[str, Theorem]:
    """False statements the check must reject (one field of ``THEOREM`` changed each)."""
    spectrum = THEOREM.claim("spectrum")
    count = THEOREM.claim("eps_rank_count")
    bound = THEOREM.claim("eps_rank_bound")
    hessian = THEOREM.claim("l2_hessian")

    def spectrum_factor(factor):
        return D.equation(spectrum.conclusion.lhs, sp.Product(lam - factor, *PAIRS))

    def definitions(**changes):
        return tuple(D.equation(d.lhs, changes.get(str(d.lhs), d.rhs))
                     for d in THEOREM.definitions)

    return {
        "kronecker_sum_spectrum": THEOREM.with_claim(
            "spectrum", conclusion=spectrum_factor(alpha[i] + s[j])),
        "pair_s_squared": THEOREM.with_claim(
            "spectrum", conclusion=spectrum_factor(alpha[i] * s[j] ** 2)),
        "spectrum_range_short": THEOREM.with_claim("spectrum", conclusion=D.equation(
            spectrum.conclusion.lhs,
            sp.Product(lam - alpha[i] * s[j], (i, 1, a), (j, 1, b - 1)))),
        "spectrum_of_the_kronecker_sum": THEOREM.with_claim("spectrum", conclusion=D.equation(
            D.char_poly(KP(A, sp.Identity(b)) + KP(sp.Identity(a), S), lam),
            spectrum.conclusion.rhs)),
        "spectrum_without_the_roots_of_s": THEOREM.with_claim(
            "spectrum", hypotheses=(CHAR_A,)),
        "mixed_product_swapped": THEOREM.with_claim("mixed_product", conclusion=D.equation(
            sp.MatMul(KP(A, C), KP(B, Dm)), KP(A * B, Dm * C))),
        "eps_rank_sum_of_ranks": THEOREM.with_claim(
            "eps_rank_bound", conclusion=sp.Le(rank_eps, rank_A + rank_S)),
        "eps_rank_bound_for_negative_eps": THEOREM.with_claim(
            "eps_rank_bound", hypotheses=bound.hypotheses[:-1]),
        "eps_rank_bound_by_eps_ranks": THEOREM.replace(definitions=definitions(
            rank_A=D.eps_rank(alpha[i], ((i, 1, a),), eps),
            rank_S=D.eps_rank(s[j], ((j, 1, b),), eps))),
        "rank_of_a_missing_its_last_root": THEOREM.replace(definitions=definitions(
            rank_A=D.eps_rank(alpha[i], ((i, 1, a - 1),), 0))),
        "eps_rank_count_without_psd": THEOREM.with_claim(
            "eps_rank_count", hypotheses=count.hypotheses[:2]),
        "eps_rank_count_with_ties": THEOREM.with_claim("eps_rank_count", conclusion=sp.Eq(
            rank_eps, sp.Sum(_indicator(alpha[i] * s[j] >= eps), *PAIRS))),
        "eps_rank_count_short_range": THEOREM.with_claim("eps_rank_count", conclusion=sp.Eq(
            rank_eps, sp.Sum(_indicator(alpha[i] * s[j] > eps), (i, 1, a), (j, 1, b - 1)))),
        "eps_rank_without_absolute_value": THEOREM.replace(definitions=definitions(
            rank_epsilon=sp.Sum(_indicator(alpha[i] * s[j] > eps), *PAIRS))),
        "l2_shift_sign": THEOREM.with_claim("l2_shift", conclusion=D.equation(
            THEOREM.claim("l2_shift").conclusion.lhs, D.char_poly(M, lam + kappa))),
        "l2_shift_halved": THEOREM.with_claim("l2_shift", conclusion=D.equation(
            THEOREM.claim("l2_shift").conclusion.lhs, D.char_poly(M, lam - kappa / 2))),
        "l2_shift_of_half_the_hessian": THEOREM.with_claim("l2_shift", conclusion=D.equation(
            D.char_poly(M + D.l2_hessian_shift(kappa, p) / 2, lam),
            D.char_poly(M, lam - kappa / 2))),
        "l2_hessian_halved": THEOREM.with_claim("l2_hessian", conclusion=D.equation(
            hessian.conclusion.lhs, D.l2_hessian_shift(kappa, p) / 2)),
        "l2_penalty_without_half": THEOREM.with_claim("l2_hessian", conclusion=D.equation(
            sp.Derivative(2 * D.l2_penalty(kappa, theta), (theta, 2)),
            hessian.conclusion.rhs)),
    }
