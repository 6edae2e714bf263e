"""``python -m linrelu diagnose --plot OUT.png``: the figure is written, has the size the code
asks for and is not blank in either panel; a bad path fails first, in one line, with status 2."""

from __future__ import annotations

import jax
import matplotlib.image as mpimg
import numpy as np
import pytest

import linrelu as lr
from linrelu.__main__ import main as cli
from linrelu.models.checkpoint import save_data, save_params
from linrelu.plotting import check_plot_path, plot_diagnosis


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ckpt")
    net = lr.MLP((6, 8, 8, 3))
    save_params(folder / "P.npz", net, net.init(jax.random.PRNGKey(0)))
    rng = np.random.default_rng(0)
    save_data(folder / "D.npz", rng.normal(size=(12, 6)), rng.integers(0, 3, 12))
    return folder


def _dark_fraction(img: np.ndarray) -> float:
    """Fraction of pixels visibly darker than the white background."""
    return float((img[..., :3].mean(axis=-1) < 0.8).mean())


def test_diagnose_plot_writes_a_readable_png(checkpoint, capsys):
    out = checkpoint / "diag.png"
    rc = cli(["diagnose", "--params", str(checkpoint / "P.npz"), "--data",
              str(checkpoint / "D.npz"), "--plot", str(out)])
    assert rc == 0
    assert "figure written to" in capsys.readouterr().err
    img = mpimg.imread(out)
    # plot_diagnosis draws a 13 × 4.6 inch figure at 100 dpi
    assert img.shape[:2] == (460, 1300), img.shape
    left, right = img[:, :650], img[:, 650:]
    # both panels carry ink (the CDF with its ε marks; the per-layer bars), neither is a blank
    assert 0.01 < _dark_fraction(left) < 0.5 and 0.01 < _dark_fraction(right) < 0.5
    assert img[..., :3].std() > 0.05


@pytest.mark.parametrize("bad, expected", [
    ("{d}/no_such_folder/out.png", "existing folder"),
    ("{d}/out.txt", "ending in .png/.pdf/.svg"),
    ("{d}", "ending in .png/.pdf/.svg"),
])
def test_diagnose_plot_bad_path_exits_2_in_one_line(checkpoint, capsys, bad, expected):
    path = bad.format(d=checkpoint)
    rc = cli(["diagnose", "--params", str(checkpoint / "P.npz"), "--data",
              str(checkpoint / "D.npz"), "--plot", path])
    err = capsys.readouterr()
    assert rc == 2
    assert err.out == ""  # checked before the diagnosis: no report was printed
    lines = err.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("linrelu diagnose: error: --plot: ")
    assert expected in lines[0]


def test_plot_diagnosis_bad_input_names_the_argument(tmp_path):
    with pytest.raises(ValueError, match=r"^report: expected"):
        plot_diagnosis({"eigenvalues": []}, tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"^out: expected"):
        check_plot_path(123)
    with pytest.raises(ValueError, match=r"^plasticity: expected"):
        plot_diagnosis({"eigenvalues": [1.0], "lambda_max": 1.0, "loss": "ce", "n": 1, "k": 1},
                       tmp_path / "x.png", plasticity=[1])
