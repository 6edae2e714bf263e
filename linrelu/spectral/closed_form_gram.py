"""T5: the closed-form NTK Gram of an MLP, the one engine behind every MLP Gram in linrelu.

With δ_{L+1,c}(x) = e_c, δ_{l,c}(x) = D_l(x) s_{l+1} W_{l+1} δ_{l+1,c}(x), D_l = diag φ′(z_l),
h_0 = x (s_l, t the weight and bias scales of :mod:`linrelu.models.mlp`; ntk: s_l = σ_w/√m_{l−1},
t = σ_b, which is THEORY's T5):

    K[(i,c),(j,c')] = Σ_{l=1}^{L+1} ( s_l² ⟨h_{l−1}(x_i), h_{l−1}(x_j)⟩ + t² )
                                     · ⟨δ_{l,c}(x_i), δ_{l,c'}(x_j)⟩

Why: ∂f_c/∂W_l[a,b] = s_l h_{l−1,a} δ_{l,c,b} and ∂f_c/∂b_l[b] = t δ_{l,c,b}, so layer l's block
of J Jᵀ factorizes sample-wise into a feature inner product times a backward inner product: a
Hadamard product of an n×n feature Gram (repeated over the k×k output block) with an nk×nk
backward Gram. It holds for any elementwise φ (D_l = diag φ′(z_l)). The Jacobian is never formed:
memory O((n·r)² + n·r·m).

Mixed Grams. With per-sample output mixings Q_i ∈ R^{k×r}, QᵀKQ (row i·r + c) has the same
form with δ̃_{l,c}(x_i) = Σ_a Q_i[a,c] δ_{l,a}(x_i): the backward recursion is linear in the output
direction and every row of sample i carries the same D_l(x_i), so it commutes with Q. This gives
G = (1/n) S K S (Q = S = H^{1/2}) and the ce reduction (Q_i = S_i V) without touching K.

Layout: the backward signals of layer l are one (n·r, m_l) matrix Δ̃_l, so the recursion is one
GEMM per layer and the backward Gram one symmetric product Δ̃_l Δ̃_lᵀ. Two backends run the same
recursion: XLA (jit; the lower block triangle of each Δ̃Δ̃ᵀ) and, for wide nets on the CPU backend,
numpy's OpenBLAS (syrk). Which of the two is faster depends on the machine (OpenBLAS's dgemm ran
at 1.3× XLA's on one 2-core Xeon, 0.7× on a 2-core EPYC): :func:`mixed_gram` asks
:func:`linrelu.spectral.linalg.choose_backend` ('gram': measured once per process, overridable).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from linrelu.models.mlp import MLP, activation_derivative, forward_trace
from linrelu.spectral.linalg import (
    choose_backend,
    fresh_array,
    requested_backend,
    row_blocks,
    symmetric_from_lower,
    use_host_blas,
)

# Smallest hidden width at which the measured backend choice is consulted (backend='auto'); below
# it the net is not GEMM-dominated and the single fused XLA program is used (numpy's elementwise
# passes over (n·k)² and its syrk with a short inner dimension cost more than any dgemm-rate
# difference saves). Which backend wins for wide nets is measured, not assumed
# (linrelu.spectral.linalg.measure_backends).
HOST_MIN_WIDTH = 2048


def forward_ingredients(net: MLP, params, X):
    """(h_0..h_L, φ′(z_1)..φ′(z_L), f(X)): everything T5 needs from the forward pass."""
    tr = forward_trace(net, params, X)
    return tr.acts, [activation_derivative(net, z) for z in tr.preacts[:-1]], tr.preacts[-1]


_forward_ingredients_jit = jax.jit(forward_ingredients, static_argnums=0)


def feature_gram(net: MLP, h, l: int, with_bias: bool = True):
    """F_l = s_l² H_{l−1} H_{l−1}ᵀ (+ t²): layer l's sample-wise input factor (n × n)."""
    F = net.weight_scale(l) ** 2 * (h @ h.T)
    return F + net.bias_scale**2 if with_bias else F


def top_signals(net: MLP, W_out, deriv_L, Q, xp, out=None):
    """Δ̃_L (n·r × m_L): row i·r + c = φ′(z_L(x_i)) ⊙ s_{L+1} W_{L+1} Q_i[:, c] (no GEMM over the
    width: δ_{L+1,c} = e_c). ``Q=None`` means Q_i = I_k. ``out`` (host): an (n·r, m_L) numpy
    array to write it into."""
    n = deriv_L.shape[0]
    W_out = net.weight_scale(net.depth + 1) * W_out  # (m_L, k)
    if out is not None:
        d = out.reshape(n, -1, W_out.shape[0])
        if Q is None:
            np.multiply(deriv_L[:, None, :], W_out.T[None], out=d)
        else:
            np.einsum("ma,iac->icm", W_out, Q, out=d)
            d *= deriv_L[:, None, :]
        return out
    cols = W_out.T[None] if Q is None else xp.einsum("ma,iac->icm", W_out, Q)  # (·, r, m_L)
    d = deriv_L[:, None, :] * cols
    return d.reshape(n * d.shape[1], -1)


