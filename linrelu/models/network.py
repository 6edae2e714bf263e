"""What every public function accepts as a network: one model protocol, used by training too.

A *model* is an object with

- ``apply(params, X) -> (n, k)`` logits, traceable (jit/grad), with ``params`` any JAX pytree;
- ``features(params, X) -> [h_1, …, h_L]`` (optional): its hidden units, each an (n, m_l) array,
  on which effective rank, dead units, the ER regularizer and continual backprop act;
- ``init(key) -> params`` (optional): needed only to *train* it (:mod:`linrelu.continual`).

The library's own models are ``linrelu.MLP`` (params a list of ``(W, b)``; the closed forms apply),
``linrelu.models.convnet.ConvNet`` (the paper's Continual-ImageNet network) and :func:`wrap_model`'s
adapter for a function whose output is not the logits alone (e.g. ``(logits, activations)``).
The spectral API also takes a bare callable ``f(params, X) -> (n, k)``, short for a model whose
``apply`` is ``f``: a Flax ``variables["params"]`` (``f = lambda p, x: model.apply({"params": p},
x)``), an Equinox module's arrays (``eqx.partition``), a dict, a list of tuples. ``X`` has n rows
in whatever shape the model expects (e.g. (n, 32, 32, 3) images).

:func:`resolve` validates every kind once and converts params and X to float64 (the caller runs
inside :func:`linrelu.precision.float64`), so every bad input becomes a ``ValueError`` naming the
argument. Every kind's logits are checked the same way: a finite (n, k) array, else a
``ValueError`` naming ``net``. A generic model's are evaluated and checked in :func:`resolve`
(its output shape is unknown until then); an MLP's when :attr:`Network.logits` is first read, so
its closed-form Gram, which needs only the forward trace it computes itself, costs no extra
forward pass (an MLP's output shape is known: (n, ``out_dim``)). Flat parameter order is
``ravel_pytree(params)`` for every kind.
"""

from __future__ import annotations

from functools import cached_property

import jax
import jax.numpy as jnp
import numpy as np

from linrelu.models.mlp import MLP, apply_fn
from linrelu.validation import check_finite, check_inputs, describe, is_traced


class Network:
    """A validated (model, params, inputs) triple in float64.

    ``apply``: (params, X) -> (n, k) logits, unvalidated and jittable; ``params``: float64 pytree
    (MLP: list of (W, b)); ``X``: float64 jax array, n rows; ``mlp``: the MLP when the closed
    forms apply. ``logits`` = apply(params, X), a finite (n, k) array: evaluated and checked
    (:func:`check_logits_of`) once, on first use (by :func:`resolve` for a generic model).
    """

    def __init__(self, apply, params, X, mlp: MLP | None, logits=None):
        self.apply, self.params, self.X, self.mlp = apply, params, X, mlp
        if logits is not None:
            self.__dict__["logits"] = logits

    @cached_property
    def logits(self):
        return check_logits_of(self.apply(self.params, self.X), self.n)

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def k(self) -> int:
        return self.mlp.out_dim if self.mlp is not None else int(self.logits.shape[1])

    @property
    def num_params(self) -> int:
        return int(sum(np.size(x) for x in jax.tree_util.tree_leaves(self.params)))


def to_float64(tree):
    """Every floating leaf of a pytree (bfloat16/float16/float32/float64) as a float64 jax array
    (the upcast is exact; integer leaves kept)."""
    def cast(a):
        a = jnp.asarray(a)
        return a.astype(jnp.float64) if jnp.issubdtype(a.dtype, jnp.floating) else a

    return jax.tree_util.tree_map(cast, tree)


_LOW = ("float32", "float16", "bfloat16")
_WARNED: set = set()


def _has_contents(cell) -> bool:
    try:
        return cell.cell_contents is not None or True
    except ValueError:
        return False


def captured_low_precision(net) -> list:
    """'captured NAME[path] is float32' for arrays below float64 that ``net`` closes over."""
    return [what for what, _ in _captured_low(net)]


