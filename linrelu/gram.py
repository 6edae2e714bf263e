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
import numpy as np

from linrelu._checks import check_inputs, is_traced
from linrelu.losses import output_hessian_sqrt
from linrelu.mlp import MLP, _apply, _trace


def _features_and_masks(net: MLP, params, X):
    """Forward pass: activations h_0..h_L and ReLU masks D_1..D_L (as 0/1 floats)."""
    tr = _trace(net, params, X)
    masks = [(z > 0).astype(X.dtype) for z in tr.preacts[:-1]]
    return tr.acts, masks


def _top_signals(net: MLP, params, masks, Q=None):
    """Δ̃_L ∈ R^{(n·r) × m_L}: row i·r + c holds Σ_a Q_i[a, c] δ_{L,a}(x_i).

    δ_{L,a}(x_i) = D_L(x_i) (σ_w/√m_L) W_{L+1}[:, a], so the mixed row is the mask times the
    column (σ_w/√m_L) W_{L+1} Q_i[:, c] — no GEMM over the width. ``Q=None`` means Q_i = I_k.
    """
    L = net.depth
    n = masks[0].shape[0]
    W_out = net._scale(L + 1) * params[L][0]  # (m_L, k)
    if Q is None:
        cols = W_out.T[None, :, :]  # (1, k, m_L)
    else:
        cols = jnp.einsum("ma,iac->icm", W_out, Q)  # (n, r, m_L)
    d = masks[L - 1][:, None, :] * cols  # (n, r, m_L)
    return d.reshape(n * d.shape[1], -1)


def _backward_step(net: MLP, params, mask, delta_next, l: int):
    """Δ_l = D_l ⊙ (σ_w/√m_l) Δ_{l+1} W_{l+1}ᵀ: one (n·r × m_{l+1}) @ (m_{l+1} × m_l) GEMM.

    The recursion is linear in the output direction and every row of sample i carries the same
    mask D_l(x_i), so it commutes with any per-sample output mixing Q_i (rows stay mixed).
    """
    n = mask.shape[0]
    back = delta_next @ (net._scale(l + 1) * params[l][0]).T  # (n·r, m_l)
    return (back.reshape(n, -1, back.shape[-1]) * mask[:, None, :]).reshape(back.shape)


def _backward_signals(net: MLP, params, masks, Q=None):
    """Δ_l ∈ R^{(n·k) × m_l} for l = 1..L, row i·k + c holding δ_{l,c}(x_i).

    Δ_L[i,c] = D_L(x_i) (σ_w/√m_L) W_{L+1}[:, c] (no GEMM needed: δ_{L+1,c} = e_c);
    Δ_l      = D_l ⊙ (σ_w/√m_l) Δ_{l+1} W_{l+1}ᵀ.
    With per-sample output mixings Q (n, k, r) the rows are Σ_a Q_i[a, c] δ_{l,a}(x_i) instead
    (row i·r + c); ``Q=None`` is Q_i = I_k.
    """
    L = net.depth
    deltas = [None] * (L + 1)  # 1-based; deltas[0] unused
    if L == 0:
        return deltas
    deltas[L] = _top_signals(net, params, masks, Q)
    for l in range(L - 1, 0, -1):
        deltas[l] = _backward_step(net, params, masks[l - 1], deltas[l + 1], l)
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


def _sample_blocks(n: int, r: int) -> list:
    """Split the n samples into contiguous blocks of about 640 rows (n·r total rows).

    Blocked lower triangle: with b blocks, b(b+1)/2 of the b² block products are computed, i.e.
    a fraction (b+1)/(2b) of the full Δ Δᵀ flops; blocks of ~640 rows keep each product a large
    GEMM (measured: 4 blocks at n·r = 2560 cost ~0.63 of the one-GEMM Gram on this CPU).
    """
    b = max(1, min(n, round(n * r / 640)))
    edges = [round(i * n / b) for i in range(b + 1)]
    return [(edges[i], edges[i + 1]) for i in range(b) if edges[i + 1] > edges[i]]


def _hadamard_block(F, B, r: int):
    """(F ⊗ 𝟙_r𝟙_rᵀ) ⊙ B for an (s, t) block F and an (s·r, t·r) block B (row i·r + c)."""
    s, t = F.shape
    return (F[:, None, :, None] * B.reshape(s, r, t, r)).reshape(s * r, t * r)


def _symmetric_from_lower(blocks: dict, spans: list):
    """Assemble a symmetric matrix from its lower block triangle {(I, J): block, I ≥ J}."""
    rows = []
    for I in range(len(spans)):
        rows.append(jnp.concatenate(
            [blocks[I, J] if I >= J else blocks[J, I].T for J in range(len(spans))], axis=1))
    return jnp.concatenate(rows, axis=0)


