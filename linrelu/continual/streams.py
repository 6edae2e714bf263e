"""Task streams for continual learning (THEORY.md, "Task streams").

A stream is a deterministic, random-access sequence of tasks: ``stream.task(i)`` depends only on
``(name, seed, i, options)``, so any task can be regenerated without replaying the others.

- ``permuted_digits`` (ce): scikit-learn's 8×8 digits, a fixed train/test split (drawn from
  ``seed``); task i draws ``n_train`` training and ``n_test`` test images and applies a fresh
  pixel permutation π_i to every image: x ↦ x[π_i].
- ``random_label_digits`` (ce): a fixed set of ``n_train`` digit images (drawn once from
  ``seed``); task i reshuffles their labels with a fresh permutation, y_i = y[σ_i] (class counts
  are preserved, the image→label map is random). This is a memorization task, so there is no
  meaningful held-out set: ``X_test, y_test`` are the training set itself (documented choice).
- ``teacher_regression`` (mse): inputs x ~ N(0, I_d) drawn fresh per task, targets from a fresh
  random teacher MLP (d, teacher_width, k) in the NTK parameterization (σ_w = √2, σ_b = 0).

Every task carries a probe set (its first ``n_probe`` training examples) on which spectra are
computed.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from linrelu._checks import check_positive_int

STREAMS = ("permuted_digits", "random_label_digits", "teacher_regression")

# Default options per stream: task sizes chosen for CPU-scale runs.
_DEFAULTS = {
    "permuted_digits": {"n_train": 512, "n_test": 256, "n_probe": 50},
    "random_label_digits": {"n_train": 256, "n_probe": 50},
    "teacher_regression": {"n_train": 256, "n_test": 256, "n_probe": 100, "in_dim": 16,
                           "out_dim": 1, "teacher_width": 32, "noise": 0.0},
}


@dataclass(frozen=True)
class Task:
    """One task. ce: ``y`` int labels (n,); mse: ``y`` float (n, k). Float64 inputs."""

    index: int
    X: np.ndarray
    y: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    X_probe: np.ndarray
    y_probe: np.ndarray
    loss: str
    out_dim: int


def _rng(seed: int, *parts) -> np.random.Generator:
    """A generator seeded by (seed, *parts): independent streams per (seed, task, purpose)."""
    return np.random.default_rng([int(seed), *[int(p) for p in parts]])


def _name_code(name: str) -> int:
    return zlib.crc32(name.encode())


@dataclass(frozen=True)
class Stream:
    """A deterministic task stream; build it with :func:`make_stream`."""

    name: str
    seed: int
    num_tasks: int
    options: dict = field(default_factory=dict, hash=False, compare=True)

    @property
    def loss(self) -> str:
        return "mse" if self.name == "teacher_regression" else "ce"

    @property
    def in_dim(self) -> int:
        return int(self.options["in_dim"]) if self.name == "teacher_regression" else 64

    @property
    def out_dim(self) -> int:
        return int(self.options["out_dim"]) if self.name == "teacher_regression" else 10

    def __len__(self) -> int:
        return self.num_tasks

    def __iter__(self):
        return (self.task(i) for i in range(self.num_tasks))

    def task(self, i: int) -> Task:
        """Task ``i`` (0-based), regenerated deterministically from (seed, i)."""
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not (
                0 <= i < self.num_tasks):
            raise ValueError(f"i: expected a task index in [0, {self.num_tasks}), received {i!r}")
        i = int(i)
        builder = {"permuted_digits": _permuted_digits_task,
                   "random_label_digits": _random_label_task,
                   "teacher_regression": _teacher_task}[self.name]
        X, y, Xt, yt = builder(self, i)
        n_probe = min(int(self.options["n_probe"]), X.shape[0])
        return Task(index=i, X=X, y=y, X_test=Xt, y_test=yt, X_probe=X[:n_probe],
                    y_probe=y[:n_probe], loss=self.loss, out_dim=self.out_dim)


def _digits_split(seed: int, n_test_pool: int = 497):
    """Fixed random split of the 1797 digits into a train pool and a test pool (from seed)."""
    from linrelu.data import load_digits_data

    X, y = load_digits_data()
    order = _rng(seed, _name_code("split")).permutation(X.shape[0])
    test, train = order[:n_test_pool], order[n_test_pool:]
    return X[train], y[train], X[test], y[test]


def _permuted_digits_task(stream: Stream, i: int):
    Xp, yp, Xq, yq = _digits_split(stream.seed)
    o = stream.options
    rng = _rng(stream.seed, _name_code(stream.name), i)
    tr = rng.choice(Xp.shape[0], size=int(o["n_train"]), replace=False)
    te = rng.choice(Xq.shape[0], size=int(o["n_test"]), replace=False)
    perm = rng.permutation(Xp.shape[1])
    return (np.ascontiguousarray(Xp[tr][:, perm]), yp[tr].copy(),
            np.ascontiguousarray(Xq[te][:, perm]), yq[te].copy())


def _random_label_task(stream: Stream, i: int):
    from linrelu.data import load_digits_data

    X, y = load_digits_data()
    n = int(stream.options["n_train"])
    images = _rng(stream.seed, _name_code("images")).choice(X.shape[0], size=n, replace=False)
    Xs, ys = X[images].copy(), y[images]
    labels = ys[_rng(stream.seed, _name_code(stream.name), i).permutation(n)].copy()
    return Xs, labels, Xs, labels


def teacher_outputs(X, widths_key, in_dim: int, width: int, out_dim: int) -> np.ndarray:
    """Random teacher f_T(x) = (√2/√w) W_2ᵀ relu((√2/√d) W_1ᵀ x), entries of W ~ N(0,1)."""
    rng = widths_key
    W1 = rng.standard_normal((in_dim, width))
    W2 = rng.standard_normal((width, out_dim))
    H = np.maximum(np.sqrt(2.0 / in_dim) * X @ W1, 0.0)
    return np.sqrt(2.0 / width) * H @ W2


def _teacher_task(stream: Stream, i: int):
    o = stream.options
    d, k, w = int(o["in_dim"]), int(o["out_dim"]), int(o["teacher_width"])
    rng = _rng(stream.seed, _name_code(stream.name), i)
    X = rng.standard_normal((int(o["n_train"]), d))
    Xt = rng.standard_normal((int(o["n_test"]), d))
    both = teacher_outputs(np.vstack([X, Xt]), rng, d, w, k)
    noise = float(o["noise"])
    if noise:
        both = both + noise * rng.standard_normal(both.shape)
    return X, both[:X.shape[0]], Xt, both[X.shape[0]:]


def make_stream(name: str, *, seed: int, num_tasks: int, **options) -> Stream:
    """A task stream ``name`` in :data:`STREAMS` with ``num_tasks`` tasks.

    Options (defaults in ``_DEFAULTS``): ``n_train``, ``n_probe`` for every stream; ``n_test`` for
    permuted_digits and teacher_regression; ``in_dim``, ``out_dim``, ``teacher_width``, ``noise``
    for teacher_regression.
    """
    if name not in STREAMS:
        raise ValueError(f"name: expected one of {STREAMS}, received {name!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: expected an integer >= 0, received {seed!r}")
    check_positive_int(num_tasks, "num_tasks")
    defaults = _DEFAULTS[name]
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise ValueError(f"options: expected a subset of {sorted(defaults)} for stream {name!r}, "
                         f"received unknown {unknown}")
    opts = {**defaults, **options}
    for key, v in opts.items():
        if key == "noise":
            if not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
                raise ValueError(f"noise: expected a finite number >= 0, received {v!r}")
        else:
            check_positive_int(v, key)
    if name == "random_label_digits" and opts["n_train"] > 1797:
        raise ValueError(f"n_train: expected at most 1797 digits, received {opts['n_train']}")
    if name == "permuted_digits" and (opts["n_train"] > 1300 or opts["n_test"] > 497):
        raise ValueError(f"n_train, n_test: expected at most 1300 and 497 (the fixed split of the "
                         f"1797 digits), received {opts['n_train']} and {opts['n_test']}")
    return Stream(name=name, seed=int(seed), num_tasks=int(num_tasks), options=opts)
