"""T7 regressions (issue 33): the arc-cosine expectations, the NTK recursion, X ↦ XQ invariance
and linrelu.spectral.kernels as the proof uses it.

Each false statement below is a change of one field of ``THEOREM`` that ``check`` (the proof,
not the falsifier) must reject; each library mutant is a change of linrelu.spectral.kernels that
the proof
must notice. The numeric tests compare the statement with computations that share no code with
the proof: numpy Monte Carlo, and linrelu's float64 kernels on rotated inputs.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import linrelu.spectral.kernels as lk
import proofs.t7_infinite_width as t7
from proofs import run_module
from proofs._defs import equation
from proofs._statement import (
    ProofError,
    Report,
    evaluate_expr,
    evaluate_relation,
    falsify,
)

VARIANTS = t7.false_variants()


def _rejected(theorem) -> str:
    """The message of the proof step that rejects ``theorem`` (the test fails if none does)."""
    with pytest.raises(AssertionError) as info:
        t7.check(theorem)
    return str(info.value)


def test_check_passes_with_every_kind_of_step():
    report = t7.check()
    assert report.solver and report.identities
    assert report.inductions == ["orthogonal_invariance (on the depth, from 1)"]
    depths = {line.split(" at depth ")[1].split(" ")[0] for line in report.instances}
    assert depths == {"0", "1", "2", "3", "4"}
    assert any("with 3 inputs" in line for line in report.instances)


def test_runner_row_passes_with_the_falsifier():
    row = run_module(t7)
    assert row["passed"], row["error"]
    assert row["falsifier"]["checked"] >= 8 * t7.FALSIFIER_TRIALS
    assert not row["falsifier"]["violations"]


@pytest.mark.parametrize(("name", "claim"), [("arccos_without_pi", "relu_product"),
                                           ("derivative_kernel_over_pi", "relu_step_product"),
                                           ("invariance_of_scaled_inputs", "orthogonal_invariance"),
                                           ("library_ntk_is_nngp", "library_recursion")])
def test_the_falsifier_refutes_false_variants_on_its_own(name, claim):
    counts = falsify(VARIANTS[name], t7.draw, 3)
    assert counts[claim]["violations"]


def test_old_mutants_are_false_variants():
    old = {"arccos_without_pi", "drop_sqrt_term", "derivative_kernel_over_pi", "permute_samples",
           "sigma1_drops_bias", "sigma1_drops_1_over_d", "sigma_next_drops_bias",
           "arc_starts_at_theta_minus_pi"}
    assert old <= set(VARIANTS)


# -- class A: printed text is the checked object ---------------------------------------------------
def test_class_a_invariance_with_q_on_the_wrong_side():
    """Σ(QX) = Σ(X) (square X so that QX is defined): false, QXXᵀQᵀ ≠ XXᵀ in general."""
    square = sp.MatrixSymbol("X", t7.d, t7.d)
    layer = t7.L
    wrong = t7.THEOREM.with_claim("orthogonal_invariance", conclusion=sp.And(
        equation(t7.Sigma(layer, t7.Q * square, t7.sigma_w, t7.sigma_b, t7.i, t7.j),
                 t7.Sigma(layer, square, t7.sigma_w, t7.sigma_b, t7.i, t7.j)),
        equation(t7.Theta(layer, t7.Q * square, t7.sigma_w, t7.sigma_b, t7.i, t7.j),
                 t7.Theta(layer, square, t7.sigma_w, t7.sigma_b, t7.i, t7.j))))
    assert "Q·X" in wrong.render() and "X·Q" not in wrong.render().split("[orthogonal")[1]
    assert "base layer" in _rejected(wrong)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((4, 4))
    Q = np.linalg.qr(rng.standard_normal((4, 4)))[0]
    assert not np.allclose(lk.ntk_analytic(Q @ X, depth=2), lk.ntk_analytic(X, depth=2))


def test_class_a_orthogonality_is_a_hypothesis_of_the_object():
    assert "base layer" in _rejected(VARIANTS["invariance_without_orthogonality"])
    assert "base layer" in _rejected(VARIANTS["permute_samples"])


def test_the_convergence_rate_is_not_claimed():
    text = t7.THEOREM.render()
    assert "O(" not in text and "m^(−1/2)" not in text and "m^(-1/2)" not in text


# -- class B: the definition printed is the definition checked -------------------------------------
def test_class_b_changed_definitions_fail_where_they_are_used():
    assert "input_layer" in _rejected(VARIANTS["sigma1_drops_bias"])
    assert "hidden_layer" in _rejected(VARIANTS["sigma_next_drops_bias"])
    assert "tangent_layer" in _rejected(VARIANTS["theta_drops_sigma"])
    assert "relu_product" in _rejected(VARIANTS["correlation_sign_flipped"])


# -- class C: a claim at a depth that is never checked --------------------------------------------
def test_class_c_depths_outside_the_definitions():
    assert "no definition applies" in _rejected(VARIANTS["invariance_from_depth_zero"])
    assert "no definition applies" in _rejected(VARIANTS["hidden_layer_from_depth_zero"])
    assert "no definition applies" in _rejected(
        VARIANTS["library_recursion_from_depth_minus_one"])


# -- class D: a case split is checked to cover the hypotheses --------------------------------------
def test_class_d_a_dropped_case_is_noticed(monkeypatch):
    real_solve = sp.solve

    def first_case_only(*args, **kwargs):
        return real_solve(*args, **kwargs)[:1]

    monkeypatch.setattr(t7.sp, "solve", first_case_only)
    assert "the cases cover the hypotheses" in _rejected(t7.THEOREM)


# -- class F: a printed library name is the function that is run -----------------------------------
def test_class_f_library_names_are_wired():
    assert "library entry" in _rejected(VARIANTS["library_ntk_is_nngp"])


# -- class G: every Piecewise condition of the library is honoured ---------------------------------
def _guard(op, factor=8.0):
    def sine_factor(s1, s2, c):
        prod = s1 * s2
        det = prod - c * c
        return lk.np.sqrt(lk.np.where(op(det, factor * lk.np.finfo(lk.np.float64).eps * prod),
                                      det, 0.0))

    return sine_factor


LIBRARY_MUTANTS = {
    "guard_reversed": ("_sine_factor", _guard(lambda x, y: x < y)),
    "guard_inclusive": ("_sine_factor", _guard(lambda x, y: x >= y)),
    "guard_margin_doubled": ("_sine_factor", _guard(lambda x, y: x > y, 16.0)),
    "guard_margin_removed": ("_sine_factor", _guard(lambda x, y: x > y, 0.0)),
    "no_zero_variance_convention": (
        "arccos_kernel_0", lambda s1, s2, c: (lk.np.pi - lk._arccos_angle(s1, s2, c))
        / (2.0 * lk.np.pi)),
    "angle_from_the_cosine_only": (
        "_arccos_angle", lambda s1, s2, c: lk.np.arctan2(lk.np.sqrt(s1 * s2), c)),
    "diagonal_variance_halved_twice": (
        "arccos_kernel_1", lambda s1, s2, c: (lk._sine_factor(s1, s2, c) + (
            lk.np.pi - lk._arccos_angle(s1, s2, c)) * c) / (4.0 * lk.np.pi)),
}


@pytest.mark.parametrize("name", sorted(LIBRARY_MUTANTS))
def test_class_g_library_mutants_fail_the_proof(monkeypatch, name):
    attr, replacement = LIBRARY_MUTANTS[name]
    monkeypatch.setattr(lk, attr, replacement)
    message = _rejected(t7.THEOREM)
    assert "library" in message


def test_class_g_reversed_guard_is_caught_by_its_branch_condition(monkeypatch):
    """The issue's example: det > 8ε·prod reversed to <. In the interior region the solver
    refutes the reversed condition, so the 0 branch is taken, and the angle's branch (a parallel
    pair's arctan2) is then not implied by the hypotheses: the proof stops there."""
    monkeypatch.setattr(lk, "_sine_factor", _guard(lambda x, y: x < y))
    assert "library_interior: library branch" in _rejected(t7.THEOREM)


