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

Self-check, on by default wherever the source model can be run: given the source model's
``apply`` (``X`` optional: default :data:`CHECK_SAMPLES` standard-normal rows, seed 0), the adapter
evaluates both in float64 and raises a ValueError naming what differs (e.g. an activation on the
output layer) unless they agree to float64 precision. Without ``apply`` the source model cannot
be run: the adapter then warns (:class:`UncheckedAdapterWarning`) that nothing was checked and how
to enable the check.

Layer order: :func:`mlp_from_flax` orders a dict's layers by the model's call order, read from the
trace of ``apply`` (the order in which the computation first uses each kernel). Without ``apply``
it falls back to the index at the end of each name, which is Flax's *construction* order; when the
layers do not chain in that order (a model written with nested calls,
``nn.Dense(3)(nn.relu(nn.Dense(8)(x)))``, names its outer layer ``Dense_0``) it refuses with a
ValueError naming the ambiguity.
"""

from __future__ import annotations

import dataclasses
import re
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from linrelu.models.mlp import MLP, forward
from linrelu.models.network import call_model, to_float64
from linrelu.precision import float64
from linrelu.validation import check_inputs, describe

#: float64 agreement required by the self-check (relative to the output scale)
CHECK_RTOL = 1e-9

#: rows of the default self-check sample (standard normal, seed 0) when ``apply`` comes without X
CHECK_SAMPLES = 8

LAYOUTS = ("in_out", "out_in")


class UncheckedAdapterWarning(UserWarning):
    """An adapter built an MLP without running the source model (no ``apply`` given): nothing
    checked that the MLP computes the source model's function."""


def _warn_unchecked(fn: str, order: str) -> None:
    warnings.warn(
        f"apply: no self-check was done ({fn} received apply=None, so the source model could not "
        f"be run); the adapted MLP assumes its activation between the dense layers, none after "
        f"the last, and the layers in {order}, and a model that differs (an activation on the "
        f"output, another layer order, a non-dense layer) gives wrong results without an error. "
        f"Enable the check: {fn}(..., apply=<the source model's apply>) (X= optional)",
        UncheckedAdapterWarning, stacklevel=3)


def _default_sample(X, in_dim: int):
    """The user's X, or :data:`CHECK_SAMPLES` standard-normal rows (seed 0)."""
    if X is not None:
        return X
    return np.random.default_rng(0).normal(size=(CHECK_SAMPLES, in_dim))


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


def source_order(params, names=None) -> np.ndarray:
    """Index map ``perm`` with ``flat_linrelu = flat_source[perm]`` between linrelu's flat order
    (``ravel_pytree`` of the list of (W, b): W_1, b_1, W_2, …) and a Flax / Haiku params dict's
    (``ravel_pytree`` of the dict: layers in the *string* order of their names, bias before
    kernel in each, as ``{"bias", "kernel"}`` and ``{"b", "w"}`` sort).

    ``params``: the layers as a list of (W, b) in the MLP's layer (call) order, e.g.
    ``net.layers_of(params)`` for an adapter-made ``(net, params)``. ``names``: the dict keys of
    those layers, in the same order; or the adapter-made MLP itself, whose ``source`` holds them;
    default: layer l named with the index l at its end under a common prefix (Flax ``Dense_l``,
    Haiku ``linear_l``), sorted as strings like the dict is (``Dense_10`` before ``Dense_2``), so
    the map is right at any depth. Pass ``names`` when the names do not follow the call order
    (a Flax model written with nested calls names its outer layer ``Dense_0``).
    """
    if not isinstance(params, (list, tuple)) or not params:
        raise ValueError(f"params: expected a non-empty list of (W, b) layers, received "
                         f"{describe(params)}")
    sizes = [(int(np.size(W)), int(np.size(b))) for W, b in params]
    if isinstance(names, MLP):
        if names.source is None:
            raise ValueError("names: expected the layer names or an MLP made by mlp_from_flax "
                             "(with a source), received an MLP without a source")
        names = [s[0] for s in names.source]
    if names is None:
        keys = [f"{l}" for l in range(len(sizes))]  # the common prefix does not change the sort
    else:
        keys = list(names) if isinstance(names, (list, tuple)) else None
        if keys is None or len(keys) != len(sizes) or len(set(keys)) != len(keys) \
                or not all(isinstance(k, str) for k in keys):
            raise ValueError(f"names: expected {len(sizes)} distinct layer names (str), one per "
                             f"layer of params in its order, received {describe(names)}")
    offsets, off = {}, 0
    for l in sorted(range(len(sizes)), key=lambda l: keys[l]):  # the dict's flat order
        w, b = sizes[l]
        offsets[l] = (off + b, off)  # (kernel offset, bias offset): bias first
        off += w + b
    perm = []
    for l, (w, b) in enumerate(sizes):
        w_off, b_off = offsets[l]
        perm += list(range(w_off, w_off + w)) + list(range(b_off, b_off + b))
    return np.asarray(perm)


