"""Adapters: other libraries' dense MLPs as a ``linrelu.MLP`` + params, so the closed form applies.

The closed form (T5) needs the MLP structure: z_{l} = h_{l−1} W_l + b_l, h_l = φ(z_l). Dense
layers in other libraries are exactly this in the *standard* parameterization (the fan-in scaling
lives in the initializer), so the adapters return ``MLP(..., parameterization="standard")``.

Weight layouts: Flax (``nn.Dense`` ``kernel``) and Haiku (``hk.Linear`` ``w``) store W as
(in, out) — linrelu's own layout (``layout="in_out"``); Equinox (``eqx.nn.Linear.weight``) and
PyTorch (``nn.Linear.weight``) store (out, in) (``layout="out_in"``: transposed on the way in).
A missing bias (``use_bias=False``) is taken as zeros (its Jacobian column is then still counted,
as a bias that happens to be 0).

The returned params are float64 (like ``MLP.init``), so ``net.apply(params, X)`` evaluates in
float64 whatever the source dtype. Parameter order: linrelu's flat order is W_1, b_1, W_2, …
(``ravel_pytree`` of the list of (W, b)); a Flax params dict flattens bias before kernel, so the
*flat* vectors of the two routes (HVP, ``hessian_matrix``) index parameters differently.
:func:`source_order` gives the permutation between them.

Self-check: pass the source model's ``apply`` and a sample ``X``; the adapter then evaluates both
in float64 and raises a ValueError naming what differs (e.g. an activation on the output layer)
unless they agree to float64 precision.
"""

from __future__ import annotations

import dataclasses
import re

import jax.numpy as jnp
import numpy as np

from linrelu.mlp import MLP, forward
from linrelu.network import call_model, to_float64
from linrelu.precision import float64
from linrelu.validation import check_inputs, describe

#: float64 agreement required by the self-check (relative to the output scale)
CHECK_RTOL = 1e-9

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


def _verify(net: MLP, params, apply, X, call):
    """Compare the adapter's MLP with the source model in float64 (module docstring)."""
    import warnings

    import jax

    if X is None:
        raise ValueError("X: expected a sample input (n, d) to check the adapter against apply, "
                         "received None")
    with float64():
        X = jnp.asarray(check_inputs(X, net.in_dim), jnp.float64)
        ours = np.asarray(forward(net, params, X), np.float64)
        theirs = call_model(lambda _, x: call(x), None, X)
        if not hasattr(theirs, "shape") or tuple(theirs.shape) != ours.shape:
            raise ValueError(f"apply: expected the source model's outputs of shape {ours.shape} "
                             f"(the adapted MLP's), received {describe(theirs)}")
        dtype = np.asarray(theirs).dtype
        theirs = np.asarray(theirs, np.float64)
    rtol = CHECK_RTOL
    if dtype != np.float64:
        warnings.warn(f"apply: the source model computes in {dtype} inside a float64 "
                      f"evaluation; the check uses a {dtype} tolerance. Cast its parameters / "
                      f"state to float64 (or dtype=jnp.float64) for float64 results",
                      stacklevel=3)
        rtol = 1e3 * float(np.finfo(dtype).eps)
    scale = max(float(np.max(np.abs(theirs))), 1e-300)
    err = float(np.max(np.abs(ours - theirs))) / scale
    if err <= rtol:
        return
    what = "an unknown difference (layer order, a non-dense layer, normalization or dropout)"
    if np.max(np.abs(np.asarray(jax.nn.relu(ours)) - theirs)) / scale <= max(rtol, 1e-6):
        what = "an activation (ReLU) applied to the output layer, which the MLP does not apply"
    elif np.max(np.abs(ours + theirs)) / scale <= max(rtol, 1e-6):
        what = "the sign of the output"
    raise ValueError(f"apply: expected the source model to compute the same function as the "
                     f"adapted MLP (relative difference ≤ {rtol:.1g}), received outputs that "
                     f"differ by {err:.3g} relative; likely cause: {what}")


