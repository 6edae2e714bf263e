"""ReLU multilayer perceptron in the NTK parameterization (THEORY.md, Conventions).

    z_1     = (σ_w/√d)   W_1ᵀ x   + σ_b b_1
    h_l     = φ(z_l),  φ(z) = max(z, 0)
    z_{l+1} = (σ_w/√m_l) W_{l+1}ᵀ h_l + σ_b b_{l+1}
    f(x)    = z_{L+1}

``W_l ∈ R^{in×out}``, ``b_l ∈ R^{out}``, all entries N(0, 1) at init. This is exactly
neural-tangents' ``stax.Dense(out, W_std=σ_w, b_std=σ_b, parameterization="ntk")`` stacked with
``stax.Relu()``. ``params`` is a list of ``(W, b)`` tuples; the flat parameter order everywhere in
linrelu is ``jax.flatten_util.ravel_pytree(params)`` (W_1, b_1, W_2, b_2, …).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from linrelu._checks import check_inputs, describe, is_traced


class Trace(NamedTuple):
    """Forward pass of every layer.

    ``preacts[l-1] = z_l`` for l = 1..L+1 (the last one is the output f), each (n, m_l);
    ``acts[l] = h_l`` for l = 0..L with ``h_0 = X``, each (n, m_l).
    """

    preacts: list
    acts: list


@dataclass(frozen=True)
class MLP:
    """ReLU MLP with layer sizes ``(d, m_1, …, m_L, k)`` in the NTK parameterization."""

    layer_sizes: tuple
    sigma_w: float = 2**0.5
    sigma_b: float = 0.0

    def __post_init__(self):
        sizes = self.layer_sizes
        if not isinstance(sizes, (tuple, list)) or len(sizes) < 2 or not all(
                isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 1
                for s in sizes):
            raise ValueError("layer_sizes: expected a sequence of at least two positive integers "
                             f"(d, m_1, ..., m_L, k), received {describe(sizes)}: {sizes!r}")
        object.__setattr__(self, "layer_sizes", tuple(int(s) for s in sizes))
        for name in ("sigma_w", "sigma_b"):
            v = getattr(self, name)
            if not isinstance(v, numbers.Real) or not np.isfinite(v) or v < 0:
                raise ValueError(f"{name}: expected a finite number >= 0, received {v!r}")
            object.__setattr__(self, name, float(v))
        if self.sigma_w == 0:
            raise ValueError("sigma_w: expected a finite number > 0, received 0.0")

    # --- shape facts -------------------------------------------------------------------------
    @property
    def in_dim(self) -> int:
        return self.layer_sizes[0]

    @property
    def out_dim(self) -> int:
        return self.layer_sizes[-1]

    @property
    def depth(self) -> int:
        """Number of hidden layers L."""
        return len(self.layer_sizes) - 2

    @property
    def widths(self) -> tuple:
        """Hidden widths (m_1, …, m_L)."""
        return self.layer_sizes[1:-1]

    @property
    def num_params(self) -> int:
        s = self.layer_sizes
        return sum(s[i] * s[i + 1] + s[i + 1] for i in range(len(s) - 1))

    def layer_param_counts(self) -> list:
        """Number of parameters of each layer (W_l then b_l), in flat order."""
        s = self.layer_sizes
        return [s[i] * s[i + 1] + s[i + 1] for i in range(len(s) - 1)]

    # --- parameters --------------------------------------------------------------------------
    def init(self, key, dtype=jnp.float64) -> list:
        """All weights and biases i.i.d. N(0, 1) (the NTK parameterization puts scales in apply)."""
        if not (isinstance(key, jax.Array) and key.shape in ((2,), ())) and not isinstance(
                key, np.ndarray):
            raise ValueError(f"key: expected a jax.random key (e.g. jax.random.PRNGKey(0)), "
                             f"received {describe(key)}")
        params = []
        keys = jax.random.split(key, 2 * (len(self.layer_sizes) - 1))
        for i, (a, b) in enumerate(zip(self.layer_sizes[:-1], self.layer_sizes[1:])):
            W = jax.random.normal(keys[2 * i], (a, b), dtype=dtype)
            bias = jax.random.normal(keys[2 * i + 1], (b,), dtype=dtype)
            params.append((W, bias))
        return params

    def check_params(self, params, name: str = "params") -> list:
        """Raise ValueError unless ``params`` is a list of (W, b) with this net's shapes."""
        if not isinstance(params, (list, tuple)) or len(params) != len(self.layer_sizes) - 1:
            raise ValueError(f"{name}: expected a list of {len(self.layer_sizes) - 1} (W, b) "
                             f"tuples for layer sizes {self.layer_sizes}, received "
                             f"{describe(params)}")
        for l, (pair, a, b) in enumerate(
                zip(params, self.layer_sizes[:-1], self.layer_sizes[1:]), start=1):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise ValueError(f"{name}[{l - 1}]: expected a (W, b) pair, received "
                                 f"{describe(pair)}")
            W, bias = pair
            if tuple(np.shape(W)) != (a, b) or tuple(np.shape(bias)) != (b,):
                raise ValueError(f"{name}[{l - 1}]: expected W_{l} of shape ({a}, {b}) and "
                                 f"b_{l} of shape ({b},), received {tuple(np.shape(W))} and "
                                 f"{tuple(np.shape(bias))}")
            for arr, what in ((W, f"W_{l}"), (bias, f"b_{l}")):
                if not is_traced(arr) and not np.all(np.isfinite(np.asarray(arr))):
                    raise ValueError(f"{name}: expected finite values, received NaN/Inf in "
                                     f"{what}")
        return list(params)

    # --- forward -----------------------------------------------------------------------------
    def _scale(self, l: int) -> float:
        """σ_w/√m_{l-1}: the NTK scale in front of W_l (l = 1..L+1)."""
        return self.sigma_w / np.sqrt(self.layer_sizes[l - 1])

    def trace(self, params, X) -> Trace:
        """Pre-activations z_1..z_{L+1} and activations h_0 = X, h_1..h_L."""
        X = check_inputs(X, self.in_dim)
        params = self.check_params(params)
        return _trace(self, params, jnp.asarray(X, dtype=params[0][0].dtype))

    def apply(self, params, X):
        """Network output f(X), shape (n, k)."""
        X = check_inputs(X, self.in_dim)
        params = self.check_params(params)
        return _apply(self, params, jnp.asarray(X, dtype=params[0][0].dtype))


