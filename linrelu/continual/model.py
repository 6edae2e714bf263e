"""What the continual engine trains: a model in the one protocol of :mod:`linrelu.network`.

Training needs all three of its methods: ``init(key) -> params``, ``apply(params, X) -> (n, k)``
logits (traceable) and ``features(params, X) -> [h_1, …, h_L]``, the hidden units on which
effective rank, dead units, the ER regularizer and continual backprop act. The spectra of the
task-start metrics take the same object (:mod:`linrelu.continual.metrics`).

A :class:`linrelu.MLP` is such a model (its features are the hidden activations of its trace, and
the closed forms apply to it); :class:`linrelu.convnet.ConvNet` is another. Continual backprop
further needs the *layered* layout (:mod:`linrelu.continual.cbp`): params a list of (W, b) pairs
whose last W axis is the unit axis.
"""

from __future__ import annotations

from linrelu.validation import describe


def as_model(net):
    """``net`` checked as a trainable model: an object with callable ``init``, ``apply`` and
    ``features`` (an MLP, the ConvNet, …). It must be hashable (training programs are cached per
    model), e.g. a frozen dataclass."""
    if all(callable(getattr(net, a, None)) for a in ("init", "apply", "features")) \
            and not isinstance(net, type):
        try:
            hash(net)
        except TypeError as err:
            raise ValueError(f"net: expected a hashable model (e.g. a frozen dataclass), "
                             f"received unhashable {type(net).__name__}") from err
        return net
    raise ValueError(f"net: expected a linrelu.MLP or a model with init(key), apply(params, X) "
                     f"and features(params, X), received {describe(net)}")
