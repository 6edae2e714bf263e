"""What the continual engine trains: a model in the one protocol of :mod:`linrelu.models.network`.

A model is an object with

- ``apply(params, X) -> (n, k)`` logits, traceable (jit/grad); always needed;
- ``init(key) -> params``: needed to draw the first parameters (unless the caller passes
  ``params=`` to :func:`linrelu.continual.run_continual`), by the ``reset`` agent (fresh
  parameters at every task) and by continual backprop (fresh incoming weights);
- ``features(params, X) -> [h_1, …, h_L]``, the hidden units (each (n, m_l)) on which effective
  rank, dead units, the ER regularizer and continual backprop act: needed by the ``er``,
  ``l2_er`` and ``cbp`` agents; without it the task metrics leave out the per-layer census.

A :class:`linrelu.MLP` is such a model (its features are the hidden activations of its trace, and
the closed forms apply to it); :class:`linrelu.models.convnet.ConvNet` is another;
:func:`linrelu.wrap_model` makes one from a function whose output holds the logits (and, with a
``features=`` selector, the hidden activations); a bare function ``f(params, X) -> (n, k)`` is
short for a model whose ``apply`` is ``f``. Continual backprop further needs the *layered*
layout (:mod:`linrelu.continual.cbp`): params a list of (W, b) pairs whose last W axis is the
unit axis.

Training programs are compiled once per model and cached with the model as key. A hashable
model is its own key (equal models share programs, e.g. two equal ``MLP``\\ s). An unhashable
one (a non-frozen dataclass, an Equinox module holding arrays) and a bare function are keyed by
identity through :class:`IdentityModel`: the same object reuses its programs, and it must not be
changed in place between calls (the cached programs would not see the change).
"""

from __future__ import annotations

from linrelu.validation import describe


class IdentityModel:
    """``net`` as a model keyed by its identity (module docstring): equal to another
    IdentityModel of the same object, hashed by ``id(net)``. ``apply`` is ``net.apply`` (or
    ``net`` itself for a bare function); every other attribute (``init``, ``features``,
    ``in_dim``, …) is ``net``'s own."""

    def __init__(self, net):
        self.net = net

    def apply(self, params, X):
        apply = getattr(self.net, "apply", None)
        return apply(params, X) if callable(apply) else self.net(params, X)

    def __getattr__(self, name):
        if name == "net":  # not yet set (e.g. during unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.net, name)

    def __eq__(self, other):
        return isinstance(other, IdentityModel) and other.net is self.net

    def __hash__(self):
        return id(self.net)

    def __repr__(self):
        return f"IdentityModel({self.net!r})"


def _hashable(net) -> bool:
    try:
        hash(net)
    except TypeError:
        return False
    return True


def as_model(net):
    """``net`` as a trainable model (module docstring): ``net`` itself when it has a callable
    ``apply`` and is hashable (an MLP, the ConvNet, a :func:`linrelu.wrap_model` object, your own
    object), else an :class:`IdentityModel` of it (an unhashable model, or a bare function
    ``f(params, X)``). ``init`` and ``features`` are checked where they are needed
    (:func:`model_init`, :func:`model_features`). ValueError naming ``net`` for anything else."""
    if isinstance(net, IdentityModel):
        return net
    if isinstance(net, type):
        raise ValueError(f"net: expected a model instance with apply(params, X), received the "
                         f"class {net.__name__} (instantiate it)")
    if callable(getattr(net, "apply", None)):
        return net if _hashable(net) else IdentityModel(net)
    if callable(net):
        return IdentityModel(net)
    raise ValueError(f"net: expected a linrelu.MLP, a model with apply(params, X) (and init(key), "
                     f"features(params, X) where training needs them) or a function "
                     f"f(params, X) -> (n, k) logits, received {describe(net)}")


def model_init(model):
    """The model's ``init(key) -> params``, or None when it has none (e.g. a
    :func:`linrelu.wrap_model` object or a bare function)."""
    init = getattr(model, "init", None)
    return init if callable(init) else None


def model_features(model):
    """The model's ``features(params, X)``, or None when it does not say what its hidden units
    are (a :func:`linrelu.wrap_model` object without ``features=``, a bare function)."""
    from linrelu.models.network import model_features as features_of

    return features_of(model.net if isinstance(model, IdentityModel) else model)


def _described(model) -> str:
    return describe(model.net if isinstance(model, IdentityModel) else model)


def require_init(model, why: str):
    """``model``'s init; ValueError naming ``net`` and ``why`` (what needs it) when absent."""
    init = model_init(model)
    if init is None:
        raise ValueError(f"net: expected a model with init(key) -> params, since {why}; received "
                         f"{_described(model)} without init (give the model "
                         f"an init method, e.g. a small class with init, apply and features)")
    return init


def require_features(model, why: str):
    """``model``'s features; ValueError naming ``net`` and ``why`` when absent."""
    features = model_features(model)
    if features is None:
        raise ValueError(f"net: expected a model with features(params, X) -> [h_1, …, h_L], "
                         f"since {why}; received {_described(model)} "
                         f"without features (lr.wrap_model(f, features=...) selects them)")
    return features
