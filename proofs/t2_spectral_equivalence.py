r"""T2 — spectral-equivalence bracket between the loss-weighted Gram G and the plain Gram K.

Statement
---------
Let J ∈ ℝ^{N×d_θ}, ``K = JJᵀ``, R = H^{1/2} (Rᵀ = R, R² = H, R ≽ 0) and ``G = RKR/n`` (n > 0), and
let P be an orthogonal projector (Pᵀ = P, P² = P) with ``aP ≼ H ≼ bP``, 0 < a ≤ b, i.e.
a·vᵀPv ≤ vᵀHv ≤ b·vᵀPv for every v. Then, with λ_i the i-th largest eigenvalue,

    bracket:  (a/n) λ_i(PKP) ≤ λ_i(G) ≤ (b/n) λ_i(PKP)                 for every i,
    ranks:    rank_{nε/a}(PKP) ≤ rank_ε(G) ≤ rank_{nε/b}(PKP)          for every ε > 0
              (claims rank_lower and rank_upper),

where rank_t(M) = Σ_i [|λ_i(M)| > t] (``_defs.eps_rank``). Special cases:

    mse:      G = K/n when R = I (H = I, a = b = 1, P = I);
    uniform:  G = PKP/(nk) for cross-entropy at p = 𝟙/k: N = nk, H = I_n ⊗ (diag p − ppᵀ),
              P = I_n ⊗ (I_k − 𝟙𝟙ᵀ/k);
    binary:   G = 2s(1 − s)·PKP/n for two classes with p = (s, 1 − s) on every sample;
    ce:       per sample, p_min P_k ≼ diag p − ppᵀ ≼ min(p_max, ½) P_k (P_k = I_k − 𝟙𝟙ᵀ/k), the
              constants read off lemma T2a's THEOREM; over the samples the blocks combine into
              aP ≼ H ≼ bP with a = min_{i,c} p_ic, b = min(max_{i,c} p_ic, ½).

Proof
-----
*Gram factors.* nG = RJJᵀR = (RJ)(RJ)ᵀ and (RJ)ᵀ(RJ) = JᵀR²J = JᵀHJ; PKP = (PJ)(PJ)ᵀ and
(PJ)ᵀ(PJ) = JᵀP²J = JᵀPJ. *Congruence.* Putting v = Jθ in the hypotheses:
a·θᵀ(JᵀPJ)θ ≤ θᵀ(JᵀHJ)θ ≤ b·θᵀ(JᵀPJ)θ for every θ. *Courant–Fischer with T1.* For c ≥ 0,
c·BᵀB ≼ CᵀC gives c·λ_i(BᵀB) ≤ λ_i(CᵀC) (Weyl monotonicity, λ_i(cX) = cλ_i(X)), and the i-th
eigenvalues of BᵀB and BBᵀ agree for every i (nonzero ones by T1, the others are 0: Gram
matrices are PSD). So a·λ_i(PKP) ≤ λ_i(nG) = n·λ_i(G) ≤ b·λ_i(PKP). *Ranks.* λ_i(PKP) ≥ 0 and
λ_i(G) ≥ 0; if λ_i(PKP) > nε/a then λ_i(G) ≥ aλ_i(PKP)/n > ε, and if λ_i(G) > ε then
λ_i(PKP) ≥ nλ_i(G)/b > nε/b: the counted indices are nested, term by term.
*mse.* R = I gives G = JJᵀ/n = K/n. *uniform and binary.* The block H_1 = diag p − ppᵀ equals
γ·P_1 (γ = 1/k, resp. 2s(1 − s)), and P_1 is a symmetric idempotent, so R_1 = √γ·P_1 is
symmetric, PSD and R_1² = γP_1 = H_1; R = I_n ⊗ R_1 is then the PSD square root of H
(uniqueness of the PSD root) and G = γ(I_n ⊗ P_1)K(I_n ⊗ P_1)/n = γ·PKP/n.
*ce.* Lemma T2a, applied at x = P_k w: 𝟙ᵀP_kw = 0, (P_kw)ᵀH(P_kw) = wᵀHw (H𝟙 = 0) and
(P_kw)ᵀ(P_kw) = wᵀP_kw. ∎

What ``check()`` proves
-----------------------
Symbolic N and d_θ: the Gram-factor identities with the theorem's matrix hypotheses read as
rewrite rules (Rᵀ = R, R² = H, Pᵀ = P, P² = P), G and K from the definitions. The theorem's own
Loewner hypotheses become eigenvalue facts: each side must be a multiple of one quadratic form,
each coefficient is decided ≥ 0 by the solver (congruence v := Jθ and Courant–Fischer with T1
are named lemmas). The solver (z3) then decides the bracket claim's own conclusion from these
facts, and each rank inequality term by term (the Piecewise indicators of both ε-ranks over the
same index range, with the bracket and λ ≥ 0 as facts). mse: G from its definition with the
claim's R = I. uniform (symbolic k, n) and binary (any n): the block identities H_1 = γP_1,
P_1ᵀ = P_1, P_1² = P_1 at generic entries (T2a's class sums; explicit entries for k = 2), γ ≥ 0
by the solver, the root's uniqueness lemma needs the theorem's hypotheses Rᵀ = R, R² = H, R ≽ 0
(the check requires them), and G is computed from ``loss_weighted_gram`` at the certified root
and compared with the claim. ce: T2a's check is run on T2a's THEOREM under the ce claim's hypotheses
(certificate identities and weights), T2a's hypothesis 𝟙ᵀx = 0 is discharged at x = P_kw, the
two form identities are proved for symbolic k, and the solver decides the ce claim from T2a's
conclusions (so a ce constant that T2a does not prove, e.g. b = min((p_min + p_max)/2, ½), is
refuted). Named lemmas (prose): Courant–Fischer, congruence, T1, Gram matrices are PSD,
uniqueness of the PSD square root, the Kronecker mixed-product rule, block-diagonal Loewner
bounds, monotonicity of a sum in its terms. Nothing is sampled: the falsifier (numpy eigenvalues
of random instances) runs beside the proof.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from proofs import _defs as D
from proofs import t2a_softmax_hessian as t2a
from proofs._render import render
from proofs._statement import Claim, ProofError, Report, Theorem

# -- the statement ---------------------------------------------------------------------------------
n = D.integer("n")
N, k, eps = D.N, D.k, D.eps
d_theta = D.integer("d_theta")
i = sp.Symbol("i", integer=True)
a, b, s = D.real("a b s")
J = sp.MatrixSymbol("J", N, d_theta)
R, H, P, K, G = (sp.MatrixSymbol(name, N, N) for name in ("R", "H", "P", "K", "G"))
v = sp.MatrixSymbol("v", N, 1)
w = sp.MatrixSymbol("w", k, 1)
q2 = sp.MatrixSymbol("p", 2, 1)
PKP = P * K * P


def quadratic(vector, matrix):
    return D.scalar(vector.T * matrix * vector)


def rank(matrix, threshold):
    """rank_t(M) over the N eigenvalues of an N × N matrix (``_defs.eps_rank``)."""
    return D.eps_rank(D.eigenvalue(matrix, i), ((i, 0, N - 1),), threshold)


def ce_constants(lemma: Theorem):
    """(a, b) of lemma T2a: the constants of its lower and upper claims."""
    lower, upper = lemma.claim("lower").conclusion, lemma.claim("upper").conclusion
    return (sp.cancel(lower.lhs / t2a.SQUARED_NORM), sp.cancel(upper.rhs / t2a.SQUARED_NORM))


def ce_conclusion(lower, upper, projector=None):
    """lower·wᵀP_kw ≤ wᵀ(diag p − ppᵀ)w ≤ upper·wᵀP_kw."""
    projector = D.centering_projector(k) if projector is None else projector
    form, norm = quadratic(w, D.softmax_hessian(t2a.p)), quadratic(w, projector)
    return sp.And(sp.Le(lower * norm, form), sp.Le(form, upper * norm))


THEOREM = Theorem(
    id="T2",
    variables=(n, N, d_theta, J, R, H, P, v, a, b),
    hypotheses=(
        sp.Gt(n, 0), sp.Gt(a, 0), sp.Le(a, b),
        D.equation(P.T, P), D.equation(P * P, P), D.equation(R.T, R), D.equation(R * R, H),
        sp.Ge(quadratic(v, R), 0),
        sp.Le(a * quadratic(v, P), quadratic(v, H)), sp.Le(quadratic(v, H), b * quadratic(v, P)),
    ),
    definitions=(D.equation(K, D.ntk_gram(J)), D.equation(G, D.loss_weighted_gram(R, K, n))),
    claims=(
        Claim("bracket", sp.And(sp.Le(a * D.eigenvalue(PKP, i) / n, D.eigenvalue(G, i)),
                                sp.Le(D.eigenvalue(G, i), b * D.eigenvalue(PKP, i) / n)),
              variables=(i,)),
        Claim("rank_lower", sp.Le(rank(PKP, n * eps / a), rank(G, eps)),
              hypotheses=(sp.Gt(eps, 0),), variables=(eps,)),
        Claim("rank_upper", sp.Le(rank(G, eps), rank(PKP, n * eps / b)),
              hypotheses=(sp.Gt(eps, 0),), variables=(eps,)),
        Claim("mse", D.equation(G, K / n), hypotheses=(D.equation(R, sp.Identity(N)),)),
        Claim("uniform", D.equation(G, PKP / (n * k)),
              hypotheses=(sp.Ge(k, 2), sp.Eq(N, n * k), D.equation(t2a.p, D.ones(k) / k),
                          D.equation(H, sp.KroneckerProduct(sp.Identity(n),
                                                            D.softmax_hessian(t2a.p))),
                          D.equation(P, sp.KroneckerProduct(sp.Identity(n),
                                                            D.centering_projector(k)))),
              variables=(k, t2a.p)),
        Claim("binary", D.equation(G, 2 * s * (1 - s) * PKP / n),
              hypotheses=(sp.Gt(s, 0), sp.Lt(s, 1), sp.Eq(N, 2 * n),
                          D.equation(q2, sp.ImmutableMatrix([s, 1 - s])),
                          D.equation(H, sp.KroneckerProduct(sp.Identity(n),
                                                            D.softmax_hessian(q2))),
                          D.equation(P, sp.KroneckerProduct(sp.Identity(n),
                                                            D.centering_projector(2)))),
              variables=(s, q2)),
        Claim("ce", ce_conclusion(*ce_constants(t2a.THEOREM)),
              hypotheses=t2a.THEOREM.hypotheses,
              variables=(k, t2a.p, w, t2a.p_min, t2a.p_max)),
    ),
    lemmas=(
        "Courant and Fischer min max principle: a Loewner order of symmetric matrices orders "
        "their eigenvalues index by index, and a nonnegative factor scales them",
        "a Loewner order of the sample space is kept under congruence with the Jacobian",
        "T1: the Gram matrices of a factor and of its transpose share their nonzero "
        "eigenvalues with multiplicity",
        "Gram matrices are positive semidefinite",
        "uniqueness of the positive semidefinite square root",
        "mixed product rule of the Kronecker product",
        "Loewner bounds of the diagonal blocks of a block diagonal matrix are bounds of the "
        "matrix, with the smallest lower and the largest upper constant of the samples",
        "a sum over the same index range is monotone in its terms",
    ),
)


# -- the proof -------------------------------------------------------------------------------------
scalar_hypotheses = t2a.scalar_hypotheses


def _rules(hypotheses) -> dict:
    """The matrix equations among ``hypotheses`` as rewrite rules (left side to right side)."""
    return {h.lhs: h.rhs for h in hypotheses
            if isinstance(h, sp.Equality) and isinstance(h.lhs, sp.MatrixExpr)}


def _reduce(expr, rules: dict):
    """``expr`` rewritten with ``rules`` (four passes: enough for Rᵀ, R², Pᵀ, P²)."""
    for _ in range(4):
        expr = expr.doit().xreplace(rules)
    return expr


def _gram_factors(report: Report, theorem: Theorem) -> dict:
    """For the matrices M of the Loewner hypotheses (H and P): a factor B with BᵀB = JᵀMJ, and
    the eigenvalue that λ_i(BBᵀ) is (n·λ_i(G) for H, λ_i(PKP) for P)."""
    rules = _rules(theorem.hypotheses)
    gram_g = theorem.expand(n * G)
    gram_pkp = theorem.expand(PKP)
    factors = {H: (R * J, n * D.eigenvalue(G, i), gram_g), P: (P * J, D.eigenvalue(PKP, i),
                                                                    gram_pkp)}
    for M, (B, _, outer) in factors.items():
        report.matrix_identity("Gram factor of the parameter form", _reduce(B.T * B, rules),
                               J.T * M * J)
        report.matrix_identity("Gram factor of the sample form", _reduce(B * B.T, rules),
                               _reduce(outer, rules))
    report.implies("a positive factor scales the eigenvalues", scalar_hypotheses(
        theorem.hypotheses), sp.Ge(n, 0))
    return factors


def _eigenvalue_facts(report: Report, theorem: Theorem, factors: dict) -> tuple:
    """Each Loewner hypothesis (an order of two quadratic forms in v, for every v) as an order of
    eigenvalues: v := Jθ orders the parameter forms BᵀB = JᵀMJ of the Gram factors (congruence),
    and Courant and Fischer with T1 order the eigenvalues of BBᵀ; each coefficient must be ≥ 0
    (decided by the solver) and each side a multiple of one form."""
    hypotheses = scalar_hypotheses(theorem.hypotheses)
    forms = {quadratic(v, M): eigen for M, (_, eigen, _) in factors.items()}
    facts = []
    for h in hypotheses:
        atoms = [atom for atom in forms if h.has(atom)]
        if len(atoms) != 2:
            continue
        for atom in atoms:
            for side in (h.lhs, h.rhs):
                if side.has(atom):
                    coefficient = sp.cancel(side / atom)
                    if coefficient.has(v):
                        raise ProofError(f"T2: {render(side)} is not a multiple of one "
                                         "quadratic form")
                    report.implies("a Loewner coefficient is nonnegative", hypotheses,
                                   sp.Ge(coefficient, 0))
        facts.append(h.xreplace(forms))
    return tuple(facts)


def _check_rank(report: Report, theorem: Theorem, name: str, facts: tuple) -> None:
    """A rank inequality: both sides ε-rank sums over the same index range, compared term by
    term by the solver (the indicators' own conditions), with the bracket and λ ≥ 0 as facts."""
    relation = theorem.claim(name).conclusion
    lhs, rhs = relation.lhs, relation.rhs
    if not (isinstance(relation, sp.LessThan) and isinstance(lhs, sp.Sum)
            and isinstance(rhs, sp.Sum) and lhs.limits == rhs.limits):
        raise ProofError(f"T2 {name}: not two counts over the same indices: {render(relation)}")
    index = lhs.limits[0][0]
    report.implies(f"{name}: the counted indices are nested", scalar_hypotheses(
        theorem.hypotheses_of(name)) + tuple(f.xreplace({i: index}) for f in facts),
        sp.Le(lhs.function, rhs.function))


def _check_mse(report: Report, theorem: Theorem) -> None:
    claim = theorem.claim("mse")
    rules = {**_rules(theorem.hypotheses), **_rules(claim.hypotheses)}
    report.matrix_identity("mse: the Gram matrix at the identity root",
                           _reduce(theorem.expand(claim.conclusion.lhs), rules),
                           _reduce(theorem.expand(claim.conclusion.rhs), rules))


def _entry(matrix, row, col):
    return sp.simplify(sp.Matrix(matrix.as_explicit())[row, col]
                       if all(isinstance(d, (int, sp.Integer)) for d in matrix.shape)
                       else t2a.to_sums(matrix[row, col]).doit())


def _check_root_claim(report: Report, theorem: Theorem, name: str) -> None:
    """G at the certified PSD root of H = I_n ⊗ γP_1 (uniform and binary cross-entropy)."""
    claim = theorem.claim(name)
    given = {h.lhs: h.rhs for h in claim.hypotheses if isinstance(h, sp.Equality)}
    if not all(symbol in given for symbol in (N, H, P)):
        raise ProofError(f"T2 {name}: the claim must give N, H and P")
    shapes = {N: given[N]}
    hessian, projector = given[H], given[P]
    if not (isinstance(hessian, sp.KroneckerProduct) and isinstance(projector, sp.KroneckerProduct)
            and hessian.args[0] == projector.args[0]):
        raise ProofError(f"T2 {name}: H and P are not blocks of the same samples")
    probs = {lhs: rhs for lhs, rhs in given.items()
             if isinstance(lhs, sp.MatrixSymbol) and lhs.shape[1] == 1}
    block_h, block_p = hessian.args[1].xreplace(probs), projector.args[1]
    off_diagonal = _entry(block_p, 0, 1)
    if off_diagonal == 0:
        raise ProofError(f"T2 {name}: the projector block is not I minus a multiple of ones")
    gamma = _entry(block_h, 0, 1) / off_diagonal
    hypotheses = theorem.hypotheses_of(name)
    classes = t2a.Classes(report, hypotheses, block_p.rows)
    classes.zero_matrix(f"{name}: the Hessian block is a multiple of the projector block",
                        block_h - gamma * block_p)
    classes.zero_matrix(f"{name}: the projector block is symmetric", block_p.T - block_p)
    classes.zero_matrix(f"{name}: the projector block is idempotent", block_p * block_p - block_p)
    report.implies(f"{name}: the multiple is nonnegative", scalar_hypotheses(hypotheses),
                   sp.Ge(gamma, 0))
    report.holds(f"{name}: the hypotheses of the unique positive semidefinite root",
                 all(h in theorem.hypotheses for h in (D.equation(R.T, R), D.equation(R * R, H),
                                                       sp.Ge(quadratic(v, R), 0))))
    root = sp.KroneckerProduct(hessian.args[0], sp.sqrt(gamma) * block_p)
    place = {R.xreplace(shapes): root, P.xreplace(shapes): projector}
    report.matrix_identity(f"{name}: the Gram matrix at the certified root",
                           theorem.expand(claim.conclusion.lhs).xreplace(shapes).xreplace(place),
                           theorem.expand(claim.conclusion.rhs).xreplace(shapes).xreplace(place))


def _check_ce(report: Report, theorem: Theorem) -> None:
    """Lemma T2a under the ce claim's hypotheses, applied at x := P_k w."""
    claim = theorem.claim("ce")
    lemma = t2a.THEOREM.replace(hypotheses=claim.hypotheses)
    sub = t2a.check(lemma)
    report.identities.extend(f"softmax lemma, {step}" for step in sub.identities)
    report.solver.extend(f"softmax lemma, {step}" for step in sub.solver)
    hypotheses = theorem.hypotheses_of("ce")
    classes = t2a.Classes(report, hypotheses, k)
    at = {t2a.x: D.centering_projector(k) * w}
    facts = []
    for name in ("lower", "upper"):
        for h in lemma.claim(name).hypotheses:
            classes.zero(f"ce: hypothesis of the {name} bound at the projection",
                         (h.lhs - h.rhs).xreplace(at), w, degree=1)
        facts.append(lemma.expand(lemma.claim(name).conclusion).xreplace(at))
    hessian = D.softmax_hessian(t2a.p)
    for label, at_x, at_w in (
            ("the form at the projection", quadratic(t2a.x, hessian).xreplace(at),
             quadratic(w, hessian)),
            ("the squared norm of the projection", t2a.SQUARED_NORM.xreplace(at),
             quadratic(w, D.centering_projector(k)))):
        classes.zero(f"ce: {label}", at_x - at_w, w)
        facts.append(sp.Eq(at_x, at_w))
    report.implies("ce: the claimed bounds from the lemma",
                   scalar_hypotheses(hypotheses) + tuple(facts), claim.conclusion)


def check(theorem: Theorem = THEOREM) -> Report:
    """Prove T2 (symbolic N, d_θ, k, n); raises ``ProofError`` on a failed step."""
    report = Report(theorem)
    factors = _gram_factors(report, theorem)
    facts = _eigenvalue_facts(report, theorem, factors)
    report.implies("bracket: the claimed bracket from the eigenvalue orders", scalar_hypotheses(
        theorem.hypotheses) + facts, theorem.claim("bracket").conclusion)
    psd = (sp.Ge(D.eigenvalue(PKP, i), 0), sp.Ge(n * D.eigenvalue(G, i), 0))
    for name in ("rank_lower", "rank_upper"):
        _check_rank(report, theorem, name, (theorem.claim("bracket").conclusion, *psd))
    _check_mse(report, theorem)
    _check_root_claim(report, theorem, "uniform")
    _check_root_claim(report, theorem, "binary")
    _check_ce(report, theorem)
    return report


# -- the numeric falsifier -----------------------------------------------------------------------
FALSIFIER_TRIALS = 12
_HADAMARD = np.array([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]]) / 2.0


