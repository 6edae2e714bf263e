"""lr.plasticity_metrics against hand computations on designed inputs, the recorder's crash
resume, the plot, and the own-loop example (a Flax MLP trained with optax on Permuted MNIST)."""

from __future__ import annotations

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import linrelu as lr
from linrelu.analysis.plasticity import PlasticityRecorder, plasticity_metrics, read_records, srank


def _with_singular_values(sigma, n=10, m=6, seed=0):
    """An (n, m) matrix U diag(σ) Vᵀ with orthonormal U, V: its singular values are σ."""
    rng = np.random.default_rng(seed)
    U = np.linalg.qr(rng.normal(size=(n, n)))[0][:, :len(sigma)]
    V = np.linalg.qr(rng.normal(size=(m, m)))[0][:, :len(sigma)]
    return U @ np.diag(sigma) @ V.T


def _metrics(layers, **kw):
    return plasticity_metrics(None, {}, np.zeros((layers[0].shape[0], 1)), features=layers, **kw)


def test_ranks_on_known_singular_values():
    F = _with_singular_values([4.0, 3.0, 2.0, 1.0, 0.0, 0.0])
    q = np.array([0.4, 0.3, 0.2, 0.1])
    for delta, k, k_sq in ((0.01, 4, 4), (0.15, 3, 3), (0.2, 3, 2), (0.35, 2, 2)):
        # σ cumsum 4, 7, 9, 10 against (1 − δ)·10; σ² cumsum 16, 25, 29, 30 against (1 − δ)·30
        out = _metrics([F], delta=delta)
        assert (out["srank"], out["srank_sq"], out["feature_rank"]) == (k, k_sq, 4)
    assert out["effective_rank"] == pytest.approx(math.exp(-np.sum(q * np.log(q))), rel=1e-12)
    assert out["per_layer"]["feature_rank"] == [4]
    # the tolerance: numpy's default counts σ = 1e-3, an absolute rank_tol of 1e-2 does not
    G = _with_singular_values([4.0, 3.0, 2.0, 1e-3])
    assert _metrics([G])["feature_rank"] == 4 == np.linalg.matrix_rank(G)
    assert _metrics([G], rank_tol=1e-2)["feature_rank"] == 3
    Z = _metrics([np.zeros((5, 3))])
    assert (Z["srank"], Z["srank_sq"], Z["feature_rank"], Z["effective_rank"]) == (0, 0, 0, 0.0)
    assert srank([1.0, 2.0, 3.0], 0.0) == 3 and srank([0.0, 5.0], 0.5) == 1


def _planted_layer():
    """7 units on 4 inputs with a_u = mean_x |h_u| = (0, .02, .06, 1, 2, 1, 2.92): mean 1, so
    score_u = a_u; u0 dead, u4 = 2·u3 (corr 1), every other pair |corr| < 0.95."""
    return np.array([
        [0.0, 0.08, 0.0, 1.0, 2.0, 0.0, 4.0],
        [0.0, 0.0, 0.24, 2.0, 4.0, 1.0, 3.68],
        [0.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0],
        [0.0, 0.0, 0.0, 1.0, 2.0, 1.0, 4.0],
    ])


def test_planted_dead_dormant_duplicate_units():
    h = _planted_layer()
    C = np.abs(np.corrcoef(h[:, 1:].T))  # the hand claim on the pairs (u0 is constant)
    np.fill_diagonal(C, 0)
    assert np.argwhere(C > 0.95).tolist() == [[2, 3], [3, 2]]  # u3, u4 (offset by 1)
    out = _metrics([h])
    assert out["dead_fraction"] == pytest.approx(1 / 7)
    assert out["dormant_ratio@0.0"] == pytest.approx(1 / 7)   # u0
    assert out["dormant_ratio@0.025"] == pytest.approx(2 / 7)  # u0, u1 (score .02)
    assert out["dormant_ratio@0.1"] == pytest.approx(3 / 7)    # u0, u1, u2 (score .06)
    assert out["duplicate_fraction"] == pytest.approx(2 / 7)   # u3, u4
    # scale-free: the scores divide by the layer mean
    assert _metrics([5.0 * h], tau=0.1)["dormant_ratio@0.1"] == pytest.approx(3 / 7)
    # constant units: two identical constants are not duplicates; an all-zero layer is all dormant
    const = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    assert _metrics([const])["duplicate_fraction"] == 0.0
    zero = _metrics([np.zeros((3, 2))], tau=0.025)
    assert zero["dormant_ratio@0.025"] == 1.0 == zero["dead_fraction"]