def _captured_low(net) -> list:
    """(description, dtype name) of the first array below float64 in each object ``net``
    closes over or reads from its module."""
    found = []
    code = getattr(net, "__code__", None)
    cells = [c.cell_contents for c in (getattr(net, "__closure__", None) or ())
             if _has_contents(c)]
    names = list(getattr(code, "co_freevars", ()) or ())[:len(cells)]
    glob = getattr(net, "__globals__", {}) or {}
    for name in getattr(code, "co_names", ()) or ():  # module-level state the function reads
        if name in glob and not callable(glob[name]) and not isinstance(glob[name], type):
            names.append(name)
            cells.append(glob[name])
    for name, content in zip(names, cells, strict=False):
        try:
            leaves = jax.tree_util.tree_flatten_with_path(content)[0]
        except Exception:  # noqa: BLE001 - arbitrary user objects: nothing to inspect
            continue
        for path, leaf in leaves:
            if hasattr(leaf, "dtype") and str(leaf.dtype) in _LOW:
                found.append((f"captured {name}{jax.tree_util.keystr(path)} is {leaf.dtype}",
                              str(leaf.dtype)))
                break
    return found


def low_precision_inside(net, params, X) -> str | None:
    """A description of float32 (or lower) work inside ``net(params, X)`` evaluated with float64
    params and X, or None. Looks at the arrays the model closes over (e.g. linen
    ``batch_stats``) and at the dtypes of every operation in its jaxpr (e.g. a model built with
    ``dtype=jnp.float32``). Tracing only: nothing is computed."""
    return _low_inside(net, params, X)[0]


def _low_inside(net, params, X) -> tuple[str | None, set]:
    """(:func:`low_precision_inside`'s description, the names of the dtypes below float64)."""
    captured = _captured_low(net)
    found = [what for what, _ in captured]
    low = _low_dtypes_in_jaxpr(net, params, X)
    if low:
        found.append(f"operations in {', '.join(sorted(low))}")
    return ("; ".join(found[:3]) if found else None), low | {d for _, d in captured}


def _low_dtypes_in_jaxpr(net, params, X) -> set:
    """Names of the float dtypes below float64 among the operations and constants of
    ``net(params, X)``'s jaxpr (empty when it cannot be traced)."""
    try:
        jaxpr = jax.make_jaxpr(lambda p: net(p, X))(params)
    except Exception:  # noqa: BLE001 - the model's own errors are reported by call_model
        return set()
    return ({str(v.aval.dtype) for eqn in jaxpr.jaxpr.eqns for v in eqn.outvars
             if str(getattr(v.aval, "dtype", "")) in _LOW}
            | {str(c.dtype) for c in jaxpr.consts if str(getattr(c, "dtype", "")) in _LOW})


def precision_inside(net, params, X) -> float:
    """Machine ε of the least precise float dtype that ``net(params, X)`` computes in or closes
    over (float64's 2.2e-16 when it stays in float64). Tracing only: nothing is computed."""
    low = _low_dtypes_in_jaxpr(net, params, X) | {d for _, d in _captured_low(net)}
    return max([float(jnp.finfo(jnp.dtype(d)).eps) for d in low]
               + [float(np.finfo(np.float64).eps)])


#: Relative error max|K − K_ref| / max|K_ref| of the Gram (``jacobian_gram``) of a model that
#: computes in each dtype inside a float64 evaluation, against the same model in float64:
#: (median, maximum) over Flax ReLU MLPs 8-16-3, 8-64-64-3 and 8-256-256-10 on n = 16 inputs, 10
#: seeds each. Measured with ``python -m benchmarks.low_precision`` (jax 0.10.2, CPU backend,
#: 2-core AMD EPYC, at commit edbc857). Unit roundoff u = ε/2: float32 6.0e-8, float16 4.9e-4,
#: bfloat16 3.9e-3. The maxima exceed u by 2× (float32) to 58× (float16): a ReLU whose
#: pre-activation rounds across 0 changes a whole Jacobian row. Not measured on an accelerator,
#: where XLA may multiply float32 in TensorFloat-32 (10-bit significand) by default. The
#: float32-inside warning quotes these numbers for the least precise dtype it finds.
LOW_PRECISION_GRAM_ERROR = {"float32": (5.1e-8, 9.3e-8), "float16": (4.2e-4, 2.8e-2),
                            "bfloat16": (7.4e-3, 1.0e-1)}