def _exact_projector_and_root(rng):
    """P = QDQᵀ and R = Q diag(r) Qᵀ with Q a signed, permuted block-diagonal of 4 × 4 Hadamard
    blocks (entries ± 1/2): every entry is dyadic, so Pᵀ = P, P² = P, Rᵀ = R and H = R² hold
    exactly in float64; a, b are the extreme r² on the range of P."""
    blocks = int(rng.integers(1, 3))
    size = 4 * blocks
    Q = np.kron(np.eye(blocks), _HADAMARD)
    Q = Q[rng.permutation(size)] * rng.choice([-1.0, 1.0], size=size)[:, None]
    kept = rng.random(size) < 0.7
    kept[rng.integers(size)] = True
    roots = np.where(kept, rng.integers(1, 9, size=size) / 4.0, 0.0)
    proj = Q @ np.diag(kept.astype(float)) @ Q.T
    root = Q @ np.diag(roots) @ Q.T
    return proj, root, float(roots[kept].min() ** 2), float(roots[kept].max() ** 2)


def _values(rng, proj, root, lower, upper, samples):
    size = proj.shape[0]
    params = int(rng.integers(1, 11))
    jac = rng.normal(size=(size, params))
    gram = jac @ jac.T
    return {n: samples, N: size, d_theta: params, J: jac, R: root, H: root @ root, P: proj,
            v: rng.normal(size=(size, 1)), a: lower, b: upper, K: gram,
            G: root @ gram @ root / samples, i: np.arange(size)}