def _mixed_gram(net: MLP, params, X, Q=None):
    """Qᵀ K Q (n·r × n·r, row i·r + c) with Q = blockdiag(Q_i), Q_i ∈ R^{k×r}; Q=None gives K.

    By T5 and linearity of δ in the output direction,

        (QᵀKQ)[(i,c),(j,d)] = Σ_{l≤L} F_l[i,j] ⟨δ̃_{l,c}(x_i), δ̃_{l,d}(x_j)⟩
                              + F_{L+1}[i,j] (Q_iᵀ Q_j)[c,d],

    δ̃_{l,c}(x_i) = Σ_a Q_i[a,c] δ_{l,a}(x_i) (rows of :func:`_backward_signals` with Q). Only the
    lower block triangle of each Δ̃_l Δ̃_lᵀ is computed (symmetry), and each layer's contribution
    is added as soon as Δ̃_l exists so Δ̃_{l+1} can be freed (memory O((n·r)² + n·r·m)).
    """
    n, L = X.shape[0], net.depth
    acts, masks = _features_and_masks(net, params, X)
    F_out = _feature_gram(net, acts[L], L + 1)
    if Q is None:
        r = net.out_dim
        out_term = jnp.kron(F_out, jnp.eye(r, dtype=X.dtype))
    else:
        r = Q.shape[2]
        QQ = jnp.einsum("iac,jad->icjd", Q, Q)
        out_term = (F_out[:, None, :, None] * QQ).reshape(n * r, n * r)
    if L == 0:
        return out_term
    spans = _sample_blocks(n, r)
    pairs = [(I, J) for I in range(len(spans)) for J in range(I + 1)]
    acc = {}
    delta = None
    for l in range(L, 0, -1):
        delta = (_top_signals(net, params, masks, Q) if l == L
                 else _backward_step(net, params, masks[l - 1], delta, l))
        F = _feature_gram(net, acts[l - 1], l)
        for I, J in pairs:
            (a, b), (c, d) = spans[I], spans[J]
            B = delta[a * r:b * r] @ delta[c * r:d * r].T
            term = _hadamard_block(F[a:b, c:d], B, r)
            acc[I, J] = term if (I, J) not in acc else acc[I, J] + term
    return _symmetric_from_lower(acc, spans) + out_term


@partial(jax.jit, static_argnums=(0,))
def _gram_traced(net: MLP, params, X):
    return _mixed_gram(net, params, X)


@partial(jax.jit, static_argnums=(0,))
def _mixed_gram_traced(net: MLP, params, X, Q):
    return _mixed_gram(net, params, X, Q)


def _host_forward(net: MLP, params, X):
    """Forward pass with numpy's BLAS: (activations h_0..h_L, boolean masks D_1..D_L, logits)."""
    L = net.depth
    Ws = [np.asarray(W) for W, _ in params]  # zero-copy views of the jax buffers on CPU
    h = np.asarray(X)
    acts, masks = [h], []
    for l in range(1, L + 2):
        z = h @ Ws[l - 1]
        z *= net._scale(l)
        if net.sigma_b:
            z += net.sigma_b * np.asarray(params[l - 1][1])
        if l == L + 1:
            return acts, masks, z
        masks.append(z > 0)
        h = np.maximum(z, 0.0, out=z)
        acts.append(h)


def _mixed_gram_host(net: MLP, params, X, Q=None, forward=None) -> np.ndarray:
    """:func:`_mixed_gram` on concrete arrays with numpy's BLAS, as a float64 numpy array.

    Why a second backend: on this CPU XLA's dot reaches ~0.7–0.8 of OpenBLAS's dgemm rate, and
    numpy turns ``A @ A.T`` into a syrk (half the flops, both triangles filled). The arithmetic is
    the same as :func:`_mixed_gram` (same products, same order of layers), so the two agree to
    round-off. Cost: L−1 recursion GEMMs 2·n·r·m_l·m_{l+1}, L syrks (n·r)²·m_l, the forward pass
    and O(L (n·r)²) elementwise work; every large step is one BLAS call on contiguous arrays with
    in-place masking, and Δ̃_{l+1} is released as soon as Δ̃_l exists. ``forward`` may pass the
    result of :func:`_host_forward` to reuse it.
    """
    n, L = X.shape[0], net.depth
    Ws = [np.asarray(W) for W, _ in params]
    acts, masks, _ = _host_forward(net, params, X) if forward is None else forward

    def feature_gram(l):  # (σ_w²/m_{l−1}) H_{l−1} H_{l−1}ᵀ + σ_b²
        F = acts[l - 1] @ acts[l - 1].T
        F *= net.sigma_w**2 / net.layer_sizes[l - 1]
        F += net.sigma_b**2
        return F

    F_out = feature_gram(L + 1)
    if Q is None:
        r = net.out_dim
        K = np.kron(F_out, np.eye(r))
    else:
        Q = np.asarray(Q)
        r = Q.shape[2]
        QQ = np.einsum("iac,jad->icjd", Q, Q)
        QQ *= F_out[:, None, :, None]
        K = QQ.reshape(n * r, n * r)
    if L == 0:
        return K
    W_out = net._scale(L + 1) * Ws[L]  # (m_L, k)
    cols = W_out.T[None] if Q is None else np.swapaxes(Q, 1, 2) @ W_out.T  # (·, r, m_L)
    delta = (cols * masks[L - 1][:, None, :]).reshape(n * r, -1)
    for l in range(L, 0, -1):
        if l < L:
            delta = delta @ Ws[l].T  # Δ̃_{l+1} W_{l+1}ᵀ; Wᵀ is a view (BLAS transposes)
            scaled_mask = np.where(masks[l - 1], net._scale(l + 1), 0.0)
            delta.reshape(n, r, -1)[...] *= scaled_mask[:, None, :]
        B = delta @ delta.T  # syrk
        B.reshape(n, r, n, r)[...] *= feature_gram(l)[:, None, :, None]
        K += B
        del B
    return K


