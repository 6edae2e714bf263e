r"""T5a — rank of a layer's Gram term is at most (feature rank) × (backward rank).

Statement
---------
The layer-l weight term of T5 is ``K_W = (σ_w²/m_{l−1}) (H Hᵀ ⊗ 𝟙_k𝟙_kᵀ) ∘ Δ Δᵀ`` with
H = H_{l−1} the n × m_{l−1} feature matrix (row i = h_{l−1}(x_i)) and Δ = Δ_l the nk × m_l
backward matrix (row i·k + c = δ_{l,c}(x_i)), so that
``K_W[(i,c),(j,c')] = (σ_w²/m_{l−1})⟨h_{l−1}(x_i), h_{l−1}(x_j)⟩⟨δ_{l,c}(x_i), δ_{l,c'}(x_j)⟩``.
Then ``rank(K_W) ≤ rank(H) · rank(Δ)``: collapsed feature rank caps curvature rank.

Proof
-----
Call a matrix a sum of t rank-one terms if it equals Σ_{a=1}^{t} u_a w_aᵀ; then its rank is ≤ t.
A matrix Y has a rank factorization Y = U Vᵀ with rank(Y) columns, so Y·Z = Σ_{a ≤ rank Y}
u_a (Zᵀv_a)ᵀ is a sum of rank(Y) rank-one terms (H Hᵀ: rank(H) terms, Δ Δᵀ: rank(Δ) terms);
𝟙_k𝟙_kᵀ is one term; a scalar multiple keeps the count. If P = Σ_{a=1}^{r} u_a w_aᵀ and
Q = Σ_{b=1}^{s} x_b y_bᵀ then entrywise
``(P ∘ Q)_ij = P_ij Q_ij = Σ_{a=1}^{r} Σ_{b=1}^{s} (u_{a,i} x_{b,i})(w_{a,j} y_{b,j})``,
i.e. P ∘ Q = Σ_{a,b} (u_a ∘ x_b)(w_a ∘ y_b)ᵀ, a sum of r·s rank-one terms; the same double sum
with the second factor's indices kept apart gives P ⊗ Q = Σ_{a,b} (u_a ⊗ x_b)(w_a ⊗ y_b)ᵀ.
Hence K_W is a sum of rank(H)·1·rank(Δ) rank-one terms and rank(K_W) ≤ rank(H)·rank(Δ). ∎

What ``check()`` proves
-----------------------
It reads the claim's conclusion, finds every ``rank(X)`` in it and, for an X with a definition
(K_W), walks the defining expression: matrix symbols, products, scalar multiples, sums, the
all-ones and identity matrices, and Hadamard and Kronecker products, each with its number of
rank-one terms. Each Hadamard / Kronecker node is checked as the double sum above at symbolic
r, s (the summand factorizes, the limits are the factors' limits), and its term count is read off
the double sum's limits (the product of hi − lo + 1 over them, r·s), with r, s then replaced by
the factors' own counts. The solver
then decides: (rank(K_W) ≤ the term count, every rank ≥ 0) ⇒ the claim's conclusion, with each
rank(·) an integer unknown; so a claimed bound r(s − 1), r + s or (r − 1)s is refuted with a
counterexample. Sampled (exact rational arithmetic, not part of the general proof): the claim
evaluated on explicit low-rank H and Δ of several sizes, K_W built from the theorem's definition.
Named lemmas (prose): rank factorization; a sum of t rank-one terms has rank ≤ t; ranks are
nonnegative integers.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from proofs import _defs as defs
from proofs import _smt
from proofs._render import render, render_counterexample
from proofs._statement import Claim, ProofError, Report, Theorem
from proofs._sym import assert_double_sum_factorizes

# -- the statement -------------------------------------------------------------------------------
l, n = defs.integer("l n")  # layer index; n samples (an integer here, not the real n of T8)
k, sigma_w = defs.k, defs.sigma_w
m = sp.IndexedBase("m", integer=True)  # widths m_0 = d, m_1, ...
H = sp.MatrixSymbol("H", n, m[l - 1])  # H_{l−1}: row i = h_{l−1}(x_i)
Delta = sp.MatrixSymbol("Delta", n * k, m[l])  # Δ_l: row i·k + c = δ_{l,c}(x_i)
K_W = sp.MatrixSymbol("K_W", n * k, n * k)
rank = defs.rank

THEOREM = Theorem(
    id="T5a",
    variables=(l, n, k, m, sigma_w, H, Delta),
    hypotheses=(),
    definitions=(defs.equation(K_W, defs.layer_weight_gram(H, Delta, sigma_w, m[l - 1], k)),),
    claims=(Claim("rank_bound", sp.Le(rank(K_W), rank(H) * rank(Delta))),),
    lemmas=("rank factorization", "a sum of t rank-one terms has rank at most t",
            "ranks are nonnegative integers"),
)


# -- the proof -----------------------------------------------------------------------------------
def _product_count(report: Report, kind: str, first, second):
    """The number of rank-one terms of P ∘ Q (or P ⊗ Q) for P, Q sums of ``first`` and
    ``second`` terms: the double sum at symbolic r, s, its term count read off its limits. The
    entries P_ij, Q_gh are multiplied with independent indices (the Kronecker entry); the
    Hadamard entry is the case g = i, h = j of the same identity."""
    r, s = sp.symbols("r s", integer=True)
    i, j, g, h, a, b = sp.symbols("i j g h a b", integer=True)
    U, V, X, Y = (sp.IndexedBase(name) for name in "UVXY")
    left = sp.Sum(U[i, a] * V[j, a], (a, 1, r))  # an entry of P: r rank-one terms
    right = sp.Sum(X[g, b] * Y[h, b], (b, 1, s))  # an entry of Q: s rank-one terms
    double = sp.Sum((U[i, a] * X[g, b]) * (V[j, a] * Y[h, b]), (a, 1, r), (b, 1, s))
    assert_double_sum_factorizes(double, left, right, f"{kind} product of two expansions")
    report.identities.append(f"{kind} product of sums of rank-one terms, symbolic sizes")
    terms = sp.Mul(*[hi - lo + 1 for _, lo, hi in double.limits])
    return terms.xreplace({r: first, s: second})


def term_count(expr, report: Report):
    """An upper count of rank-one terms that sum to the matrix expression ``expr``."""
    if isinstance(expr, sp.MatrixSymbol):
        return rank(expr)
    if isinstance(expr, sp.OneMatrix):
        rows, cols = expr.shape
        report.matrix_identity("all-ones matrix is one outer product",
                               sp.OneMatrix(rows, 1) * sp.OneMatrix(1, cols), expr)
        return sp.Integer(1)
    if isinstance(expr, sp.Identity):
        return expr.rows  # Σ_c e_c e_cᵀ
    if isinstance(expr, sp.MatMul):  # scalars keep the count; Y·Z has as many terms as Y
        return term_count([a for a in expr.args if a.is_Matrix][0], report)
    if isinstance(expr, sp.MatAdd):
        return sp.Add(*[term_count(a, report) for a in expr.args])
    kinds = {sp.HadamardProduct: "Hadamard", sp.KroneckerProduct: "Kronecker"}
    if type(expr) in kinds:
        counts = [term_count(a, report) for a in expr.args]
        total = counts[0]
        for count in counts[1:]:
            total = _product_count(report, kinds[type(expr)], total, count)
        return total
    raise ProofError(f"T5a: no expansion in rank-one terms is known for {render(expr)}")


def _definitions(theorem: Theorem, claim: Claim) -> dict:
    return {d.lhs: d.rhs for d in tuple(theorem.definitions) + tuple(claim.definitions)}


def _integer_unknowns(exprs) -> dict:
    """rank(·) applications → integer unknowns named by their printed form (for the solver)."""
    atoms = set().union(*(sp.sympify(e).atoms(sp.core.function.AppliedUndef) for e in exprs))
    return {atom: sp.Dummy(render(atom), integer=True) for atom in atoms}


def _prove_rank_bound(theorem: Theorem, report: Report) -> None:
    claim = theorem.claim("rank_bound")
    defined = _definitions(theorem, claim)
    facts = []
    for atom in claim.conclusion.atoms(sp.core.function.AppliedUndef):
        facts.append(sp.Ge(atom, 0))
        if atom.args[0] in defined:
            facts.append(sp.Le(atom, term_count(defined[atom.args[0]], report)))
    hypotheses = theorem.hypotheses_of("rank_bound") + tuple(facts)
    unknowns = _integer_unknowns((*hypotheses, claim.conclusion))
    decision = _smt.decide([h.xreplace(unknowns) for h in hypotheses],
                           claim.conclusion.xreplace(unknowns))
    if decision.verdict != "proved":
        detail = (f"counterexample {render_counterexample(decision.model)}" if decision.model
                  else decision.verdict)
        raise ProofError(f"{theorem.id} rank_bound: the term count does not give "
                         f"{render(claim.conclusion)} ({detail})")
    report.solver.append("rank_bound: term count of the defining expression implies the bound")


# sampled sizes (n, k, m_{l−1}, m_l, rank of H, rank of Δ)
INSTANCES = ((2, 2, 3, 3, 1, 2), (3, 2, 2, 3, 2, 2), (3, 1, 3, 4, 2, 3), (2, 3, 2, 4, 2, 2))


def _low_rank(rng, rows: int, cols: int, r: int) -> sp.ImmutableMatrix:
    left = rng.integers(-3, 4, size=(rows, r))
    right = rng.integers(-3, 4, size=(r, cols))
    return sp.ImmutableMatrix((left @ right).tolist())


def _check_instances(theorem: Theorem, report: Report) -> None:
    claim = theorem.claim("rank_bound")
    defined = _definitions(theorem, claim)
    rng = np.random.default_rng(5)
    for size_n, size_k, fan_in, width, r_h, r_d in INSTANCES:
        sizes = {n: size_n, k: size_k, m[l - 1]: fan_in, m[l]: width}
        given = {H.xreplace(sizes): _low_rank(rng, size_n, fan_in, r_h),
                 Delta.xreplace(sizes): _low_rank(rng, size_n * size_k, width, r_d)}
        ranks = {}
        for atom in claim.conclusion.atoms(sp.core.function.AppliedUndef):
            arg = defined.get(atom.args[0], atom.args[0])
            value = arg.xreplace(sizes).xreplace(given).xreplace({sigma_w: 1}).replace(
                lambda e: isinstance(e, sp.OneMatrix),
                lambda e: sp.ImmutableMatrix(sp.ones(*e.shape))).doit()
            ranks[atom] = sp.Matrix(value).rank()
        report.holds(f"rank_bound at sizes {(size_n, size_k, fan_in, width)}",
                     claim.conclusion.xreplace(ranks))
        report.instance(f"rank_bound, exact, n k widths {(size_n, size_k, fan_in, width)}, "
                        f"ranks {(r_h, r_d)}")


def check(theorem: Theorem = THEOREM) -> Report:
    """Prove T5a (see the module docstring); raise ``ProofError`` on a failed step."""
    report = Report(theorem)
    _prove_rank_bound(theorem, report)
    _check_instances(theorem, report)
    return report


# -- the numeric falsifier -------------------------------------------------------------------------
FALSIFIER_TRIALS = 40


def draw(rng, trial: int) -> dict:
    """Random H (n × m_{l−1}) and Δ (nk × m_l) of planted ranks r, s (products of Gaussian
    factors), K_W = (σ_w²/m_{l−1}) kron(H Hᵀ, ones(k, k)) * (Δ Δᵀ) in numpy: n ∈ 1…4 samples,
    k ∈ 1…3 outputs, fan-in m_{l−1} and width m_l ∈ 1…4, σ_w ∈ [0.5, 2]; sizes with r·s ≤ nk are
    frequent, where the bound is attained."""
    size_n, size_k = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    fan_in, width = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    r_h = int(rng.integers(1, min(size_n, fan_in) + 1))
    r_d = int(rng.integers(1, min(size_n * size_k, width) + 1))
    feats = rng.normal(size=(size_n, r_h)) @ rng.normal(size=(r_h, fan_in))
    back = rng.normal(size=(size_n * size_k, r_d)) @ rng.normal(size=(r_d, width))
    scale = float(rng.uniform(0.5, 2.0))
    gram = scale**2 / fan_in * np.kron(feats @ feats.T, np.ones((size_k, size_k))) \
        * (back @ back.T)
    return {"rank_bound": {H: feats, Delta: back, K_W: gram}}


# -- false variants ------------------------------------------------------------------------------
def false_variants() -> dict[str, Theorem]:
    """False statements the check must reject (one field of ``THEOREM`` changed each)."""

    def bound(value) -> Theorem:
        return THEOREM.with_claim("rank_bound", conclusion=sp.Le(rank(K_W), value))

    def gram(value) -> Theorem:
        return THEOREM.replace(definitions=(defs.equation(K_W, value),))

    features = sp.KroneckerProduct(H * H.T, sp.OneMatrix(k, k))
    return {
        "rank_sum_factor": bound(rank(H) + rank(Delta)),
        "backward_rank_minus_one": bound(rank(H) * (rank(Delta) - 1)),
        "feature_rank_minus_one": bound((rank(H) - 1) * rank(Delta)),
        "feature_rank_only": bound(rank(H)),
        "sum_instead_of_schur_product": gram(sigma_w**2 / m[l - 1] * (features + Delta * Delta.T)),
        "classes_not_tied": gram(sigma_w**2 / m[l - 1] * sp.HadamardProduct(
            sp.KroneckerProduct(H * H.T, sp.Identity(k)), Delta * Delta.T)),
    }