def draw(rng, trial: int) -> dict:
    """Random Jacobians (Gaussian), exact dyadic projectors and roots, numpy eigenvalues: the
    bracket and the ranks at every trial, then in turn mse, uniform cross-entropy (k = 4),
    binary cross-entropy and the ce block bounds (a dyadic p on the simplex, k = 2 … 7, w the
    block's top eigenvector or 𝟙)."""
    samples = int(rng.integers(1, 4))
    general = _values(rng, *_exact_projector_and_root(rng), samples)
    top = float(np.linalg.eigvalsh(general[G]).max())
    ranks = {**general, eps: float(rng.uniform(0.02, 1.0)) * max(top, 1e-3)}
    out = {"bracket": general, "rank_lower": ranks, "rank_upper": ranks}
    if trial % 4 == 0:
        eye = np.eye(int(rng.integers(2, 7)))
        out["mse"] = _values(rng, eye, eye, 1.0, 1.0, samples)
    elif trial % 4 == 1:
        classes = 4
        block = np.eye(classes) - 1.0 / classes
        out["uniform"] = {**_values(rng, np.kron(np.eye(samples), block),
                                    np.kron(np.eye(samples), block / 2), 0.25, 0.25, samples),
                          k: classes, t2a.p: np.full((classes, 1), 1.0 / classes)}
    elif trial % 4 == 2:
        share = float(rng.integers(1, 16)) / 16
        factor = 2 * share * (1 - share)
        pair = np.eye(2) - 0.5
        out["binary"] = {**_values(rng, np.kron(np.eye(samples), pair),
                                   np.kron(np.eye(samples), np.sqrt(factor) * pair), factor,
                                   factor, samples),
                         s: share, q2: np.array([[share], [1 - share]])}
    else:
        probs = t2a._dyadic_simplex(rng, int(rng.integers(2, 8)))
        block = np.diag(probs) - np.outer(probs, probs)
        vector = np.linalg.eigh(block)[1][:, -1] if trial % 8 == 3 else np.ones(probs.size)
        out["ce"] = {**general, k: probs.size, t2a.j: np.arange(probs.size),
                     t2a.p: probs[:, None], w: vector[:, None],
                     t2a.p_min: float(probs.min()), t2a.p_max: float(probs.max())}
    return out