def test_class_g_widened_region_leaves_the_guard_undecided():
    assert "do not decide the branch condition" in _rejected(
        VARIANTS["library_guard_without_margin"])


# -- numbers, independent of the proof -------------------------------------------------------------
MC_DRAWS = 1_000_000
MC_SIGMAS = 5.0  # tolerance: 5 standard errors of the Monte Carlo mean


@pytest.mark.parametrize(("var1", "var2", "corr"), [(1.0, 1.0, 0.3), (0.5, 2.0, -0.7),
                                                    (2.5, 0.4, 0.95), (1.0, 3.0, 0.0)])
def test_closed_forms_match_monte_carlo(var1, var2, corr):
    """E[φ(u)φ(v)] and P(u > 0, v > 0) by numpy Monte Carlo (10⁶ draws of the pair by its
    Cholesky factor) within 5 standard errors of the statement's closed forms, evaluated from the
    claim objects."""
    rng = np.random.default_rng(17)
    cov = corr * np.sqrt(var1 * var2)
    chol = np.linalg.cholesky(np.array([[var1, cov], [cov, var2]]))
    u, v = chol @ rng.standard_normal((2, MC_DRAWS))
    values = {t7.s1: var1, t7.s2: var2, t7.c: cov, t7.rho: corr}
    for claim, sample in (("relu_product", np.maximum(u, 0) * np.maximum(v, 0)),
                          ("relu_step_product", ((u > 0) & (v > 0)).astype(float))):
        closed = float(evaluate_expr(t7.THEOREM.claim(claim).conclusion.rhs, values))
        se = sample.std(ddof=1) / np.sqrt(sample.size)
        assert abs(sample.mean() - closed) <= MC_SIGMAS * se, (claim, sample.mean(), closed, se)


