"""T6 regressions (Kronecker spectrum, ε-rank, L2 shift): issue 33's false variants for T6, one
test per issue class the module covers (each a false variant the proof rejects), and numeric
facts computed independently with numpy (never with the module's symbolic code)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from proofs import _defs as D
from proofs import t6_kronecker_l2 as t6
from proofs._statement import evaluate_relation, falsify, strict_relation_holds

VARIANTS = t6.false_variants()


def rejection(name: str) -> str:
    """The proof's error message for false variant ``name`` (it must be rejected)."""
    variant = VARIANTS[name]
    assert variant.render() != t6.THEOREM.render()
    with pytest.raises(AssertionError) as info:
        t6.check(variant)
    return str(info.value)


def test_the_theorem_is_proved_by_identities_and_the_solver():
    report = t6.check()
    assert report.identities and report.solver
    assert not report.instances  # everything at symbolic sizes


def test_every_old_mutant_is_a_false_variant():
    assert {"kronecker_sum_spectrum", "l2_shift_sign", "mixed_product_swapped",
            "pair_s_squared"} <= set(VARIANTS)


# -- independent numeric facts ------------------------------------------------------------------
def test_kronecker_spectrum_is_the_pair_products_numerically():
    rng = np.random.default_rng(1)
    for na, nb in ((2, 3), (3, 2), (4, 4)):
        mat_a, mat_s = rng.normal(size=(na, na)), rng.normal(size=(nb, nb))
        got = np.linalg.eigvals(np.kron(mat_a, mat_s))
        want = np.outer(np.linalg.eigvals(mat_a), np.linalg.eigvals(mat_s)).ravel()
        # each product is an eigenvalue, with multiplicity: match greedily
        remaining = list(got)
        for value in want:
            k = int(np.argmin([abs(value - r) for r in remaining]))
            assert abs(value - remaining.pop(k)) < 1e-8 * max(1.0, abs(value))
        sums = np.add.outer(np.linalg.eigvals(mat_a), np.linalg.eigvals(mat_s)).ravel()
        assert np.max(np.abs(np.sort_complex(sums) - np.sort_complex(got))) > 1e-3


def test_class_a_rank_sum_is_a_different_object_the_solver_refutes():
    """Issue 33 class A: "rank A·rank S" edited into "rank A + rank S" (it printed the same
    check before). Counterexample (numpy): A = S = I_3, ε = 1/2 gives rank_ε(A ⊗ S) = 9 > 6."""
    eye = np.eye(3)
    count = int(np.sum(np.abs(np.linalg.eigvalsh(np.kron(eye, eye))) > 0.5))
    ranks = int(np.linalg.matrix_rank(eye))
    assert count == 9 and count > ranks + ranks and count <= ranks * ranks
    values = {t6.rank_eps: count, t6.rank_A: ranks, t6.rank_S: ranks, t6.A: eye, t6.S: eye,
              t6.eps: 0.5}
    variant = VARIANTS["eps_rank_sum_of_ranks"]
    assert not evaluate_relation(variant.claim("eps_rank_bound").conclusion, values)
    assert evaluate_relation(t6.THEOREM.claim("eps_rank_bound").conclusion, values)
    message = rejection("eps_rank_sum_of_ranks")
    assert "solver" in message and "counterexample" in message


def test_class_b_the_l2_shift_is_the_hessian_of_the_one_penalty():
    """Issue 33 class B: the shift was checked as M + κI/2 while κI was printed. The printed
    shift is ``_defs.l2_hessian_shift`` and is compared with the Hessian of ``_defs.l2_penalty``;
    numerically (finite differences) that Hessian is κI and eig(M + κI) = eig(M) + κ."""
    rng = np.random.default_rng(2)
    kappa, size, h = 0.7, 4, 1e-3
    theta = rng.normal(size=size)

    def penalty(v):
        return kappa * v @ v / 2

    basis = np.eye(size)
    hessian = np.array([[(penalty(theta + h * (e + f)) - penalty(theta + h * e)
                          - penalty(theta + h * f) + penalty(theta)) / h**2
                         for f in basis] for e in basis])
    assert np.allclose(hessian, kappa * np.eye(size), atol=1e-6)
    sym = rng.normal(size=(size, size))
    sym = (sym + sym.T) / 2
    assert np.allclose(np.linalg.eigvalsh(sym + hessian), np.linalg.eigvalsh(sym) + kappa,
                       atol=1e-6)
    shift = D.l2_hessian_shift(D.kappa, D.p)
    assert t6.THEOREM.claim("l2_hessian").conclusion.rhs == shift
    assert shift in sp.preorder_traversal(t6.THEOREM.claim("l2_shift").conclusion.lhs)
    for name in ("l2_hessian_halved", "l2_shift_halved", "l2_shift_sign",
                 "l2_penalty_without_half"):
        rejection(name)
    # the example itself: the shift used is half the penalty's Hessian
    assert "the Hessian of the loss plus the penalty" in rejection("l2_shift_of_half_the_hessian")


