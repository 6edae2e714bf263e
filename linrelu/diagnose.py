"""Trainability diagnosis of a network on a task: spectra at task start → predicted τ-trainability.

:func:`diagnose` reports the ε-ranks of the loss-weighted Gram G = (1/n) H^{1/2} K H^{1/2} (whose
nonzero eigenvalues are the GGN's, T1), λ_max, effective rank and dead units per hidden layer,
and whether full-batch gradient descent with step ``lr`` for ``steps`` steps is predicted to
reach L_T ≤ τ L_0, with the statement that decided it:

- mse: T8 on the NTK Gram K with the actual residual r_0 = f(X) − Y (c_j = u_jᵀ r_0). First the
  ε-conditions (sufficient at some ε → yes; necessary fails at some ε → no); if neither decides,
  the exact linearized curve L_T/L_0 = Σ_j (1 − ηλ_j/n)^{2T} c_j²/‖r_0‖² does.
- ce: T9 on the local quadratic model with the actual gradient. If the ε-bound on the decrease is
  below (1 − τ)L_0 for some ε → no (the quadratic model cannot lose the fraction 1 − τ).
  Otherwise the predicted L_T/L_0 is that of GD on the network linearized at θ_0 (T3: its
  Hessian is the GGN at every θ), computed exactly in function space from K
  (:func:`linrelu.trainability.linearized_gd_curve`): a ce loss that stays ≥ 0, so it varies
  with the task where the quadratic model's own ratio 1 − (L_0 − q(Δ_T))/L_0 would be < 0.
  That quadratic-model fraction is reported unclipped (``quadratic_decrease_fraction``) with
  ``quadratic_overshoot = True`` when it exceeds 1: T9 then bounds nothing useful (L ≥ 0 already
  caps the decrease at L_0) and the model is far outside its local range.

When the prediction is informative. Both models are local: they describe the real network while
it stays near θ_0 (wide networks, small η·T, the kernel regime). The mse curve is exact for the
linearized network; for ce, measured against real GD over 100 steps at η = 1/λ_max(G)
(tests/test_user_models.py): predicted 0.044 vs real 0.026 and 0.025 vs 0.019 on wide MLPs
(widths 64–128), within 3× on the authors'-style Flax MLP of width 128; on a width-12 MLP it is
pessimistic, 0.31 vs 0.066, because a narrow network learns features (leaves the kernel regime).

Gradient components without the p × p GGN. With g = (1/n) Jᵀ v (v = ∇_f ℓ stacked, row i·k + c),
A = n^{-1/2} S J (S = H^{1/2}), Ĝ = AᵀA = Σ_j λ_j v_j v_jᵀ and G = AAᵀ = Σ_j λ_j u_j u_jᵀ, the
eigenvectors for λ_j > 0 are v_j = Aᵀ u_j / √λ_j, so
    g_j = v_jᵀ g = u_jᵀ A g / √λ_j = n^{-3/2} u_jᵀ S K v / √λ_j,
and the rest of g lies in null(Ĝ): ‖g_0‖² = ‖g‖² − Σ_j g_j² with ‖g‖² = vᵀ K v / n². Only K
(n·k × n·k) is needed. For ce, v_i = p_i − e_{y_i} ⊥ 𝟙 lies in range(H_i^{1/2}) when p_i > 0, so
g_0 = 0 up to round-off; the formula does not rely on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax.numpy as jnp
import numpy as np

from linrelu import trainability as tr
from linrelu.features import effective_rank, hidden_features
from linrelu.gram import loss_weighted_from_gram, network_mixed_gram
from linrelu.losses import mean_loss, output_gradients, output_hessian_sqrt
from linrelu.network import model_features, resolve
from linrelu.precision import in_float64
from linrelu.validation import (
    check_loss,
    check_positive,
    check_positive_int,
    check_targets,
    infer_loss,
)

#: Defaults: GD at the largest step for which T8's bounds and T9's monotone progress are
#: guaranteed (η = 1/λ_max(G), i.e. ηλ_max(K) = n for mse), for 100 full-batch steps, asking
#: whether the loss halves (τ = 0.5).
DEFAULT_STEPS = 100
DEFAULT_TAU = 0.5
ABS_EPS_LADDER = (1e1, 1e0, 1e-1, 1e-2, 1e-3, 1e-4, 1e-6, 1e-8)
REL_EPS_LADDER = (1e-1, 1e-2, 1e-3, 1e-4, 1e-6)

# An eigenvalue of G below N · eps_machine · λ_max is indistinguishable from 0 (eigvalsh's
# backward error); its gradient component is moved to the null-space bucket, where T9 counts it
# as Tη g_j² — which is the exact term's value up to a relative Tηλ_j ≤ T·N·1e-16.
_ZERO_FACTOR = 1.0


@dataclass(frozen=True)
class Prediction:
    """Predicted τ-trainability of one task by T8 (mse) or T9 (ce)."""

    loss: str
    lr: float
    steps: int
    tau: float
    initial_loss: float
    predicted_ratio: float  # predicted L_T / L_0 of the linearized network (T8 / T3), ≥ 0
    trainable: bool
    decided_by: str  # the statement that decided
    eps: float | None  # the ε (in units of G's eigenvalues) of the deciding bound, if any
    curve: np.ndarray = field(repr=False)  # predicted L_t/L_0, t = 0..steps
    # T9: (L_0 − q(Δ_T))/L_0 of the local quadratic model, unclipped (mse: 1 − predicted_ratio)
    quadratic_decrease_fraction: float = float("nan")
    # the quadratic model's decrease exceeds L_0 (it predicts a negative loss: T9 uninformative)
    quadratic_overshoot: bool = False


@dataclass(frozen=True)
class DiagnosisReport:
    """Everything :func:`diagnose` measured; ``str(report)`` is a readable table."""

    loss: str
    n: int
    k: int
    num_params: int
    widths: tuple  # units per hidden layer (empty when a generic model gave no features)
    lam_max: float  # λ_max(G) = λ_max(Ĝ)
    eigenvalues: np.ndarray = field(repr=False)  # eig(G), largest first
    abs_eps: tuple = ()
    abs_ranks: tuple = ()
    rel_eps: tuple = ()
    rel_ranks: tuple = ()
    effective_ranks: tuple = ()
    dead_units: tuple = ()
    prediction: Prediction = None
    gram_method: str = "closed form T5"

    def to_dict(self) -> dict:
        """A JSON-able dict of everything in the report (``python -m linrelu diagnose --json``)."""
        p = self.prediction
        return {
            "loss": self.loss, "n": self.n, "k": self.k, "num_params": self.num_params,
            "gram_method": self.gram_method, "lambda_max": self.lam_max,
            "eigenvalues": [float(v) for v in self.eigenvalues],
            "eps_rank_abs": {repr(float(e)): int(r) for e, r in zip(self.abs_eps,
                                                                     self.abs_ranks)},
            "eps_rank_rel": {repr(float(e)): int(r) for e, r in zip(self.rel_eps,
                                                                     self.rel_ranks)},
            "layers": [{"units": int(m), "effective_rank": float(er), "dead_units": int(d)}
                       for m, er, d in zip(self.widths, self.effective_ranks, self.dead_units,
                                           strict=True)],
            "prediction": {"lr": p.lr, "steps": p.steps, "tau": p.tau,
                           "initial_loss": p.initial_loss, "predicted_ratio": p.predicted_ratio,
                           "trainable": p.trainable, "decided_by": p.decided_by,
                           "eps": p.eps,
                           "quadratic_decrease_fraction": p.quadratic_decrease_fraction,
                           "quadratic_overshoot": p.quadratic_overshoot},
        }

    def __str__(self) -> str:
        N = self.n * self.k
        p = self.prediction
        lines = [
            f"linrelu diagnose: loss={self.loss}  n={self.n}  k={self.k}  params={self.num_params}"
            f"  hidden widths={list(self.widths)}  Gram: {self.gram_method}",
            f"  L_0 = {p.initial_loss:.6g}    λ_max(G) = {self.lam_max:.6g}    "
            f"(G = (1/n) H^1/2 K H^1/2, {N}×{N}; nonzero eig = GGN's)",
            "",
            "  ε-rank of G, absolute ε              ε-rank of G, relative ε = r·λ_max",
            "  ε          rank_ε   rank_ε/nk         r          rank_ε   rank_ε/nk",
        ]
        rows = max(len(self.abs_eps), len(self.rel_eps))
        for i in range(rows):
            left = (f"  {self.abs_eps[i]:<9.0e}  {self.abs_ranks[i]:>6d}   "
                    f"{self.abs_ranks[i] / N:>9.4f}" if i < len(self.abs_eps) else " " * 37)
            right = (f"         {self.rel_eps[i]:<9.0e}  {self.rel_ranks[i]:>6d}   "
                     f"{self.rel_ranks[i] / N:>9.4f}" if i < len(self.rel_eps) else "")
            lines.append(left + right)
        lines += ["", "  layer  width  effective rank  dead units"]
        if not self.widths:
            lines.append("  (no hidden features given: pass features= for a generic model)")
        for l, (m, er, dead) in enumerate(zip(self.widths, self.effective_ranks,
                                              self.dead_units, strict=True), start=1):
            lines.append(f"  {l:>5d}  {m:>5d}  {er:>14.3f}  {dead:>5d} ({dead / m:.1%})")
        verdict = "YES" if p.trainable else "NO"
        eps_txt = "" if p.eps is None else f" at ε = {p.eps:.3g}"
        lines += [
            "",
            f"  prediction: full-batch GD, lr = {p.lr:.6g}, {p.steps} steps, τ = {p.tau:g}",
            f"    predicted L_T/L_0 = {p.predicted_ratio:.6g} (linearized network)    "
            f"τ-trainable: {verdict}",
            f"    decided by: {p.decided_by}{eps_txt}",
        ]
        if self.loss == "ce":
            q = p.quadratic_decrease_fraction
            note = ("  > 1: the quadratic model overshoots (predicts L < 0); T9 is "
                    "uninformative here" if p.quadratic_overshoot else "")
            lines.append(f"    T9 quadratic model: (L_0 − q(Δ_T))/L_0 = {q:.6g}{note}")
        return "\n".join(lines)


def _block_apply(S, x):
    """blockdiag(S_i) x for S of shape (n, k, k) and x of length n·k."""
    n, k = S.shape[0], S.shape[1]
    return np.einsum("iab,ib->ia", S, x.reshape(n, k)).reshape(-1)


@in_float64
def ggn_gradient_components(K, S, v, n: int):
    """(λ, g) of Ĝ on its nonzero eigendirections plus one null bucket (module docstring).

    Returns eigenvalues λ_j of G (largest first) with λ = 0 appended, and the components g_j of
    g = (1/n) Jᵀ v on the matching eigenvectors of Ĝ, the last entry being ‖g_0‖ (null part).
    Eigenvalues below the round-off level are merged into the null bucket.
    """
    K = np.asarray(K, np.float64)
    S = np.asarray(S, np.float64)
    v = np.asarray(v, np.float64)
    G = np.asarray(loss_weighted_from_gram(jnp.asarray(K), jnp.asarray(S), n), np.float64)
    lam, U = np.linalg.eigh(0.5 * (G + G.T))
    lam, U = lam[::-1], U[:, ::-1]
    cutoff = _ZERO_FACTOR * lam.size * np.finfo(np.float64).eps * max(float(lam[0]), 0.0)
    keep = lam > cutoff
    SKv = _block_apply(S, K @ v)
    g = (U[:, keep].T @ SKv) / (n**1.5 * np.sqrt(lam[keep]))
    g_norm2 = float(v @ K @ v) / n**2
    g0 = np.sqrt(max(g_norm2 - float(g @ g), 0.0))
    return np.append(lam[keep], 0.0), np.append(g, g0), lam


def _valid_eps_k(eps_k, lam_max_k, lr, n):
    """The ε (K units) for which T8's bounds hold: ηε ≤ n and η(λ_max + ε) ≤ 2n."""
    e = np.asarray(eps_k, np.float64)
    return e[(lr * e <= n) & (lr * (lam_max_k + e) <= 2 * n)]


