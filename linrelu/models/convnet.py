"""The paper's ConvNet (Continual ImageNet) in plain JAX.

Architecture (the authors' Flax ``ConvNet`` of lop-jax, read from their repository):

    x ∈ R^{H×W×C_in}
    h_1 = maxpool₂(relu(conv_{5×5}(x;  K_1, b_1)))        32 channels
    h_2 = maxpool₂(relu(conv_{3×3}(h_1; K_2, b_2)))       64 channels
    h_3 = maxpool₂(relu(conv_{3×3}(h_2; K_3, b_3)))      128 channels
    h_4 = relu(W_4ᵀ vec(h_3) + b_4)                        128 units
    h_5 = relu(W_5ᵀ h_4 + b_5)                             128 units
    f(x) = W_6ᵀ h_5 + b_6                                  k outputs (2 for binary class pairs)

Convolutions are stride 1 with ``padding`` ("SAME", Flax's default and the authors' choice, or
"VALID"), kernels in HWIO layout ``(kh, kw, C_in, C_out)``; max-pool is 2×2 with stride 2 and no
padding (Flax ``nn.max_pool`` default), so an odd side is floored (28 → 14 → 7 → 3).
``vec`` flattens ``(H', W', C)`` row-major (channel fastest), as ``x.reshape((n, -1))`` in Flax.
Input shapes: 32×32×3 (ImageNet-style, 2048 features after the convs) or 28×28×1 (MNIST,
1152 features).

Initialization mirrors Flax's defaults: every kernel LeCun normal (truncated normal of variance
1/fan_in, fan_in = kh·kw·C_in for a convolution and the input width for a dense layer), every
bias 0. This is the *standard* parameterization (the scales live in the weights), unlike
:class:`linrelu.MLP`'s NTK parameterization.

``params`` is a list of ``(W, b)`` pairs, one per layer in forward order: three conv kernels, then
three dense matrices ``(in, out)``. In every pair the unit (channel) axis is the last axis of W
and the only axis of b, and the next layer's W reshaped row-major to ``(-1, C, out)`` has this
layer's unit on its middle axis (a conv kernel's input-channel axis; a dense matrix's rows, or
the rows of vec(h_3) belonging to one channel). Continual backprop relies on this layout.

Units and features. A hidden *unit* of a conv layer is a channel; :meth:`ConvNet.features`
reports for sample i and channel c the spatial mean of the layer's output map (after ReLU and
max-pool, i.e. what the next layer reads). Outputs are ≥ 0, so a channel's feature is 0 on every
probe image exactly when the channel outputs 0 at every position of every image: a dead channel
in :func:`linrelu.dead_units`' sense. A dense layer's units are its neurons, reported as is.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from linrelu.validation import describe

CONV_CHANNELS = (32, 64, 128)
CONV_KERNELS = (5, 3, 3)
DENSE_WIDTHS = (128, 128)
PADDINGS = ("SAME", "VALID")


def _pooled(side: int, kernel: int, padding: str) -> int:
    conv = side if padding == "SAME" else side - kernel + 1
    return conv // 2


def _max_pool(h):
    """2×2 max-pool, stride 2, odd trailing row/column dropped (Flax's VALID pooling).

    Written as a reshape + max rather than ``lax.reduce_window``: same values, and its gradient
    runs 2.6× faster on CPU (ConvNet 28×28×1, minibatch 100: 0.10 vs 0.27 s per gradient,
    2-core AMD EPYC, 2026-11-25). The gradients agree except at exact ties between positive window
    entries."""
    n, H, W, c = h.shape
    h = h[:, :H // 2 * 2, :W // 2 * 2, :]
    return h.reshape(n, H // 2, 2, W // 2, 2, c).max(axis=(2, 4))


@dataclass(frozen=True)
class ConvNet:
    """The paper's ConvNet for inputs of shape ``in_shape = (H, W, C)`` and ``out_dim`` outputs."""

    in_shape: tuple = (32, 32, 3)
    out_dim: int = 2
    padding: str = "SAME"

    def __post_init__(self):
        shape = self.in_shape
        if not isinstance(shape, (tuple, list)) or len(shape) != 3 or not all(
                isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 1
                for s in shape):
            raise ValueError(f"in_shape: expected (H, W, C) of three positive integers, "
                             f"received {shape!r}")
        object.__setattr__(self, "in_shape", tuple(int(s) for s in shape))
        k = self.out_dim
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"out_dim: expected an integer >= 1, received {k!r}")
        object.__setattr__(self, "out_dim", int(k))
        if self.padding not in PADDINGS:
            raise ValueError(f"padding: expected one of {PADDINGS}, received {self.padding!r}")
        h, w = self.in_shape[:2]
        for kern in CONV_KERNELS:
            h, w = _pooled(h, kern, self.padding), _pooled(w, kern, self.padding)
            if h < 1 or w < 1:
                raise ValueError(f"in_shape: expected an image large enough for three "
                                 f"conv + 2×2 pool stages with padding {self.padding!r}, "
                                 f"received {self.in_shape}")

    # --- shape facts -------------------------------------------------------------------------
    @property
    def in_dim(self) -> int:
        """H·W·C: the length of a flattened input row."""
        return int(np.prod(self.in_shape))

    @property
    def flat_dim(self) -> int:
        """Length of vec(h_3), the first dense layer's input."""
        h, w = self.in_shape[:2]
        for kern in CONV_KERNELS:
            h, w = _pooled(h, kern, self.padding), _pooled(w, kern, self.padding)
        return h * w * CONV_CHANNELS[-1]

    @property
    def widths(self) -> tuple:
        """Units per hidden layer (channels for the conv layers)."""
        return (*CONV_CHANNELS, *DENSE_WIDTHS)

    def param_shapes(self) -> list:
        """``[(W shape, b shape), …]`` in forward order."""
        shapes, c_in = [], self.in_shape[2]
        for c, kern in zip(CONV_CHANNELS, CONV_KERNELS):
            shapes.append(((kern, kern, c_in, c), (c,)))
            c_in = c
        sizes = (self.flat_dim, *DENSE_WIDTHS, self.out_dim)
        shapes += [((a, b), (b,)) for a, b in zip(sizes[:-1], sizes[1:])]
        return shapes

    @property
    def num_params(self) -> int:
        return sum(int(np.prod(w)) + int(np.prod(b)) for w, b in self.param_shapes())

    # --- parameters --------------------------------------------------------------------------
    def init(self, key, dtype=jnp.float32) -> list:
        """Flax defaults: LeCun-normal kernels (truncated normal, var 1/fan_in), zero biases."""
        if not isinstance(key, (jax.Array, np.ndarray)):
            raise ValueError(f"key: expected a jax.random key (e.g. jax.random.PRNGKey(0)), "
                             f"received {describe(key)}")
        init = jax.nn.initializers.lecun_normal()
        shapes = self.param_shapes()
        keys = jax.random.split(key, len(shapes))
        return [(init(k, w_shape, dtype), jnp.zeros(b_shape, dtype))
                for k, (w_shape, b_shape) in zip(keys, shapes)]

    def check_params(self, params, name: str = "params") -> list:
        """Raise ValueError unless ``params`` is a list of (W, b) with this net's shapes."""
        shapes = self.param_shapes()
        if not isinstance(params, (list, tuple)) or len(params) != len(shapes):
            raise ValueError(f"{name}: expected a list of {len(shapes)} (W, b) pairs, received "
                             f"{describe(params)}")
        for i, (pair, (w_shape, b_shape)) in enumerate(zip(params, shapes)):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2 or tuple(
                    np.shape(pair[0])) != w_shape or tuple(np.shape(pair[1])) != b_shape:
                got = (tuple(np.shape(pair[0])), tuple(np.shape(pair[1]))) if isinstance(
                    pair, (list, tuple)) and len(pair) == 2 else describe(pair)
                raise ValueError(f"{name}[{i}]: expected W of shape {w_shape} and b of shape "
                                 f"{b_shape}, received {got}")
        return list(params)

    # --- forward -----------------------------------------------------------------------------
    def _images(self, X):
        """Accept (n, H, W, C) images or flattened (n, H·W·C) rows (row-major HWC)."""
        shape = tuple(X.shape)
        if len(shape) == 2 and shape[1] == self.in_dim:
            return X.reshape((shape[0], *self.in_shape))
        if len(shape) == 4 and shape[1:] == self.in_shape:
            return X
        raise ValueError(f"X: expected images of shape (n, {', '.join(map(str, self.in_shape))})"
                         f" or rows (n, {self.in_dim}), received {describe(X)}")

    def _forward(self, params, X):
        """Logits and the hidden layer outputs (conv maps unpooled to (n, H', W', C))."""
        h = jnp.asarray(self._images(X), params[0][0].dtype)  # X in the params' precision
        hidden = []
        for W, b in params[:3]:
            z = jax.lax.conv_general_dilated(
                h, W, window_strides=(1, 1), padding=self.padding,
                dimension_numbers=("NHWC", "HWIO", "NHWC")) + b
            h = _max_pool(jax.nn.relu(z))
            hidden.append(h)
        h = h.reshape((h.shape[0], -1))
        for W, b in params[3:5]:
            h = jax.nn.relu(h @ W + b)
            hidden.append(h)
        W, b = params[5]
        return h @ W + b, hidden

    def apply(self, params, X):
        """Logits f(X), shape (n, out_dim). Works inside jit/grad."""
        return self._forward(params, X)[0]

    def features(self, params, X) -> list:
        """Per hidden layer an (n, m_l) array: channel-wise spatial means of the conv outputs
        (after ReLU and pool), then the two dense layers' activations (module docstring)."""
        hidden = self._forward(params, X)[1]
        return [jnp.mean(h, axis=(1, 2)) for h in hidden[:3]] + hidden[3:]
