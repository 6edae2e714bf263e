"""``python -m linrelu diagnose --model FILE.py:FACTORY``: any JAX model from the user's file."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

MODEL = textwrap.dedent('''
    import jax, jax.numpy as jnp, numpy as np

    def make():
        rng = np.random.default_rng(0)
        params = {"w1": rng.normal(size=(4, 6)), "w2": rng.normal(size=(6, 3)) / 3}
        def f(p, x):
            return jnp.maximum(x @ p["w1"], 0) @ p["w2"]
        def features(p, x):
            return [jnp.maximum(x @ p["w1"], 0)]
        return f, params, features

    def spectra_only():
        f, params, _ = make()
        return f, params

    def broken():
        raise RuntimeError("no weights here")

    def wrong_shape():
        f, params, _ = make()
        return (lambda p, x: f(p, x)[:, 0]), params

    not_callable = 3
''')


def run(*args):
    return subprocess.run([sys.executable, "-m", "linrelu", "diagnose", *args],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture()
def files(tmp_path):
    model = tmp_path / "model.py"
    model.write_text(MODEL)
    data = tmp_path / "data.npz"
    rng = np.random.default_rng(1)
    np.savez(data, X=rng.normal(size=(5, 4)), y=np.array([0, 1, 2, 0, 1]))
    return model, data


def test_model_file_json_report_matches_library(files):
    model, data = files
    out = run("--model", f"{model}:make", "--data", str(data), "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["gram_method"] == "per-sample Jacobian blocks" and report["n"] == 5
    assert [layer["units"] for layer in report["layers"]] == [6]
    # independent reference: the GGN spectrum from an explicit autodiff Jacobian
    import jax
    import jax.numpy as jnp
    from jax.flatten_util import ravel_pytree

    jax.config.update("jax_enable_x64", True)
    ns = {}
    exec(MODEL, ns)  # noqa: S102
    f, params, _ = ns["make"]()
    with np.load(data) as z:
        X = jnp.asarray(z["X"])
    flat, unravel = ravel_pytree(jax.tree_util.tree_map(jnp.asarray, params))
    J = np.asarray(jax.jit(jax.jacrev(lambda t: f(unravel(t), X).reshape(-1)))(flat))
    p = np.asarray(jax.nn.softmax(f(params, X)))
    H = np.stack([np.diag(q) - np.outer(q, q) for q in p])
    GGN = J.T @ np.einsum("iab,ibp->iap", H, J.reshape(5, 3, -1)).reshape(15, -1) / 5
    ev = np.sort(np.linalg.eigvalsh(GGN))[::-1][:15]
    assert np.allclose(report["eigenvalues"], ev, rtol=0, atol=1e-9 * ev[0])
    text = run("--model", f"{model}:spectra_only", "--data", str(data))
    assert text.returncode == 0 and "no hidden features given" in text.stdout


@pytest.mark.parametrize("spec, message", [
    ("missing.py:make", "--model: expected an existing Python file"),
    ("{model}:nothing", "--model: expected a callable 'nothing'"),
    ("{model}:not_callable", "--model: expected a callable 'not_callable'"),
    ("{model}:broken", "--model: broken() raised RuntimeError: no weights here"),
    ("{model}:wrong_shape", "--model: net: expected a callable returning (n, k) logits"),
    ("{model}", "--model: expected FILE.py:FACTORY"),
])
def test_bad_model_exits_2_with_one_line(files, spec, message):
    model, data = files
    out = run("--model", spec.format(model=model), "--data", str(data))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], out.stderr
