"""Adapters: other libraries' dense MLPs as a ``linrelu.MLP`` + params, so the closed form applies.

The closed form (T5) needs the MLP structure: z_{l} = h_{l−1} W_l + b_l, h_l = φ(z_l). Dense
layers in other libraries are exactly this in the *standard* parameterization (the fan-in scaling
lives in the initializer), so the adapters return ``MLP(..., parameterization="standard")``.

Weight layouts: Flax (``nn.Dense`` ``kernel``) and Haiku (``hk.Linear`` ``w``) store W as
(in, out) — linrelu's own layout (``layout="in_out"``); Equinox (``eqx.nn.Linear.weight``) and
PyTorch (``nn.Linear.weight``) store (out, in) (``layout="out_in"``: transposed on the way in).
A missing bias (``use_bias=False``) is taken as zeros (its Jacobian column is then still counted,
as a bias that happens to be 0).
"""

from __future__ import annotations

import re

import jax.numpy as jnp
import numpy as np

from linrelu.mlp import MLP
from linrelu.validation import describe

LAYOUTS = ("in_out", "out_in")


def _layer_index(name: str):
    m = re.search(r"(\d+)$", str(name))
    return int(m.group(1)) if m else None


def _weight_and_bias(layer, l: int):
    """(W, b) of one dense layer given as a (W, b) pair, a dict or an object with attributes."""
    if isinstance(layer, (tuple, list)) and len(layer) == 2:
        return layer
    for w_key, b_key in (("kernel", "bias"), ("w", "b"), ("weight", "bias")):
        if isinstance(layer, dict) and w_key in layer:
            return layer[w_key], layer.get(b_key)
        if not isinstance(layer, dict) and hasattr(layer, w_key):
            return getattr(layer, w_key), getattr(layer, b_key, None)
    raise ValueError(f"layers[{l}]: expected a (W, b) pair, a dict with 'kernel'/'w'/'weight' or "
                     f"an object with a .weight, received {describe(layer)}")


def mlp_from_dense_layers(layers, *, activation="relu", layout: str = "in_out"
                          ) -> tuple[MLP, list]:
    """``(MLP, params)`` for a stack of dense layers with ``activation`` between them.

    ``layers``: a sequence of dense layers (first to last), each a (W, b) pair, a dict
    (``{"kernel", "bias"}``, ``{"w", "b"}``, ``{"weight", "bias"}``) or an object with
    ``.weight``/``.bias`` (Equinox ``Linear``). ``layout`` is the weight layout (module docstring).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout: expected one of {LAYOUTS}, received {layout!r}")
    if not isinstance(layers, (list, tuple)) or not layers:
        raise ValueError(f"layers: expected a non-empty sequence of dense layers, received "
                         f"{describe(layers)}")
    params, sizes = [], []
    for l, layer in enumerate(layers):
        W, b = _weight_and_bias(layer, l)
        W = jnp.asarray(W, jnp.float32 if np.asarray(W).dtype == np.float32 else None)
        if W.ndim != 2:
            raise ValueError(f"layers[{l}]: expected a 2-D weight matrix, received "
                             f"{describe(W)}")
        if layout == "out_in":
            W = W.T
        b = jnp.zeros(W.shape[1], W.dtype) if b is None else jnp.asarray(b)
        if b.shape != (W.shape[1],):
            raise ValueError(f"layers[{l}]: expected a bias of shape ({W.shape[1]},) for a weight "
                             f"of shape {tuple(W.shape)} in layout {layout!r}, received "
                             f"{describe(b)}")
        if sizes and sizes[-1] != W.shape[0]:
            raise ValueError(f"layers[{l}]: expected {sizes[-1]} inputs to match the previous "
                             f"layer's outputs, received a weight of shape {tuple(W.shape)} "
                             f"(layout {layout!r})")
        if not sizes:
            sizes.append(int(W.shape[0]))
        sizes.append(int(W.shape[1]))
        params.append((W, b))
    return MLP(tuple(sizes), parameterization="standard", activation=activation), params


def mlp_from_flax(variables, *, activation="relu") -> tuple[MLP, list]:
    """``(MLP, params)`` for a Flax MLP made of ``nn.Dense`` layers with ``activation`` between.

    ``variables``: the model's ``variables`` (with a ``"params"`` entry) or its ``params`` dict,
    whose entries are the Dense layers (``Dense_0``, ``Dense_1``, … or any names ending in their
    index, ordered by that index; names without an index keep their insertion order). Kernels
    are (in, out), as linrelu's.
    """
    tree = variables.get("params", variables) if hasattr(variables, "get") else None
    if not hasattr(tree, "items") or not tree:
        raise ValueError(f"variables: expected a Flax variables/params dict of nn.Dense layers, "
                         f"received {describe(variables)}")
    names = list(tree.keys())
    if all(_layer_index(k) is not None for k in names):
        names.sort(key=_layer_index)
    layers = []
    for k in names:
        layer = tree[k]
        if not hasattr(layer, "get") or "kernel" not in layer:
            raise ValueError(f"variables: expected every entry to be an nn.Dense layer with a "
                             f"'kernel', received {k!r}: {describe(layer)}")
        layers.append(layer)
    return mlp_from_dense_layers(layers, activation=activation, layout="in_out")
