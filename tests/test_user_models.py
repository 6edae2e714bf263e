"""Issue 20: a user's own model, right the first time. One regression test per observation
(each failed on the code before the issue), every number against an independent autodiff or
explicit gradient-descent reference."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import linrelu as lr
from linrelu.models.network import precision_inside

nn = pytest.importorskip("flax.linen")


def f64(tree):
    with lr.float64():
        return jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), tree)


class DenseMLP(nn.Module):
    """The authors' MLP shape (lop-jax: Dense → relu → … → Dense), small."""
    relu_out: bool = False
    width: int = 12

    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Dense(self.width)(x))
        x = nn.relu(nn.Dense(self.width)(x))
        x = nn.Dense(3)(x)
        return nn.relu(x) if self.relu_out else x


def _data(n=16, d=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(0, k, n)


def _flax_loss(model, X, y):
    def L(p):
        logits = model.apply({"params": p}, jnp.asarray(X))
        return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(len(y)), y])
    return L


# 1. one parameter order, the user's --------------------------------------------------------
def test_flax_route_hessian_is_the_flax_models_hessian_entry_by_entry():
    model = DenseMLP()
    X, y = _data()
    variables = model.init(jax.random.PRNGKey(0), jnp.asarray(X, jnp.float32))
    net, params = lr.mlp_from_flax(variables)
    H = lr.hessian_matrix(net, params, X, y, "ce")
    with lr.float64():
        p64 = f64(variables["params"])
        flat, unravel = ravel_pytree(p64)
        hess = jax.jit(jax.hessian(lambda t: _flax_loss(model, X, y)(unravel(t))))
        H_ref = np.asarray(hess(flat))
    assert H.shape == H_ref.shape
    assert np.max(np.abs(H - H_ref)) <= 1e-10 * np.max(np.abs(H_ref))
    # the HVP indexes the same way
    hvp = lr.hessian_vector_product(net, X, y, "ce", params=params)
    v = np.random.default_rng(1).normal(size=flat.size)
    assert np.allclose(np.asarray(hvp(ravel_pytree(params)[0], v)), H_ref @ v, rtol=1e-9,
                       atol=1e-12)
    # and the closed-form Gram still applies to the user's dict
    K = lr.jacobian_gram(net, params, X)
    J = np.asarray(lr.jacobian(lambda p, x: model.apply({"params": p}, x), p64, X))
    assert np.max(np.abs(K - J @ J.T)) <= 1e-10 * np.max(np.abs(K))


def test_haiku_route_hessian_is_the_haiku_models_hessian():
    hk = pytest.importorskip("haiku")
    X, y = _data()
    fwd = hk.without_apply_rng(hk.transform(lambda x: hk.nets.MLP([12, 10, 3])(x)))
    params = fwd.init(jax.random.PRNGKey(0), jnp.asarray(X, jnp.float32))
    net, p = lr.mlp_from_flax(params, apply=fwd.apply, X=X)
    H = lr.hessian_matrix(net, p, X, y, "ce")
    with lr.float64():
        flat, unravel = ravel_pytree(f64(params))

        def L(t):
            logits = fwd.apply(unravel(t), jnp.asarray(X))
            return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(len(y)), y])
        H_ref = np.asarray(jax.jit(jax.hessian(L))(flat))
    assert np.max(np.abs(H - H_ref)) <= 1e-10 * np.max(np.abs(H_ref))


def test_source_order_maps_the_list_order_to_the_flax_order():
    X, y = _data()
    variables = DenseMLP().init(jax.random.PRNGKey(0), jnp.asarray(X, jnp.float32))
    net, params = lr.mlp_from_flax(variables)
    layers = net.layers_of(params)
    flat_list = np.concatenate([np.ravel(a) for W, b in layers for a in (W, b)])
    flat_flax = np.asarray(ravel_pytree(f64(variables["params"]))[0])
    assert np.array_equal(flat_list, flat_flax[lr.source_order(layers)])


# 2. adapters that check themselves -------------------------------------------------------
def test_adapter_refuses_a_relu_on_the_output_layer():
    model = DenseMLP(relu_out=True)
    X, _ = _data()
    variables = model.init(jax.random.PRNGKey(0), jnp.asarray(X, jnp.float32))
    with pytest.raises(ValueError, match="^apply: .*activation \\(ReLU\\) applied to the output"):
        lr.mlp_from_flax(variables, apply=model.apply, X=X)
    net, params = lr.mlp_from_flax(variables, apply=DenseMLP().apply, X=X)  # the right model
    with lr.float64():
        ref = np.asarray(DenseMLP().apply({"params": f64(variables["params"])}, jnp.asarray(X)))
    assert np.max(np.abs(np.asarray(net.apply(params, X)) - ref)) <= 1e-12 * np.abs(ref).max()


