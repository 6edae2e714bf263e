"""Models: how linrelu describes a network.

- :mod:`linrelu.models.mlp`: the ReLU MLP (parameters, forward pass, per-layer trace);
- :mod:`linrelu.models.convnet`: the paper's ConvNet;
- :mod:`linrelu.models.network`: the one model protocol every other part accepts (any
  ``f(params, x)`` with optional features), and its float64 resolution;
- :mod:`linrelu.models.adapters`: models from Flax, Equinox, Haiku and dense-layer lists;
- :mod:`linrelu.models.checkpoint`: parameters and data read from files.

Imports flow downward: models use only :mod:`linrelu.validation` and :mod:`linrelu.precision`.
"""