# Smallest hidden width at which the host (numpy/OpenBLAS) path is used for concrete inputs.
# Measured (benchmarks/): at widths ≤ 1024 the single fused XLA program wins (numpy's
# elementwise passes over (n·k)² and its syrk with a short inner dimension cost more than XLA's
# slower dot saves); from ~4096 the GEMMs dominate and OpenBLAS's higher dgemm rate wins.
_HOST_MIN_WIDTH = 2048


def _use_host(net: MLP, *trees) -> bool:
    """Host BLAS path iff every input is concrete and the net is wide enough to profit."""
    concrete = not any(is_traced(x) for x in jax.tree_util.tree_leaves(trees))
    return concrete and net.depth > 0 and min(net.widths) >= _HOST_MIN_WIDTH


def _gram(net: MLP, params, X):
    """K = J Jᵀ (T5): host BLAS path for wide nets on concrete arrays, else one XLA program."""
    if _use_host(net, params, X):
        return jnp.asarray(_mixed_gram_host(net, params, X))
    return _gram_traced(net, params, X)


def _mixed_gram_any(net: MLP, params, X, Q):
    """Qᵀ K Q (see :func:`_mixed_gram`) with the same backend dispatch as :func:`_gram`."""
    if _use_host(net, params, X, Q):
        return jnp.asarray(_mixed_gram_host(net, params, X, Q))
    return _mixed_gram_traced(net, params, X, Q)


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
    if gram is None:
        # G = (1/n) S K S is the Q = S mixed Gram: S enters through the k output columns of the
        # backward signals (n·k·m_L·k flops) instead of two (n·k)² × k contractions with K.
        return _mixed_gram_any(net, params, X, S) / n
    K = gram
    if tuple(K.shape) != (n * k, n * k):
        raise ValueError(f"gram: expected shape ({n * k}, {n * k}), received {tuple(K.shape)}")
    return _weight_gram(K, S, n)


def _centered_basis(k: int) -> np.ndarray:
    """V ∈ R^{k×(k−1)} with orthonormal columns spanning 𝟙^⊥ (so V Vᵀ = I − 𝟙𝟙ᵀ/k)."""
    U = np.linalg.svd(np.eye(k) - 1.0 / k)[0]
    return U[:, : k - 1]


def _ggn_factor_gram(net: MLP, params, X, targets, loss: str):
    """(G_r, z): a matrix G_r and a count z with eig(G) = eig(G_r) ∪ {0}^z exactly (T1's G).

    ce, k ≥ 2: H_i 𝟙 = 0 for every sample, so with V = :func:`_centered_basis` (k) and
    Q_i = H_i^{1/2} V we have S_i = H_i^{1/2} = Q_i Vᵀ (because H_i^{1/2} V Vᵀ = H_i^{1/2}
    (I − 𝟙𝟙ᵀ/k) = H_i^{1/2}), hence S = Q 𝒱ᵀ with 𝒱 = blockdiag(V) having orthonormal columns and

        G = (1/n) S K S = 𝒱 [(1/n) Qᵀ K Q] 𝒱ᵀ,   eig(G) = eig((1/n) Qᵀ K Q) ∪ {0}^n.

    The n(k−1)-square G_r costs (1 − 1/k) of the backward recursion, (1 − 1/k)² of the Grams
    and (1 − 1/k)³ of the eigensolver. Otherwise (mse, or k = 1) G_r = G and z = 0.
    Returns a float64 numpy array (inputs must be concrete).
    """
    from linrelu._checks import check_loss, check_targets

    check_loss(loss)
    params, X = _prepare(net, params, X)
    n, k = X.shape[0], net.out_dim
    check_targets(targets, n, k, loss)
    if _use_host(net, params, X):
        forward = _host_forward(net, params, X)  # one forward pass: logits, masks, features

        def mixed(Q):
            return _mixed_gram_host(net, params, X, Q, forward)

        logits = jnp.asarray(forward[2])
    else:
        def mixed(Q):
            return np.array(_mixed_gram_traced(net, params, X, jnp.asarray(Q)))

        logits = _apply(net, params, X)
    S = np.asarray(output_hessian_sqrt(logits, loss))
    if loss != "ce" or k < 2:
        return mixed(S) / n, 0
    G_r = mixed(S @ _centered_basis(k))
    G_r /= n
    return G_r, n
