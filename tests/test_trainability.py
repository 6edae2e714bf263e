"""T8 / T9 (linrelu.analysis.trainability): exact curves against explicit gradient descent, the
ε-bounds,
the τ-conditions, the step-size condition (and THEORY's counterexample), and bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linrelu.analysis import trainability as tr

# A spectrum pool with exact repeats and zeros mixed into continuous values.
_entry = st.one_of(st.just(0.0), st.just(1.0), st.just(0.25), st.floats(0.0, 1.0))
spectra = st.lists(_entry, min_size=1, max_size=12)


def _orthogonal(rng, N):
    Q, R = np.linalg.qr(rng.normal(size=(N, N)))
    return Q * np.sign(np.diag(R))


def _scaled(units, lr, n):
    """Eigenvalues λ_j with ηλ_j/n equal to the given units x_j."""
    return np.asarray(units, dtype=np.float64) * n / lr


# ------------------------------------------------------------------------------------------
# T8 exact curve = gradient descent on a random linear model
# ------------------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(units=spectra, seed=st.integers(0, 2**31 - 1), steps=st.integers(0, 40),
       n=st.integers(1, 9), lr=st.floats(0.05, 3.0), x_max=st.floats(0.1, 1.9))
def test_mse_curve_equals_gradient_descent_on_linear_model(units, seed, steps, n, lr, x_max):
    """f(θ) = Jθ with K = JJᵀ of the drawn spectrum (repeats and zeros included); explicit GD on
    L = (1/2n)‖Jθ − y‖² must follow L_t/L_0 of T8 for every t (also for ηλ_max/n up to 1.9)."""
    rng = np.random.default_rng(seed)
    N = len(units)
    x = np.asarray(units) * x_max
    lam = _scaled(x, lr, n)
    p = N + 3
    U, V = _orthogonal(rng, N), _orthogonal(rng, p)[:, :N]
    J = U @ np.diag(np.sqrt(lam)) @ V.T  # N × p, J Jᵀ = U diag(λ) Uᵀ
    y, theta = rng.normal(size=N), rng.normal(size=p)
    r0 = J @ theta - y
    if not np.linalg.norm(r0) > 0:
        return
    losses = []
    for _ in range(steps + 1):
        r = J @ theta - y
        losses.append(0.5 / n * r @ r)
        theta = theta - lr / n * J.T @ r
    realized = np.asarray(losses) / losses[0]
    lam_hat, U_hat = np.linalg.eigh(J @ J.T)  # independent route: eigh of the realized K
    predicted = tr.mse_loss_curve(np.clip(lam_hat, 0, None), U_hat.T @ r0, lr, steps, n)
    # Round-off: each GD step perturbs r by O(eps·(1 + ηλ_max/n)·‖r_0‖) ≈ 1e-15‖r_0‖ and the
    # contraction |1 − x| ≤ 1 keeps the errors from growing, so after ≤ 40 steps the ratio is off
    # by ≲ 1e-13; eigh adds O(eps·‖K‖). 1e-11 absolute (ratios are ≤ 1) leaves a margin of 100.
    np.testing.assert_allclose(realized, predicted, rtol=0, atol=1e-11)


# ------------------------------------------------------------------------------------------
# T8 bounds and the step-size condition
# ------------------------------------------------------------------------------------------
@st.composite
def bound_cases(draw):
    """Spectra and ε in units x = ηλ/n, e = ηε/n with e ≤ 1 and x_max ≤ 2 − e (the sharp
    condition; includes cases outside THEORY's x_max ≤ 1)."""
    units = draw(spectra)
    e = draw(st.floats(1e-3, 1.0))
    x_max = draw(st.floats(0.0, 2.0 - e))
    x = np.asarray(units) * x_max
    c = np.asarray(draw(st.lists(st.floats(-3, 3), min_size=len(units), max_size=len(units))))
    if not np.any(c != 0):
        c[0] = 1.0
    n = draw(st.integers(1, 50))
    lr = draw(st.floats(0.01, 10.0))
    return _scaled(x, lr, n), c, lr, n, e * n / lr, draw(st.integers(0, 60))


@settings(max_examples=150, deadline=None)
@given(case=bound_cases())
def test_bounds_bracket_exact_curve(case):
    lam, c, lr, n, eps, steps = case
    exact = tr.mse_loss_curve(lam, c, lr, steps, n)
    lower, upper = tr.mse_loss_bounds(lam, c, lr, steps, n, eps)
    # 1e-12: the three curves are sums of ≤ 12 terms of size ≤ 1 computed in float64.
    assert np.all(lower <= exact + 1e-12)
    assert np.all(exact <= upper + 1e-12)
    assert lower[0] <= 1 + 1e-12 and abs(upper[0] - 1) < 1e-12  # t = 0: L_0/L_0 = 1


def test_theory_condition_is_not_sufficient_counterexample():
    """K = [1], n = 1, η = 1, T = 1, ε = 2 satisfies THEORY's ηλ_max ≤ n, yet the lower bound
    ρ_ε m_ε = (1 − 2)²·1 = 1 exceeds the exact L_1/L_0 = 0. The implementation rejects ε."""
    assert tr.mse_loss_curve([1.0], [1.0], 1.0, 1, 1)[1] == 0.0
    rho, m = (1 - 2.0) ** 2, tr.flat_mass([1.0], [1.0], 2.0)
    assert rho * m == 1.0  # the unguarded formula would claim L_1/L_0 >= 1
    with pytest.raises(ValueError, match="eps"):
        tr.mse_loss_bounds([1.0], [1.0], 1.0, 1, 1, 2.0)


def test_sharp_upper_condition_counterexample_and_relaxation():
    """ηλ_max ≤ 2n − ηε is sharp: all mass on x = 2 − e + δ breaks the upper bound, while
    x = 1.5 > 1 (outside THEORY's condition) with e = 0.3 still satisfies both bounds."""
    e, delta, T = 0.3, 0.05, 3
    x = 2 - e + delta
    exact = tr.mse_loss_curve([x], [1.0], 1.0, T, 1)[-1]
    assert exact > (1 - e) ** (2 * T)  # the upper bound m_ε + ρ(1 − m_ε) = ρ would fail
    with pytest.raises(ValueError, match="lr"):
        tr.mse_loss_bounds([x], [1.0], 1.0, T, 1, e)
    lo, up = tr.mse_loss_bounds([1.5, 0.1], [1.0, 1.0], 1.0, T, 1, e)
    ex = tr.mse_loss_curve([1.5, 0.1], [1.0, 1.0], 1.0, T, 1)
    assert np.all(lo <= ex) and np.all(ex <= up)


def test_bounds_ladder_shape_matches_scalar_calls():
    lam, c = np.array([3.0, 1.0, 0.0, 0.2]), np.array([1.0, -2.0, 0.5, 1.0])
    lo, up = tr.mse_loss_bounds(lam, c, 0.5, 7, 2, [0.1, 0.5, 2.0])
    assert lo.shape == up.shape == (8, 3)
    lo1, up1 = tr.mse_loss_bounds(lam, c, 0.5, 7, 2, 0.5)
    np.testing.assert_array_equal(lo[:, 1], lo1)
    np.testing.assert_array_equal(up[:, 1], up1)


def test_flat_mass_by_hand():
    lam, c = [0.0, 0.5, 0.5, 2.0], [1.0, 1.0, 2.0, 3.0]  # ‖c‖² = 15
    np.testing.assert_allclose(tr.flat_mass(lam, c, [0.1, 0.5, 1.0, 3.0]),
                               [1 / 15, 6 / 15, 6 / 15, 1.0], rtol=1e-15)


# ------------------------------------------------------------------------------------------
# τ-conditions
# ------------------------------------------------------------------------------------------
@settings(max_examples=150, deadline=None)
@given(case=bound_cases(), tau=st.floats(0.01, 0.99))
def test_conditions_are_sound(case, tau):
    """Necessary never rejects a τ-trainable task; sufficient never accepts an untrainable one
    (the exact curve is the judge)."""
    lam, c, lr, n, eps, steps = case
    ladder = eps * np.array([1.0, 0.5, 0.1, 0.01])
    cond = tr.tau_conditions(lam, c, lr, steps, n, tau, ladder)
    ratio = tr.mse_loss_curve(lam, c, lr, steps, n)[-1]
    # A tie at τ within round-off (1e-12) could flip either way; such draws are not judged.
    if abs(ratio - tau) < 1e-12:
        return
    if ratio <= tau:
        assert cond.necessary
    if cond.sufficient:
        assert ratio <= tau
        assert cond.eps_accepting in ladder
    if not cond.necessary:
        assert cond.eps_rejecting in ladder


def test_conditions_decide_clear_cases():
    """Both outcomes occur: a fully sharp spectrum is accepted, a flat one rejected."""
    n, lr, T = 4, 1.0, 50
    sharp = tr.tau_conditions([4.0, 3.0, 2.0], [1.0, 1.0, 1.0], lr, T, n, 0.1, [1.0])
    assert sharp.sufficient and sharp.necessary
    flat = tr.tau_conditions([4.0, 1e-6, 1e-6], [0.1, 1.0, 1.0], lr, T, n, 0.1, [1e-3])
    assert not flat.necessary and not flat.sufficient


@settings(max_examples=30, deadline=None)
@given(units=spectra, seed=st.integers(0, 2**31 - 1), lr=st.floats(0.1, 2.0),
       n=st.integers(1, 10), steps=st.integers(1, 30), tau=st.floats(0.05, 0.95))
def test_rank_conditions_sound_for_expected_ratio(units, seed, lr, n, steps, tau):
    lam = _scaled(np.asarray(units), lr, n)
    ladder = np.array([0.5, 0.1, 0.01]) * n / lr
    rc = tr.rank_conditions(lam, lr, steps, n, tau, ladder)
    # Independent route to E[L_T/L_0] for an isotropic residual: E[rᵀAr/rᵀr] = tr(A)/N, and
    # L_T/L_0 = ‖M^T r_0‖²/‖r_0‖² with M = I − (η/n)K. So run explicit GD on the residual from
    # every basis vector at once (R ← R − (η/n) K R, K = V diag(λ) Vᵀ in a random basis) and
    # take ‖R_T‖_F²/N. Round-off: each step adds O(eps·‖R‖) (|1 − ηλ/n| ≤ 1 here), so after
    # ≤ 30 steps ≲ 1e-14 on a ratio ≤ 1; 1e-12 absolute leaves a margin of 100.
    N = lam.size
    V = _orthogonal(np.random.default_rng(seed), N)
    K = V @ np.diag(lam) @ V.T
    R = np.eye(N)
    for _ in range(steps):
        R = R - lr / n * K @ R
    expected = np.sum(R * R) / N
    np.testing.assert_allclose(rc.expected_ratio, expected, rtol=0, atol=1e-12)
    # ε-rank by its definition #{λ_j > ε} (THEORY Conventions; exact ties λ = ε drawn on purpose)
    np.testing.assert_array_equal(rc.rank, [np.count_nonzero(lam > e) for e in ladder])
    # the explicit rank thresholds are the same statements as the flat-mass conditions
    np.testing.assert_array_equal(rc.necessary_ok, rc.rank >= rc.necessary_rank - 1e-9)
    if abs(expected - tau) > 1e-12:
        if expected <= tau:
            assert rc.necessary
        if rc.sufficient:
            assert expected <= tau


def test_rank_conditions_expected_ratio_matches_monte_carlo():
    """E[L_T/L_0] = (1/N) Σ_j w_j for isotropic Gaussian residuals (Monte Carlo, 20000 draws:
    the ratio is in [0, 1], so the standard error is ≤ 0.5/√20000 ≈ 0.0035; 5σ = 0.018)."""
    rng = np.random.default_rng(3)
    lam = np.array([2.0, 2.0, 1.0, 0.3, 0.0, 0.0, 1e-3, 0.7])
    lr, n, T = 0.5, 1, 4
    c = rng.normal(size=(20000, lam.size))
    w = (1 - lr * lam / n) ** (2 * T)
    mc = np.mean((c**2 @ w) / np.sum(c**2, axis=1))
    rc = tr.rank_conditions(lam, lr, T, n, 0.5, [0.1])
    assert abs(mc - rc.expected_ratio) < 0.018


# ------------------------------------------------------------------------------------------
# T9
# ------------------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(units=spectra, seed=st.integers(0, 2**31 - 1), steps=st.integers(0, 30),
       lr=st.floats(0.01, 2.0))