def mlp_from_dense_layers(layers, *, activation="relu", layout: str = "in_out", apply=None,
                          X=None) -> tuple[MLP, list]:
    """``(MLP, params)`` for a stack of dense layers with ``activation`` between them.

    ``layers``: a sequence of dense layers (first to last), each a (W, b) pair, a dict
    (``{"kernel", "bias"}``, ``{"w", "b"}``, ``{"weight", "bias"}``) or an object with
    ``.weight``/``.bias`` (Equinox ``Linear``). ``layout`` is the weight layout (module docstring).
    ``apply``: the source model as a function of a batch X; the result is checked against it in
    float64 on ``X`` (default: :data:`CHECK_SAMPLES` standard-normal rows), a ValueError naming
    the difference when they disagree. Without ``apply`` nothing can be checked: an
    :class:`UncheckedAdapterWarning` says so.

    Parameter order: layers given as layer objects that are JAX pytrees (Equinox ``Linear``,
    each with a bias) come back as the user's own ``params``: the same list (or tuple) of the
    same layer objects with float64 arrays, which the returned MLP accepts everywhere (its
    ``source`` maps them to the layers, transposing ``out_in`` weights), so every flat-vector API
    indexes parameters in ``ravel_pytree(layers)`` order, the user's own. (W, b) pairs and dicts
    come back as linrelu's list of (W, b).
    """
    net, params = _dense_stack(layers, activation, layout)
    own = _own_structure(layers, layout)
    if own is not None:
        net, params = dataclasses.replace(net, source=own[0]), own[1]
    if apply is None:
        _warn_unchecked("mlp_from_dense_layers", "the order given")
    else:
        _verify(net, params, apply, _default_sample(X, net.in_dim), apply)
    return net, params


def _own_structure(layers, layout: str):
    """``(source, params)`` keeping the user's own layers when they are layer objects that are
    JAX pytrees holding their weight and bias (Equinox ``Linear``): ``params`` is ``layers``
    itself with every float leaf as float64 (the same container, the same ravel_pytree order),
    ``source`` the MLP's map to its (W, b) (module docstring). None for (W, b) pairs, dicts,
    objects that are not pytrees (nothing to keep) or a layer without a bias."""
    if not isinstance(layers, (list, tuple)):
        return None
    source = []
    for l, layer in enumerate(layers):
        if isinstance(layer, (dict, list, tuple)):
            return None
        key = next((k for k in ("kernel", "w", "weight") if hasattr(layer, k)), None)
        bias_key = {"kernel": "bias", "w": "b", "weight": "bias"}.get(key)
        if key is None or getattr(layer, bias_key, None) is None:
            return None
        leaves = jax.tree_util.tree_leaves(layer)
        if not any(leaf is getattr(layer, key) for leaf in leaves) or not any(
                leaf is getattr(layer, bias_key) for leaf in leaves):
            return None
        source.append((l, key, bias_key, *(("out_in",) if layout == "out_in" else ())))

    def cast(a):
        floating = hasattr(a, "dtype") and jnp.issubdtype(a.dtype, jnp.floating)
        return jnp.asarray(a, jnp.float64) if floating else a

    with float64():
        params = type(layers)(jax.tree_util.tree_map(cast, layer) for layer in layers)
    return tuple(source), params


def _dense_stack(layers, activation, layout: str) -> tuple[MLP, list]:
    """The unchecked ``(MLP, params)`` of :func:`mlp_from_dense_layers`."""
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
    return net, params


def _call_order(call, tree, weight_keys: dict, X):
    """The layer names of ``tree`` in the order in which ``call(params, X)`` first uses each
    one's weight (its call order), read from the jaxpr (sub-jaxprs of jit, custom_jvp, … are
    followed); None when that order is undetermined (the model cannot be traced at X's shape, a
    weight is unused, or two are first used by one operation)."""
    from jax.extend.core import ClosedJaxpr, Jaxpr, Literal

    with float64():
        p64 = to_float64(dict(tree))
        leaves = jax.tree_util.tree_flatten_with_path(p64)[0]
        owner = {}
        for i, (path, _) in enumerate(leaves):
            keys = [getattr(k, "key", None) for k in path]
            if len(keys) == 2 and keys[0] in weight_keys and keys[1] == weight_keys[keys[0]]:
                owner[i] = keys[0]
        try:
            closed = jax.make_jaxpr(lambda p: call(p, jnp.asarray(X, jnp.float64)))(p64)
        except Exception:  # noqa: BLE001 - the user's model: tracing fails at a wrong in-dim
            return None
    order, tied = [], []

    def walk(jaxpr, watched):
        for eqn in jaxpr.eqns:
            hits = [watched[v] for v in eqn.invars
                    if not isinstance(v, Literal) and v in watched]
            hits = [h for h in dict.fromkeys(hits) if h not in order]
            if not hits:
                continue
            subs = [q.jaxpr if isinstance(q, ClosedJaxpr) else q
                    for val in eqn.params.values()
                    for q in (val if isinstance(val, (tuple, list)) else (val,))
                    if isinstance(q, (ClosedJaxpr, Jaxpr))]
            inner = [q for q in subs if len(q.invars) == len(eqn.invars)]
            if inner:
                walk(inner[0], {iv: watched[ov] for iv, ov in zip(inner[0].invars, eqn.invars)
                                if not isinstance(ov, Literal) and ov in watched})
            missed = [h for h in hits if h not in order]
            if len(missed) > 1:
                tied.append(missed)
            order.extend(missed)

    walk(closed.jaxpr, {v: owner[i] for i, v in enumerate(closed.jaxpr.invars) if i in owner})
    if tied or sorted(order) != sorted(weight_keys):
        return None
    return order


