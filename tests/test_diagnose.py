"""linrelu.analysis.diagnose: gradient components from the nk side against the p × p autodiff GGN,
the
T8 prediction against GD on the linearized net, the report, and the command line."""

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import linrelu
from linrelu.__main__ import main
from linrelu.analysis import trainability as tr
from linrelu.analysis.diagnose import ggn_gradient_components, predict_trainability
from linrelu.models.checkpoint import save_data, save_params
from linrelu.spectral.curvature import ggn_matrix, loss_fn


def _task(loss, sizes=(3, 6, 5, 3), n=7, seed=0, sigma_b=0.3):
    net = linrelu.MLP(sizes, 1.4, sigma_b)
    params = net.init(jax.random.PRNGKey(seed))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0]))
    y = rng.integers(0, sizes[-1], size=n) if loss == "ce" else rng.normal(size=(n, sizes[-1]))
    return net, params, X, y


@pytest.mark.parametrize("loss, sizes, seed", [("ce", (3, 6, 5, 3), 0), ("ce", (4, 9, 2), 1),
                                               ("mse", (3, 6, 5, 3), 2), ("ce", (2, 3, 4), 3)])
def test_gradient_components_match_pxp_autodiff(loss, sizes, seed):
    """T9 from the nk side (K only) equals T9 from the p × p GGN and the autodiff gradient."""
    net, params, X, y = _task(loss, sizes, seed=seed)
    n = X.shape[0]
    logits = net.apply(params, X)
    K = np.asarray(linrelu.jacobian_gram(net, params, X))
    S = np.asarray(linrelu.output_hessian_sqrt(logits, loss))
    v = np.asarray(linrelu.output_gradients(logits, y, loss)).reshape(-1)
    lam, g, _ = ggn_gradient_components(K, S, v, n)

    flat, unravel = ravel_pytree(params)
    t = jnp.asarray(y) if loss == "ce" else jnp.asarray(y, jnp.float64)
    grad = np.asarray(jax.grad(lambda f: loss_fn(net, jnp.asarray(X), t, loss)(unravel(f)))(flat))
    lam_p, V = np.linalg.eigh(np.asarray(ggn_matrix(net, params, X, y, loss)))
    g_p = V.T @ grad
    # ‖g‖ is preserved: both are orthonormal-basis expansions of the same vector.
    np.testing.assert_allclose(np.linalg.norm(g), np.linalg.norm(grad), rtol=1e-10)
    for lr, T in ((0.3, 5), (1.0 / lam[0], 200)):
        a = tr.quadratic_decrease(lam, g, lr, T)
        b = tr.quadratic_decrease(np.clip(lam_p, 0, None), g_p, lr, T)
        # Both sides are sums of O(p) float64 terms from eigendecompositions with backward
        # error ~1e-15·‖Ĝ‖; eigenvectors of clustered eigenvalues may rotate, but the decrease
        # depends only on the projections onto eigenspaces, hence 1e-9 relative.
        assert abs(a - b) <= 1e-9 * abs(b)
        for eps in (1e-6, 1e-2, 0.1):
            np.testing.assert_allclose(tr.quadratic_decrease_bound(lam, g, lr, T, eps),
                                       tr.quadratic_decrease_bound(np.clip(lam_p, 0, None), g_p,
                                                                   lr, T, eps), rtol=1e-8)


def test_ce_gradient_lies_in_range_of_hessian_sqrt():
    """For ce, p − e_y ⊥ 𝟙 lies in range(H^{1/2}): the null bucket is round-off only."""
    net, params, X, y = _task("ce")
    logits = net.apply(params, X)
    K = np.asarray(linrelu.jacobian_gram(net, params, X))
    S = np.asarray(linrelu.output_hessian_sqrt(logits, "ce"))
    v = np.asarray(linrelu.output_gradients(logits, y, "ce")).reshape(-1)
    lam, g, _ = ggn_gradient_components(K, S, v, X.shape[0])
    # g_0 = sqrt(‖g‖² − Σ g_j²): a difference of O(1) numbers known to ~1e-15, so ≲ 1e-7·‖g‖.
    assert abs(g[-1]) <= 1e-6 * np.linalg.norm(g)


def test_mse_prediction_equals_gd_on_linearized_network():
    """T8 on K with the actual residual reproduces GD on f_lin to 1e-8 relative at every step."""
    net, params, X, Y = _task("mse", (3, 8, 2), n=6, seed=4)
    steps = 30
    pred = predict_trainability(net, params, X, Y, "mse", steps=steps, tau=0.5)
    f_lin = linrelu.linearize(net, params)
    Xj, Yj = jnp.asarray(X), jnp.asarray(Y)

    def lin_loss(p):
        return 0.5 * jnp.mean(jnp.sum((f_lin(p, Xj) - Yj) ** 2, axis=1))

    step = jax.jit(lambda p: jax.tree_util.tree_map(lambda a, b: a - pred.lr * b, p,
                                                    jax.grad(lin_loss)(p)))
    p, losses = params, []
    for _ in range(steps + 1):
        losses.append(float(lin_loss(p)))
        p = step(p)
    realized = np.asarray(losses) / losses[0]
    # Relative error per step: float64 round-off (~1e-15) amplified by the eigenvalue spread;
    # 1e-8 is the E3 criterion, with a large margin (observed ~1e-13).
    assert np.all(np.abs(realized - pred.curve) <= 1e-8 * realized)


