"""Feature-level plasticity metrics: effective rank and dead units (THEORY.md, Conventions).

erank(F) = exp(−Σ_i q_i log q_i), q = σ/Σσ over the singular values σ of F (Roy & Vetterli 2007);
0 when F = 0. A hidden unit is dead when h_{l,u}(x_i) = 0 for every probe input x_i.
"""

from __future__ import annotations

import numpy as np

from linrelu._checks import check_inputs, describe


def effective_rank(features) -> float:
    """Roy–Vetterli effective rank of an (n, m) feature matrix; 0 for the zero matrix."""
    if not hasattr(features, "shape") or len(features.shape) != 2:
        raise ValueError(f"features: expected a 2-D array (n, m), received {describe(features)}")
    F = np.asarray(features, dtype=np.float64)
    if F.size == 0:
        raise ValueError(f"features: expected a non-empty array, received shape {F.shape}")
    check_inputs(F, name="features")
    s = np.linalg.svd(F, compute_uv=False)
    total = s.sum()
    if total == 0.0:
        return 0.0
    q = s[s > 0] / total
    return float(np.exp(-np.sum(q * np.log(q))))


def dead_units(net, params, X) -> list:
    """Per hidden layer, a boolean mask (m_l,) of units with h_{l,u}(x_i) = 0 for every row of X."""
    tr = net.trace(params, X)
    return [np.asarray(np.all(np.asarray(h) == 0.0, axis=0)) for h in tr.acts[1:]]


def dead_unit_fractions(net, params, X) -> list:
    """Fraction of dead units per hidden layer."""
    return [float(m.mean()) for m in dead_units(net, params, X)]


def hidden_effective_ranks(net, params, X) -> list:
    """Effective rank of each hidden layer's features h_l(X), l = 1..L."""
    return [effective_rank(np.asarray(h)) for h in net.trace(params, X).acts[1:]]