def backward_step(net: MLP, W_next, deriv, delta_next, l: int, out=None):
    """Δ̃_l = D_l ⊙ s_{l+1} Δ̃_{l+1} W_{l+1}ᵀ: one (n·r × m_{l+1}) @ (m_{l+1} × m_l) GEMM.

    Host (numpy): the product goes into ``out`` (an (n·r, m_l) array, or a new one when None)
    and is scaled there."""
    n = deriv.shape[0]
    scale = (net.weight_scale(l + 1) * deriv)[:, None, :]
    if isinstance(delta_next, np.ndarray):
        back = np.matmul(delta_next, W_next.T, out=out)
        back.reshape(n, -1, back.shape[-1])[...] *= scale
        return back
    back = delta_next @ W_next.T
    back = back.reshape(n, -1, back.shape[-1]) * scale
    return back.reshape(n * back.shape[1], -1)


def backward_signals(net: MLP, Ws, derivs, Q=None, xp=jnp, buffers=None):
    """Yield (l, Δ̃_l) for l = L, L−1, …, 1 (each computed from the previous one).

    ``buffers`` (host): two flat arrays of at least n·r·max(m_1..m_L) entries; Δ̃_L, Δ̃_{L−1},
    … take turns in them, so Δ̃_l is overwritten when Δ̃_{l−2} is made: use each before asking
    for the next."""
    delta, out = None, None
    for l in range(net.depth, 0, -1):
        if buffers is not None:  # (n·r, m_l)
            rows = derivs[0].shape[0] * (net.out_dim if Q is None else Q.shape[2])
            out = buffers[l % 2][:rows * Ws[l - 1].shape[1]].reshape(rows, -1)
        if l == net.depth:
            delta = top_signals(net, Ws[l], derivs[l - 1], Q, xp, out)
        else:
            delta = backward_step(net, Ws[l], derivs[l - 1], delta, l, out)
        yield l, delta


def output_term(net: MLP, acts, Q, xp, out=None):
    """Layer L+1's term: F_{L+1} ⊗ I_k (Q=None) or F_{L+1}[i,j] Q_iᵀQ_j (δ_{L+1,c} = e_c).
    ``out`` (host): an (n·r, n·r) numpy array to write it into."""
    n = acts[0].shape[0]
    F_out = feature_gram(net, acts[net.depth], net.depth + 1)
    if Q is None and out is None:
        return xp.kron(F_out, xp.eye(net.out_dim, dtype=F_out.dtype))
    mix = (np.eye(net.out_dim, dtype=F_out.dtype)[None, :, None, :] if Q is None
           else xp.einsum("iac,jad->icjd", Q, Q))
    r = mix.shape[3]
    if out is not None:
        np.multiply(F_out[:, None, :, None], mix, out=out.reshape(n, r, n, r))
        return out
    return (F_out[:, None, :, None] * mix).reshape(n * r, n * r)


def hadamard_expand(F, B, r: int):
    """(F ⊗ 𝟙_r𝟙_rᵀ) ⊙ B for an (s, t) block F and an (s·r, t·r) block B (row i·r + c)."""
    s, t = F.shape
    return (F[:, None, :, None] * B.reshape(s, r, t, r)).reshape(s * r, t * r)


def _mixed_gram(net: MLP, params, X, Q=None, xp=jnp):
    """Qᵀ K Q by T5 (module docstring) with array namespace ``xp`` (jnp inside jit, or np)."""
    Ws = [W for W, _ in params]
    if xp is np:
        acts, derivs, _ = _forward_ingredients_jit(net, params, X)
        acts, derivs = [np.asarray(a) for a in acts], [np.asarray(d) for d in derivs]
        Ws = [np.asarray(W) for W in Ws]  # zero-copy views of CPU jax buffers
        Q = None if Q is None else np.asarray(Q)
    else:
        acts, derivs, _ = forward_ingredients(net, params, X)
    n = X.shape[0]
    r = net.out_dim if Q is None else Q.shape[2]
    if xp is np:
        K = output_term(net, acts, Q, np, out=fresh_array((n * r) ** 2, acts[0].dtype))
        return _host_backward_terms(net, acts, derivs, Ws, Q, K.reshape(n * r, n * r))
    K = output_term(net, acts, Q, xp)
    spans = row_blocks(n, r)
    lower = {}
    for l, delta in backward_signals(net, Ws, derivs, Q, xp):
        F = feature_gram(net, acts[l - 1], l)
        for I in range(len(spans)):  # XLA: only the lower block triangle of Δ̃Δ̃ᵀ
            for J in range(I + 1):
                (a, b), (c, d) = spans[I], spans[J]
                term = hadamard_expand(F[a:b, c:d], delta[a * r:b * r] @ delta[c * r:d * r].T, r)
                lower[I, J] = term if (I, J) not in lower else lower[I, J] + term
    if lower:
        K = K + symmetric_from_lower(lower, len(spans))
    return K