def test_dense_layers_adapter_checks_equinox_model():
    eqx = pytest.importorskip("equinox")
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    layers = [eqx.nn.Linear(5, 7, key=keys[0]), eqx.nn.Linear(7, 3, key=keys[1])]
    X, _ = _data()
    with lr.float64():
        l64 = [f64(layer) for layer in layers]
    good = lambda x: jax.vmap(lambda v: l64[1](jax.nn.relu(l64[0](v))))(x)
    bad = lambda x: jax.vmap(lambda v: l64[1](jnp.tanh(l64[0](v))))(x)
    lr.mlp_from_dense_layers(layers, layout="out_in", apply=good, X=X)
    with pytest.raises(ValueError, match="^apply: expected the source model to compute the same"):
        lr.mlp_from_dense_layers(layers, layout="out_in", apply=bad, X=X)


# 3. float32 inside a model ----------------------------------------------------------------
class F32Inside(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Dense(8, dtype=jnp.float32)(x))
        return nn.Dense(3, dtype=jnp.float32)(x)


def test_float32_inside_the_model_warns_once_naming_the_dtype(optimized_xla):
    """With XLA's optimizations on (a user's default), batch-of-2 and one-by-one float32
    outputs differ by an ulp; the separability check must not mistake that for a coupling
    (it did: ValueError at 1.25e-7 against a float64 tolerance of 1e-9)."""
    X, _ = _data()
    model = F32Inside()
    params = model.init(jax.random.PRNGKey(0), jnp.asarray(X, jnp.float32))["params"]
    f = lambda p, x: model.apply({"params": p}, x)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        K = lr.jacobian_gram(f, params, X)
        lr.jacobian_gram(f, params, X)
    msgs = [str(w.message) for w in rec if "below float64" in str(w.message)]
    assert len(msgs) == 1 and "float32" in msgs[0] and "dtype=jnp.float64" in msgs[0]
    # it is real: the float32 model's Gram is only float32-accurate (reference: float64 model)
    ref_model = nn.Sequential([nn.Dense(8), nn.relu, nn.Dense(3)])
    ref_params = {"params": {"layers_0": params["Dense_0"], "layers_2": params["Dense_1"]}}
    g = lambda p, x: ref_model.apply(p, x)
    J = np.asarray(lr.jacobian(g, f64(ref_params), X))
    err = np.max(np.abs(K - J @ J.T)) / np.max(np.abs(K))
    assert 1e-12 < err < 1e-4


def test_float32_model_with_a_batch_coupling_is_still_refused():
    X, _ = _data()
    model = F32Inside()
    params = model.init(jax.random.PRNGKey(0), jnp.asarray(X, jnp.float32))["params"]
    f = lambda p, x: model.apply({"params": p}, x)
    coupled = lambda p, x: f(p, x) - jnp.mean(f(p, x), axis=0)  # BatchNorm-like centering
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="^net: expected a model whose output row i"):
            lr.jacobian_gram(coupled, params, X)


def test_precision_inside_is_the_eps_of_the_least_precise_dtype():
    X, _ = _data()
    model = F32Inside()
    params = f64(model.init(jax.random.PRNGKey(0), jnp.asarray(X, jnp.float32))["params"])
    f32 = lambda p, x: model.apply({"params": p}, x)
    W = jnp.ones((5, 3), jnp.float64)
    f64_model = lambda p, x: x @ p
    half = jnp.ones((3,), jnp.bfloat16)
    captured_bf16 = lambda p, x: (x @ p) * half.astype(jnp.float64)
    Xj = jnp.asarray(X)
    assert precision_inside(f64_model, W, Xj) == np.finfo(np.float64).eps
    assert precision_inside(f32, params, Xj) == np.finfo(np.float32).eps
    assert precision_inside(captured_bf16, W, Xj) == 2.0**-7  # bfloat16: 8-bit significand


