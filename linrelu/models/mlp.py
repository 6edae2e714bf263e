"""Multilayer perceptron: NTK (THEORY.md, Conventions) or standard parameterization, any
elementwise activation φ (ReLU by default).

    z_1     = s_1 W_1ᵀ x       + t b_1
    h_l     = φ(z_l)
    z_{l+1} = s_{l+1} W_{l+1}ᵀ h_l + t b_{l+1}
    f(x)    = z_{L+1}

- ``parameterization="ntk"`` (default, THEORY's convention): s_l = σ_w/√m_{l−1}, t = σ_b, every
  entry of W_l and b_l N(0, 1) at init. This is exactly neural-tangents'
  ``stax.Dense(out, W_std=σ_w, b_std=σ_b, parameterization="ntk")`` stacked with ``stax.Relu()``.
- ``parameterization="standard"`` (Flax ``nn.Dense`` / Haiku / PyTorch convention): s_l = 1, t = 1,
  the fan-in scaling lives in the init, W_l ~ N(0, σ_w²/m_{l−1}), b_l ~ N(0, σ_b²).

``W_l ∈ R^{in×out}``, ``b_l ∈ R^{out}``. ``params`` is a list of ``(W, b)`` tuples; the flat
parameter order everywhere in linrelu is ``jax.flatten_util.ravel_pytree(params)``
(W_1, b_1, W_2, b_2, …).

Activations: ``"relu"`` (φ′(0) = 0, matching the masks 1[z > 0] of T5), ``"leaky_relu"``
(slope 0.01), ``"tanh"``, ``"gelu"`` (the erf form), or any elementwise callable. The closed-form
Gram (T5) holds for every φ with D_l = diag φ′(z_l); T4 (block-diagonal curvature = GGN) holds
only for piecewise-linear φ (relu, leaky_relu), where φ″ = 0 away from the kinks.
"""

from __future__ import annotations

import functools
import numbers
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from linrelu.precision import float64
from linrelu.validation import all_finite, check_inputs, describe, is_traced


class Trace(NamedTuple):
    """Forward pass of every layer.

    ``preacts[l-1] = z_l`` for l = 1..L+1 (the last one is the output f), each (n, m_l);
    ``acts[l] = h_l`` for l = 0..L with ``h_0 = X``, each (n, m_l).
    """

    preacts: list
    acts: list


ACTIVATIONS = {
    "relu": jax.nn.relu,
    "leaky_relu": lambda z: jax.nn.leaky_relu(z, 0.01),
    "tanh": jnp.tanh,
    "gelu": lambda z: jax.nn.gelu(z, approximate=False),
}
PARAMETERIZATIONS = ("ntk", "standard")