def test_quadratic_decrease_equals_gd_on_quadratic_model(units, seed, steps, lr):
    """Explicit GD Δ ← Δ − η(g + ĜΔ) on q in a random basis (repeats, zeros; ηλ_max ≤ 1)."""
    rng = np.random.default_rng(seed)
    lam = np.asarray(units) / lr  # ηλ ∈ [0, 1]
    V = _orthogonal(rng, lam.size)
    Gh = V @ np.diag(lam) @ V.T
    g = rng.normal(size=lam.size)
    delta = np.zeros(lam.size)
    for _ in range(steps):
        delta = delta - lr * (g + Gh @ delta)
    realized = -(g @ delta + 0.5 * delta @ Gh @ delta)
    predicted = tr.quadratic_decrease(lam, V.T @ g, lr, steps)
    # |Δ| ≤ Tη|g| and every step loses O(eps·|Δ|); 1e-10 relative to the scale Tη‖g‖² + ‖g‖².
    scale = steps * lr * (g @ g) + g @ g
    assert abs(realized - predicted) <= 1e-10 * scale
    bounds = tr.quadratic_decrease_bound(lam, V.T @ g, lr, steps, [1e-8, 0.1 / lr, 0.5 / lr])
    assert np.all(predicted <= bounds + 1e-12 * scale)
    curve = tr.quadratic_decrease_curve(lam, V.T @ g, lr, steps)
    assert curve[0] == 0.0 and abs(curve[-1] - predicted) <= 1e-12 * scale


