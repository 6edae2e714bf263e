"""The verdict on real GD (linrelu.analysis.diagnose): definite only where the linearization check
holds.

Designed cases against plain GD loops written here (jax.grad, float64): a model linear in its
parameters (the linearization is exact, so the verdict is definite and right both ways), a
diagonal linear network started near its saddle (it leaves its linearization within a few steps:
undetermined), and a Flax attention classifier whose linearized prediction is wrong for real GD
(issue 34's failure: it used to print a confident NO).
"""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import linrelu
from linrelu.__main__ import main
from linrelu.analysis.diagnose import DRIFT_SAFETY, predict_trainability
from linrelu.models.checkpoint import save_data, save_params
from linrelu.spectral.losses import mean_loss


def _plain_gd(f, params, X, y, loss, lr, steps):
    """L_t/L_0, t = 0..steps, of θ ← θ − lr ∇L(θ) in float64 (the reference of every test)."""
    with linrelu.float64():
        Xj = jnp.asarray(X, jnp.float64)
        yj = jnp.asarray(y, jnp.float64) if loss == "mse" else jnp.asarray(y, jnp.int32)
        p = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), params)
        vg = jax.jit(jax.value_and_grad(lambda q: mean_loss(f(q, Xj), yj, loss)))
        out = []
        for _ in range(steps + 1):
            value, grad = vg(p)
            out.append(float(value))
            p = jax.tree_util.tree_map(lambda a, g: a - lr * g, p, grad)
    return np.asarray(out) / out[0]