def _host_backward_terms(net: MLP, acts, derivs, Ws, Q, K):
    """K + Σ_{l ≤ L} (F_l ⊗ 𝟙𝟙ᵀ) ⊙ Δ̃_lΔ̃_lᵀ on the host (numpy; K updated in place).

    numpy forms each Δ̃_lΔ̃_lᵀ with BLAS syrk (one triangle at half the GEMM flops, then
    mirrored). K and the large work arrays (two for the recursion, one for Δ̃_lΔ̃_lᵀ) are made
    once per call on fresh pages (:func:`linrelu.spectral.linalg.fresh_array`), the work arrays
    reused for every layer."""
    n, N = acts[0].shape[0], K.shape[0]
    r, dtype = N // n, K.dtype
    size = N * max(net.widths, default=0)
    buffers = (fresh_array(size, dtype), fresh_array(size, dtype)) if size else None
    B = fresh_array(N * N, dtype).reshape(N, N)
    for l, delta in backward_signals(net, Ws, derivs, Q, np, buffers):
        np.matmul(delta, delta.T, out=B)
        B.reshape(n, r, n, r)[...] *= feature_gram(net, acts[l - 1], l)[:, None, :, None]
        K += B
    return K


#: The two backends of the one engine: one XLA program (jit), or numpy/OpenBLAS on the host.
mixed_gram_xla = jax.jit(partial(_mixed_gram, xp=jnp), static_argnums=0)
mixed_gram_host = partial(_mixed_gram, xp=np)


def gram_backend(net: MLP, params, X, Q=None, backend=None) -> str:
    """'host' or 'xla': the backend :func:`mixed_gram` runs for these inputs.

    ``backend``: None or 'auto' (default), 'host' or 'xla'; None/'auto' defers to the
    environment variable ``LINRELU_GRAM_BACKEND`` (same values), then to the measurement.
    'host' needs concrete arrays on JAX's CPU backend (ValueError otherwise when asked by the
    argument; the environment variable only applies where the host path is possible). With
    'auto', nets narrower than :data:`HOST_MIN_WIDTH` run on XLA, wider ones on the backend
    :func:`linrelu.spectral.linalg.measure_backends` found faster in this process.
    """
    requested, source = requested_backend("gram", backend)
    host_possible = use_host_blas(params, X, Q)
    if requested == "host" and not host_possible and source.startswith("argument"):
        raise ValueError("backend: expected 'auto' or 'xla' for traced inputs or a non-CPU JAX "
                         "backend (the host path needs concrete arrays on the CPU), received "
                         "'host'")
    if not host_possible or requested == "xla":
        return "xla"
    if requested == "host":
        return "host"
    if net.depth == 0 or min(net.widths) < HOST_MIN_WIDTH:
        return "xla"
    return choose_backend("gram")


def mixed_gram(net: MLP, params, X, Q=None, backend=None):
    """Qᵀ K Q (n·r × n·r, row i·r + c), Q = blockdiag(Q_i) with Q_i ∈ R^{k×r}; ``Q=None`` gives K.

    Runs the one engine :func:`_mixed_gram` on the backend :func:`gram_backend` picks: host BLAS
    (returns numpy) or one XLA program (returns a jax array on the arrays' device). Both agree to
    round-off (same products in the same order; only the BLAS kernels differ).
    """
    if gram_backend(net, params, X, Q, backend) == "host":
        return mixed_gram_host(net, params, X, Q)
    return mixed_gram_xla(net, params, X, Q)


def mixed_grams(net: MLP, params, X, Qs: tuple, backend=None) -> tuple:
    """(:func:`mixed_gram` of each mixing Q in ``Qs``): one Gram per Q, each exactly as
    :func:`mixed_gram` computes it alone."""
    return tuple(mixed_gram(net, params, X, Q, backend) for Q in Qs)


@partial(jax.jit, static_argnums=(0, 3))
def gram_layers(net: MLP, params, X, split_bias: bool):
    """The L+1 per-layer terms of T5 (they sum to K); with ``split_bias`` each is a pair
    (weight term, bias term). Term l = (F_l ⊗ 𝟙𝟙ᵀ) ⊙ Δ_lΔ_lᵀ, term L+1 = F_{L+1} ⊗ I_k."""
    n, k = X.shape[0], net.out_dim
    acts, derivs, _ = forward_ingredients(net, params, X)
    deltas = dict(backward_signals(net, [W for W, _ in params], derivs))
    terms = []
    for l in range(1, net.depth + 2):
        if l == net.depth + 1:
            def layer(F):
                return jnp.kron(F, jnp.eye(k, dtype=X.dtype))
        else:
            B = deltas[l] @ deltas[l].T

            def layer(F, B=B):
                return hadamard_expand(F, B, k)
        Fw = feature_gram(net, acts[l - 1], l, with_bias=False)
        if split_bias:
            terms.append((layer(Fw), layer(jnp.full((n, n), net.bias_scale**2, X.dtype))))
        else:
            terms.append(layer(Fw + net.bias_scale**2))
    return terms