def _ambiguous_order(names, tree, keys, err: ValueError) -> ValueError:
    shapes = ", ".join(f"{k} {tuple(np.shape(tree[k][w]))}" for k, (w, _) in zip(names, keys))
    return ValueError(
        f"variables: expected dense layers whose name order is their call order, received "
        f"layers that do not chain in name order ({shapes}; {err}). Flax numbers layers in the "
        f"order they are constructed, so a model written with nested calls "
        f"(nn.Dense(3)(nn.relu(nn.Dense(8)(x)))) names its outer layer Dense_0; pass "
        f"apply=<the model's apply> so the adapter follows the call order")


def mlp_from_flax(variables, *, activation="relu", apply=None, X=None) -> tuple[MLP, object]:
    """``(MLP, params)`` for a Flax (or Haiku) MLP of dense layers with ``activation`` between.

    ``variables``: the model's ``variables`` (with a ``"params"`` entry) or its ``params`` dict,
    whose entries are the dense layers, each ``{"kernel", "bias"}`` (Flax) or ``{"w", "b"}``
    (Haiku), weights (in, out) as linrelu's.

    ``apply``: the Flax ``model.apply`` (Haiku: ``transformed.apply`` with ``rng=None`` bound),
    called as ``apply({"params": params}, X)`` (Flax) / ``apply(params, X)`` (Haiku-style dicts)
    with float64 params. With it, the layers are ordered by the model's call order (module
    docstring) and the MLP is checked against the model in float64 on ``X`` (default:
    :data:`CHECK_SAMPLES` standard-normal rows), a ValueError naming the difference when they
    disagree. Without it, layers are ordered by the index at the end of their names (Flax
    ``Dense_0``, ``Dense_1``, …; Haiku ``mlp/~/linear_0``, …; others keep their insertion order),
    a ValueError when they do not chain in that order, and an :class:`UncheckedAdapterWarning`
    says that nothing was checked.

    One parameter order, the user's: the returned ``params`` is the user's own params dict in
    float64, which the returned MLP accepts everywhere (its ``source`` field maps it to the
    layers). Every flat-vector API (``hessian_matrix``, ``hessian_vector_product(...,
    params=params)``, ``jacobian``) then indexes parameters in ``ravel_pytree(params)`` order —
    the Flax model's own. (If a layer has no bias, the list of (W, b) is returned instead, with
    zero biases, in linrelu's order W_1, b_1, …; see :func:`source_order`.)
    """
    tree = variables.get("params", variables) if hasattr(variables, "get") else None
    if not hasattr(tree, "items") or not tree:
        raise ValueError(f"variables: expected a Flax variables/params dict of nn.Dense layers, "
                         f"received {describe(variables)}")
    names = list(tree.keys())
    keys = {}
    for k in names:
        layer = tree[k]
        pair = next(((w, b) for w, b in (("kernel", "bias"), ("w", "b"))
                     if hasattr(layer, "get") and w in layer), None)
        if pair is None:
            raise ValueError(f"variables: expected every entry to be a dense layer with a "
                             f"'kernel' (Flax) or 'w' (Haiku), received {k!r}: {describe(layer)}")
        keys[k] = pair
    haiku = any(w == "w" for w, _ in keys.values())
    if all(_layer_index(k) is not None for k in names):
        names.sort(key=_layer_index)
    call = None
    if apply is not None:
        call = (lambda p, x: apply(p, x)) if haiku else (lambda p, x: apply({"params": p}, x))
        candidates = [X] if X is not None else [
            _default_sample(None, d)
            for d in dict.fromkeys(int(np.shape(tree[k][keys[k][0]])[0]) for k in names)]
        for sample in candidates:
            traced = _call_order(call, tree, {k: keys[k][0] for k in names}, sample)
            if traced is not None:
                names, X = traced, sample
                break
    try:
        net, params = _dense_stack([tree[k] for k in names], activation, "in_out")
    except ValueError as err:
        if apply is None and err.args[0].startswith("layers[") and "previous layer" in \
                err.args[0]:
            raise _ambiguous_order(names, tree, [keys[k] for k in names], err) from None
        raise
    source = [(k, *keys[k]) if keys[k][1] in tree[k] else None for k in names]
    if all(s is not None for s in source):
        net = dataclasses.replace(net, source=tuple(source))
        with float64():
            params = to_float64({k: dict(tree[k]) for k in names})
    if apply is None:
        _warn_unchecked("mlp_from_flax", "the index order of their names")
    else:
        with float64():
            p64 = to_float64(dict(tree))
        _verify(net, net.layers_of(params), apply, _default_sample(X, net.in_dim),
                lambda x: call(p64, x))
    return net, params