def test_invariance_numerically_with_a_random_rotation():
    """linrelu's float64 kernels of XQ and X agree to round-off for a random orthogonal Q (QR of a
    Gaussian matrix), at depths 1–4, and the statement's conclusion evaluates true on them."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((5, 6))
    Q = np.linalg.qr(rng.standard_normal((6, 6)))[0]
    for depth in range(1, 5):
        for fn in (lk.ntk_analytic, lk.nngp_analytic):
            a, b = fn(X @ Q, depth=depth, sigma_b=0.3), fn(X, depth=depth, sigma_b=0.3)
            assert np.max(np.abs(a - b)) <= 1e-12 * np.max(np.abs(b))
    conclusion = t7.THEOREM.claim("orthogonal_invariance").conclusion
    for layer in range(1, 5):
        values = {t7.X: X, t7.Q: Q, t7.L: layer, t7.sigma_w: 1.3, t7.sigma_b: 0.3, t7.i: 1,
                  t7.j: 3}
        assert evaluate_relation(conclusion, values)


def test_library_snaps_near_parallel_pairs_as_claimed():
    """Inside the rounding strip linrelu returns the parallel values c/2 and 1/2 for c > 0:
    1 − c² = 2⁻⁵² here, the angle of the pair is about 1.5e-8, so the exact order-0 value
    (π − θ)/(2π) differs from the snapped 1/2 by about 2.4e-9: the snap is visible."""
    c = 1.0 - 2.0**-53
    assert 0 < 1.0 - c * c <= 8 * np.finfo(np.float64).eps
    assert lk.arccos_kernel_1(1.0, 1.0, c) == c / 2
    assert lk.arccos_kernel_0(1.0, 1.0, c) == 0.5
    exact = (np.pi - np.arccos(c)) / (2 * np.pi)
    assert abs(lk.arccos_kernel_0(1.0, 1.0, c) - exact) > 1e-9


def test_proof_error_is_an_assertion_error():
    assert issubclass(ProofError, AssertionError)


# -- the proof's tools refuse what they cannot establish -------------------------------------------
X_, Y_ = sp.symbols("x y", real=True)


def test_the_solver_decides_a_root_only_where_it_is_real():
    assert t7._decide((X_ >= 0,), sp.sqrt(X_) >= 0)
    assert not t7._decide((), sp.sqrt(X_) >= 0)


def test_a_piecewise_is_resolved_only_by_a_decided_branch():
    report = Report(t7.THEOREM)
    assert t7._resolve(report, sp.Piecewise((1, X_ > 0), (2, True)), (X_ < 0,), "probe") == 2
    with pytest.raises(ProofError, match="do not decide"):
        t7._resolve(report, sp.Piecewise((1, X_ > 0), (2, True)), (), "probe")
    with pytest.raises(ProofError, match="no branch"):
        t7._resolve(report, sp.Piecewise((1, X_ > 0)), (X_ < 0,), "probe")


def test_an_arc_endpoint_must_be_decided():
    report = Report(t7.THEOREM)
    assert t7._endpoint(report, sp.Max(X_, Y_), (X_ >= Y_,), "probe") == X_
    with pytest.raises(ProofError, match="do not order"):
        t7._endpoint(report, sp.Max(X_, Y_), (), "probe")


def test_pattern_indices_bind_once_and_fixed_indices_must_agree():
    k1, k2 = sp.symbols("k1 k2", integer=True)
    W, z, a = t7.W, t7.z, t7.a
    assert t7._match((W[a], W[a]), (W[k1], W[k1]), {a}) == {a: k1}
    assert t7._match((W[a], W[a]), (W[k1], W[k2]), {a}) is None
    assert t7._match((z[a, t7.i],), (z[k1, t7.j],), {a}) is None


def test_a_derivative_needs_a_defined_derivative():
    report = Report(t7.THEOREM)
    wrong = [equation(d.lhs, 2 * d.rhs) if d.lhs == t7.phi_prime(t7.zv) else d
             for d in t7.THEOREM.definitions]
    der = sp.Derivative(t7.phi(X_), X_)
    assert t7._derivative_heads(report, der, t7.THEOREM.definitions, "probe") == t7.phi_prime(X_)
    with pytest.raises(ProofError, match="no defined derivative"):
        t7._derivative_heads(report, der, wrong, "probe")


def test_a_width_average_must_be_a_multiple_of_one_sum():
    report = Report(t7.THEOREM)
    a, m = t7.a, t7.m
    two = sp.Sum(t7.W[a], (a, 0, m - 1)) + sp.Sum(t7.W[a] ** 2, (a, 0, m - 1))
    with pytest.raises(ProofError, match="multiple of one sum"):
        t7._use_averages(report, X_, (equation(two, 1),), "probe")


def test_the_falsifiers_own_numerics_name_their_disagreement(monkeypatch):
    """When Monte Carlo and the quadrature behind κ₁, κ₀ disagree, the falsifier stops with both
    numbers, the order and the tolerance in its message."""
    monkeypatch.setattr(t7, "_quad_kappa", lambda order: lambda *args: 10.0 + order)
    with pytest.raises(AssertionError) as failed:
        t7._monte_carlo_agrees(np.random.default_rng(0), 1.0, 1.0, 0.5)
    text = str(failed.value)
    assert text.startswith("T7 falsifier: Monte Carlo ") and "quadrature 11.0 of order 1" in text
    assert text.endswith(f"differ by more than {t7.MONTE_CARLO_SIGMAS} SE")
