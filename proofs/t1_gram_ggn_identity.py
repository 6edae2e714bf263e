r"""T1 — Gram–GGN spectral identity.

Statement (THEORY.md T1, as data in ``THEOREM``)
-------------------------------------------------
Let ``J`` be N × p (N = nk rows of the Jacobian), ``H^{1/2}`` a symmetric N × N matrix and
``H = (H^{1/2})²`` (the output Hessian and its symmetric square root), n > 0, and define
(``proofs._defs``) ``A := n^{-1/2} H^{1/2} J``, ``K := JJᵀ``, ``Ĝ := (1/n) JᵀHJ`` (p × p) and
``G := (1/n) H^{1/2} K H^{1/2}`` (N × N). Then

- ``Ĝ = AᵀA`` and ``G = AAᵀ``;
- for every λ: ``λ^N det(λI_p − AᵀA) = λ^p det(λI_N − AAᵀ)``                              (★)
  (the characteristic polynomials differ by a power of λ: the *nonzero* eigenvalues coincide
  with multiplicity; *all* eigenvalues, ``det(λI_p − AᵀA) = det(λI_N − AAᵀ)``, is false when
  N ≠ p);
- with μ_1..μ_p the roots of ``det(λI_p − Ĝ)`` and ν_1..ν_N those of ``det(λI_N − G)`` (with
  multiplicity), ``rank_ε(Ĝ) = #{j : |μ_j| > ε}`` equals ``rank_ε(G) = #{j : |ν_j| > ε}`` for
  every ε > 0 (for ε < 0 they are p and N).

Proof
-----
``AᵀA = n^{-1} Jᵀ(H^{1/2})ᵀH^{1/2}J = n^{-1}JᵀHJ = Ĝ`` by the symmetry of H^{1/2} and
H = (H^{1/2})²; ``AAᵀ = n^{-1}H^{1/2}JJᵀ(H^{1/2})ᵀ = G``. For (★) take
``M = [[λI_N, A], [Aᵀ, I_p]]`` and its two Schur factorizations (λ ≠ 0):

    M = [[I_N, A], [0, I_p]] · [[λI_N − AAᵀ, 0], [0, I_p]] · [[I_N, 0], [Aᵀ, I_p]]
    M = [[I_N, 0], [Aᵀ/λ, I_p]] · [[λI_N, 0], [0, I_p − AᵀA/λ]] · [[I_N, A/λ], [0, I_p]].

Determinants are multiplicative and a block-triangular matrix has determinant det(top-left) ·
det(bottom-right), so det M = det(λI_N − AAᵀ) = λ^N det(I_p − AᵀA/λ); with
I_p − AᵀA/λ = λ^{-1}(λI_p − AᵀA) and det(cX) = c^p det X this is (★) for λ ≠ 0, hence for all λ
(a polynomial identity). Substituting the root factorizations, λ^N Π_j(λ − μ_j) = λ^p Π_j(λ − ν_j):
by unique factorization the two multisets {0}^N ∪ {μ_j} and {0}^p ∪ {ν_j} coincide, so every
predicate that is false at 0 counts as many μ's as ν's; |0| > ε is false exactly when ε ≥ 0. ∎

What ``check()`` proves
-----------------------
At symbolic N, p, reading every object from the theorem: the two factor claims, by expanding the
theorem's definitions (``Theorem.expand``) and rewriting with the theorem's matrix hypotheses
(H^{1/2} symmetric, its square H), as matrix identities (a claim with mismatched shapes is
rejected). (★): both Schur factorizations of M multiplied out block by block for a MatrixSymbol A
of symbolic shape; the triangular factors' off-diagonal blocks are zero matrices (so the
block-triangular determinant lemma applies); the homogeneity step as a matrix identity and sympy's
det(cX) = c^p det X; then the claim's own two sides, with det(λI_N − AAᵀ) replaced by the value
det M takes in the second factorization, must agree identically (the other determinants kept as
opaque scalars). ε-rank: the claim's definitions must be ``_defs.eps_rank`` of the two root
families that the claim's root definitions attach to the matrices of (★) (through the proved
Ĝ = AᵀA, G = AAᵀ), each family appearing in (★) as a product of root factors times a power of
λ, with one threshold (read off each definition's own counting condition); the solver decides
from the claim's scalar hypotheses that the counting condition is false at the root 0. Nothing
is sampled; the numeric falsifier (not part of the proof) draws N > p and N < p.
Named lemmas (prose): multiplicativity of det; the determinant of a block-triangular matrix; a
polynomial identity on λ ≠ 0 holds for all λ; unique factorization of polynomials (equal
polynomials have the same roots with multiplicity).
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from sympy.core.relational import Relational

from proofs import _defs as D
from proofs._render import render
from proofs._statement import Claim, Report, Theorem

# -- symbols -------------------------------------------------------------------------------------
n, N, p, lam, eps, j = D.n, D.N, D.p, D.lam, D.eps, D.j
J = sp.MatrixSymbol("J", N, p)
H = sp.MatrixSymbol("H", N, N)
Hh = sp.MatrixSymbol("H_half", N, N)  # H^(1/2)
A = sp.MatrixSymbol("A", N, p)
K = sp.MatrixSymbol("K", N, N)
G_hat = sp.MatrixSymbol("G_hat", p, p)
G = sp.MatrixSymbol("G", N, N)
mu, nu = sp.IndexedBase("mu", real=True), sp.IndexedBase("nu", real=True)
rank_G_hat, rank_G = sp.symbols("rank_G_hat rank_G", real=True)

# -- the statement -------------------------------------------------------------------------------
THEOREM = Theorem(
    id="T1",
    variables=(n, N, p, J, H, Hh),
    hypotheses=(sp.Gt(n, 0), sp.Ge(N, 1), sp.Ge(p, 1),
                D.equation(Hh.T, Hh), D.equation(Hh**2, H)),
    definitions=(
        D.equation(A, D.half_hessian_factor(Hh, J, n)),
        D.equation(K, D.ntk_gram(J)),
        D.equation(G_hat, D.ggn(J, H, n)),
        D.equation(G, D.loss_weighted_gram(Hh, K, n)),
    ),
    claims=(
        Claim("ggn_factor", D.equation(G_hat, A.T * A)),
        Claim("gram_factor", D.equation(G, A * A.T)),
        Claim("characteristic_polynomials",
              D.equation(lam**N * D.char_poly(A.T * A, lam), lam**p * D.char_poly(A * A.T, lam)),
              variables=(lam,)),
        Claim("eps_ranks", sp.Eq(rank_G_hat, rank_G), hypotheses=(sp.Gt(eps, 0),),
              variables=(eps, mu, nu),
              definitions=(
                  D.equation(D.char_poly(G_hat, lam), sp.Product(lam - mu[j], (j, 1, p))),
                  D.equation(D.char_poly(G, lam), sp.Product(lam - nu[j], (j, 1, N))),
                  D.equation(rank_G_hat, D.eps_rank(mu[j], ((j, 1, p),), eps)),
                  D.equation(rank_G, D.eps_rank(nu[j], ((j, 1, N),), eps)),
              )),
    ),
    lemmas=("multiplicativity of the determinant",
            "determinant of a block-triangular matrix",
            "a polynomial identity on nonzero values holds everywhere",
            "unique factorization of polynomials"),
)


# -- the proof -----------------------------------------------------------------------------------
def _split_hypotheses(hypotheses) -> tuple[dict, tuple]:
    """The matrix hypotheses as rewrite rules (left side to right side) and the scalar ones."""
    rules = {h.lhs: h.rhs for h in hypotheses if h.atoms(sp.MatrixSymbol)}
    return rules, tuple(h for h in hypotheses if not h.atoms(sp.MatrixSymbol))


def _rewrite(expr, rules):
    """``expr`` rewritten with ``rules`` until nothing changes (products re-collected by
    ``doit`` between rounds, so the square of H^(1/2) appears as a power)."""
    previous = None
    while expr != previous:
        previous, expr = expr, expr.doit().xreplace(rules)
    return expr


def _check_factor(report: Report, theorem: Theorem, name: str) -> None:
    """A factor claim: both sides with the definitions expanded and the hypotheses applied."""
    rules, _ = _split_hypotheses(theorem.hypotheses_of(name))
    claim = theorem.claim(name)
    lhs, rhs = (_rewrite(theorem.expand(side, name), rules)
                for side in (claim.conclusion.lhs, claim.conclusion.rhs))
    report.holds(f"{name}: shapes agree", lhs.shape == rhs.shape)
    report.matrix_identity(name, lhs, rhs)


def _canonical(expr):
    """``expr`` with every determinant's argument in sympy's flattened (``doit``) form."""
    return expr.replace(lambda e: isinstance(e, sp.Determinant),
                        lambda e: sp.Determinant(e.arg.doit()))


def _block_triangular_det(report: Report, block: sp.BlockMatrix):
    """det of a 2 × 2 block-triangular matrix: det(top-left) · det(bottom-right) (named lemma),
    after the check that an off-diagonal block is a zero matrix."""
    report.holds("factor is block triangular",
                 bool(block.blocks[1, 0].is_ZeroMatrix or block.blocks[0, 1].is_ZeroMatrix))
    return (sp.det(block.blocks[0, 0]) * sp.det(block.blocks[1, 1])).doit()


def _check_characteristic_polynomials(report: Report, theorem: Theorem) -> None:
    name = "characteristic_polynomials"
    I_N, I_p = sp.Identity(N), sp.Identity(p)
    Z_Np, Z_pN = sp.ZeroMatrix(N, p), sp.ZeroMatrix(p, N)
    M = sp.BlockMatrix([[lam * I_N, A], [A.T, I_p]])
    first = [sp.BlockMatrix([[I_N, A], [Z_pN, I_p]]),
             sp.BlockMatrix([[lam * I_N - A * A.T, Z_Np], [Z_pN, I_p]]),
             sp.BlockMatrix([[I_N, Z_Np], [A.T, I_p]])]
    second = [sp.BlockMatrix([[I_N, Z_Np], [A.T / lam, I_p]]),
              sp.BlockMatrix([[lam * I_N, Z_Np], [Z_pN, I_p - A.T * A / lam]]),
              sp.BlockMatrix([[I_N, A / lam], [Z_pN, I_p]])]
    for label, factors in (("first", first), ("second", second)):
        report.matrix_identity(f"{label} Schur factorization",
                               sp.block_collapse(factors[0] * factors[1] * factors[2]), M)
    det_first = sp.Mul(*[_block_triangular_det(report, F) for F in first])
    det_second = sp.Mul(*[_block_triangular_det(report, F) for F in second])
    # homogeneity: I_p − AᵀA/λ = (λI_p − AᵀA)/λ, and sympy's det(cX) = c^p det X
    inner = lam * I_p - A.T * A
    report.matrix_identity("homogeneity of the lower block", I_p - A.T * A / lam, inner / lam)
    det_second = det_second.xreplace({sp.det(I_p - A.T * A / lam): sp.det(inner / lam)})
    # det M two ways: the first factorization leaves the single determinant det_first
    claim = _canonical(theorem.claim(name).conclusion)
    difference = (claim.lhs - claim.rhs).xreplace({det_first: det_second})
    # the remaining determinants are opaque scalars (sympy's simplify cannot handle them)
    opaque = {d: sp.Dummy(render(d)) for d in difference.atoms(sp.Determinant)}
    report.identity(name, difference.xreplace(opaque), 0)


def _root_family(report: Report, side):
    """(root, limits) of the one product of root factors Π (λ − root) in ``side``; the rest of
    ``side`` must be a power of λ (roots at zero only)."""
    products = side.atoms(sp.Product)
    report.holds("a product of root factors", len(products) == 1)
    (product,) = products
    cofactor = sp.powsimp(side / product)
    report.holds("the other factor is a power of the variable",
                 cofactor.as_base_exp()[0] == lam and not cofactor.as_base_exp()[1].has(lam))
    return lam - product.function, product.limits


def _counted_family(count, families):
    """(family, threshold, condition): the root family whose ``_defs.eps_rank`` ``count`` is,
    with the threshold read off the counting condition (|root| above it), or (None, None, …)."""
    (condition,) = count.atoms(Relational)
    for root, limits in families:
        threshold = sp.Abs(root) - (condition.gts - condition.lts)
        if count == D.eps_rank(root, limits, threshold):
            return (root, limits), threshold, condition
    return None, None, condition


def _check_eps_ranks(report: Report, theorem: Theorem) -> None:
    name = "eps_ranks"
    claim = theorem.claim(name)
    # the proved factor claims: Ĝ → AᵀA, G → AAᵀ
    factors = {theorem.claim(c).conclusion.lhs: theorem.claim(c).conclusion.rhs
               for c in ("ggn_factor", "gram_factor")}
    roots = {d.lhs.xreplace(factors): d.rhs for d in claim.definitions
             if isinstance(d.lhs, sp.Determinant)}
    relation = theorem.claim("characteristic_polynomials").conclusion.xreplace(roots)
    families = [_root_family(report, side) for side in (relation.lhs, relation.rhs)]
    (family_l, threshold_l, condition), (family_r, threshold_r, _) = (
        _counted_family(theorem.expand(side, name), families)
        for side in (claim.conclusion.lhs, claim.conclusion.rhs))
    report.holds(f"{name}: each side counts one root family",
                 None not in (family_l, family_r) and family_l != family_r)
    report.identity(f"{name}: one threshold", threshold_l, threshold_r)
    _, scalars = _split_hypotheses(theorem.hypotheses_of(name))
    report.implies(f"{name}: the root zero is not counted", scalars,
                   sp.Not(condition.xreplace({family_l[0]: 0})))


def check(theorem: Theorem = THEOREM) -> Report:
    """Prove T1 (see the module docstring); raise ``ProofError`` on a failed step."""
    report = Report(theorem)
    _check_factor(report, theorem, "ggn_factor")
    _check_factor(report, theorem, "gram_factor")
    _check_characteristic_polynomials(report, theorem)
    _check_eps_ranks(report, theorem)
    return report


# -- the numeric falsifier -------------------------------------------------------------------------
FALSIFIER_TRIALS = 24
SIZES = ((2, 2, 7), (3, 1, 2), (1, 3, 5), (4, 2, 3), (2, 3, 6), (3, 2, 9))  # (n, k, p), N ≠ p


def draw(rng, trial: int) -> dict:
    """A random Jacobian J (N × p, N = nk, sizes with N > p and N < p), a block-diagonal output
    Hessian from softmax probabilities (cross-entropy, rank k − 1 per block) or the identity
    (mse), its symmetric root by ``eigh`` and H as the root's square; Ĝ, G and K by their matrix
    products, eigenvalues by ``eigvalsh``, ε between two of Ĝ's eigenvalues."""
    samples, outputs, params = SIZES[trial % len(SIZES)]
    rows = samples * outputs
    jac = rng.normal(size=(rows, params))
    root = np.zeros((rows, rows))
    for block in range(samples):
        if trial % 2 and outputs > 1:
            probs = np.exp(rng.normal(size=outputs))
            probs /= probs.sum()
            hess = np.diag(probs) - np.outer(probs, probs)
        else:
            hess = np.eye(outputs)
        vals, vecs = np.linalg.eigh(hess)
        half = vecs @ np.diag(np.sqrt(np.clip(vals, 0, None))) @ vecs.T
        span = slice(block * outputs, (block + 1) * outputs)
        root[span, span] = (half + half.T) / 2
    hess = root @ root
    factor = root @ jac / np.sqrt(samples)
    ggn = jac.T @ hess @ jac / samples
    gram = root @ (jac @ jac.T) @ root / samples
    eig_ggn, eig_gram = np.linalg.eigvalsh(ggn), np.linalg.eigvalsh(gram)
    positive = np.sort(eig_ggn[eig_ggn > 1e-8 * max(eig_ggn.max(), 1.0)])
    edges = np.concatenate([[0.0], positive, [2 * positive.max(initial=1.0)]])
    cut = int(rng.integers(0, edges.size - 1))
    epsilon = float((edges[cut] + edges[cut + 1]) / 2)
    common = {n: float(samples), N: rows, p: params, J: jac, H: hess, Hh: root}
    return {
        "ggn_factor": {**common, A: factor, G_hat: ggn},
        "gram_factor": {**common, A: factor, G: gram},
        "characteristic_polynomials": {**common, A: factor, lam: float(rng.uniform(-3, 3))},
        "eps_ranks": {**common, eps: epsilon,
                      rank_G_hat: int(np.sum(np.abs(eig_ggn) > epsilon)),
                      rank_G: int(np.sum(np.abs(eig_gram) > epsilon))},
    }