# -- false statements the check must reject ------------------------------------------------------
def false_variants() -> dict[str, Theorem]:
    """False versions of T2, one field changed each (the old mutants and issue 33's classes)."""
    lam_g, lam_pkp = D.eigenvalue(G, i), D.eigenvalue(PKP, i)
    hypotheses, definitions = THEOREM.hypotheses, THEOREM.definitions
    uniform = THEOREM.claim("uniform")
    a_ce, b_ce = ce_constants(t2a.THEOREM)
    half = sp.Rational(1, 2)

    def replace_hypothesis(claim, old, new):
        return THEOREM.with_claim(claim.name, hypotheses=tuple(
            new if h == old else h for h in claim.hypotheses))

    return {
        "mse_missing_1_over_n": THEOREM.with_claim("mse", conclusion=D.equation(G, K)),
        "uniform_missing_1_over_k": THEOREM.with_claim(
            "uniform", conclusion=D.equation(G, PKP / n)),
        "binary_ratio_halved": THEOREM.with_claim(
            "binary", conclusion=D.equation(G, s * (1 - s) * PKP / n)),
        "ce_lower_2_pmin_pmax": THEOREM.with_claim("ce", conclusion=ce_conclusion(
            2 * t2a.p_min * t2a.p_max, b_ce)),
        "reduction_without_square": THEOREM.replace(hypotheses=tuple(
            D.equation(R, H) if h == D.equation(R * R, H) else h for h in hypotheses)),
        "rank_threshold_times_a": THEOREM.with_claim(
            "rank_lower", conclusion=sp.Le(rank(PKP, n * eps * a), rank(G, eps))),
        "uniform_projector_not_idempotent": replace_hypothesis(
            uniform, uniform.hypotheses[-1], D.equation(P, sp.KroneckerProduct(
                sp.Identity(n), sp.Identity(k) - sp.OneMatrix(k, k)))),
        "bracket_lower_b": THEOREM.with_claim("bracket", conclusion=sp.And(
            sp.Le(b * lam_pkp / n, lam_g), sp.Le(lam_g, b * lam_pkp / n))),
        # class E: an upper constant that T2a proves at uniform p only
        "ce_upper_mean_of_extremes": THEOREM.with_claim("ce", conclusion=ce_conclusion(
            a_ce, sp.Min((t2a.p_min + t2a.p_max) / 2, half))),
        # class A: the ce bound for every w (projector dropped) instead of w orthogonal to ones
        "ce_for_every_w": THEOREM.with_claim("ce", conclusion=ce_conclusion(
            a_ce, b_ce, sp.Identity(k))),
        # class B: G built with H in place of its root
        "gram_with_hessian_not_root": THEOREM.replace(definitions=(
            definitions[0], D.equation(G, D.loss_weighted_gram(H, K, n)))),
        "bracket_upper_a": THEOREM.with_claim("bracket", conclusion=sp.And(
            sp.Le(a * lam_pkp / n, lam_g), sp.Le(lam_g, a * lam_pkp / n))),
        "bracket_without_projector": THEOREM.with_claim("bracket", conclusion=sp.And(
            sp.Le(a * D.eigenvalue(K, i) / n, lam_g), sp.Le(lam_g, b * D.eigenvalue(K, i) / n))),
        "rank_upper_threshold_with_a": THEOREM.with_claim(
            "rank_upper", conclusion=sp.Le(rank(G, eps), rank(PKP, n * eps / a))),
        "rank_lower_threshold_with_b": THEOREM.with_claim(
            "rank_lower", conclusion=sp.Le(rank(PKP, n * eps / b), rank(G, eps))),
        "loewner_with_root_term": THEOREM.replace(hypotheses=tuple(
            sp.Le(h.lhs, h.rhs + quadratic(v, R)) if h == hypotheses[-2] else h
            for h in hypotheses)),
        "rank_upper_one_index_short": THEOREM.with_claim("rank_upper", conclusion=sp.Le(
            rank(G, eps), D.eps_rank(lam_pkp, ((i, 0, N - 2),), n * eps / b))),
        "uniform_hessian_dropped": THEOREM.with_claim("uniform", hypotheses=tuple(
            h for h in uniform.hypotheses if h != uniform.hypotheses[3])),
        "uniform_blocks_misaligned": replace_hypothesis(
            uniform, uniform.hypotheses[3], D.equation(H, sp.KroneckerProduct(
                D.softmax_hessian(t2a.p), sp.Identity(n)))),
        "uniform_projector_identity": replace_hypothesis(
            uniform, uniform.hypotheses[4], D.equation(P, sp.KroneckerProduct(
                sp.Identity(n), D.DiagMatrix(D.ones(k))))),
        "samples_positive_dropped": THEOREM.replace(hypotheses=hypotheses[1:]),
        "psd_root_dropped": THEOREM.replace(hypotheses=tuple(
            h for h in hypotheses if h != sp.Ge(quadratic(v, R), 0))),
        "mse_without_identity_root": THEOREM.with_claim("mse", hypotheses=()),
        "ce_simplex_dropped": THEOREM.with_claim("ce", hypotheses=t2a.THEOREM.hypotheses[:-1]),
        "uniform_hessian_not_uniform": replace_hypothesis(
            uniform, uniform.hypotheses[2], D.equation(t2a.p, D.ones(k) / (2 * k))),
    }