def _linear_model(loss, seed=0, n=12, d=5, k=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = rng.integers(0, k, size=n) if loss == "ce" else rng.normal(size=(n, k))
    params = {"W": rng.normal(size=(d, k)) / np.sqrt(d), "b": np.zeros(k)}
    return (lambda p, x: x @ p["W"] + p["b"]), params, X, y


@pytest.mark.parametrize("loss", ["mse", "ce"])
def test_linear_model_gets_definite_verdicts_that_agree_with_gd(loss):
    """f(θ, X) = XW + b is its own linearization: the drift is round-off, the verdict is definite
    and equals plain GD's outcome for a τ above and a τ below the realized ratio."""
    f, params, X, y = _linear_model(loss)
    steps, lr = 40, 0.3
    real = _plain_gd(f, params, X, y, loss, lr, steps)
    for tau, expected in ((min(2 * real[-1], 0.9), "yes"), (real[-1] / 2, "no")):
        pred = predict_trainability(f, params, X, y, loss, lr=lr, steps=steps, tau=tau,
                                    check=True)
        c = pred.check
        assert c.steps == steps and c.holds and c.drift <= 1e-10
        assert pred.verdict == expected and pred.trainable == (expected == "yes")
        np.testing.assert_allclose(pred.curve, real, rtol=1e-9)  # exact linearized curve
        np.testing.assert_allclose(c.real_curve, real, rtol=1e-12)


def test_network_leaving_its_linearization_is_undetermined():
    """A diagonal linear network f = X(a ⊙ b) started near its saddle (a = b = 0.05): the kernel
    K = X diag(a² + b²) Xᵀ grows by orders of magnitude while GD escapes. The linearized network
    predicts almost no progress (NO), plain GD fits the teacher (YES); the verdict must be
    undetermined, with the measured drift above the tolerance."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(16, 4))
    y = X @ np.array([[2.0], [1.5], [1.0], [0.5]])  # positive: reachable from a = b > 0
    params = {"a": np.full((4, 1), 0.05), "b": np.full((4, 1), 0.05)}

    def f(p, x):
        return x @ (p["a"] * p["b"])
    steps, lr, tau = 100, 0.1, 0.1
    real = _plain_gd(f, params, X, y, "mse", lr, steps)
    pred = predict_trainability(f, params, X, y, "mse", lr=lr, steps=steps, tau=tau, check=True)
    assert not pred.model_trainable and real[-1] <= tau  # the model's answer is wrong
    assert pred.verdict == "undetermined" and pred.trainable is None
    c = pred.check
    assert not c.holds and c.drift > c.tolerance
    np.testing.assert_allclose(c.real_curve, real, rtol=1e-10)
    assert c.tolerance == pytest.approx(c.margin / DRIFT_SAFETY)


def test_flax_attention_model_gets_no_confident_wrong_verdict():
    """Issue 34: a Flax Transformer-encoder classifier on 8×8 digits (P ≈ 2.7 k) whose linearized
    network predicts L_T/L_0 ≈ 0.6 (NO at τ = ½) while plain GD reaches ≈ 0.37 at the same step
    and step count. The report must not say NO."""
    nn = pytest.importorskip("flax.linen")

    class Encoder(nn.Module):
        @nn.compact
        def __call__(self, x):
            h = nn.Dense(16)(x.reshape(x.shape[0], 8, 8))  # one token per image row
            h = h + self.param("pos", nn.initializers.normal(1.0), (8, 16), jnp.float32)
            h = h + nn.MultiHeadDotProductAttention(num_heads=2)(nn.LayerNorm()(h))
            h = h + nn.Dense(16)(nn.gelu(nn.Dense(32)(nn.LayerNorm()(h))))
            return nn.Dense(10)(nn.LayerNorm()(h.mean(axis=1)))

    from linrelu.data import load_digits_data

    Xa, ya = load_digits_data()
    idx = np.random.default_rng(0).choice(len(Xa), 32, replace=False)
    X, y = np.asarray(Xa[idx]), np.asarray(ya[idx])
    model = Encoder()
    # jitted: an eager Flax forward compiles each of its ~250 primitives on first use (seconds)
    params = jax.jit(model.init)(jax.random.PRNGKey(0), jnp.zeros((1, 64)))["params"]
    f = jax.jit(lambda p, x: model.apply({"params": p}, x))
    pred = linrelu.predict_trainability(f, params, X, y, "ce", steps=100, tau=0.5, check=True)
    real = _plain_gd(f, params, X, y, "ce", pred.lr, 100)
    assert not pred.model_trainable and real[-1] <= 0.5  # the old, confidently wrong NO
    assert pred.verdict == "undetermined" and pred.check.drift > pred.check.tolerance
    np.testing.assert_allclose(pred.check.real_curve, real, rtol=1e-8)
    # the same network at τ = 0.4: its first 25 steps follow the linearization to 0.03 in log
    # (a check on them alone would project a small drift); the whole path does not
    at_04 = linrelu.predict_trainability(f, params, X, y, "ce", steps=100, tau=0.4, check=True)
    assert at_04.verdict == "undetermined" and real[-1] <= 0.4 < at_04.predicted_ratio
    assert np.max(np.abs(np.log(real[:26] / at_04.curve[:26]))) <= 0.05


def test_check_false_and_bad_input():
    """predict_trainability checks only when asked (its default: no check, no verdict); diagnose
    checks by default."""
    f, params, X, y = _linear_model("mse")
    pred = predict_trainability(f, params, X, y, "mse", lr=0.3, steps=8)
    assert pred.verdict == "undetermined" and pred.check is None and pred.trainable is None
    assert "not checked" in pred.verdict_reason and pred.model_trainable in (True, False)
    report = linrelu.diagnose(f, params, X, y, "mse", lr=0.3, steps=8)
    assert report.prediction.check is not None and report.prediction.verdict != "undetermined"
    for bad in (0, 1, "yes", None):
        with pytest.raises(ValueError, match=r"^check:"):
            predict_trainability(f, params, X, y, "mse", lr=0.3, steps=8, check=bad)


@pytest.mark.filterwarnings("ignore:overflow encountered")  # the predicted curve diverges
def test_diverging_real_gd_is_undetermined():
    """A step far past 2/λ_max: real GD leaves the finite range; the drift is inf."""
    f, params, X, y = _linear_model("mse")
    pred = predict_trainability(f, params, X, y, "mse", lr=1e3, steps=400, tau=0.5, check=True)
    assert pred.predicted_ratio > 1 and not pred.model_trainable
    assert pred.verdict == "undetermined" and pred.check.drift == np.inf
    assert "finite range" in pred.verdict_reason


def test_report_and_cli_json_show_drift_and_tolerance(tmp_path, capsys):
    net = linrelu.MLP((4, 16, 3))
    params = net.init(jax.random.PRNGKey(0))
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(10, 4)), rng.integers(0, 3, size=10)
    rep = linrelu.diagnose(net, params, X, y, "ce", steps=20)
    text = str(rep)
    assert "linearization check: 20 real GD steps" in text
    assert "tolerance = margin" in text and "τ-trainable (real GD):" in text
    save_params(tmp_path / "p.npz", net, params)
    save_data(tmp_path / "d.npz", X, y)
    assert main(["diagnose", "--params", str(tmp_path / "p.npz"), "--data",
                 str(tmp_path / "d.npz"), "--steps", "20", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)["prediction"]
    check = out["linearization_check"]
    assert out["verdict"] in ("yes", "no", "undetermined")
    assert out["verdict"] == rep.prediction.verdict
    for key in ("drift", "drift_step", "final_drift", "tolerance", "margin", "steps"):
        assert check[key] == pytest.approx(getattr(rep.prediction.check, key), rel=1e-9)
    assert check["drift_safety"] == DRIFT_SAFETY


def test_calibration_table_counts_and_flags_disagreement():
    """benchmarks.calibration's summary and table (rows made up here): a definite verdict that
    disagrees with GD is counted and marked, undetermined rows count in the undetermined rate."""
    from benchmarks.calibration import markdown, summarize

    row = {"arch": "mlp-256", "P": 10, "loss": "ce", "seed": 0, "m": 1.0, "tau": 0.5,
           "predicted": 0.2, "real": 0.3, "model": True, "verdict": "yes", "drift": 0.1,
           "tolerance": 0.4, "truth": True, "check_real": 0.3}
    rows = [row, dict(row, verdict="undetermined"), dict(row, arch="mixer", verdict="no")]
    s = summarize(rows)
    assert s["all"] == {"cases": 3, "trainable": 3, "model_right": 3, "definite": 2, "agree": 1,
                        "undetermined_rate": pytest.approx(1 / 3)}
    text = markdown(rows, 1.0, 1, "2026-01-01 00:00 UTC", "abc1234")
    assert "**NO**" in text and "2 definite verdicts of 3 cases, 1 agree" in text
    assert "2026-01-01 00:00 UTC" in text and "abc1234" in text
