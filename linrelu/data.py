"""Real data: scikit-learn's bundled 8×8 digits (1797 images, 64 pixels, 10 classes).

Nothing is downloaded: the dataset ships inside scikit-learn.
"""

from __future__ import annotations

from functools import lru_cache

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
