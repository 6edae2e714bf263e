"""Saving and loading networks and data as .npz (the layout ``python -m linrelu diagnose`` reads).

Params file (``--params P.npz``):
    layer_sizes  int array (d, m_1, …, m_L, k)
    sigma_w      float scalar            sigma_b  float scalar
    parameterization, activation   optional strings ("ntk", "relu" when absent)
    W_1, b_1, …, W_{L+1}, b_{L+1}        W_l of shape (m_{l−1}, m_l), b_l of shape (m_l,)
Any model's params (:func:`save_pytree`, e.g. the continual engine's checkpoints of a model
that is not an MLP):
    pytree_paths   str array: the key path of each leaf (``jax.tree_util.keystr``), in
                   ``tree_leaves`` order
    leaf_0, leaf_1, …                        the leaves, float64
Data file (``--data D.npz``):
    X  float array (n, d) (an MLP's inputs) or (n, ...) (whatever a --model expects)
    y  int labels (n,) in [0, k) for loss "ce", or float targets (n, k) for loss "mse"
Writes are atomic (temporary file + rename), so a killed run never leaves half a file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from linrelu.models.mlp import MLP
from linrelu.validation import describe


def _atomic_savez(path, **arrays) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _open_npz(path, what: str):
    """np.load without pickles; an unreadable file is a ValueError naming ``what``."""
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ValueError(f"{what}: expected a readable .npz file, received {str(path)!r} "
                         f"({err})") from err


def save_params(path, net: MLP, params) -> None:
    """Write ``net`` and ``params`` to ``path`` (.npz, layout in the module docstring)."""
    params = net.check_params(params)
    arrays = {"layer_sizes": np.asarray(net.layer_sizes, dtype=np.int64),
              "sigma_w": np.float64(net.sigma_w), "sigma_b": np.float64(net.sigma_b),
              "parameterization": np.str_(net.parameterization)}
    if not isinstance(net.activation, str):
        raise ValueError("net: expected a named activation to save (a callable cannot be "
                         f"stored in .npz), received {net.activation!r}")
    arrays["activation"] = np.str_(net.activation)
    for l, (W, b) in enumerate(params, start=1):
        arrays[f"W_{l}"] = np.asarray(W, dtype=np.float64)
        arrays[f"b_{l}"] = np.asarray(b, dtype=np.float64)
    _atomic_savez(path, **arrays)


def load_params(path) -> tuple[MLP, list]:
    """Read (net, params) written by :func:`save_params`; ValueError on a malformed file."""
    with _open_npz(path, "params") as z:
        for key in ("layer_sizes", "sigma_w", "sigma_b"):
            if key not in z:
                raise ValueError(f"params: expected key {key!r} in {str(path)!r}, received keys "
                                 f"{sorted(z.files)}")
        extra = {key: str(z[key]) for key in ("parameterization", "activation") if key in z}
        net = MLP(tuple(int(s) for s in z["layer_sizes"]), float(z["sigma_w"]),
                  float(z["sigma_b"]), **extra)
        params = []
        for l in range(1, len(net.layer_sizes)):
            if f"W_{l}" not in z or f"b_{l}" not in z:
                raise ValueError(f"params: expected keys W_{l}, b_{l} in {str(path)!r}, "
                                 f"received keys {sorted(z.files)}")
            params.append((np.asarray(z[f"W_{l}"], np.float64),
                           np.asarray(z[f"b_{l}"], np.float64)))
    return net, net.check_params(params)  # float64 numpy: no dtype depends on jax_enable_x64


def _paths_and_leaves(tree):
    import jax

    pairs = jax.tree_util.tree_flatten_with_path(tree)[0]
    return [jax.tree_util.keystr(p) for p, _ in pairs], [leaf for _, leaf in pairs]


def save_pytree(path, params) -> None:
    """Write any params pytree to ``path`` (.npz, layout in the module docstring): each leaf as
    float64 under its key path. Read it back with :func:`load_pytree`."""
    from linrelu.models.network import check_model_params

    paths, leaves = _paths_and_leaves(check_model_params(params, "params"))
    arrays = {f"leaf_{i}": np.asarray(leaf, dtype=np.float64) for i, leaf in enumerate(leaves)}
    _atomic_savez(path, pytree_paths=np.asarray(paths, dtype=np.str_), **arrays)


def load_pytree(path, like):
    """The params written by :func:`save_pytree`, as float64 numpy arrays in the pytree
    structure of ``like`` (a template with the same structure and shapes, e.g. ``net.init(key)``
    or the params training started from). ValueError naming ``params`` when the file is not
    such a file, and naming ``like`` when its key paths or shapes differ from the file's."""
    import jax

    paths, leaves = _paths_and_leaves(like)
    with _open_npz(path, "params") as z:
        if "pytree_paths" not in z:
            raise ValueError(f"params: expected a file written by save_pytree (key "
                             f"'pytree_paths') in {str(path)!r}, received keys "
                             f"{sorted(z.files)}")
        saved = [str(p) for p in z["pytree_paths"]]
        if saved != paths:
            raise ValueError(f"like: expected a template with the saved key paths {saved[:6]}"
                             f"{' …' if len(saved) > 6 else ''} ({len(saved)} leaves), received "
                             f"{paths[:6]}{' …' if len(paths) > 6 else ''} ({len(paths)} "
                             f"leaves)")
        arrays = []
        for i, (p, leaf) in enumerate(zip(paths, leaves)):
            a = np.asarray(z[f"leaf_{i}"], np.float64)
            if a.shape != np.shape(leaf):
                raise ValueError(f"like: expected the shape {a.shape} saved at {p}, received "
                                 f"{np.shape(leaf)}")
            arrays.append(a)
    return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(like), arrays)


def save_data(path, X, y) -> None:
    """Write a data file (X, y) for ``python -m linrelu diagnose --data``."""
    _atomic_savez(path, X=np.asarray(X), y=np.asarray(y))


def load_data(path) -> tuple[np.ndarray, np.ndarray]:
    """Read (X, y) written by :func:`save_data`; ValueError on a malformed file."""
    with _open_npz(path, "data") as z:
        if "X" not in z or "y" not in z:
            raise ValueError(f"data: expected keys 'X' and 'y' in {str(path)!r}, received keys "
                             f"{sorted(z.files)}")
        X, y = np.asarray(z["X"]), np.asarray(z["y"])
    if X.ndim < 2 or X.shape[0] == 0:
        raise ValueError(f"data: expected X with n ≥ 1 rows, (n, d) for an MLP or (n, ...) "
                         f"for a model, received {describe(X)}")
    return X, y