def test_aggregation_over_layers_pooled_and_averaged():
    h1, h2 = _planted_layer(), _with_singular_values([4.0, 3.0, 2.0, 1.0], n=4, m=5)
    out = _metrics([h1, h2])
    assert out["layers"] == 2 and out["per_layer"]["units"] == [7, 5]
    assert out["dead_fraction"] == pytest.approx(1 / 12)  # Σ dead / Σ m
    assert out["dormant_ratio@0.1"] == pytest.approx((3 + 0) / 12)
    assert out["feature_rank"] == pytest.approx((np.linalg.matrix_rank(h1) + 4) / 2)


class _Linear:
    """f(θ, X) = X W + b, one hidden layer h = X W (its features)."""

    @staticmethod
    def apply(p, X):
        return X @ p["W"] + p["b"]

    @staticmethod
    def features(p, X):
        return [X @ p["W"]]


def test_weights_distance_and_gradient_norm_by_hand():
    p = {"W": np.array([[1.0, -2.0], [3.0, -4.0]]), "b": np.array([10.0, 10.0])}
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    Y = np.array([[0.0, 1.0], [2.0, 0.0], [1.0, 1.0]])
    out = plasticity_metrics(_Linear(), p, X, params0=jax.tree_util.tree_map(np.zeros_like, p),
                             targets=Y, loss="mse")
    assert out["weight_mean_abs"] == 2.5 and out["weight_names"] == ["['W']"]
    assert out["param_distance"] == pytest.approx(math.sqrt(1 + 4 + 9 + 16 + 100 + 100))
    R = X @ p["W"] + p["b"] - Y  # mse L = (1/2n) Σ‖f − y‖²: ∇W = XᵀR/n, ∇b = Σ_i R_i / n
    g = np.concatenate([(X.T @ R / 3).ravel(), R.sum(0) / 3])
    assert out["grad_norm"] == pytest.approx(np.linalg.norm(g), rel=1e-12)
    assert "ggn" not in out
    ce = plasticity_metrics(_Linear(), p, X, targets=np.array([0, 1, 1]), spectrum=True)
    assert ce["ggn"]["attainable_rank"] == 3 and ce["ggn"]["lambda_max"] > 0


def test_matches_the_continual_engine_census_exactly():
    from linrelu.continual import make_stream
    from linrelu.continual.metrics import task_start_metrics

    net = lr.MLP((64, 12, 12, 10))
    params = net.init(jax.random.PRNGKey(0))
    task = make_stream("permuted_digits", seed=0, num_tasks=1, n_train=64, n_test=16,
                       n_probe=8).task(0)
    eng = task_start_metrics(net, params, task, spectrum=False, accuracies=False)
    out = plasticity_metrics(net, params, task.X)
    assert out["per_layer"]["effective_rank"] == eng["erank"]
    assert out["per_layer"]["dead_fraction"] == eng["dead_fraction"]
    probe = plasticity_metrics(net, params, task.X_probe, targets=task.y_probe)
    assert probe["grad_norm"] == pytest.approx(eng["grad_norm"], rel=1e-12)


def test_bad_input_names_the_argument():
    h = [_planted_layer()]
    for kw, name in (({"tau": -0.1}, "tau"), ({"tau": ()}, "tau"), ({"delta": 1.0}, "delta"),
                     ({"delta": "x"}, "delta"), ({"rank_tol": -1}, "rank_tol"),
                     ({"spectrum": True}, "targets"), ({"loss": "hinge"}, "loss"),
                     ({"spectrum": 1}, "spectrum")):
        with pytest.raises(ValueError, match=f"^{name}: expected"):
            _metrics(h, **kw)
    with pytest.raises(ValueError, match="^features"):
        plasticity_metrics(lambda p, X: X, {}, np.ones((3, 2)))
    with pytest.raises(ValueError, match="^params0: expected"):
        plasticity_metrics(_Linear(), {"W": np.eye(2), "b": np.ones(2)}, np.eye(2),
                           params0={"W": np.eye(2)})
    with pytest.raises(ValueError, match="^every: expected"):
        PlasticityRecorder("x.jsonl", every=0)
    with pytest.raises(ValueError, match="^path_or_records: expected"):
        lr.plot_plasticity(42, "x.png")