def source_order(params) -> np.ndarray:
    """Index map ``perm`` with ``flat_linrelu = flat_flax[perm]`` for an adapter-made
    ``params`` from a Flax dict (bias before kernel in each layer, layers in the dict's sorted key
    order, which is the index order for up to 10 layers) — the two flat orders of issue 20."""
    sizes = [(int(np.size(W)), int(np.size(b))) for W, b in params]
    flax_offsets, off = [], 0
    for w, b in sizes:  # flax: b then W per layer
        flax_offsets.append((off + b, off))
        off += w + b
    perm = []
    for (w, b), (w_off, b_off) in zip(sizes, flax_offsets, strict=True):
        perm += list(range(w_off, w_off + w)) + list(range(b_off, b_off + b))
    return np.asarray(perm)


def mlp_from_dense_layers(layers, *, activation="relu", layout: str = "in_out", apply=None,
                          X=None) -> tuple[MLP, list]:
    """``(MLP, params)`` for a stack of dense layers with ``activation`` between them.

    ``layers``: a sequence of dense layers (first to last), each a (W, b) pair, a dict
    (``{"kernel", "bias"}``, ``{"w", "b"}``, ``{"weight", "bias"}``) or an object with
    ``.weight``/``.bias`` (Equinox ``Linear``). ``layout`` is the weight layout (module docstring).
    ``apply`` (optional, with ``X``): the source model as a function of a batch X, checked against
    the result in float64 (module docstring).
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
    net = MLP(tuple(sizes), parameterization="standard", activation=activation)
    with float64():
        params = [tuple(to_float64(p)) for p in params]
    if apply is not None:
        _verify(net, params, apply, X, apply)
    return net, params


def mlp_from_flax(variables, *, activation="relu", apply=None, X=None) -> tuple[MLP, object]:
    """``(MLP, params)`` for a Flax (or Haiku) MLP of dense layers with ``activation`` between.

    ``variables``: the model's ``variables`` (with a ``"params"`` entry) or its ``params`` dict,
    whose entries are the dense layers (Flax ``Dense_0``, ``Dense_1``, …; Haiku ``mlp/~/linear_0``,
    …; names ending in their index are ordered by it, others keep their insertion order), each
    ``{"kernel", "bias"}`` (Flax) or ``{"w", "b"}`` (Haiku), weights (in, out) as linrelu's.

    One parameter order, the user's: the returned ``params`` is the user's own params dict in
    float64, which the returned MLP accepts everywhere (its ``source`` field maps it to the
    layers). Every flat-vector API (``hessian_matrix``, ``hessian_vector_product(...,
    params=params)``, ``jacobian``) then indexes parameters in ``ravel_pytree(params)`` order —
    the Flax model's own. (If a layer has no bias, the list of (W, b) is returned instead, with
    zero biases, in linrelu's order W_1, b_1, …; see :func:`source_order`.)

    ``apply`` (optional, with ``X``): the Flax ``model.apply`` (Haiku: ``transformed.apply``
    with ``rng=None`` bound), called as ``apply({"params": params}, X)`` (Flax) /
    ``apply(params, X)`` (Haiku-style dicts) with float64 params and checked against the MLP.
    """
    tree = variables.get("params", variables) if hasattr(variables, "get") else None
    if not hasattr(tree, "items") or not tree:
        raise ValueError(f"variables: expected a Flax variables/params dict of nn.Dense layers, "
                         f"received {describe(variables)}")
    names = list(tree.keys())
    if all(_layer_index(k) is not None for k in names):
        names.sort(key=_layer_index)
    layers, source, haiku = [], [], False
    for k in names:
        layer = tree[k]
        keys = next(((w, b) for w, b in (("kernel", "bias"), ("w", "b"))
                     if hasattr(layer, "get") and w in layer), None)
        if keys is None:
            raise ValueError(f"variables: expected every entry to be a dense layer with a "
                             f"'kernel' (Flax) or 'w' (Haiku), received {k!r}: {describe(layer)}")
        haiku = haiku or keys[0] == "w"
        layers.append(layer)
        source.append((k, keys[0], keys[1]) if keys[1] in layer else None)
    net, params = mlp_from_dense_layers(layers, activation=activation, layout="in_out")
    if all(s is not None for s in source):
        net = dataclasses.replace(net, source=tuple(source))
        with float64():
            params = to_float64({k: dict(tree[k]) for k in names})
    if apply is not None:
        with float64():
            p64 = to_float64(dict(tree))
        call = (lambda x: apply(p64, x)) if haiku else (lambda x: apply({"params": p64}, x))
        _verify(net, net.layers_of(params), apply, X, call)
    return net, params