def test_float32_batch_stats_captured_are_named():
    class BN(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = nn.BatchNorm(use_running_average=True)(nn.Dense(8)(x))
            return nn.Dense(2)(nn.relu(x))

    X, y = _data(k=2)
    model = BN()
    v = model.init(jax.random.PRNGKey(0), jnp.asarray(X, jnp.float32))
    batch_stats = v["batch_stats"]  # float32, captured by the closure

    def f(p, x):
        return model.apply({"params": p, "batch_stats": batch_stats}, x)
    with pytest.warns(UserWarning, match="captured batch_stats.* is float32"):
        lr.ggn_eigenvalues(f, v["params"], X, y, "ce")


def test_equinox_batchnorm_training_mode_is_called_batch_coupled():
    """In a user's float32 program the stateful BatchNorm used to fail with a dtype mismatch."""
    eqx = pytest.importorskip("equinox")
    key = jax.random.PRNGKey(0)
    with jax.enable_x64(False):  # the user's program: state is float32
        model, state = eqx.nn.make_with_state(lambda key: eqx.nn.Sequential([
            eqx.nn.Linear(5, 8, key=key), eqx.nn.BatchNorm(8, axis_name="batch"),
            eqx.nn.Lambda(jax.nn.relu), eqx.nn.Linear(8, 2, key=key)]))(key)
        params, static = eqx.partition(model, eqx.is_inexact_array)

        def f(p, x):
            out, _ = jax.vmap(eqx.combine(p, static), axis_name="batch", in_axes=(0, None),
                              out_axes=(0, None))(x, state)
            return out
        X, _ = _data()
        with pytest.raises(ValueError, match="^net: .*batch-coupled"):
            lr.jacobian_gram(f, params, X)


# 4. one return type -----------------------------------------------------------------------
def test_every_public_array_function_returns_numpy_float64():
    net = lr.MLP((5, 8, 3))
    params = net.init(jax.random.PRNGKey(0))
    X, y = _data()
    logits = net.apply(params, X)
    results = {
        "jacobian_gram": lr.jacobian_gram(net, params, X),
        "loss_weighted_gram": lr.loss_weighted_gram(net, params, X, y, "ce"),
        "jacobian": lr.jacobian(net, params, X),
        "jacobian_gram_autodiff": lr.jacobian_gram_autodiff(net, params, X),
        "ggn_matrix": lr.ggn_matrix(net, params, X, y, "ce"),
        "hessian_matrix": lr.hessian_matrix(net, params, X, y, "ce"),
        "residual_matrix": lr.residual_matrix(net, params, X, y, "ce"),
        "ggn_eigenvalues": lr.ggn_eigenvalues(net, params, X, y, "ce"),
        "output_gradients": lr.output_gradients(logits, y, "ce"),
        "output_hessians": lr.output_hessians(logits, "ce"),
        "output_hessian_sqrt": lr.output_hessian_sqrt(logits, "ce"),
        "loss_value": lr.loss_value(logits, y, "ce"),
        "linearized_ggn_matrix": lr.linearized_ggn_matrix(net, params, params, X, y, "ce"),
        "linearized_hessian_matrix": lr.linearized_hessian_matrix(net, params, params, X, y,
                                                                  "ce"),
    }
    results |= {f"jacobian_gram_layers[{i}]": a
                for i, a in enumerate(lr.jacobian_gram_layers(net, params, X))}
    for name, a in results.items():
        assert isinstance(a, np.ndarray) and a.dtype == np.float64, (name, type(a))
    # outside linrelu's scope K.sum() stays float64 (it was truncated to float32 before)
    with jax.enable_x64(False):  # a user's program: JAX's default float32
        K = lr.jacobian_gram(net, params, X)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            total = K.sum()
        assert jnp.ones(1).dtype == jnp.float32
    assert isinstance(K, np.ndarray) and total.dtype == np.float64
    assert total == np.sum(results["jacobian_gram"])


# 5. defaults that agree ---------------------------------------------------------------------
def test_diagnose_infers_the_loss_like_the_cli():
    from linrelu.__main__ import _infer_loss

    net = lr.MLP((5, 8, 3))
    params = net.init(jax.random.PRNGKey(0))
    X, y = _data()
    Y = np.random.default_rng(2).normal(size=(16, 3))
    assert lr.diagnose(net, params, X, y).loss == "ce" == _infer_loss(y)
    assert lr.diagnose(net, params, X, Y).loss == "mse" == _infer_loss(Y)
    with pytest.raises(ValueError, match="^targets: cannot infer the loss"):
        lr.diagnose(net, params, X, y.astype(float))


# 6. T9 for ce: a prediction that is not 0 --------------------------------------------------
def _real_gd_ratio(apply, params, X, y, lr_, steps):
    """Explicit full-batch GD with jax.grad (the independent reference)."""
    X = jnp.asarray(X)

    def L(p):
        return -jnp.mean(jax.nn.log_softmax(apply(p, X))[jnp.arange(len(y)), y])
    g = jax.jit(jax.grad(L))
    p = params
    L0 = float(L(p))
    for _ in range(steps):
        p = jax.tree_util.tree_map(lambda a, b: a - lr_ * b, p, g(p))
    return float(L(p)) / L0


@pytest.mark.parametrize("which", ["authors_mlp", "readme_mlp", "tanh_dict"])
def test_ce_prediction_tracks_real_gradient_descent(which):
    rng = np.random.default_rng(0)
    if which == "authors_mlp":  # width 128; at width 12 the linearized model is pessimistic by
        # a factor ~5 (0.31 predicted vs 0.066 real): feature learning, outside its regime
        model = DenseMLP(width=128)
        X, y = _data(n=40)
        variables = model.init(jax.random.PRNGKey(0), jnp.asarray(X, jnp.float32))
        net, params = lr.mlp_from_flax(variables)
        apply = lambda p, x: model.apply({"params": p}, x)
    elif which == "readme_mlp":
        net = lr.MLP((64, 128, 128, 10), sigma_b=0.1)
        params = net.init(jax.random.PRNGKey(0))
        from linrelu.data import load_digits_data
        X, y = load_digits_data()
        X, y = X[:64], y[:64]
        apply = lambda p, x: net.apply(p, x)
    else:
        params = {"w1": rng.normal(size=(5, 32)), "w2": rng.normal(size=(32, 3)) / 6}
        net = lambda p, x: jnp.tanh(x @ p["w1"]) @ p["w2"]
        X, y = _data(n=30)
        apply = net
    with lr.float64():
        pred = lr.predict_trainability(net, params, X, y, "ce", steps=100)
        realized = _real_gd_ratio(apply, f64(params), np.asarray(X, np.float64), y, pred.lr,
                                  100)
    assert pred.predicted_ratio > 0.0 and realized > 0.0  # the old prediction printed 0
    assert 1 / 3 <= pred.predicted_ratio / realized <= 3
    # the quadratic model's own fraction is reported unclipped, with its flag
    assert pred.quadratic_overshoot == (pred.quadratic_decrease_fraction > 1)


def test_linearized_curve_is_gd_on_the_linearized_network():
    """T3 reference: explicit GD in parameter space on lr.linearize(net, θ0) with jax.grad."""
    from linrelu.analysis.trainability import linearized_gd_curve

    net = lr.MLP((5, 16, 3))
    params0 = net.init(jax.random.PRNGKey(0))
    X, y = _data()
    K = lr.jacobian_gram(net, params0, X)
    logits0 = np.asarray(net.apply(params0, X))
    step, T = 2.0, 25
    curve = linearized_gd_curve(K, logits0, y, "ce", step, T)
    with lr.float64():
        f_lin = lr.linearize(net, params0)
        Xj = jnp.asarray(X)

        def L(p):
            return -jnp.mean(jax.nn.log_softmax(f_lin(p, Xj))[jnp.arange(len(y)), y])
        g = jax.jit(jax.grad(L))
        p, ref = f64(params0), []
        for _ in range(T + 1):
            ref.append(float(L(p)))
            p = jax.tree_util.tree_map(lambda a, b: a - step * b, p, g(p))
    ref = np.asarray(ref) / ref[0]
    assert np.max(np.abs(curve - ref)) <= 1e-10
    # mse: the same dynamics are T8's closed form
    Y = np.random.default_rng(3).normal(size=(16, 3))
    lam, U = np.linalg.eigh(K)
    r0 = (logits0 - Y).reshape(-1)
    t8 = lr.mse_loss_curve(np.clip(lam, 0, None), U.T @ r0, 0.5, T, 16)
    assert np.max(np.abs(linearized_gd_curve(K, logits0, Y, "mse", 0.5, T) - t8)) <= 1e-10


# 7. (logits, activations) models -----------------------------------------------------------
class AuthorsConvNet(nn.Module):
    """The authors' convention: returns (logits, activations) with None entries."""
    layer_norm: bool = False

    @nn.compact
    def __call__(self, x):
        acts = {}
        x = nn.relu(nn.Conv(4, (3, 3))(x))
        acts["conv1"] = x
        x = nn.max_pool(x, (2, 2), strides=(2, 2))
        acts["pool1"] = None
        x = x.reshape(x.shape[0], -1)
        x = nn.Dense(10)(x)
        if self.layer_norm:
            x = nn.LayerNorm()(x)
        x = nn.relu(x)
        acts["fc1"] = x
        return nn.Dense(2)(x), acts


@pytest.mark.parametrize("layer_norm", [False, True])
def test_logits_activations_model_with_selectors(layer_norm):
    model = AuthorsConvNet(layer_norm=layer_norm)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 6, 6, 1)), np.arange(8) % 2
    params = model.init(jax.random.PRNGKey(0), jnp.asarray(X, jnp.float32))["params"]
    net = lr.wrap_model(lambda p, x: model.apply({"params": p}, x),
                        features=lambda out: out[1])
    report = lr.diagnose(net, params, X, y)
    assert report.widths == (4, 10)  # conv1 channels, fc1 units; the None entry is skipped
    # GGN spectrum against J from jax.jacrev and H from the softmax (independent of linrelu)
    with lr.float64():
        p64 = f64(params)
        flat, unravel = ravel_pytree(p64)
        out = lambda t: model.apply({"params": unravel(t)}, jnp.asarray(X))[0]
        J = np.asarray(jax.jit(jax.jacrev(lambda t: out(t).reshape(-1)))(flat))
        p = np.asarray(jax.nn.softmax(out(flat)))
    H = np.zeros((16, 16))
    for i in range(8):
        H[2 * i:2 * i + 2, 2 * i:2 * i + 2] = np.diag(p[i]) - np.outer(p[i], p[i])
    ref = np.sort(np.linalg.eigvalsh(J.T @ H @ J / 8))[::-1][:8]
    ev = np.sort(lr.ggn_eigenvalues(net, params, X, y, "ce"))[::-1][:8]
    assert np.max(np.abs(ev - ref)) <= 1e-9 * ref[0]


