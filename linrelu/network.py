"""What every public function accepts as a network: a :class:`linrelu.MLP` or any JAX model.

``net`` is either

- a ``linrelu.MLP`` with ``params`` a list of ``(W, b)`` (the closed forms apply), or
- any callable ``f(params, X) -> (n, k)`` logits with ``params`` any JAX pytree: a Flax
  ``variables["params"]`` (``f = lambda p, x: model.apply({"params": p}, x)``), an Equinox
  module's arrays (``eqx.partition``), a dict, a list of tuples. ``X`` has n rows in whatever
  shape the model expects (e.g. (n, 32, 32, 3) images).

:func:`resolve` validates both kinds once, converts params and X to float64 (the caller runs
inside :func:`linrelu.precision.float64`) and evaluates the logits, so every bad input becomes a
``ValueError`` naming the argument. Flat parameter order is ``ravel_pytree(params)`` for both.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from linrelu.mlp import MLP, apply_fn
from linrelu.validation import check_finite, check_inputs, describe, is_traced


class Network(NamedTuple):
    """A validated (model, params, inputs) triple in float64."""

    apply: Any  # (params, X) -> (n, k) logits, unvalidated and jittable
    params: Any  # float64 pytree (MLP: list of (W, b))
    X: Any  # float64 jax array, n rows
    logits: Any  # apply(params, X), (n, k)
    mlp: MLP | None  # the MLP when the closed forms apply

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def k(self) -> int:
        return int(self.logits.shape[1])

    @property
    def num_params(self) -> int:
        return int(sum(np.size(x) for x in jax.tree_util.tree_leaves(self.params)))


def to_float64(tree):
    """Every floating leaf of a pytree as a float64 jax array (integer leaves kept)."""
    def cast(a):
        a = jnp.asarray(a)
        return a.astype(jnp.float64) if jnp.issubdtype(a.dtype, jnp.floating) else a

    return jax.tree_util.tree_map(cast, tree)


def check_model_params(params, name: str = "params"):
    """A pytree with at least one array leaf, all numeric and finite."""
    leaves = jax.tree_util.tree_leaves(params)
    if not leaves:
        raise ValueError(f"{name}: expected a pytree of arrays with at least one leaf, received "
                         f"{describe(params)}")
    for i, leaf in enumerate(leaves):
        if not hasattr(leaf, "dtype") and not isinstance(leaf, (int, float)):
            raise ValueError(f"{name}: expected array leaves, received {describe(leaf)} as leaf "
                             f"{i}")
        if not is_traced(leaf) and np.asarray(leaf).dtype.kind not in "biuf":
            raise ValueError(f"{name}: expected numeric array leaves, received "
                             f"{describe(leaf)} as leaf {i}")
        check_finite(leaf, f"{name} (leaf {i})")
    return params


def call_model(f, params, X):
    """f(params, X) with the model's own exceptions turned into one ValueError."""
    try:
        return f(params, X)
    except Exception as err:  # the user's model: any failure means params/X do not fit it
        msg = " ".join(str(err).split())[:300]
        raise ValueError(f"params: expected a pytree and inputs that fit the model, received "
                         f"params/X for which net(params, X) raised {type(err).__name__}: "
                         f"{msg}") from err


def check_logits_of(logits, n: int):
    """The model's output must be a finite (n, k) array."""
    if not hasattr(logits, "shape") or len(logits.shape) != 2 or logits.shape[0] != n:
        raise ValueError(f"net: expected a callable returning (n, k) logits with n = {n} rows, "
                         f"received output {describe(logits)}")
    if not is_traced(logits) and not np.all(np.isfinite(np.asarray(logits))):
        raise ValueError("net: expected finite logits, received NaN/Inf in net(params, X)")
    return logits


def resolve(net, params, X, *, params_name: str = "params") -> Network:
    """Validate (net, params, X) and return a float64 :class:`Network` (module docstring)."""
    if isinstance(net, MLP):
        X = check_inputs(X, net.in_dim)
        params = to_float64(net.check_params(params, params_name))
        X = jnp.asarray(X, dtype=jnp.float64)
        f = apply_fn(net)
        return Network(f, params, X, f(params, X), net)
    if not callable(net):
        raise ValueError("net: expected a linrelu.MLP or a callable f(params, X) -> (n, k) "
                         f"logits, received {describe(net)}")
    X = jnp.asarray(check_inputs(X, any_shape=True), dtype=jnp.float64)
    params = to_float64(check_model_params(params, params_name))
    logits = check_logits_of(call_model(net, params, X), int(X.shape[0]))
    return Network(net, params, X, jnp.asarray(logits, jnp.float64), None)