def _trace(net: MLP, params, X) -> Trace:
    h, preacts, acts = X, [], [X]
    for l, (W, b) in enumerate(params, start=1):
        z = net._scale(l) * (h @ W) + net.sigma_b * b
        preacts.append(z)
        if l <= net.depth:
            h = jax.nn.relu(z)
            acts.append(h)
    return Trace(preacts, acts)


def _apply(net: MLP, params, X):
    """Unvalidated forward pass (for use inside jit / grad)."""
    h = X
    for l, (W, b) in enumerate(params, start=1):
        z = net._scale(l) * (h @ W) + net.sigma_b * b
        h = jax.nn.relu(z) if l <= net.depth else z
    return h


def ravel_params(params):
    """Flat parameter vector in ``jax.flatten_util.ravel_pytree`` order (W_1, b_1, W_2, …)."""
    return jnp.concatenate([a.reshape(-1) for W, b in params for a in (W, b)])


def unravel_params(net: MLP, flat) -> list:
    """Inverse of :func:`ravel_params` for ``net`` (works on tracers; no template params needed)."""
    params, offset = [], 0
    for a, b in zip(net.layer_sizes[:-1], net.layer_sizes[1:]):
        W = flat[offset:offset + a * b].reshape(a, b)
        offset += a * b
        params.append((W, flat[offset:offset + b]))
        offset += b
    return params