@in_float64
def predict_trainability(net, params, X, targets, loss: str, *, lr=None, steps=DEFAULT_STEPS,
                         tau=DEFAULT_TAU, eps_ladder=None, memory_budget=None,
                         gram=None) -> Prediction:
    """Predict whether ``steps`` full-batch GD steps of size ``lr`` reach L_T ≤ τ L_0.

    mse: T8 on K with the actual residual; ce: T9 with the actual gradient (module docstring).
    ``net``: a linrelu.MLP or any model f(params, X). ``lr=None`` uses 1/λ_max(G).
    ``eps_ladder`` (in units of G's eigenvalues) defaults to the absolute and relative ladders
    of :func:`diagnose`. ``gram`` may pass a precomputed K = J Jᵀ.
    """
    check_loss(loss)
    nw = resolve(net, params, X)
    n, k = nw.n, nw.k
    t = check_targets(targets, n, k, loss)
    steps = check_positive_int(steps, "steps", minimum=1)
    tau = tr.check_tau(tau)
    logits = nw.logits
    if gram is None:
        gram = network_mixed_gram(nw, None, memory_budget)
    elif tuple(np.shape(gram)) != (n * k, n * k):
        raise ValueError(f"gram: expected shape ({n * k}, {n * k}), received "
                         f"{tuple(np.shape(gram))}")
    K = np.asarray(gram, np.float64)
    S = np.asarray(output_hessian_sqrt(logits, loss), np.float64)
    tj = jnp.asarray(t, dtype=jnp.float64) if loss == "mse" else jnp.asarray(t, dtype=jnp.int32)
    L0 = float(mean_loss(logits, tj, loss))
    v = np.asarray(output_gradients(logits, t, loss), np.float64).reshape(-1)
    if loss == "mse":
        lamK, U = np.linalg.eigh(0.5 * (K + K.T))
        lamK = np.clip(lamK, 0.0, None)  # PSD; negatives here are eigvalsh round-off
        lam_max_g = float(lamK.max()) / n
    else:
        lam_g, g, eig_all = ggn_gradient_components(K, S, v, n)
        lam_max_g = float(eig_all[0])
    if lr is None:
        if not lam_max_g > 0:
            raise ValueError("lr: cannot choose the default 1/λ_max(G) because G = 0; pass lr")
        lr = 1.0 / lam_max_g
    lr = check_positive(lr, "lr")
    if eps_ladder is None:
        rel = np.asarray(REL_EPS_LADDER) * lam_max_g  # all 0 when G = 0 (every unit dead)
        eps_ladder = np.concatenate([ABS_EPS_LADDER, rel[rel > 0]])
    eps_g = tr.eps_values(eps_ladder)

    if loss == "mse":
        c = U.T @ v  # v = f − y = r_0
        curve = tr.mse_loss_curve(lamK, c, lr, steps, n)
        ratio = float(curve[-1])
        valid = _valid_eps_k(eps_g * n, float(lamK.max()), lr, n)
        trainable, decided, eps = ratio <= tau, "T8 exact linearized curve", None
        if valid.size:
            cond = tr.tau_conditions(lamK, c, lr, steps, n, tau, valid)
            if cond.sufficient:
                trainable, decided, eps = True, "T8 sufficient ε-condition", \
                    cond.eps_accepting / n
            elif not cond.necessary:
                trainable, decided, eps = False, "T8 necessary ε-condition fails", \
                    cond.eps_rejecting / n
        return Prediction(loss, lr, steps, tau, L0, ratio, bool(trainable), decided, eps, curve,
                          quadratic_decrease_fraction=1.0 - ratio, quadratic_overshoot=False)

    curve = tr.linearized_gd_curve(K, logits, t, loss, lr, steps, n)
    ratio = float(curve[-1])
    decrease = tr.quadratic_decrease(lam_g, g, lr, steps)
    frac = float(decrease / L0)
    bound = np.asarray(tr.quadratic_decrease_bound(lam_g, g, lr, steps, eps_g))
    i = int(np.argmin(bound))
    common = {"quadratic_decrease_fraction": frac, "quadratic_overshoot": bool(frac > 1.0)}
    if bound[i] < (1.0 - tau) * L0:
        return Prediction(loss, lr, steps, tau, L0, ratio, False,
                          "T9 ε-bound on the decrease < (1 − τ)L_0", float(eps_g[i]), curve,
                          **common)
    return Prediction(loss, lr, steps, tau, L0, ratio, bool(ratio <= tau),
                      "linearized-network GD (T3, exact from K)", None, curve, **common)