# -- false variants --------------------------------------------------------------------------------
def false_variants() -> dict[str, Theorem]:
    """False statements the check must reject (one field of ``THEOREM`` changed each)."""
    char = THEOREM.claim("characteristic_polynomials").conclusion
    ranks = THEOREM.claim("eps_ranks")

    def definition(lhs, rhs):
        return tuple(D.equation(d.lhs, rhs) if d.lhs == lhs else d for d in THEOREM.definitions)

    def rank_definitions(**changes):
        return tuple(D.equation(d.lhs, changes.get(str(d.lhs), d.rhs)) for d in ranks.definitions)

    return {
        # the old MUTANTS
        "exponent_off_by_one": THEOREM.with_claim(
            "characteristic_polynomials",
            conclusion=D.equation(char.lhs * lam, char.rhs)),
        "gram_scaled": THEOREM.with_claim(
            "characteristic_polynomials",
            conclusion=D.equation(char.lhs, lam**p * D.char_poly(2 * A * A.T, lam))),
        "ggn_without_sqrt_square": THEOREM.replace(
            definitions=definition(G_hat, D.ggn(J, Hh, n))),
        "schur_complement_sign": THEOREM.with_claim(
            "characteristic_polynomials",
            conclusion=D.equation(char.lhs, lam**p * D.char_poly(-A * A.T, lam))),
        # class A: "nonzero eigenvalues" turned into "all eigenvalues with multiplicity"
        "all_eigenvalues_with_multiplicity": THEOREM.with_claim(
            "characteristic_polynomials",
            conclusion=D.equation(D.char_poly(A.T * A, lam), D.char_poly(A * A.T, lam))),
        # class B: one definition typed twice
        "factor_scaled_by_one_over_n": THEOREM.replace(
            definitions=definition(A, Hh * J / n)),
        "ggn_is_the_outer_gram": THEOREM.with_claim(
            "ggn_factor", conclusion=D.equation(G_hat, A * A.T)),
        "gram_without_half_roots": THEOREM.replace(
            definitions=definition(G, H * K / n)),
        "gram_from_the_hessian_factor": THEOREM.with_claim(
            "gram_factor", conclusion=D.equation(G, A.T * A)),
        # dropped or weakened hypotheses
        "root_not_symmetric": THEOREM.replace(hypotheses=THEOREM.hypotheses[:3]
                                              + THEOREM.hypotheses[4:]),
        "rank_for_every_threshold": THEOREM.with_claim("eps_ranks", hypotheses=()),
        "rank_threshold_above_minus_one": THEOREM.with_claim(
            "eps_ranks", hypotheses=(sp.Gt(eps, -1),)),
        # wrong matrix, wrong constant, wrong index range
        "rank_of_the_ntk_gram": THEOREM.with_claim(
            "eps_ranks", definitions=(ranks.definitions[0],
                                      D.equation(D.char_poly(K, lam), ranks.definitions[1].rhs),
                                      *ranks.definitions[2:])),
        "rank_thresholds_differ": THEOREM.with_claim(
            "eps_ranks", definitions=rank_definitions(
                rank_G=D.eps_rank(nu[j], ((j, 1, N),), n * eps))),
        "rank_wrong_index_range": THEOREM.with_claim(
            "eps_ranks", definitions=rank_definitions(
                rank_G_hat=D.eps_rank(mu[j], ((j, 1, N),), eps))),
        "rank_threshold_negated": THEOREM.with_claim(
            "eps_ranks", definitions=rank_definitions(
                rank_G_hat=D.eps_rank(mu[j], ((j, 1, p),), -eps),
                rank_G=D.eps_rank(nu[j], ((j, 1, N),), -eps))),
        "rank_counts_twice": THEOREM.with_claim(
            "eps_ranks", definitions=rank_definitions(
                rank_G_hat=2 * D.eps_rank(mu[j], ((j, 1, p),), eps))),
    }
