"""Closed-form NTK Gram of a ReLU MLP (THEORY.md T5) and the loss-weighted Gram G.

T5. With δ_{L+1,c}(x) = e_c, δ_{l,c}(x) = D_l(x) (σ_w/√m_l) W_{l+1} δ_{l+1,c}(x),
D_l = diag(1[z_l > 0]), h_0 = x, m_0 = d:

    K[(i,c),(j,c')] = Σ_{l=1}^{L+1} ( (σ_w²/m_{l−1}) ⟨h_{l−1}(x_i), h_{l−1}(x_j)⟩ + σ_b² )
                                     · ⟨δ_{l,c}(x_i), δ_{l,c'}(x_j)⟩

Why it holds: ∂f_c/∂W_l[a,b] = (σ_w/√m_{l−1}) h_{l−1,a} δ_{l,c,b} and
∂f_c/∂b_l[b] = σ_b δ_{l,c,b}, so
the layer-l block of J Jᵀ factorizes sample-wise into a feature inner product times a backward
inner product (a Hadamard product of an n×n feature Gram, repeated over the k×k output block,
with an nk×nk backward Gram). The n·k × p Jacobian is never formed: memory O((nk)² + n·k·m).

Layout: the backward signals of layer l are stored as one (n·k, m_l) matrix Δ_l with row i·k + c,
so the recursion is one GEMM (nk × m_{l+1}) @ (m_{l+1} × m_l) per layer and the backward Gram
is one GEMM Δ_l Δ_lᵀ.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from linrelu._checks import check_inputs
from linrelu.losses import output_hessian_sqrt
from linrelu.mlp import MLP, _apply, _trace


def _features_and_masks(net: MLP, params, X):
    """Forward pass: activations h_0..h_L and ReLU masks D_1..D_L (as 0/1 floats)."""
    tr = _trace(net, params, X)
    masks = [(z > 0).astype(X.dtype) for z in tr.preacts[:-1]]
    return tr.acts, masks


def _backward_signals(net: MLP, params, masks):
    """Δ_l ∈ R^{(n·k) × m_l} for l = 1..L, row i·k + c holding δ_{l,c}(x_i).

    Δ_L[i,c] = D_L(x_i) (σ_w/√m_L) W_{L+1}[:, c] (no GEMM needed: δ_{L+1,c} = e_c);
    Δ_l      = D_l ⊙ (σ_w/√m_l) Δ_{l+1} W_{l+1}ᵀ.
    """
    L, k = net.depth, net.out_dim
    deltas = [None] * (L + 1)  # 1-based; deltas[0] unused
    if L == 0:
        return deltas
    n = masks[0].shape[0]
    W_out = params[L][0]  # (m_L, k)
    d = masks[L - 1][:, None, :] * (net._scale(L + 1) * W_out.T)[None, :, :]  # (n, k, m_L)
    deltas[L] = d.reshape(n * k, -1)
    for l in range(L - 1, 0, -1):
        W_next = params[l][0]  # W_{l+1}: (m_l, m_{l+1})
        back = net._scale(l + 1) * (deltas[l + 1] @ W_next.T)  # (n·k, m_l)
        deltas[l] = (back.reshape(n, k, -1) * masks[l - 1][:, None, :]).reshape(n * k, -1)
    return deltas


def _feature_gram(net: MLP, h, l: int, with_bias: bool = True):
    """(σ_w²/m_{l−1}) H_{l−1} H_{l−1}ᵀ (+ σ_b²): the sample-wise input factor of layer l."""
    F = (net.sigma_w**2 / net.layer_sizes[l - 1]) * (h @ h.T)
    return F + net.sigma_b**2 if with_bias else F


def _expand(F, k: int):
    """F ⊗ 𝟙_k𝟙_kᵀ as a broadcastable (n, 1, n, 1) view (repeat each entry over the k×k block)."""
    return F[:, None, :, None]


@partial(jax.jit, static_argnums=(0, 3))
def _gram_layers(net: MLP, params, X, split_bias: bool):
    n, k, L = X.shape[0], net.out_dim, net.depth
    acts, masks = _features_and_masks(net, params, X)
    deltas = _backward_signals(net, params, masks)
    terms = []
    eye_k = jnp.eye(k, dtype=X.dtype)
    for l in range(1, L + 2):
        Fw = _feature_gram(net, acts[l - 1], l, with_bias=False)
        if l == L + 1:  # δ_{L+1,c} = e_c: backward Gram is 𝟙𝟙ᵀ ⊗ I_k
            def layer(F):
                return jnp.kron(F, eye_k)
        else:
            B = (deltas[l] @ deltas[l].T).reshape(n, k, n, k)

            def layer(F, B=B):
                return (_expand(F, k) * B).reshape(n * k, n * k)
        if split_bias:
            bias = layer(jnp.full((n, n), net.sigma_b**2, dtype=X.dtype))
            terms.append((layer(Fw), bias))
        else:
            terms.append(layer(Fw + net.sigma_b**2))
    return terms


@partial(jax.jit, static_argnums=(0,))
def _gram(net: MLP, params, X):
    n, k, L = X.shape[0], net.out_dim, net.depth
    acts, masks = _features_and_masks(net, params, X)
    deltas = _backward_signals(net, params, masks)
    K = jnp.kron(_feature_gram(net, acts[L], L + 1), jnp.eye(k, dtype=X.dtype))
    for l in range(1, L + 1):
        B = (deltas[l] @ deltas[l].T).reshape(n, k, n, k)
        K = K + (_expand(_feature_gram(net, acts[l - 1], l), k) * B).reshape(n * k, n * k)
    return K


def _prepare(net: MLP, params, X):
    if not isinstance(net, MLP):
        raise ValueError(f"net: expected a linrelu.MLP, received {type(net).__name__}")
    X = check_inputs(X, net.in_dim)
    params = net.check_params(params)
    dtype = params[0][0].dtype
    return params, jnp.asarray(X, dtype=dtype)


def jacobian_gram(net: MLP, params, X):
    """NTK Gram K = J Jᵀ, shape (n·k, n·k), row/column index i·k + c, by the closed form T5.

    Never materializes the (n·k) × p Jacobian. Exact (no approximation): agrees with
    :func:`jacobian_gram_autodiff` to round-off.
    """
    params, X = _prepare(net, params, X)
    return _gram(net, params, X)


def jacobian_gram_layers(net: MLP, params, X, split_bias: bool = False):
    """The L+1 per-layer terms of T5 (they sum to :func:`jacobian_gram`).

    Term l is (F_l ⊗ 𝟙𝟙ᵀ) ⊙ B_l with F_l the feature Gram (σ_w²/m_{l−1}) H_{l−1}H_{l−1}ᵀ + σ_b²
    and B_l the backward Gram Δ_l Δ_lᵀ: the contribution of (W_l, b_l) to J Jᵀ.
    With ``split_bias=True`` each entry is a pair (weight term, bias term) (T5a concerns the
    weight term: its rank is ≤ rank(H_{l−1}) · rank(Δ_l)).
    """
    params, X = _prepare(net, params, X)
    return list(_gram_layers(net, params, X, bool(split_bias)))


@partial(jax.jit, static_argnums=(0,))
def _jacobian(net: MLP, params, X):
    from jax.flatten_util import ravel_pytree

    flat, unravel = ravel_pytree(params)
    return jax.jacrev(lambda t: _apply(net, unravel(t), X).reshape(-1))(flat)


def jacobian(net: MLP, params, X):
    """Autodiff Jacobian J ∈ R^{(n·k) × p}, rows i·k + c, columns in ravel_pytree order."""
    params, X = _prepare(net, params, X)
    return _jacobian(net, params, X)


def jacobian_gram_autodiff(net: MLP, params, X):
    """Reference K = J Jᵀ from the autodiff Jacobian (memory O(n·k·p): small nets only)."""
    J = jacobian(net, params, X)
    return J @ J.T


@partial(jax.jit, static_argnums=(2,))
def _weight_gram(K, S, loss_n: int):
    n, k = S.shape[0], S.shape[1]
    K4 = K.reshape(n, k, n, k)
    G = jnp.einsum("iac,iajb,jbd->icjd", S, K4, S) / loss_n
    return G.reshape(n * k, n * k)


def loss_weighted_gram(net: MLP, params, X, targets, loss: str, *, gram=None):
    """G = (1/n) H^{1/2} K H^{1/2} (n·k × n·k), H = blockdiag(∇²_f ℓ(f(x_i))) (THEORY, T1).

    Its nonzero eigenvalues are those of the GGN Ĝ = (1/n) Jᵀ H J (T1). ``gram`` may pass a
    precomputed K (e.g. from :func:`jacobian_gram`) to avoid recomputing it. ``targets`` are
    validated (shape, label range) though H itself does not depend on them.
    """
    from linrelu._checks import check_loss, check_targets

    check_loss(loss)
    params, X = _prepare(net, params, X)
    n, k = X.shape[0], net.out_dim
    check_targets(targets, n, k, loss)
    logits = _apply(net, params, X)
    S = output_hessian_sqrt(logits, loss)
    K = _gram(net, params, X) if gram is None else gram
    if tuple(K.shape) != (n * k, n * k):
        raise ValueError(f"gram: expected shape ({n * k}, {n * k}), received {tuple(K.shape)}")
    return _weight_gram(K, S, n)