@in_float64
def diagnose(net, params, X, targets, loss: str | None = None, lr=None, steps=DEFAULT_STEPS,
             tau=DEFAULT_TAU, *, features=None, memory_budget=None) -> DiagnosisReport:
    """Spectral diagnosis of ``net`` at ``params`` on the task (X, targets).

    ``net``: a linrelu.MLP (closed-form Gram, hidden features from its forward pass) or any model
    f(params, X) → (n, k) (Gram by per-sample Jacobian blocks within ``memory_budget`` bytes;
    ``features`` gives its hidden activations, see :mod:`linrelu.features`; without it the
    report has no per-layer rows). Defaults: ``lr=None`` → 1/λ_max(G) (the largest step with
    T8's bounds and T9's monotone progress guaranteed), ``steps=100``, ``tau=0.5`` (does the
    loss halve in 100 full-batch steps?). ε-ranks are of G's eigenvalues, for the absolute
    ladder ``ABS_EPS_LADDER`` and for ε = r·λ_max(G), r in ``REL_EPS_LADDER``. Bad input →
    ValueError naming the argument. ``loss=None`` infers it from the targets exactly as the CLI
    does (:func:`linrelu.validation.infer_loss`: integer labels (n,) → ce, (n, k) → mse).
    """
    if loss is None:
        loss = infer_loss(targets)
    check_loss(loss)
    nw = resolve(net, params, X)
    n = nw.n
    t = check_targets(targets, n, nw.k, loss)
    K = network_mixed_gram(nw, None, memory_budget)
    S = output_hessian_sqrt(nw.logits, loss)
    G = loss_weighted_from_gram(jnp.asarray(K), S, n)
    eig = np.linalg.eigvalsh(np.asarray(G, np.float64))[::-1]
    lam_max = float(eig[0])
    pred = predict_trainability(net, nw.params, nw.X, t, loss, lr=lr, steps=steps, tau=tau,
                                gram=K)
    abs_ranks = tuple(int(np.count_nonzero(np.abs(eig) > e)) for e in ABS_EPS_LADDER)
    rel_ranks = tuple(int(np.count_nonzero(np.abs(eig) > r * lam_max)) for r in REL_EPS_LADDER)
    if features is None and nw.mlp is None and model_features(net) is None:
        hidden = []
    else:
        hidden = hidden_features(net, nw.params, nw.X, features)
    return DiagnosisReport(
        loss=loss, n=n, k=nw.k, num_params=nw.num_params,
        widths=tuple(int(h.shape[1]) for h in hidden),
        lam_max=lam_max, eigenvalues=eig, abs_eps=ABS_EPS_LADDER, abs_ranks=abs_ranks,
        rel_eps=REL_EPS_LADDER, rel_ranks=rel_ranks,
        effective_ranks=tuple(effective_rank(h) for h in hidden),
        dead_units=tuple(int(np.sum(np.all(h == 0.0, axis=0))) for h in hidden),
        prediction=pred,
        gram_method="closed form T5" if nw.mlp is not None else "per-sample Jacobian blocks")


__all__ = ["DiagnosisReport", "Prediction", "diagnose", "ggn_gradient_components",
           "predict_trainability", "DEFAULT_STEPS", "DEFAULT_TAU"]