def accuracy_statement(dtype: str) -> str:
    """What a float64 evaluation of a model that computes in ``dtype`` inside can promise: the
    dtype's unit roundoff and the Gram error measured for it (:data:`LOW_PRECISION_GRAM_ERROR`)."""
    u = float(jnp.finfo(jnp.dtype(dtype)).eps) / 2
    measured = ""
    if dtype in LOW_PRECISION_GRAM_ERROR:
        median, worst = LOW_PRECISION_GRAM_ERROR[dtype]
        measured = (f"; Gram relative error measured on CPU {median:.1e} median, up to "
                    f"{worst:.1e}, on small {dtype} ReLU MLPs")
    return f"{dtype} round-off (unit roundoff {u:.1e}{measured})"


def warn_low_precision(net, params, X, owner=None) -> None:
    """Warn once per model (``owner``, default ``net``) when ``net(params, X)`` computes below
    float64 inside, stating the accuracy of the least precise dtype found
    (:func:`accuracy_statement`) and a fix that works with or without ``jax_enable_x64``."""
    import warnings

    what, low = _low_inside(net, params, X)
    key = (id(net if owner is None else owner), what)
    if what is None or key in _WARNED:
        return
    _WARNED.add(key)
    worst = max(low, key=lambda d: float(jnp.finfo(jnp.dtype(d)).eps))
    warnings.warn(f"net: the model computes below float64 inside a float64 evaluation ({what});"
                  f" results carry {accuracy_statement(worst)}, not float64's. "
                  f"Fix: upcast captured state with numpy, which keeps float64 without "
                  f"jax_enable_x64 (e.g. batch_stats = jax.tree_util.tree_map(lambda a: "
                  f"np.asarray(a, np.float64), batch_stats)), and build the model with "
                  f"dtype=jnp.float64, param_dtype=jnp.float64", UserWarning, stacklevel=4)


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
        dtype = jnp.asarray(leaf).dtype if not is_traced(leaf) else leaf.dtype
        if not jnp.issubdtype(dtype, jnp.floating):
            raise ValueError(f"{name}: expected floating-point array leaves (every leaf is a "
                             f"parameter that is differentiated), received {describe(leaf)} as "
                             f"leaf {i}; keep integer or boolean state out of params (close "
                             f"over it in f)")
        check_finite(leaf, f"{name} (leaf {i})")
    return params


def call_model(f, params, X):
    """f(params, X) with the model's own exceptions turned into one ValueError."""
    try:
        return f(params, X)
    except Exception as err:  # the user's model: any failure means params/X do not fit it
        msg = " ".join(str(err).split())[:300]
        captured = captured_low_precision(f)
        if captured and ("dtype" in msg or "different" in msg):
            raise ValueError(f"net: expected a model that treats samples independently and "
                             f"computes in float64, received one that failed in float64 while "
                             f"updating state it closes over ({'; '.join(captured[:2])}): a "
                             f"stateful layer in training mode (BatchNorm updating batch "
                             f"statistics) is batch-coupled. Use inference mode "
                             f"(eqx.nn.inference_mode, use_running_average=True) and float64 "
                             f"state. The model raised {type(err).__name__}: {msg}") from err
        raise ValueError(f"params: expected a pytree and inputs that fit the model, received "
                         f"params/X for which net(params, X) raised {type(err).__name__}: "
                         f"{msg}") from err


def check_logits_of(logits, n: int):
    """The model's output must be a finite (n, k) array."""
    if not hasattr(logits, "shape") or len(logits.shape) != 2 or logits.shape[0] != n:
        hint = ""
        if isinstance(logits, (tuple, list, dict)):
            pick = ("out[0]" if not isinstance(logits, dict)
                    else f"out[KEY] (KEY one of {list(logits)[:6]})")
            hint = (f"; for a model whose output holds more than the logits (e.g. (logits, "
                    f"activations)), pass lr.wrap_model(f, output=lambda out: {pick}) instead of "
                    f"f (features=lambda out: ... selects the hidden activations too)")
        raise ValueError(f"net: expected a callable returning (n, k) logits with n = {n} rows, "
                         f"received output {describe(logits)}{hint}")
    if not is_traced(logits) and not np.all(np.isfinite(np.asarray(logits))):
        raise ValueError("net: expected finite logits, received NaN/Inf in net(params, X)")
    return logits


