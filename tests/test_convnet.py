"""The paper's ConvNet: shapes, forward pass against Flax and against numpy loops, init, errors."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from linrelu.models.convnet import ConvNet


class FlaxConvNet(nn.Module):
    """The authors' architecture written with flax.linen (the independent reference)."""

    num_classes: int = 2
    padding: str = "SAME"

    @nn.compact
    def __call__(self, x):
        for c, k in ((32, 5), (64, 3), (128, 3)):
            x = nn.Conv(features=c, kernel_size=(k, k), padding=self.padding)(x)
            x = nn.max_pool(nn.relu(x), window_shape=(2, 2), strides=(2, 2))
        x = x.reshape((x.shape[0], -1))
        x = nn.relu(nn.Dense(128)(x))
        x = nn.relu(nn.Dense(128)(x))
        return nn.Dense(self.num_classes)(x)


def _to_flax(params):
    names = ["Conv_0", "Conv_1", "Conv_2", "Dense_0", "Dense_1", "Dense_2"]
    return {"params": {n: {"kernel": W, "bias": b} for n, (W, b) in zip(names, params)}}


def _random_params(net, seed):
    """Random params with nonzero biases (the init's zero biases would hide bias bugs)."""
    rng = np.random.default_rng(seed)
    return [(jnp.asarray(rng.normal(size=w) / np.sqrt(np.prod(w[:-1]))),
             jnp.asarray(0.1 * rng.normal(size=b))) for w, b in net.param_shapes()]


@pytest.mark.parametrize("in_shape,padding,k", [((32, 32, 3), "SAME", 2), ((28, 28, 1), "SAME", 3),
                                                ((28, 28, 1), "VALID", 2)])
def test_shapes_and_apply_match_flax(in_shape, padding, k):
    net = ConvNet(in_shape, k, padding)
    ref = FlaxConvNet(num_classes=k, padding=padding)
    X = jnp.asarray(np.random.default_rng(1).normal(size=(4, *in_shape)))
    flax_shapes = jax.tree_util.tree_map(
        lambda a: a.shape, ref.init(jax.random.PRNGKey(0), X[:1])["params"])
    names = ["Conv_0", "Conv_1", "Conv_2", "Dense_0", "Dense_1", "Dense_2"]
    assert [(flax_shapes[n]["kernel"], flax_shapes[n]["bias"]) for n in names] == \
        net.param_shapes()
    params = _random_params(net, 2)
    out = net.apply(params, X)
    assert out.shape == (4, k)
    # float64 on both sides: agreement to ~1e-13 relative; 1e-10 leaves room for summation order
    np.testing.assert_allclose(out, ref.apply(_to_flax(params), X), rtol=1e-10, atol=1e-12)
    # flattened rows are the same images
    np.testing.assert_allclose(net.apply(params, X.reshape(4, -1)), out, rtol=0, atol=0)


def _np_conv(x, W, b, padding):
    """Stride-1 2-D convolution (cross-correlation, as lax/Flax) by explicit loops over offsets."""
    kh, kw = W.shape[:2]
    if padding == "SAME":  # XLA/TF SAME: pad (k−1)//2 before, the rest after
        x = np.pad(x, ((0, 0), ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2), (0, 0)))
    n, H, Wd, _ = x.shape
    Ho, Wo = H - kh + 1, Wd - kw + 1
    out = np.zeros((n, Ho, Wo, W.shape[3]))
    for i in range(Ho):
        for j in range(Wo):
            patch = x[:, i:i + kh, j:j + kw, :]
            out[:, i, j, :] = np.einsum("nabc,abcd->nd", patch, W)
    return out + b


def _np_pool(x):
    n, H, W, C = x.shape
    H2, W2 = H // 2, W // 2
    x = x[:, :2 * H2, :2 * W2, :].reshape(n, H2, 2, W2, 2, C)
    return x.max(axis=(2, 4))