# 8. smaller things -------------------------------------------------------------------------
def test_k1_with_ce_is_refused():
    f = lambda p, x: x @ p["w"]
    X, _ = _data()
    with pytest.raises(ValueError, match="^loss: expected a model with k >= 2 outputs"):
        lr.ggn_eigenvalues(f, {"w": np.ones((5, 1))}, X, np.zeros(16, int), "ce")


@pytest.mark.parametrize("fn", ["jacobian_gram", "hessian_matrix"])
def test_integer_leaf_is_refused_by_every_route(fn):
    f = lambda p, x: x @ p["w"] * p["scale"]
    X, y = _data(k=2)
    params = {"w": np.ones((5, 2)), "scale": np.int32(2)}
    call = {"jacobian_gram": lambda: lr.jacobian_gram(f, params, X),
            "hessian_matrix": lambda: lr.hessian_matrix(f, params, X, y, "ce")}[fn]
    with pytest.raises(ValueError, match="^params: expected floating-point array leaves"):
        call()


def test_bfloat16_params_are_upcast_exactly():
    f = lambda p, x: jnp.tanh(x @ p["w1"]) @ p["w2"]
    rng = np.random.default_rng(0)
    p16 = {"w1": jnp.asarray(rng.normal(size=(5, 8)), jnp.bfloat16),
           "w2": jnp.asarray(rng.normal(size=(8, 2)), jnp.bfloat16)}
    X, _ = _data()
    K = lr.jacobian_gram(f, p16, X)
    with lr.float64():
        p64 = f64(p16)
        flat, unravel = ravel_pytree(p64)
        jac = jax.jit(jax.jacrev(lambda t: f(unravel(t), jnp.asarray(X)).reshape(-1)))
        J = np.asarray(jac(flat))
    assert np.max(np.abs(K - J @ J.T)) <= 1e-12 * np.max(np.abs(K))


def test_adapter_params_evaluate_in_float64():
    X, _ = _data()
    variables = DenseMLP().init(jax.random.PRNGKey(0), jnp.asarray(X, jnp.float32))
    net, params = lr.mlp_from_flax(variables)
    with jax.enable_x64(False):  # a user's program: JAX's default float32
        out = net.apply(params, X)
        assert jnp.ones(1).dtype == jnp.float32
    assert out.dtype == jnp.float64
    with lr.float64():
        ref = np.asarray(DenseMLP().apply({"params": f64(variables["params"])}, jnp.asarray(X)))
    assert np.max(np.abs(np.asarray(out) - ref)) <= 1e-13 * np.abs(ref).max()
