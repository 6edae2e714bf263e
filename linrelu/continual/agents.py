"""Continual-learning agents, their regularized training objectives and their optimizers.

Every agent minimizes, on each minibatch B (size b) with hidden features h_l(B) ∈ R^{b×m_l},

    J_B(θ) = L_B(θ) + (κ/2)‖θ‖²  −  β Σ_{l=1}^{L} erank_δ(h_l(B)) / m_l

- ``bp``:    κ = 0, β = 0 (plain SGD);
- ``l2``:    κ = ``l2`` (weight decay), β = 0;
- ``er``:    κ = 0, β = ``er`` (effective-rank regularizer);
- ``l2_er``: both (the paper's remedy);
- ``reset``: plain SGD, but the network is re-initialized at every task start
  (:func:`linrelu.continual.train.start_task`);
- ``cbp``:   plain SGD plus continual backprop (Dohare et al., Nature 2024): after every step,
  mature hidden units of lowest contribution utility are re-initialized
  (:mod:`linrelu.continual.cbp`; replacement rate ρ, utility decay η, maturity threshold);
- ``snp``:   shrink-and-perturb (Ash & Adams 2020) as Dohare et al. and lop-jax run it: weight
  decay κ = ``l2`` in J_B, and after every optimizer step Gaussian noise on every weight and bias,
  θ ← (1 − ηκ)θ − η g + σ ε, ε ~ N(0, I), σ = ``perturb_scale``
  (:mod:`linrelu.continual.redo`; ``perturb_every`` K > 1 adds the noise of K steps at once);
- ``redo``:  plain SGD plus ReDo (Sokar et al. 2023): every F = ``redo_every`` steps the
  τ-dormant hidden units (τ = ``redo_threshold``) get fresh incoming weights, zero bias, zero
  outgoing weights and zero optimizer moments (:mod:`linrelu.continual.redo`).

A model is a :class:`linrelu.MLP` or any object with ``init(key)``, ``apply(params, X)`` (logits
(n, k)) and ``features(params, X)`` (a list of (n, m_l) hidden activations), e.g.
:class:`linrelu.models.convnet.ConvNet`; h_l above are its features.

Optimizer (``optimizer``, through optax; θ ← θ + u with g = ∇J_B(θ)):
- ``"sgd"``:      u = −η g;
- ``"momentum"``: v ← μ v + g, u = −η v (``optax.sgd(η, momentum=μ)``, heavy ball, v₀ = 0).
``clip_norm`` c (optional) first rescales g ← g · min(1, c/‖g‖₂) (``optax.clip_by_global_norm``,
the global norm over all parameters). The paper's protocols: Permuted MNIST = sgd, η = 0.01,
minibatch 1, no clipping (the authors' config names ``max_grad_norm = 0.5``; their training
code never applies it, so their step is plain SGD); Continual ImageNet = momentum 0.9,
minibatch 100 (the minibatch is :func:`linrelu.continual.run_continual`'s ``batch_size``).

How our ER differs from the authors'. ``er_mode="objective"`` (default, ours) adds
−β Σ_l erank_δ(h_l)/m_l to every minibatch's objective, so the ER gradient goes through the same
optimizer (momentum, clipping) as the loss. The authors' code (lop-jax) instead takes, every
``er_batch`` minibatches (12 on ImageNet, 100 on Permuted MNIST), a *separate* plain gradient
step θ ← θ − η_er ∇_θ(−mean_l erank(h_l(B'))) with its own step size η_er (0.01) on the
er_batch minibatches B' about to be trained on, using the raw erank (not divided by m_l), averaged
over layers (on ImageNet only the last two layers). ``er_mode="separate"`` reproduces that
schedule: every ``er_every`` steps, before the step, θ ← θ − ``er_lr`` ∇_θ(−mean_l erank_δ(h_l(B')))
on the next ``er_every`` minibatches B' (all hidden layers; at the end of an epoch B' is the last
``er_every`` minibatches), and β does not enter J_B. Their L2 is weight decay added to the
gradient by the optimizer (``optax.add_decayed_weights``), which equals our κθ term in J_B.

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

AGENTS = ("bp", "l2", "er", "l2_er", "reset", "cbp", "snp", "redo")
OPTIMIZERS = ("sgd", "momentum")
ER_MODES = ("objective", "separate")

DEFAULT_L2 = 1e-3
DEFAULT_ER = 1e-2
ERANK_FLOOR = 1e-6
# Continual backprop defaults (THEORY.md, "The paper's experiments"; the authors' config)
DEFAULT_REPLACEMENT_RATE = 1e-6
DEFAULT_DECAY_RATE = 0.99
DEFAULT_MATURITY_THRESHOLD = 100
# Shrink-and-perturb defaults. κ: Dohare lop/permuted_mnist/cfg/snp.json "weight_decay": 1e-4;
# σ: the middle of that file's "perturb_scale": [1e-4, 1e-5, 1e-6], also lop-jax
# permuted_mnist/config.py perturb_scale = 1e-5 (both add σ·N(0, 1) to every weight and bias after
# every step: Dohare lop/algos/bp.py Backprop.perturb, lop-jax train_permuted_mnist.py
# perturb_params).
DEFAULT_SNP_L2 = 1e-4
DEFAULT_PERTURB_SCALE = 1e-5
# ReDo defaults. τ = 0.1: Dohare lop/rl/cfg/ant/redo.yml threshold 0.1 (label 'ReDo (0.1, 100)';
# dopamine labs/redo/weight_recyclers.py scores units the same way). F = 1000 steps: Dohare
# lop/algos/gntRedo.py reset_period=1000 and lop/rl/run_ppo.py cfg.setdefault('reset_period',
# 1000) (dopamine's BaseRecycler default is 200 000 steps of a DQN agent).
DEFAULT_REDO_THRESHOLD = 0.1
DEFAULT_REDO_EVERY = 1000


@dataclass(frozen=True)
class AgentConfig:
    """An agent: step size ``lr``, weight decay κ = ``l2``, ER coefficient β = ``er``, ``reset``;
    the optimizer (``optimizer``, ``momentum``, ``clip_norm``), the ER schedule (``er_mode``,
    ``er_lr``, ``er_every``) and continual backprop (``replacement_rate`` ρ > 0 turns it on,
    ``decay_rate`` η, ``maturity_threshold``), shrink-and-perturb (``perturb_scale`` σ > 0 turns
    it on, ``perturb_every`` K) and ReDo (``redo_every`` F > 0 turns it on, ``redo_threshold``
    τ). Build it with :func:`make_agent`."""

    name: str
    lr: float
    l2: float
    er: float
    reset: bool
    optimizer: str = "sgd"
    momentum: float = 0.0
    clip_norm: float | None = None
    er_mode: str = "objective"
    er_lr: float = 0.0
    er_every: int = 1
    replacement_rate: float = 0.0
    decay_rate: float = DEFAULT_DECAY_RATE
    maturity_threshold: int = DEFAULT_MATURITY_THRESHOLD
    perturb_scale: float = 0.0
    perturb_every: int = 1
    redo_threshold: float = DEFAULT_REDO_THRESHOLD
    redo_every: int = 0

    @property
    def snp(self) -> bool:
        """True when shrink-and-perturb's noise is added (every ``perturb_every`` steps)."""
        return self.perturb_scale > 0

    @property
    def redo(self) -> bool:
        """True when ReDo recycles τ-dormant units every ``redo_every`` steps."""
        return self.redo_every > 0

    @property
    def period(self) -> int:
        """The period (steps) of the agent's periodic operation: K for snp, F for redo, 0
        for the other agents."""
        return self.perturb_every if self.snp else self.redo_every if self.redo else 0

    @property
    def cbp(self) -> bool:
        """True when continual backprop runs after every step."""
        return self.replacement_rate > 0

    @property
    def er_in_objective(self) -> float:
        """β as it enters J_B (0 in the separate-step ER mode)."""
        return self.er if self.er_mode == "objective" else 0.0

    @property
    def er_separate(self) -> bool:
        """True when the authors' separate ER step runs every ``er_every`` steps."""
        return self.er_mode == "separate" and self.er > 0


