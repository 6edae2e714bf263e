"""What the continual engine trains: a *model* = ``init(key)``, ``apply(params, X)``, ``features``.

- ``init(key) -> params`` (any JAX pytree);
- ``apply(params, X) -> (n, k)`` logits, traceable (usable inside jit/grad);
- ``features(params, X) -> [h_1, …, h_L]``, each an (n, m_l) array of hidden activations, the
  units on which effective rank, dead units, the ER regularizer and continual backprop act.

A :class:`linrelu.MLP` is wrapped by :class:`MLPModel` (features = the hidden activations h_l of
its trace), which keeps every MLP result of the engine as it was. :class:`linrelu.convnet.ConvNet`
satisfies the protocol directly. Continual backprop further needs the *layered* layout
(:mod:`linrelu.continual.cbp`): params a list of (W, b) pairs whose last W axis is the unit axis.
"""

from __future__ import annotations

from dataclasses import dataclass

from linrelu.mlp import MLP
from linrelu.validation import describe


@dataclass(frozen=True)
class MLPModel:
    """A :class:`linrelu.MLP` seen through the model protocol."""

    net: MLP

    def init(self, key):
        return self.net.init(key)

    def apply(self, params, X):
        return self.net.apply(params, X)

    def features(self, params, X) -> list:
        return list(self.net.trace(params, X).acts[1:])

    @property
    def out_dim(self) -> int:
        return self.net.out_dim


def as_model(net):
    """``net`` as a model: an MLP is wrapped in :class:`MLPModel`; any object with callable
    ``init``, ``apply`` and ``features`` is returned as is (it must be hashable: training programs
    are cached per model)."""
    if isinstance(net, MLP):
        return MLPModel(net)
    if isinstance(net, MLPModel) or all(callable(getattr(net, a, None))
                                        for a in ("init", "apply", "features")):
        try:
            hash(net)
        except TypeError as err:
            raise ValueError(f"net: expected a hashable model (e.g. a frozen dataclass), "
                             f"received unhashable {type(net).__name__}") from err
        return net
    raise ValueError(f"net: expected a linrelu.MLP or a model with init(key), apply(params, X) "
                     f"and features(params, X), received {describe(net)}")