@dataclass(frozen=True)
class MLP:
    """MLP with layer sizes ``(d, m_1, …, m_L, k)`` (module docstring for the conventions)."""

    layer_sizes: tuple
    sigma_w: float = 2**0.5
    sigma_b: float = 0.0
    parameterization: str = "ntk"
    activation: object = "relu"
    #: set by the adapters: ((layer_key, weight_key, bias_key[, "out_in"]), …) so that
    #: ``params`` may be the user's own structure, whose ravel_pytree order every flat-vector
    #: API then uses: a Flax/Haiku dict (``params[layer_key][weight_key]``) or a list of layer
    #: objects such as Equinox ``Linear`` modules (``getattr(params[l], "weight")``); "out_in":
    #: the stored weight is Wᵀ (:mod:`linrelu.models.adapters`)
    source: tuple | None = None

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
        if self.parameterization not in PARAMETERIZATIONS:
            raise ValueError(f"parameterization: expected one of {PARAMETERIZATIONS}, received "
                             f"{self.parameterization!r}")
        if not (callable(self.activation) or self.activation in ACTIVATIONS):
            raise ValueError(f"activation: expected one of {tuple(ACTIVATIONS)} or an elementwise "
                             f"callable, received {self.activation!r}")

    # --- the forward pass's ingredients --------------------------------------------------------
    @property
    def phi(self):
        """The activation φ as a function of an array (elementwise)."""
        return ACTIVATIONS[self.activation] if isinstance(self.activation, str) \
            else self.activation

    @property
    def piecewise_linear(self) -> bool:
        """True for relu / leaky_relu: the nets for which T4 (block Hessian = GGN block) holds."""
        return self.activation in ("relu", "leaky_relu")

    def weight_scale(self, l: int) -> float:
        """s_l: σ_w/√m_{l−1} (ntk) or 1 (standard), the factor in front of W_l (l = 1..L+1)."""
        if self.parameterization == "standard":
            return 1.0
        return self.sigma_w / float(np.sqrt(self.layer_sizes[l - 1]))

    @property
    def bias_scale(self) -> float:
        """t: σ_b (ntk) or 1 (standard), the factor in front of every b_l."""
        return 1.0 if self.parameterization == "standard" else self.sigma_b

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
        """ntk: every weight and bias i.i.d. N(0, 1) (the scales live in the forward pass);
        standard: W_l ~ N(0, σ_w²/m_{l−1}), b_l ~ N(0, σ_b²). float64 unless ``dtype`` says
        otherwise (whatever the caller's ``jax_enable_x64``)."""
        if not (isinstance(key, jax.Array) and key.shape in ((2,), ())) and not isinstance(
                key, np.ndarray):
            raise ValueError(f"key: expected a jax.random key (e.g. jax.random.PRNGKey(0)), "
                             f"received {describe(key)}")
        params = []
        standard = self.parameterization == "standard"
        with float64():
            keys = jax.random.split(key, 2 * (len(self.layer_sizes) - 1))
            for i, (a, b) in enumerate(zip(self.layer_sizes[:-1], self.layer_sizes[1:])):
                W = jax.random.normal(keys[2 * i], (a, b), dtype=dtype)
                bias = jax.random.normal(keys[2 * i + 1], (b,), dtype=dtype)
                if standard:
                    W, bias = W * (self.sigma_w / np.sqrt(a)), bias * self.sigma_b
                params.append((W, bias))
        return params

    def in_source_form(self, params) -> bool:
        """Whether ``params`` is in the user's own structure of an adapter-made MLP (``source``)
        rather than linrelu's list of (W, b) pairs."""
        return self.source is not None and not (isinstance(params, (list, tuple)) and all(
            isinstance(p, (list, tuple)) and len(p) == 2 for p in params))

    def layers_of(self, params) -> list:
        """params as a list of (W, b) (unvalidated): the user's own structure via ``source``
        (a dict of layers, a list of layer objects), else as is."""
        if not self.in_source_form(params):
            return params
        layers = []
        try:
            for lk, wk, bk, *layout in self.source:
                layer = params[lk]
                if hasattr(layer, "keys"):
                    W, b = layer[wk], layer[bk]
                else:
                    W, b = getattr(layer, wk), getattr(layer, bk)
                layers.append((W.T if layout == ["out_in"] else W, b))
        except (KeyError, IndexError, TypeError, AttributeError) as err:
            raise ValueError(f"params: expected the layers {[s[0] for s in self.source]} of "
                             f"this adapted MLP (its source structure), received "
                             f"{describe(params)} (missing {err})") from err
        return layers

    def check_params(self, params, name: str = "params") -> list:
        """Raise ValueError unless ``params`` is a list of (W, b) with this net's shapes (or, for
        an adapter-made MLP, the source dict; returned as the list of (W, b))."""
        params = self.layers_of(params)
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
                if not is_traced(arr) and not all_finite(arr):
                    raise ValueError(f"{name}: expected finite values, received NaN/Inf in "
                                     f"{what}")
        return list(params)

    # --- forward -----------------------------------------------------------------------------
    def trace(self, params, X) -> Trace:
        """Pre-activations z_1..z_{L+1} and activations h_0 = X, h_1..h_L."""
        X = check_inputs(X, self.in_dim)
        params = self.check_params(params)
        if _is_float64(params):
            with float64():
                return forward_trace(self, params, jnp.asarray(X, dtype=jnp.float64))
        return forward_trace(self, params, jnp.asarray(X, dtype=params[0][0].dtype))

    def apply(self, params, X):
        """Network output f(X), shape (n, k), in the params' dtype. float64 params (``init``'s,
        the adapters') are evaluated in float64 whatever the caller's ``jax_enable_x64``."""
        X = check_inputs(X, self.in_dim)
        params = self.check_params(params)
        if _is_float64(params):
            with float64():
                return forward(self, params, jnp.asarray(X, dtype=jnp.float64))
        return forward(self, params, jnp.asarray(X, dtype=params[0][0].dtype))

    def features(self, params, X) -> list:
        """The hidden activations h_1..h_L of :meth:`trace`: the MLP's units in the model
        protocol (:mod:`linrelu.models.network`)."""
        return list(self.trace(params, X).acts[1:])


def _is_float64(params) -> bool:
    W = params[0][0] if isinstance(params, (list, tuple)) else \
        jax.tree_util.tree_leaves(params)[0]
    return not is_traced(W) and np.dtype(getattr(W, "dtype", np.float64)) == np.float64