def _nonneg(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(
            value) or value < 0:
        raise ValueError(f"{name}: expected a finite number >= 0, received {value!r}")
    return float(value)


def _positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(
            value) or value <= 0:
        raise ValueError(f"{name}: expected a finite number > 0, received {value!r}")
    return float(value)


def _int_at_least(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, received {value!r}")
    return int(value)


def make_agent(name: str, *, lr: float, l2: float | None = None, er: float = DEFAULT_ER,
               optimizer: str = "sgd", momentum: float = 0.9, clip_norm: float | None = None,
               er_mode: str = "objective", er_lr: float = 0.01, er_every: int = 12,
               replacement_rate: float = DEFAULT_REPLACEMENT_RATE,
               decay_rate: float = DEFAULT_DECAY_RATE,
               maturity_threshold: int = DEFAULT_MATURITY_THRESHOLD,
               perturb_scale: float = DEFAULT_PERTURB_SCALE, perturb_every: int = 1,
               redo_threshold: float = DEFAULT_REDO_THRESHOLD,
               redo_every: int = DEFAULT_REDO_EVERY) -> AgentConfig:
    """The agent ``name`` in :data:`AGENTS`.

    ``l2`` is used by l2/l2_er/snp (None: ``DEFAULT_SNP_L2`` for snp, its shrink κ, else
    ``DEFAULT_L2``), ``er`` by er/l2_er only; ``replacement_rate``, ``decay_rate`` and
    ``maturity_threshold`` by cbp only; ``perturb_scale`` σ > 0 and ``perturb_every`` K ≥ 1 by
    snp only; ``redo_threshold`` τ ≥ 0 and ``redo_every`` F ≥ 1 by redo only.
    ``optimizer`` in :data:`OPTIMIZERS` (``momentum`` μ
    is used by "momentum" only), ``clip_norm`` (None: no clipping) and ``er_mode`` in
    :data:`ER_MODES` (``er_lr`` and ``er_every`` are used by "separate" only) apply to every
    agent. Defaults: the authors' (module docstring).

    Returns a frozen, hashable :class:`AgentConfig` (training programs are cached per agent),
    for :func:`linrelu.continual.run_continual` and
    :func:`linrelu.continual.train_task_with_state`. What an agent needs of the model beyond
    ``apply``: ``er``, ``l2_er``, ``cbp`` and ``redo`` need ``features(params, X)``;
    ``reset``, ``cbp`` and ``redo`` need ``init(key)`` (:mod:`linrelu.continual.model`). Bad
    input: ValueError naming the argument.
    """
    if name not in AGENTS:
        raise ValueError(f"name: expected one of {AGENTS}, received {name!r}")
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr: expected a finite step size > 0, received {lr!r}")
    if l2 is None:
        l2 = DEFAULT_SNP_L2 if name == "snp" else DEFAULT_L2
    l2, er = _nonneg(l2, "l2"), _nonneg(er, "er")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer: expected one of {OPTIMIZERS}, received {optimizer!r}")
    momentum = _nonneg(momentum, "momentum")
    if momentum >= 1:
        raise ValueError(f"momentum: expected a number in [0, 1), received {momentum!r}")
    if clip_norm is not None:
        clip_norm = _positive(clip_norm, "clip_norm")
    if er_mode not in ER_MODES:
        raise ValueError(f"er_mode: expected one of {ER_MODES}, received {er_mode!r}")
    er_lr = _positive(er_lr, "er_lr")
    er_every = _int_at_least(er_every, "er_every", 1)
    replacement_rate = _nonneg(replacement_rate, "replacement_rate")
    if replacement_rate > 1:
        raise ValueError(f"replacement_rate: expected a number in [0, 1], received "
                         f"{replacement_rate!r}")
    decay_rate = _nonneg(decay_rate, "decay_rate")
    if decay_rate >= 1:
        raise ValueError(f"decay_rate: expected a number in [0, 1), received {decay_rate!r}")
    maturity_threshold = _int_at_least(maturity_threshold, "maturity_threshold", 0)
    perturb_scale = _positive(perturb_scale, "perturb_scale")
    perturb_every = _int_at_least(perturb_every, "perturb_every", 1)
    redo_threshold = _nonneg(redo_threshold, "redo_threshold")
    redo_every = _int_at_least(redo_every, "redo_every", 1)
    uses_er = name in ("er", "l2_er")
    return AgentConfig(name=name, lr=float(lr),
                       l2=l2 if name in ("l2", "l2_er", "snp") else 0.0,
                       er=er if uses_er else 0.0,
                       reset=name == "reset",
                       optimizer=optimizer,
                       momentum=momentum if optimizer == "momentum" else 0.0,
                       clip_norm=clip_norm,
                       er_mode=er_mode if uses_er else "objective",
                       er_lr=er_lr if uses_er and er_mode == "separate" else 0.0,
                       er_every=er_every if uses_er and er_mode == "separate" else 1,
                       replacement_rate=replacement_rate if name == "cbp" else 0.0,
                       decay_rate=decay_rate,
                       maturity_threshold=maturity_threshold,
                       perturb_scale=perturb_scale if name == "snp" else 0.0,
                       perturb_every=perturb_every if name == "snp" else 1,
                       redo_threshold=redo_threshold if name == "redo" else
                       DEFAULT_REDO_THRESHOLD,
                       redo_every=redo_every if name == "redo" else 0)


def make_optimizer(agent: AgentConfig, lr=None):
    """The optax transformation of ``agent`` (module docstring): optional global-norm clipping,
    then SGD with step ``lr`` (heavy-ball momentum μ for "momentum").

    ``lr`` overrides ``agent.lr``; it may be a traced scalar (a population of runs with one step
    size per member, :func:`linrelu.continual.train.train_population`)."""
    import optax

    lr = agent.lr if lr is None else lr
    sgd = optax.sgd(lr, momentum=agent.momentum if agent.optimizer == "momentum" else None)
    if agent.clip_norm is None:
        return sgd
    return optax.chain(optax.clip_by_global_norm(agent.clip_norm), sgd)


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
    """erank_δ(F) of the module docstring (differentiable, jit-friendly).

    Cost (measured, one thread, 2-core AMD EPYC, 2026-11-25): the authors' separate ER step on
    100 examples of the width-100 MLP takes 6.4 ms (3 eigh's of 100×100 Grams at ≈ 1.4 ms each,
    float32 or float64 alike); on 1000 examples 31 ms. A multi-threaded LAPACK on an
    oversubscribed machine is far slower (92 ms per 100×100 eigh at load 6); one BLAS/XLA thread
    per worker process (the runner's --workers) avoids that."""
    b, m = F.shape
    gram = F @ F.T if b <= m else F.T @ F
    lam = eigvalsh_spectral(gram)
    s = jnp.sqrt(jnp.maximum(lam, 0.0) + floor)
    q = s / jnp.sum(s)
    return jnp.exp(-jnp.sum(q * jnp.log(q)))


def l2_penalty(params):
    """(1/2)‖θ‖² over every weight and bias (every leaf of the params pytree)."""
    return 0.5 * sum(jnp.sum(leaf**2) for leaf in jax.tree_util.tree_leaves(params))


def er_penalty(hidden_features, widths, floor: float = ERANK_FLOOR):
    """Σ_l erank_δ(h_l) / m_l over the hidden layers (the ER term enters the loss as −β · this)."""
    return sum(smooth_effective_rank(h, floor) / m for h, m in zip(hidden_features, widths))


def mean_erank(hidden_features, floor: float = ERANK_FLOOR):
    """mean_l erank_δ(h_l): the quantity the authors' separate ER step ascends."""
    return sum(smooth_effective_rank(h, floor) for h in hidden_features) / len(hidden_features)


def regularized_objective(net, agent: AgentConfig, X, y, loss: str, floor: float = ERANK_FLOOR,
                          *, with_logits: bool = False):
    """``params ↦ J_B(θ)`` of the module docstring on the batch (X, y) (unvalidated, jittable).

    ``with_logits=True``: ``params ↦ (J_B(θ), f(θ; X))`` (for ``jax.value_and_grad(...,
    has_aux=True)``: the logits of the forward pass that the gradient reuses, e.g. for online
    accuracy). ``net``: a :class:`linrelu.MLP` or a model (:mod:`linrelu.continual.model`)."""
    from linrelu.continual.model import as_model
    from linrelu.spectral.losses import mean_loss

    model = as_model(net)
    beta = agent.er_in_objective

    def objective(params):
        logits = model.apply(params, X)
        value = mean_loss(logits, y, loss)
        if agent.l2:
            value = value + agent.l2 * l2_penalty(params)
        if beta:
            feats = model.features(params, X)
            value = value - beta * er_penalty(feats, [h.shape[1] for h in feats], floor)
        return (value, logits) if with_logits else value

    return objective
