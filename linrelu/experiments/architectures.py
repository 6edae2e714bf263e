"""Small non-MLP classifiers of 8×8 digits in plain JAX (no Flax / Equinox needed): E4's extra rows.

Every model maps X of shape (n, 64) (a flattened 8×8 image, pixels in [0, 1]) to (n, k) logits,
acts on each sample independently, and has ``init(key) -> params`` (a dict of float32 arrays) and
``apply(params, X)``; ``apply`` is a module-level function per architecture, so jit caches keyed
on it (the Gram, the GD step) compile once per process. Weights are LeCun normal (variance
1/fan_in, Flax's default), biases 0, LayerNorm scales 1.

- ``resmlp``: h = X W_in; two blocks h ← h + W_2ᵀ relu(W_1ᵀ LN(h)); logits = W_outᵀ LN(h), width 32.
- ``encoder``: a Transformer encoder. One token per image row (8 tokens of 8 pixels), embedding
  width 16 plus a learned position table drawn N(0, 1); one pre-LN block of 2-head softmax
  self-attention and a GELU MLP (width 32), both residual; logits from LN(mean over tokens).
- ``mixer``: an MLP-Mixer. 16 tokens (2×2 patches), 16 channels; one block of a token-mixing MLP
  (hidden 32) and a channel-mixing MLP (hidden 32), GELU, pre-LN, residual; logits from
  LN(mean over tokens).
- ``convnet``: the paper's ConvNet (:class:`linrelu.models.convnet.ConvNet`, "SAME" padding) on the
image
  as 8×8×1.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

ARCHITECTURES = ("resmlp", "encoder", "mixer", "convnet")


def _dense(key, fan_in: int, fan_out: int):
    W = jax.random.normal(key, (fan_in, fan_out), jnp.float32) / np.sqrt(fan_in)
    return {"W": W, "b": jnp.zeros(fan_out, jnp.float32)}


def _ln_params(d: int):
    return {"scale": jnp.ones(d, jnp.float32), "bias": jnp.zeros(d, jnp.float32)}


def _ln(p, h, eps: float = 1e-6):
    mu = jnp.mean(h, axis=-1, keepdims=True)
    var = jnp.mean((h - mu) ** 2, axis=-1, keepdims=True)
    return (h - mu) / jnp.sqrt(var + eps) * p["scale"] + p["bias"]


def _lin(p, h):
    return h @ p["W"] + p["b"]


# --- residual MLP with LayerNorm -----------------------------------------------------------------
def resmlp_init(key, k: int = 10, width: int = 32, blocks: int = 2) -> dict:
    keys = jax.random.split(key, 2 * blocks + 2)
    return {"inp": _dense(keys[0], 64, width),
            "blocks": [{"ln": _ln_params(width), "fc1": _dense(keys[1 + 2 * b], width, width),
                        "fc2": _dense(keys[2 + 2 * b], width, width)} for b in range(blocks)],
            "ln": _ln_params(width), "out": _dense(keys[-1], width, k)}


def resmlp_apply(params, X):
    h = _lin(params["inp"], X)
    for blk in params["blocks"]:
        h = h + _lin(blk["fc2"], jax.nn.relu(_lin(blk["fc1"], _ln(blk["ln"], h))))
    return _lin(params["out"], _ln(params["ln"], h))


# --- Transformer encoder -------------------------------------------------------------------------
_HEADS = 2


def encoder_init(key, k: int = 10, d: int = 16, hidden: int = 32) -> dict:
    keys = jax.random.split(key, 8)
    return {"embed": _dense(keys[0], 8, d), "pos": jax.random.normal(keys[1], (8, d), jnp.float32),
            "ln1": _ln_params(d), "q": _dense(keys[2], d, d), "k": _dense(keys[3], d, d),
            "v": _dense(keys[4], d, d), "o": _dense(keys[5], d, d), "ln2": _ln_params(d),
            "fc1": _dense(keys[6], d, hidden), "fc2": _dense(keys[7], hidden, d),
            "ln": _ln_params(d), "out": _dense(jax.random.fold_in(key, 1), d, k)}


def encoder_apply(params, X):
    n = X.shape[0]
    h = _lin(params["embed"], X.reshape(n, 8, 8)) + params["pos"]
    d = h.shape[-1]
    dh = d // _HEADS
    y = _ln(params["ln1"], h)

    def heads(a):
        return a.reshape(n, 8, _HEADS, dh).transpose(0, 2, 1, 3)  # (n, heads, tokens, dh)
    q, k, v = (heads(_lin(params[name], y)) for name in ("q", "k", "v"))
    att = jax.nn.softmax(q @ k.transpose(0, 1, 3, 2) / np.sqrt(dh), axis=-1)
    h = h + _lin(params["o"], (att @ v).transpose(0, 2, 1, 3).reshape(n, 8, d))
    h = h + _lin(params["fc2"], jax.nn.gelu(_lin(params["fc1"], _ln(params["ln2"], h))))
    return _lin(params["out"], _ln(params["ln"], jnp.mean(h, axis=1)))


# --- MLP-Mixer -----------------------------------------------------------------------------------
def mixer_init(key, k: int = 10, c: int = 16, hidden: int = 32) -> dict:
    keys = jax.random.split(key, 6)
    return {"embed": _dense(keys[0], 4, c), "ln1": _ln_params(c),
            "tok1": _dense(keys[1], 16, hidden), "tok2": _dense(keys[2], hidden, 16),
            "ln2": _ln_params(c), "ch1": _dense(keys[3], c, hidden),
            "ch2": _dense(keys[4], hidden, c), "ln": _ln_params(c), "out": _dense(keys[5], c, k)}


def _patches(X):
    """(n, 64) → (n, 16, 4): the 2×2 patches of the 8×8 image, row-major."""
    n = X.shape[0]
    return X.reshape(n, 4, 2, 4, 2).transpose(0, 1, 3, 2, 4).reshape(n, 16, 4)


def mixer_apply(params, X):
    h = _lin(params["embed"], _patches(X))  # (n, tokens, c)
    y = _ln(params["ln1"], h).transpose(0, 2, 1)  # (n, c, tokens)
    h = h + _lin(params["tok2"], jax.nn.gelu(_lin(params["tok1"], y))).transpose(0, 2, 1)
    h = h + _lin(params["ch2"], jax.nn.gelu(_lin(params["ch1"], _ln(params["ln2"], h))))
    return _lin(params["out"], _ln(params["ln"], jnp.mean(h, axis=1)))


# --- the paper's ConvNet on 8×8×1 ----------------------------------------------------------------
def _convnet(k: int):
    from linrelu.models.convnet import ConvNet

    return ConvNet(in_shape=(8, 8, 1), out_dim=k)


def convnet_init(key, k: int = 10) -> list:
    return _convnet(k).init(key)


_CONVNETS = {}


def convnet_apply(params, X):
    k = int(params[-1][1].shape[0])
    net = _CONVNETS.setdefault(k, _convnet(k))
    return net.apply(params, X.reshape(X.shape[0], 8, 8, 1))


def model(name: str, k: int = 10):
    """(init(key) -> params, apply(params, X)) of architecture ``name`` with ``k`` outputs."""
    if name not in ARCHITECTURES:
        raise ValueError(f"name: expected one of {ARCHITECTURES}, received {name!r}")
    init = {"resmlp": resmlp_init, "encoder": encoder_init, "mixer": mixer_init,
            "convnet": convnet_init}[name]
    apply = {"resmlp": resmlp_apply, "encoder": encoder_apply, "mixer": mixer_apply,
             "convnet": convnet_apply}[name]
    return (lambda key: init(key, k)), apply


__all__ = ["ARCHITECTURES", "model"]
