"""Input validation shared by every public function.

Every user mistake becomes a ``ValueError`` whose message names the argument, what was expected
and what was received. Checks that need concrete values (finiteness, label ranges) are skipped
for JAX tracers, so the same public functions stay usable inside ``jax.jit``.
"""

from __future__ import annotations

import numbers

import jax
import numpy as np

LOSSES = ("mse", "ce")


def is_traced(x) -> bool:
    """True when ``x`` is an abstract JAX value (inside jit/grad), whose entries cannot be read."""
    return isinstance(x, jax.core.Tracer)


def as_numpy(x):
    """Results as numpy (issue 20: one return type). Every public function of linrelu returns
    numpy arrays (floating ones in float64) or Python floats, never JAX arrays — so that
    ``K.sum()`` outside linrelu's float64 scope cannot be truncated to float32. Traced values
    (inside jit/grad) pass through unchanged; only model functions (``MLP.init/apply/trace``,
    the ``hessian_vector_product`` closure, ``linearize``) return JAX values, for use in JAX code.
    """
    leaves = jax.tree_util.tree_leaves(x)
    if any(is_traced(a) for a in leaves):
        return x

    def conv(a):
        if isinstance(a, jax.Array) or isinstance(a, np.ndarray):
            a = np.asarray(a)
            return a.astype(np.float64) if a.dtype.kind == "f" else a
        return a

    return jax.tree_util.tree_map(conv, x)


def returns_numpy(fn):
    """Decorator: :func:`as_numpy` on ``fn``'s result."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return as_numpy(fn(*args, **kwargs))

    return wrapper


def describe(x) -> str:
    """A short description of a received value for error messages."""
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return f"array of shape {tuple(x.shape)} and dtype {x.dtype}"
    if isinstance(x, (list, tuple)):
        return f"{type(x).__name__} of length {len(x)}"
    return f"{type(x).__name__} {x!r}"[:120]


def all_finite(x) -> bool:
    """Whether every entry of the array ``x`` is finite (True for integer arrays). One summing
    pass decides the common case: a sum is NaN/Inf when any entry is, and a finite sum means
    every entry is finite; only a sum that overflows (or meets a NaN/Inf) is settled by the
    entrywise test. About half the time of ``np.isfinite(x).all()`` on a 4096² float64 matrix
    (no boolean temporary)."""
    a = np.asarray(x)
    if a.dtype.kind not in "fc":
        return True
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(a.sum()):
            return True
    return bool(np.all(np.isfinite(a)))


def check_finite(x, name: str) -> None:
    if is_traced(x):
        return
    a = np.asarray(x)
    if a.dtype.kind in "fc" and not all_finite(a):
        bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
        raise ValueError(f"{name}: expected finite values, received {bad} NaN/Inf entries "
                         f"in an array of shape {a.shape}")


def check_loss(loss) -> str:
    if loss not in LOSSES:
        raise ValueError(f"loss: expected one of {LOSSES}, received {loss!r}")
    return loss


def infer_loss(targets, name: str = "targets") -> str:
    """The loss a task's targets imply, the same rule in Python and at the CLI: integer labels
    of shape (n,) → "ce", targets of shape (n, k) → "mse"; anything else is a ValueError."""
    y = np.asarray(targets)
    if y.ndim == 1 and y.dtype.kind in "iu":
        return "ce"
    if y.ndim == 2 and y.dtype.kind in "iuf":
        return "mse"
    raise ValueError(f"{name}: cannot infer the loss: expected integer labels of shape (n,) "
                     f"(ce) or targets of shape (n, k) (mse), received {describe(targets)}; "
                     f"or pass loss=")


def check_positive(value, name: str, *, allow_zero: bool = False) -> float:
    ok = isinstance(value, numbers.Real) and np.isfinite(value) and (
        value >= 0 if allow_zero else value > 0)
    if not ok:
        want = "a finite number >= 0" if allow_zero else "a finite number > 0"
        raise ValueError(f"{name}: expected {want}, received {value!r}")
    return float(value)


def check_positive_int(value, name: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, received {value!r}")
    return int(value)


def check_inputs(X, in_dim: int | None = None, name: str = "X", *, any_shape: bool = False):
    """``X`` must be a non-empty finite 2-D array with ``in_dim`` columns (``any_shape``: any
    array with n ≥ 1 rows, e.g. (n, H, W, C) images for a generic model)."""
    if not hasattr(X, "shape"):
        try:
            X = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{name}: expected a {'' if any_shape else '2-D '}numeric array, "
                             f"received {describe(X)}") from err
    if not any_shape and len(X.shape) != 2:
        raise ValueError(f"{name}: expected a 2-D array (n, d), received {describe(X)}")
    if len(X.shape) < 1 or X.shape[0] == 0:
        raise ValueError(f"{name}: expected at least one row, received {describe(X)}")
    if in_dim is not None and X.shape[1] != in_dim:
        raise ValueError(f"{name}: expected {in_dim} features (columns) to match the network's "
                         f"input dimension, received {describe(X)}")
    if not is_traced(X) and np.asarray(X).dtype.kind not in "biuf":
        raise ValueError(f"{name}: expected a real numeric array, received {describe(X)}")
    check_finite(X, name)
    return X


def check_logits(logits, name: str = "logits"):
    if not hasattr(logits, "shape") or len(logits.shape) != 2 or logits.shape[0] == 0:
        raise ValueError(f"{name}: expected a non-empty 2-D array (n, k), received "
                         f"{describe(logits)}")
    check_finite(logits, name)
    return logits


def check_targets(targets, n: int, k: int, loss: str, name: str = "targets"):
    """mse: real array (n, k); ce: integer labels (n,) in [0, k)."""
    check_loss(loss)
    if not hasattr(targets, "shape"):
        try:
            targets = np.asarray(targets)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{name}: expected an array, received {describe(targets)}") from err
    if loss == "mse":
        if tuple(targets.shape) != (n, k):
            raise ValueError(f"{name}: for loss='mse' expected real targets of shape ({n}, {k}), "
                             f"received {describe(targets)}")
        check_finite(targets, name)
        return targets
    if k < 2:
        raise ValueError(f"loss: expected a model with k >= 2 outputs for loss='ce' (the softmax "
                         f"of one output is constant, so its loss, gradient and GGN are 0), "
                         f"received k = {k}; use loss='mse' or a model with k >= 2 outputs")
    if tuple(targets.shape) != (n,):
        raise ValueError(f"{name}: for loss='ce' expected integer labels of shape ({n},), "
                         f"received {describe(targets)}")
    if is_traced(targets):
        return targets
    a = np.asarray(targets)
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or not np.all(a == np.round(a)):
            raise ValueError(f"{name}: for loss='ce' expected integer labels in [0, {k}), "
                             f"received non-integer values")
        a = a.astype(np.int64)
    elif a.dtype.kind not in "iu":
        raise ValueError(f"{name}: for loss='ce' expected integer labels in [0, {k}), received "
                         f"{describe(targets)}")
    if a.size and (a.min() < 0 or a.max() >= k):
        raise ValueError(f"{name}: for loss='ce' expected integer labels in [0, {k}), received "
                         f"values in [{a.min()}, {a.max()}]")
    return a


def check_eigenvalues(eigenvalues, name: str = "eigenvalues"):
    a = np.asarray(eigenvalues, dtype=np.float64) if not is_traced(eigenvalues) else eigenvalues
    if len(a.shape) != 1:
        raise ValueError(f"{name}: expected a 1-D array of eigenvalues, received {describe(a)}")
    check_finite(a, name)
    return a