def test_recorder_resumes_after_a_kill_without_losing_or_repeating(tmp_path):
    path = tmp_path / "m.jsonl"
    layers = [_planted_layer()]
    rec = PlasticityRecorder(path, every=2)
    for step in range(5):  # the first run: records steps 0 and 2, then "killed" mid-write of 4
        if step == 4:
            line = json.dumps({"step": 4, "seed": 0, **_metrics(layers)})
            with open(path, "a") as f:
                f.write(line[: len(line) // 2])  # a write cut short: no newline
            break
        rec.record(step, None, {}, np.zeros((4, 1)), features=layers)
    assert [r["step"] for r in read_records(path)] == [0, 2]
    calls = []
    again = PlasticityRecorder(path, every=2)  # the restart repairs the file and resumes
    assert 2 in again and 4 not in again and len(again.records) == 2
    for step in range(9):  # rerun from the start
        feats = lambda p, X, s=step: calls.append(s) or layers  # noqa: E731
        again.record(step, None, {}, np.zeros((4, 1)), features=feats)
    assert calls == [4, 6, 8]  # nothing already recorded is measured again
    steps = [r["step"] for r in read_records(path)]
    assert steps == [0, 2, 4, 6, 8] and path.read_text().endswith("\n")
    other = PlasticityRecorder(path, every=2, seed=1)  # a second seed in the same file
    assert other.record(0, None, {}, np.zeros((4, 1)), features=layers)["seed"] == 1


def test_plot_writes_a_png_with_seed_bands(tmp_path):
    import matplotlib.image as mpimg

    records = [{"step": s, "seed": seed, **_metrics([_planted_layer() * (1 + seed + s)])}
               for seed in range(3) for s in range(3)]
    out = lr.plot_plasticity(records, tmp_path / "p.png", metrics=["dead_fraction", "srank"])
    img = mpimg.imread(out)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 200
    with pytest.raises(ValueError, match="^metrics: expected"):
        lr.plot_plasticity(records, tmp_path / "q.png", metrics=["nope"])


def test_own_loop_example(tmp_path):
    # --- the example: your own Flax model and optax loop on linrelu's Permuted-MNIST stream ---
    import flax.linen as nn
    import optax

    from linrelu.continual import make_stream

    class MLP(nn.Module):
        @nn.compact
        def __call__(self, x, return_hidden=False):
            h1 = nn.relu(nn.Dense(32)(x))
            h2 = nn.relu(nn.Dense(32)(h1))
            logits = nn.Dense(10)(h2)
            return (logits, [h1, h2]) if return_hidden else logits

    model = MLP()
    apply = lambda p, X: model.apply({"params": p}, X)  # noqa: E731
    features = lambda p, X: model.apply({"params": p}, X, return_hidden=True)[1]  # noqa: E731

    stream = make_stream("permuted_mnist", seed=0, num_tasks=3, n_train=256, n_test=64)
    params = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 784)))["params"]
    params0 = params
    opt = optax.sgd(0.05)
    state = opt.init(params)

    @jax.jit
    def step(params, state, X, y):
        loss = lambda p: optax.softmax_cross_entropy_with_integer_labels(  # noqa: E731
            apply(p, X), y).mean()
        grads = jax.grad(loss)(params)
        updates, state = opt.update(grads, state)
        return optax.apply_updates(params, updates), state

    path = tmp_path / "plasticity.jsonl"
    recorder = lr.PlasticityRecorder(path)  # one JSON line per call, resumes after a crash
    for task in stream:
        X = jnp.asarray(task.X, jnp.float32)
        # Dohare et al.'s convention: measure at the task start, on the new task's inputs
        recorder.record(task.index, apply, params, task.X, features=features, params0=params0,
                        targets=task.y, loss="ce")
        for _epoch in range(2):
            for i in range(0, len(X), 32):
                params, state = step(params, state, X[i:i + 32], task.y[i:i + 32])
    lr.plot_plasticity(path, tmp_path / "plasticity.png")
    # --- end of the example ---

    records = read_records(path)
    assert [r["step"] for r in records] == [0, 1, 2]
    assert records[0]["param_distance"] == 0.0 < records[1]["param_distance"]
    assert records[0]["per_layer"]["units"] == [32, 32] and records[2]["grad_norm"] > 0
    assert (tmp_path / "plasticity.png").stat().st_size > 1000


def test_cli_diagnose_prints_and_jsons_the_plasticity_metrics(tmp_path, capsys):
    from linrelu.__main__ import main
    from linrelu.models.checkpoint import save_data, save_params

    net = lr.MLP((4, 6, 5, 3))
    params = net.init(jax.random.PRNGKey(1))
    X = np.random.default_rng(0).normal(size=(8, 4))
    y = np.arange(8) % 3
    save_params(tmp_path / "P.npz", net, params)
    save_data(tmp_path / "D.npz", X, y)
    args = ["diagnose", "--params", str(tmp_path / "P.npz"), "--data", str(tmp_path / "D.npz")]
    assert main([*args, "--json"]) == 0
    got = json.loads(capsys.readouterr().out)["plasticity"]
    want = plasticity_metrics(net, params, X, targets=y, loss="ce")
    assert got == json.loads(json.dumps(want))
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "plasticity metrics on the 8 --data inputs" in text and "srank_sq" in text