def _preactivation(net: MLP, l: int, h, W, b):
    """z_l = s_l hW + t b (the one place the parameterization enters the forward pass)."""
    z = net.weight_scale(l) * (h @ W)
    return z + net.bias_scale * b if net.bias_scale else z


def forward_trace(net: MLP, params, X) -> Trace:
    """Unvalidated forward pass keeping every layer's z_l and h_l (jittable)."""
    layers = net.layers_of(params)
    return trace_from_first_preactivation(net, layers, _preactivation(net, 1, X, *layers[0]), X)


def trace_from_first_preactivation(net: MLP, params, z1, X=None) -> Trace:
    """:func:`forward_trace` from layer 1's pre-activation ``z1`` on (``params[0]`` unused;
    ``acts[0]`` is ``X``, which may be None). With :func:`sparse_first_preactivation` this is the
    forward pass of inputs given by their nonzero entries (jittable)."""
    params = net.layers_of(params)
    h, preacts, acts = net.phi(z1), [z1], [X]
    if net.depth >= 1:
        acts.append(h)
    for l, (W, b) in enumerate(params[1:], start=2):
        z = _preactivation(net, l, h, W, b)
        preacts.append(z)
        if l <= net.depth:
            h = net.phi(z)
            acts.append(h)
    return Trace(preacts, acts)


#: widths of the sparse encoding are rounded up to a multiple of this (:func:`padded_width`): tasks
#: whose densest rows differ a little share one compiled program
SPARSE_WIDTH_QUANTUM = 16


def padded_width(most: int, quantum: int = SPARSE_WIDTH_QUANTUM) -> int:
    """The width :func:`sparse_inputs` pads to for rows of at most ``most`` nonzeros: ``most``
    rounded up to a multiple of ``quantum`` (at least ``quantum``)."""
    return max(quantum, -(-int(most) // quantum) * quantum)


def sparse_inputs(X, width: int | None = None):
    """(idx, vals), each (n, width): row i of ``X`` (n, d) by its nonzero entries,
    X[i, idx[i, j]] = vals[i, j], in increasing column order, padded with (column 0, value 0).

    ``width`` ≥ the most nonzeros of any row (default: exactly that, at least 1). Host-side NumPy,
    O(n·d): the input of :func:`sparse_first_preactivation`."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X: expected a 2-d (n, d) array, received shape {X.shape}")
    n, d = X.shape
    mask = X != 0
    counts = np.count_nonzero(mask, axis=1)
    most = max(int(counts.max(initial=0)), 1)
    width = most if width is None else int(width)
    if width < most:
        raise ValueError(f"width: expected at least {most} (the most nonzeros in a row of X), "
                         f"received {width}")
    flat = np.flatnonzero(mask)  # row-major: row by row, columns increasing
    rows = flat // d
    dest = rows * width + (np.arange(flat.size) - np.repeat(np.cumsum(counts) - counts, counts))
    idx = np.zeros(n * width, np.int32)
    vals = np.zeros(n * width, X.dtype)
    idx[dest] = flat - rows * d
    vals[dest] = X.reshape(-1)[flat]
    return idx.reshape(n, width), vals.reshape(n, width)


def sparse_first_preactivation(net: MLP, rows, b, vals):
    """z_1 = s_1 Σ_j vals[i, j] · rows[i, j, :] + t b: layer 1's pre-activation of inputs given by
    their nonzero entries, with ``rows = W_1[idx]`` (n, width, m_1) the weight rows they read
    (:func:`sparse_inputs`). Equal to ``_preactivation(net, 1, X, W_1, b)`` up to the order of the
    sum; its gradient in ``rows`` touches only those rows (jittable)."""
    z = net.weight_scale(1) * jnp.einsum("nj,njm->nm", vals, rows)
    return z + net.bias_scale * b if net.bias_scale else z


def forward(net: MLP, params, X):
    """Unvalidated forward pass f(X) (for use inside jit / grad)."""
    params = net.layers_of(params)
    h = X
    for l, (W, b) in enumerate(params, start=1):
        z = _preactivation(net, l, h, W, b)
        h = net.phi(z) if l <= net.depth else z
    return h


def activation_derivative(net: MLP, z):
    """φ′(z) elementwise, by one forward-mode derivative of φ (exact for any elementwise φ;
    relu gives 1[z > 0], i.e. φ′(0) = 0 as THEORY's masks)."""
    return jax.jvp(net.phi, (z,), (jnp.ones_like(z),))[1]


@functools.lru_cache(maxsize=256)
def apply_fn(net: MLP):
    """``(params, X) ↦ f(X)`` for ``net``, the same function object for equal nets (so jit
    caches keyed on it hit across calls)."""
    return functools.partial(forward, net)


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