@settings(max_examples=60, deadline=None)
@given(units=st.lists(st.floats(0.0, 3.0), min_size=1, max_size=10),
       g=st.lists(st.floats(-5, 5), min_size=10, max_size=10),
       steps=st.integers(0, 50), eps=st.floats(1e-6, 3.0))
def test_quadratic_bound_holds_for_any_step_size(units, g, steps, eps):
    """T9's ε-bound needs no step condition (ηλ up to 3 here: divergent GD, decrease < 0)."""
    lam, gg = np.asarray(units), np.asarray(g[: len(units)])
    exact = tr.quadratic_decrease(lam, gg, 1.0, steps)
    bound = tr.quadratic_decrease_bound(lam, gg, 1.0, steps, eps)
    assert exact <= bound + 1e-12 * max(1.0, abs(bound))


def test_quadratic_decrease_tiny_and_zero_eigenvalues_are_stable():
    """Term → Tη g² as λ → 0, with full relative accuracy (the naive form returns 0 for λ=1e-20
    and garbage around 1e-12)."""
    T, lr, g = 1000, 0.1, 2.0
    limit = T * lr * g * g
    for lam in (0.0, 1e-300, 1e-20, 1e-14):
        assert abs(tr.quadratic_decrease([lam], [g], lr, T) - limit) <= 1e-12 * limit
    lam = 1e-6  # second-order term: T(2T−1)ηλ/2 relative, checked against a series
    x = lr * lam
    series = limit * (1 - (2 * T - 1) * x / 2 + (2 * T - 1) * (2 * T - 2) * x**2 / 6)
    assert abs(tr.quadratic_decrease([lam], [g], lr, T) - series) <= 1e-9 * limit