def test_class_c_a_product_or_a_count_over_the_wrong_range_is_rejected():
    assert "range" in rejection("spectrum_range_short")
    assert "range" in rejection("eps_rank_count_short_range")


def test_class_d_the_definitions_must_be_the_proved_spectrum():
    """Class D (a certificate that trusts its caller): the ranks the bound uses must be the
    ε-rank definition of the spectrum the spectrum claim proves, not any count typed beside it;
    and the eigenvalues must come from a characteristic-polynomial hypothesis."""
    # rank_ε(A ⊗ S) ≤ rank_ε(A)·rank_ε(S) is false (numpy): α = 1/2, s = 4, ε = 1
    mat_a, mat_s = np.array([[0.5]]), np.array([[4.0]])
    count = int(np.sum(np.abs(np.linalg.eigvalsh(np.kron(mat_a, mat_s))) > 1.0))
    assert count == 1 and int(np.sum(np.abs(np.linalg.eigvalsh(mat_a)) > 1.0)) == 0
    assert "ranks" in rejection("eps_rank_bound_by_eps_ranks")
    # a rank that skips the last root of A: A = S = I_2, ε = 1/2 gives 4 > (2 − 1)·2
    eye = np.eye(2)
    assert int(np.sum(np.abs(np.linalg.eigvalsh(np.kron(eye, eye))) > 0.5)) == 4 > 1 * 2
    assert "ranks" in rejection("rank_of_a_missing_its_last_root")
    assert "characteristic polynomial" in rejection("spectrum_without_the_roots_of_s")


def test_class_f_the_printed_epsilon_rank_is_wired_to_the_definitions_module():
    assert "epsilon-rank" in rejection("eps_rank_without_absolute_value")


def test_class_g_the_indicator_condition_is_honoured():
    """A tie α_i s_j = ε is not counted by rank_ε (|μ| > ε): counting it (≥) is refuted with the
    solver's counterexample; numerically A = S = [[1]], ε = 1 gives rank_ε = 0, not 1."""
    count = int(np.sum(np.abs(np.linalg.eigvalsh(np.kron(np.eye(1), np.eye(1)))) > 1.0))
    assert count == 0
    assert "counterexample" in rejection("eps_rank_count_with_ties")


def test_dropped_hypotheses_get_a_counterexample_from_the_solver():
    """ε ≥ 0: A = S = [[0]], ε = −1 gives rank_ε = 1 > rank_A·rank_S = 0 (numpy); A, S ≽ 0:
    A = [[−1]], S = [[1]], ε = 0 gives rank_ε = 1 but #{α s > ε} = 0."""
    zero = np.zeros((1, 1))
    assert int(np.sum(np.abs(np.linalg.eigvalsh(np.kron(zero, zero))) > -1.0)) == 1
    assert int(np.linalg.matrix_rank(zero)) == 0
    neg = np.kron(np.array([[-1.0]]), np.eye(1))
    assert int(np.sum(np.abs(np.linalg.eigvalsh(neg)) > 0)) == 1
    assert int(np.sum(np.linalg.eigvalsh(neg) > 0)) == 0
    for name in ("eps_rank_bound_for_negative_eps", "eps_rank_count_without_psd"):
        assert "counterexample" in rejection(name)
    values = {t6.A: np.array([[-1.0]]), t6.S: np.eye(1), t6.alpha[t6.i]: np.array([[-1.0]]),
              t6.s[t6.j]: np.array([[1.0]])}
    assert not strict_relation_holds(t6.THEOREM.claim("eps_rank_count").hypotheses[2], values)


def test_wrong_matrix_and_wrong_pair_values_are_rejected():
    assert "diagonal" in rejection("spectrum_of_the_kronecker_sum")
    assert "diagonal" in rejection("kronecker_sum_spectrum")
    assert "diagonal" in rejection("pair_s_squared")
    assert "mixed product" in rejection("mixed_product_swapped")


def test_the_mixed_product_numerically():
    rng = np.random.default_rng(3)
    a_, b_, c_, d_ = (rng.normal(size=(2, 2)), rng.normal(size=(2, 2)),
                      rng.normal(size=(3, 3)), rng.normal(size=(3, 3)))
    assert np.allclose(np.kron(a_, c_) @ np.kron(b_, d_), np.kron(a_ @ b_, c_ @ d_))
    assert not np.allclose(np.kron(a_, c_) @ np.kron(b_, d_), np.kron(a_ @ b_, d_ @ c_))


def test_the_numeric_falsifier_refutes_false_variants_independently():
    def violations(theorem):
        counts = falsify(theorem, t6.draw, t6.FALSIFIER_TRIALS)
        return {name for name, c in counts.items() if c["violations"]}

    assert violations(t6.THEOREM) == set()
    assert violations(VARIANTS["eps_rank_sum_of_ranks"]) == {"eps_rank_bound"}
    assert violations(VARIANTS["mixed_product_swapped"]) == {"mixed_product"}
    assert violations(VARIANTS["l2_shift_halved"]) == {"l2_shift"}