class SelectedModel:
    """A model whose raw output is not the logits, e.g. the paper authors' ``(logits,
    activations)`` convention: ``net(params, X) = output(f(params, X))`` and
    ``net.features(params, X) = features(f(params, X))`` with ``None`` entries dropped (their
    activation dicts hold ``None`` for layers without activations). Built by
    :func:`wrap_model`; every linrelu function takes it as ``net`` and uses its ``features`` for
    effective rank and dead units when ``features=`` is not given."""

    def __init__(self, f, output, features):
        self.f, self.output, self.select_features = f, output, features

    def apply(self, params, X):
        return self.output(self.f(params, X))

    __call__ = apply

    def features(self, params, X) -> list:
        if self.select_features is None:
            raise ValueError("features: expected a features selector in wrap_model(f, "
                             "features=...), received None")
        out = self.select_features(self.f(params, X))
        if isinstance(out, dict):
            out = list(out.values())
        if not isinstance(out, (list, tuple)):
            raise ValueError(f"features: expected the selector to return a list or dict of "
                             f"activation arrays, received {describe(out)}")
        return [h for h in out if h is not None]


def wrap_model(f, *, output=None, features=None) -> SelectedModel:
    """``f(params, X)`` returning anything (e.g. ``(logits, activations)``) as a linrelu model:
    ``output(raw)`` must be the (n, k) logits (default: ``raw[0]``), ``features(raw)`` the hidden
    activations (a list or dict of arrays; ``None`` entries are skipped)."""
    if not callable(f):
        raise ValueError(f"f: expected a callable f(params, X), received {describe(f)}")
    for name, sel in (("output", output), ("features", features)):
        if sel is not None and not callable(sel):
            raise ValueError(f"{name}: expected a callable selector of f's output, received "
                             f"{describe(sel)}")
    return SelectedModel(f, output if output is not None else (lambda out: out[0]), features)


def model_apply(net):
    """The logits function of a model (module docstring): an MLP's jittable forward, a model
    object's ``apply``, or a bare callable itself; None when ``net`` is none of these."""
    if isinstance(net, MLP):
        return apply_fn(net)
    apply = getattr(net, "apply", None)
    if callable(apply) and not isinstance(net, type):
        return apply
    return net if callable(net) else None


def model_features(net):
    """A model's own ``features(params, X)`` (MLP, ConvNet, :func:`wrap_model` with a selector),
    or None when it does not say what its hidden units are."""
    if isinstance(net, SelectedModel):
        return net.features if net.select_features is not None else None
    features = getattr(net, "features", None)
    return features if callable(features) and not isinstance(net, type) else None


def resolve(net, params, X, *, params_name: str = "params") -> Network:
    """Validate (net, params, X) and return a float64 :class:`Network` (module docstring).

    A :class:`Network` given as ``net`` with its own ``params`` and ``X`` (``nw.params``,
    ``nw.X``) is returned as it is: a caller that resolved once passes the result to every
    function taking ``(net, params, X)`` without a second validation, conversion or forward
    pass. ValueError naming ``params`` when a Network comes with other params or X."""
    if isinstance(net, Network):
        if params is not net.params or X is not net.X:
            raise ValueError(f"{params_name}: expected the resolved network's own params and X "
                             f"(net.params, net.X) with a Network as net, received other "
                             f"arrays ({describe(params)}, {describe(X)})")
        return net
    if isinstance(net, MLP):
        X = check_inputs(X, net.in_dim)
        layers = net.check_params(params, params_name)
        # an adapter-made MLP keeps the user's own dict (and so its ravel_pytree order)
        params = to_float64(params if net.in_source_form(params) else layers)
        X = jnp.asarray(X, dtype=jnp.float64)
        return Network(apply_fn(net), params, X, net)  # logits on first use: see Network
    f = model_apply(net)
    if f is None:
        raise ValueError("net: expected a linrelu.MLP, a model with apply(params, X) or a "
                         f"callable f(params, X) -> (n, k) logits, received {describe(net)}")
    X = jnp.asarray(check_inputs(X, any_shape=True), dtype=jnp.float64)
    params = to_float64(check_model_params(params, params_name))
    logits = check_logits_of(call_model(f, params, X), int(X.shape[0]))
    if not is_traced(logits):
        warn_low_precision(f, params, X, owner=net)
    return Network(f, params, X, None, jnp.asarray(logits, jnp.float64))