@pytest.mark.parametrize("in_shape,padding", [((8, 8, 2), "SAME"), ((24, 24, 1), "VALID")])
def test_apply_and_features_match_numpy_loops(in_shape, padding):
    net = ConvNet(in_shape, 2, padding)
    params = _random_params(net, 3)
    X = np.random.default_rng(4).normal(size=(3, *in_shape))
    h, maps = X, []
    for W, b in params[:3]:
        h = _np_pool(np.maximum(_np_conv(h, np.asarray(W), np.asarray(b), padding), 0))
        maps.append(h)
    h = h.reshape(3, -1)
    dense = []
    for W, b in params[3:5]:
        h = np.maximum(h @ np.asarray(W) + np.asarray(b), 0)
        dense.append(h)
    f = h @ np.asarray(params[5][0]) + np.asarray(params[5][1])
    np.testing.assert_allclose(net.apply(params, X), f, rtol=1e-10, atol=1e-12)
    feats = net.features(params, X)
    expected = [m.mean(axis=(1, 2)) for m in maps] + dense
    assert [a.shape for a in feats] == [(3, 32), (3, 64), (3, 128), (3, 128), (3, 128)]
    for a, e in zip(feats, expected):
        np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-12)


def test_dead_channel_has_zero_feature_column():
    net = ConvNet((8, 8, 1), 2)
    params = _random_params(net, 5)
    X = np.random.default_rng(0).normal(size=(5, 8, 8, 1))
    before = np.asarray(net.features(params, X)[1])
    assert np.all(before[:, 7].max() > 0)  # alive before
    W, b = params[1]
    params[1] = (W, b.at[7].set(-1e6))  # channel 7 of conv 2 can never be positive
    after = np.asarray(net.features(params, X)[1])
    assert np.all(after[:, 7] == 0.0)
    np.testing.assert_array_equal(np.delete(after, 7, axis=1), np.delete(before, 7, axis=1))


def test_init_is_lecun_normal_with_zero_bias():
    net = ConvNet((32, 32, 3), 2)
    params = net.init(jax.random.PRNGKey(0))
    assert all(p.dtype == jnp.float32 for pair in params for p in pair)
    for (W, b), (w_shape, _) in zip(params, net.param_shapes()):
        fan_in = int(np.prod(w_shape[:-1]))
        w = np.asarray(W, np.float64).ravel()
        # LeCun normal: variance exactly 1/fan_in after truncation at ±2 of the untruncated σ.
        # Relative sd of a sample std ≈ 1/√(2N) ≤ 1.5 % for the smallest kernel (N = 2400):
        # 6 % is four standard errors.
        assert np.std(w) == pytest.approx(1 / np.sqrt(fan_in), rel=0.06)
        assert np.abs(w).max() <= 2 * (1 / np.sqrt(fan_in)) / 0.87962566103423978 + 1e-6
        assert abs(np.mean(w)) < 4 * np.std(w) / np.sqrt(w.size)
        assert np.all(np.asarray(b) == 0)
    # independent keys per layer: two inits from different keys differ, same key repeats
    again = net.init(jax.random.PRNGKey(0))
    assert all(np.array_equal(a[0], c[0]) for a, c in zip(params, again))
    other = net.init(jax.random.PRNGKey(1))
    assert not np.array_equal(params[3][0], other[3][0])


def test_bad_input_raises_value_error_naming_argument():
    with pytest.raises(ValueError, match="in_shape"):
        ConvNet((32, 32))
    with pytest.raises(ValueError, match="in_shape"):
        ConvNet((4, 4, 1))  # too small for three pooling stages
    with pytest.raises(ValueError, match="out_dim"):
        ConvNet((32, 32, 3), 0)
    with pytest.raises(ValueError, match="padding"):
        ConvNet((32, 32, 3), 2, "FULL")
    net = ConvNet((8, 8, 1), 2)
    params = net.init(jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="X"):
        net.apply(params, np.zeros((2, 8, 8, 3)))
    with pytest.raises(ValueError, match=r"params\[3\]"):
        net.check_params(params[:3] + [(np.zeros((3, 3)), params[3][1])] + params[4:])