def test_diagnose_report_contents_and_dead_units():
    net, params, X, Y = _task("mse", (3, 6, 4, 2), n=5, seed=5)
    W1, b1 = params[0]
    W1 = W1.at[:, 0].set(0.0)  # unit 0 of layer 1: z = σ_b b with b < 0 → dead on every input
    b1 = b1.at[0].set(-5.0)
    params = [(W1, b1)] + list(params[1:])
    rep = linrelu.diagnose(net, params, X, Y, "mse")
    ev = linrelu.ggn_eigenvalues(net, params, X, Y, "mse")
    assert rep.abs_ranks == tuple(linrelu.eps_rank(ev, e) for e in rep.abs_eps)
    assert rep.rel_ranks == tuple(linrelu.eps_rank(ev, r * ev[0]) for r in rep.rel_eps)
    assert rep.dead_units[0] == 1
    assert rep.lam_max == pytest.approx(ev[0], rel=1e-12)
    np.testing.assert_allclose(rep.effective_ranks, linrelu.hidden_effective_ranks(net, params, X))
    text = str(rep)
    assert "ε-rank of G" in text and "dead units" in text and "decided by: T8" in text
    assert f"{rep.prediction.predicted_ratio:.6g}" in text


def test_diagnose_ce_verdicts_both_ways():
    """A generous budget is predicted trainable by the linearized network; a one-step budget with
    τ = 0.05 is ruled out by the T9 ε-bound (a single step cannot remove 95 % of the loss at these
    curvatures). Over one step the check runs the whole budget and the verdict is a definite NO;
    over 2000 steps this 77-parameter network leaves its linearization, so the model's YES is
    reported as undetermined, with the measured drift of the real loss path above the tolerance."""
    net, params, X, y = _task("ce")
    yes = linrelu.diagnose(net, params, X, y, "ce", steps=2000, tau=0.5).prediction
    no = linrelu.diagnose(net, params, X, y, "ce", steps=1, tau=0.05).prediction
    assert yes.model_trainable and yes.decided_by.startswith("linearized-network GD")
    assert yes.verdict == "undetermined" and yes.trainable is None
    assert yes.check.drift > yes.check.tolerance and "linearization" in yes.verdict_reason
    assert not no.model_trainable and no.decided_by.startswith("T9 ε-bound") and \
        no.eps is not None
    assert no.verdict == "no" and no.trainable is False and no.check.steps == 1


@pytest.mark.parametrize("kwargs, name", [
    ({"loss": "hinge"}, "loss"), ({"tau": 1.0}, "tau"), ({"tau": 0}, "tau"),
    ({"steps": 0}, "steps"), ({"lr": -1.0}, "lr"), ({"targets": np.zeros((7, 2))}, "targets"),
    ({"X": np.full((7, 3), np.nan)}, "X"), ({"X": np.zeros((7, 4))}, "X"),
])
def test_diagnose_bad_input(kwargs, name):
    net, params, X, Y = _task("mse")
    args = {"X": X, "targets": Y, "loss": "mse"} | kwargs
    with pytest.raises(ValueError, match=rf"^{name}:"):
        linrelu.diagnose(net, params, **args)


# ------------------------------------------------------------------------------------------
# command line
# ------------------------------------------------------------------------------------------
@pytest.fixture()
def files(tmp_path):
    net, params, X, y = _task("ce")
    save_params(tmp_path / "p.npz", net, params)
    save_data(tmp_path / "d.npz", X, y)
    save_data(tmp_path / "bad.npz", X[:, :2], y)
    return tmp_path, net, params, X, y


def test_cli_subprocess_prints_table_and_exits_2_on_bad_input(files):
    tmp, net, params, X, y = files
    ok = subprocess.run([sys.executable, "-m", "linrelu", "diagnose", "--params",
                         str(tmp / "p.npz"), "--data", str(tmp / "d.npz"), "--steps", "50"],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    report = str(linrelu.diagnose(net, params, X, y, "ce", steps=50))
    head, _, tail = ok.stdout.strip().partition("\nplasticity metrics on the 7 --data inputs")
    assert head == report
    assert tail.count("dead_fraction") == 1 and "effective_rank" in tail
    bad = subprocess.run([sys.executable, "-m", "linrelu", "diagnose", "--params",
                          str(tmp / "missing.npz"), "--data", str(tmp / "d.npz")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "--params" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.parametrize("extra, flag", [
    (["--data", "{tmp}/bad.npz"], "--data"),
    (["--data", "{tmp}/p.npz"], "--data"),
    (["--data", "{tmp}/d.npz", "--tau", "1.5"], "--tau"),
    (["--data", "{tmp}/d.npz", "--lr", "nan"], "--lr"),
    (["--data", "{tmp}/d.npz", "--lr", "abc"], "--lr"),
    (["--data", "{tmp}/d.npz", "--steps", "-3"], "--steps"),
    (["--data", "{tmp}/d.npz", "--loss", "mse"], "--data"),
    (["--data", "{tmp}/d.npz", "--loss", "hinge"], "--loss"),
])
def test_cli_bad_input_exit_2_one_line(files, capsys, extra, flag):
    tmp = files[0]
    argv = ["diagnose", "--params", str(tmp / "p.npz")] + [a.format(tmp=tmp) for a in extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and flag in err, err


def test_cli_params_file_that_is_data(files, capsys):
    tmp = files[0]
    assert main(["diagnose", "--params", str(tmp / "d.npz"), "--data", str(tmp / "d.npz")]) == 2
    assert "--params" in capsys.readouterr().err