# ------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("call, name", [
    (lambda: tr.mse_loss_curve([1.0, -0.1], [1, 1], 0.1, 5, 2), "eigvals"),
    (lambda: tr.mse_loss_curve([1.0, 0.5], [1, 1, 1], 0.1, 5, 2), "coeffs"),
    (lambda: tr.mse_loss_curve([1.0, np.nan], [1, 1], 0.1, 5, 2), "eigvals"),
    (lambda: tr.mse_loss_curve([1.0, 0.5], [1, np.inf], 0.1, 5, 2), "coeffs"),
    (lambda: tr.mse_loss_curve([1.0], [0.0], 0.1, 5, 2), "coeffs"),
    (lambda: tr.mse_loss_curve([1.0], [1.0], -0.1, 5, 2), "lr"),
    (lambda: tr.mse_loss_curve([1.0], [1.0], np.nan, 5, 2), "lr"),
    (lambda: tr.mse_loss_curve([1.0], [1.0], 0.1, -1, 2), "steps"),
    (lambda: tr.mse_loss_curve([1.0], [1.0], 0.1, 2.5, 2), "steps"),
    (lambda: tr.mse_loss_curve([1.0], [1.0], 0.1, 5, 0), "n"),
    (lambda: tr.mse_loss_curve([], [], 0.1, 5, 1), "eigvals"),
    (lambda: tr.mse_loss_bounds([1.0], [1.0], 0.1, 5, 1, 0.0), "eps"),
    (lambda: tr.mse_loss_bounds([1.0], [1.0], 0.1, 5, 1, np.nan), "eps"),
    (lambda: tr.mse_loss_bounds([30.0], [1.0], 0.1, 5, 1, 0.1), "lr"),
    (lambda: tr.flat_mass([1.0, 0.5], [1.0], 0.1), "coeffs"),
    (lambda: tr.tau_conditions([1.0], [1.0], 0.1, 5, 1, 1.0, 0.1), "tau"),
    (lambda: tr.tau_conditions([1.0], [1.0], 0.1, 5, 1, 0.0, 0.1), "tau"),
    (lambda: tr.tau_conditions([1.0], [1.0], 0.1, 5, 1, np.nan, 0.1), "tau"),
    (lambda: tr.rank_conditions([1.0, -1.0], 0.1, 5, 1, 0.5, 0.1), "eigvals"),
    (lambda: tr.rank_conditions([1.0], 0.1, 5, 1, 1.5, 0.1), "tau"),
    (lambda: tr.quadratic_decrease([1.0, 0.0], [1.0], 0.1, 5), "grad_coeffs"),
    (lambda: tr.quadratic_decrease([1.0, -1e-3], [1.0, 1.0], 0.1, 5), "eigvals"),
    (lambda: tr.quadratic_decrease_bound([1.0], [1.0], 0.1, 5, -1.0), "eps"),
])
def test_bad_input_raises_value_error_naming_argument(call, name):
    with pytest.raises(ValueError, match=rf"^{name}:"):
        call()


def test_round_off_negative_eigenvalues_are_accepted_and_clipped():
    lam = np.array([10.0, 1.0, -1e-15])  # within N·eps·λ_max·8 ≈ 5e-14: eigvalsh round-off
    curve = tr.mse_loss_curve(lam, [1.0, 1.0, 1.0], 0.1, 3, 1)
    assert curve[-1] <= 1.0 and np.isfinite(curve).all()
