"""Continual-learning agents and their regularized training objectives.

Every agent minimizes, on each minibatch B (size b) with hidden features h_l(B) ∈ R^{b×m_l},

    J_B(θ) = L_B(θ) + (κ/2)‖θ‖²  −  β Σ_{l=1}^{L} erank_δ(h_l(B)) / m_l

- ``bp``:    κ = 0, β = 0 (plain SGD);
- ``l2``:    κ = ``l2`` (weight decay), β = 0;
- ``er``:    κ = 0, β = ``er`` (effective-rank regularizer);
- ``l2_er``: both (the paper's remedy);
- ``reset``: plain SGD, but the network is re-initialized at every task start
  (:func:`linrelu.continual.train.start_task`).

Effective-rank regularizer (exact form). For F ∈ R^{b×m} let λ_1..λ_r (r = min(b, m)) be the
eigenvalues of the smaller Gram (F Fᵀ if b ≤ m, else Fᵀ F), so λ_i = σ_i(F)². With a floor δ > 0

    σ̃_i = √(max(λ_i, 0) + δ),   q_i = σ̃_i / Σ_j σ̃_j,   erank_δ(F) = exp(−Σ_i q_i log q_i).

As δ → 0 this is Roy & Vetterli's erank (THEORY.md Conventions; |erank_δ − erank| = O(√δ)).
Why the floor and why eigvalsh rather than an SVD: erank is a smooth function of the two spectral
sums S₁ = Σ_i s(λ_i) and S₂ = Σ_i s(λ_i) log s(λ_i) (s = √(·+δ)) since
−Σ q log q = log S₁ − S₂/S₁. A spectral sum Σ_i g(λ_i) has gradient Σ_i g′(λ_i) v_i v_iᵀ, which is
basis-independent inside a repeated eigenspace, so it is well defined even when λ's coincide (dead
units and b > rank give many exactly-zero, repeated eigenvalues). Autodiff through an SVD or a
full eigh divides by λ_i − λ_j and returns NaN there; we therefore differentiate the eigenvalues
with the first-order rule dλ_i = v_iᵀ dA v_i only (:func:`eigvalsh_spectral`). The floor δ keeps
g′ finite at λ = 0 (√λ and σ log σ have infinite slope at 0). δ = 1e-6 (relative to features of
size O(1)) changes erank by < 1e-2 on every case we tested while bounding |g′| ≤ 1/(2√δ) = 500.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

AGENTS = ("bp", "l2", "er", "l2_er", "reset")

DEFAULT_L2 = 1e-3
DEFAULT_ER = 1e-2
ERANK_FLOOR = 1e-6


@dataclass(frozen=True)
class AgentConfig:
    """An agent: step size ``lr``, weight decay κ = ``l2``, ER coefficient β = ``er``, ``reset``."""

    name: str
    lr: float
    l2: float
    er: float
    reset: bool


def _nonneg(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(
            value) or value < 0:
        raise ValueError(f"{name}: expected a finite number >= 0, received {value!r}")
    return float(value)


def make_agent(name: str, *, lr: float, l2: float = DEFAULT_L2, er: float = DEFAULT_ER
               ) -> AgentConfig:
    """The agent ``name`` in :data:`AGENTS`. ``l2`` is used by l2/l2_er, ``er`` by er/l2_er only."""
    if name not in AGENTS:
        raise ValueError(f"name: expected one of {AGENTS}, received {name!r}")
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr: expected a finite step size > 0, received {lr!r}")
    l2, er = _nonneg(l2, "l2"), _nonneg(er, "er")
    return AgentConfig(name=name, lr=float(lr),
                       l2=l2 if name in ("l2", "l2_er") else 0.0,
                       er=er if name in ("er", "l2_er") else 0.0,
                       reset=name == "reset")


@jax.custom_jvp
def eigvalsh_spectral(A):
    """Ascending eigenvalues of a symmetric A, with tangent dλ_i = v_iᵀ dA v_i.

    Exact for every spectral sum Σ_i g(λ_i) even at repeated eigenvalues (see module docstring);
    unlike jnp.linalg.eigvalsh's default rule it never divides by λ_i − λ_j.
    """
    return jnp.linalg.eigh(A)[0]


@eigvalsh_spectral.defjvp
def _eigvalsh_spectral_jvp(primals, tangents):
    (A,), (dA,) = primals, tangents
    lam, V = jnp.linalg.eigh(A)
    dA = 0.5 * (dA + dA.T)
    return lam, jnp.einsum("ji,jk,ki->i", V, dA, V)


def smooth_effective_rank(F, floor: float = ERANK_FLOOR):
    """erank_δ(F) of the module docstring (differentiable, jit-friendly)."""
    b, m = F.shape
    gram = F @ F.T if b <= m else F.T @ F
    lam = eigvalsh_spectral(gram)
    s = jnp.sqrt(jnp.maximum(lam, 0.0) + floor)
    q = s / jnp.sum(s)
    return jnp.exp(-jnp.sum(q * jnp.log(q)))


def l2_penalty(params):
    """(1/2)‖θ‖² over every weight and bias."""
    return 0.5 * sum(jnp.sum(W**2) + jnp.sum(b**2) for W, b in params)


def er_penalty(hidden_features, widths, floor: float = ERANK_FLOOR):
    """Σ_l erank_δ(h_l) / m_l over the hidden layers (the ER term enters the loss as −β · this)."""
    return sum(smooth_effective_rank(h, floor) / m for h, m in zip(hidden_features, widths))


def regularized_objective(net, agent: AgentConfig, X, y, loss: str, floor: float = ERANK_FLOOR):
    """``params ↦ J_B(θ)`` of the module docstring on the batch (X, y) (unvalidated, jittable)."""
    from linrelu.losses import mean_loss
    from linrelu.mlp import forward_trace

    def objective(params):
        tr = forward_trace(net, params, X)
        value = mean_loss(tr.preacts[-1], y, loss)
        if agent.l2:
            value = value + agent.l2 * l2_penalty(params)
        if agent.er:
            value = value - agent.er * er_penalty(tr.acts[1:], net.widths, floor)
        return value

    return objective
