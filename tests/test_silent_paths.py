"""Issue 34, section 3: no silent paths. One regression test per path a user hit without an error
or with an error that gave no hint (each failed on the code before the fix); every number is
compared with an independent autodiff or float64 reference."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import linrelu as lr
from linrelu.models.adapters import UncheckedAdapterWarning

nn = pytest.importorskip("flax.linen")


def f64(tree):
    with lr.float64():
        return jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), tree)


def rel(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(np.asarray(b))))


def gram_reference(f, params, X) -> np.ndarray:
    """J Jᵀ from jax.jacrev of the whole batch (row i·k + c), in float64."""
    with lr.float64():
        flat, unravel = ravel_pytree(f64(params))
        X = jnp.asarray(X, jnp.float64)
        J = np.asarray(jax.jacrev(lambda t: f(unravel(t), X).reshape(-1))(flat))
    return J @ J.T


def flax_out(model, variables, X) -> np.ndarray:
    with lr.float64():
        return np.asarray(model.apply({"params": f64(variables["params"])},
                                      jnp.asarray(X, jnp.float64)))


X6 = np.random.default_rng(0).normal(size=(6, 5))


class TwoLayer(nn.Module):
    relu_out: bool = False

    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Dense(8)(x))  # Dense_0
        x = nn.Dense(3)(x)  # Dense_1
        return nn.relu(x) if self.relu_out else x


class Deep(nn.Module):
    """12 nn.Dense layers: Flax names them Dense_0 … Dense_11."""
    depth: int = 12

    @nn.compact
    def __call__(self, x):
        for _ in range(self.depth - 1):
            x = nn.relu(nn.Dense(4)(x))
        return nn.Dense(3)(x)


class Nested(nn.Module):
    """Nested calls: the outer nn.Dense(k) is constructed first, so Flax names it Dense_0."""
    width: int = 8
    k: int = 3

    @nn.compact
    def __call__(self, x):
        return nn.Dense(self.k)(nn.relu(nn.Dense(self.width)(x)))


# 1. adapters check themselves by default, and say so when they cannot ----------------------
def test_adapter_without_apply_warns_that_nothing_was_checked():
    model = TwoLayer(relu_out=True)
    variables = model.init(jax.random.PRNGKey(0), X6)
    with pytest.warns(UncheckedAdapterWarning, match="^apply: no self-check was done .*apply="):
        net, params = lr.mlp_from_flax(variables)
    # what the warning is about: the unchecked MLP is not the model (no output ReLU)
    assert rel(net.apply(params, X6), flax_out(model, variables, X6)) > 0.1
    layers = [(np.ones((5, 4)), np.zeros(4)), (np.ones((4, 2)), np.zeros(2))]
    with pytest.warns(UncheckedAdapterWarning, match="mlp_from_dense_layers"):
        lr.mlp_from_dense_layers(layers)


def test_adapter_given_apply_checks_itself_without_a_sample():
    variables = TwoLayer(relu_out=True).init(jax.random.PRNGKey(0), X6)
    with pytest.raises(ValueError, match="^apply: .*activation \\(ReLU\\) applied to the output"):
        lr.mlp_from_flax(variables, apply=TwoLayer(relu_out=True).apply)  # no X: drawn
    with warnings.catch_warnings():
        warnings.simplefilter("error", UncheckedAdapterWarning)
        net, params = lr.mlp_from_flax(variables, apply=TwoLayer().apply)  # the right model
    assert rel(net.apply(params, X6), flax_out(TwoLayer(), variables, X6)) <= 1e-12


# 2. layer order: call order, at any depth ------------------------------------------------
def test_source_order_is_right_for_a_12_layer_flax_mlp():
    variables = Deep().init(jax.random.PRNGKey(0), X6)
    assert "Dense_11" in variables["params"]
    net, params = lr.mlp_from_flax(variables, apply=Deep().apply, X=X6)
    layers = net.layers_of(params)
    flat_list = np.concatenate([np.ravel(a) for W, b in layers for a in (W, b)])
    flat_flax = np.asarray(ravel_pytree(f64(variables["params"]))[0])  # Flax's own flat order
    assert np.array_equal(flat_list, flat_flax[lr.source_order(layers)])
    assert np.array_equal(flat_list, flat_flax[lr.source_order(layers, net)])
    assert rel(net.apply(params, X6), flax_out(Deep(), variables, X6)) <= 1e-12


def test_nested_call_flax_mlp_follows_the_call_order():
    model = Nested()
    variables = model.init(jax.random.PRNGKey(0), X6)
    assert variables["params"]["Dense_0"]["kernel"].shape == (8, 3)  # the outer layer
    net, params = lr.mlp_from_flax(variables, apply=model.apply, X=X6)
    assert net.layer_sizes == (5, 8, 3)
    f = lambda p, x: model.apply({"params": p}, x)
    K_ref = gram_reference(f, variables["params"], X6)
    assert rel(lr.jacobian_gram(net, params, X6), K_ref) <= 1e-12
    layers = net.layers_of(params)
    flat_list = np.concatenate([np.ravel(a) for W, b in layers for a in (W, b)])
    flat_flax = np.asarray(ravel_pytree(f64(variables["params"]))[0])
    assert np.array_equal(flat_list, flat_flax[lr.source_order(layers, net)])
    # without apply the call order is unknown: refused, naming the ambiguity
    with pytest.raises(ValueError, match="^variables: .*do not chain in name order.*nested "
                                         "calls.*pass apply="):
        lr.mlp_from_flax(variables)


def test_nested_square_flax_mlp_follows_the_call_order():
    """Equal widths chain in either order, so only the call order can tell them apart."""
    model = Nested(width=5, k=5)
    variables = model.init(jax.random.PRNGKey(1), X6)
    net, params = lr.mlp_from_flax(variables, apply=model.apply)
    assert [s[0] for s in net.source] == ["Dense_1", "Dense_0"]
    assert rel(net.apply(params, X6), flax_out(model, variables, X6)) <= 1e-12


# 3. the float32 warning's fix works outside x64 ------------------------------------------
class BN(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.BatchNorm(use_running_average=True)(nn.Dense(8)(x))
        return nn.Dense(2)(nn.relu(x))


def test_float32_warning_fix_works_outside_x64():
    with jax.enable_x64(False):
        model = BN()
        v = model.init(jax.random.PRNGKey(0), jnp.asarray(X6, jnp.float32))
        v = {"params": v["params"], "batch_stats": jax.tree_util.tree_map(
            lambda a: a + 0.5, v["batch_stats"])}  # nontrivial statistics
        stats32 = v["batch_stats"]
        # the old advice does nothing here: JAX truncates float64 to float32 outside x64
        with pytest.warns(UserWarning, match="truncated to dtype float32"):
            old = jnp.asarray(stats32["BatchNorm_0"]["mean"]).astype(jnp.float64)
        assert old.dtype == jnp.float32
        f = lambda p, x: model.apply({"params": p, "batch_stats": stats32}, x)
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            lr.jacobian_gram(f, v["params"], X6)
        msgs = [str(w.message) for w in rec if "below float64" in str(w.message)]
        assert len(msgs) == 1 and "np.asarray(a, np.float64)" in msgs[0], msgs
        # follow the advice, outside x64 still
        stats = jax.tree_util.tree_map(lambda a: np.asarray(a, np.float64), stats32)
        g = lambda p, x: model.apply({"params": p, "batch_stats": stats}, x)
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            K = lr.jacobian_gram(g, v["params"], X6)
        assert not [w for w in rec if "below float64" in str(w.message)]
    assert rel(K, gram_reference(g, v["params"], X6)) <= 1e-12


# 4. the bfloat16 accuracy statement is a measured one ------------------------------------
def test_bfloat16_warning_states_the_measured_accuracy():
    class BF16(nn.Module):
        dtype: object = jnp.bfloat16

        @nn.compact
        def __call__(self, x):
            return nn.Dense(3, dtype=self.dtype)(nn.relu(nn.Dense(16, dtype=self.dtype)(x)))

    params = f64(BF16().init(jax.random.PRNGKey(0), X6)["params"])
    f = lambda p, x: BF16().apply({"params": p}, x)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        K = lr.jacobian_gram(f, params, X6)
    msgs = [str(w.message) for w in rec if "below float64" in str(w.message)]
    assert len(msgs) == 1
    assert "1e-7" not in msgs[0] and "bfloat16 round-off (unit roundoff 3.9e-03" in msgs[0]
    median, worst = lr.models.network.LOW_PRECISION_GRAM_ERROR["bfloat16"]
    assert f"measured on CPU {median:.1e} median, up to {worst:.1e}" in msgs[0]
    # the statement holds for this model: its Gram error against the float64 model's
    ref = lambda p, x: BF16(dtype=jnp.float64).apply({"params": p}, x)
    err = rel(K, gram_reference(ref, params, X6))
    assert 1e-4 < err <= worst


# 5. the batch-independence check looks at every row -------------------------------------
def test_separability_check_finds_a_coupling_beyond_the_first_two_rows():
    rng = np.random.default_rng(3)
    params = {"w1": rng.normal(size=(5, 7)), "w2": rng.normal(size=(7, 2))}

    def f(p, x):
        out = jnp.tanh(x @ p["w1"]) @ p["w2"]
        if x.shape[0] <= 2:  # coupled only in rows ≥ 2: invisible to a check on X[:2]
            return out
        return out.at[2:].add(jnp.mean(out[2:], axis=0))

    with pytest.raises(ValueError, match="^net: expected a model whose output row i depends on "
                                         "X\\[i\\] only.*largest in row [2-5] of 6"):
        lr.jacobian_gram(f, params, X6)
    separable = lambda p, x: jnp.tanh(x @ p["w1"]) @ p["w2"]
    K = lr.jacobian_gram(separable, params, X6)
    assert rel(K, gram_reference(separable, params, X6)) <= 1e-12


# 6. --model MODULE:ATTR as well as FILE.py:FACTORY --------------------------------------
MODEL = textwrap.dedent('''
    import jax.numpy as jnp, numpy as np

    def make():
        rng = np.random.default_rng(0)
        params = {"w1": rng.normal(size=(4, 6)), "w2": rng.normal(size=(6, 3)) / 3}
        return (lambda p, x: jnp.maximum(x @ p["w1"], 0) @ p["w2"]), params

    class Zoo:
        make = staticmethod(make)
''')


@pytest.fixture()
def user_module(tmp_path, monkeypatch):
    name = f"silent_paths_user_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(MODEL)
    data = tmp_path / "data.npz"
    rng = np.random.default_rng(1)
    np.savez(data, X=rng.normal(size=(5, 4)), y=np.array([0, 1, 2, 0, 1]))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    return tmp_path, name, data


def cli(capsys, *args):
    from linrelu.__main__ import main

    rc = main(["diagnose", *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_cli_model_accepts_module_attr_and_file_factory(user_module, capsys):
    where, name, data = user_module
    rc, by_file, err = cli(capsys, "--model", f"{where / name}.py:make", "--data", str(data),
                           "--json")
    assert rc == 0, err
    for spec in (f"{name}:make", f"{name}:Zoo.make"):
        rc, by_module, err = cli(capsys, "--model", spec, "--data", str(data), "--json")
        assert rc == 0, err
        assert json.loads(by_module) == json.loads(by_file)
    # the real command line: python -m puts the current directory on sys.path
    out = subprocess.run([sys.executable, "-m", "linrelu", "diagnose", "--model", f"{name}:make",
                          "--data", str(data), "--json"], cwd=where, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == json.loads(by_file)


@pytest.mark.parametrize("spec, message", [
    ("no_such_module_here:make", "--model: expected FILE.py:FACTORY or MODULE:ATTR with an "
                                 "importable MODULE, received 'no_such_module_here'"),
    ("{name}:nothing", "--model: expected a callable 'nothing' in '{name}', received nothing"),
    ("{name}:Zoo.nothing", "--model: expected a callable 'Zoo.nothing'"),
    ("not a/module:make", "--model: expected FILE.py:FACTORY or MODULE:ATTR (MODULE a dotted "
                          "Python name), received 'not a/module:make'"),
    ("{name}", "--model: expected FILE.py:FACTORY or MODULE:ATTR, received"),
])
def test_cli_bad_model_spec_exits_2_with_one_line(user_module, capsys, spec, message):
    _, name, data = user_module
    rc, _, err = cli(capsys, "--model", spec.format(name=name), "--data", str(data))
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and message.format(name=name) in lines[0], err


# 7. a tuple output gets a hint to use wrap_model -----------------------------------------
def test_tuple_output_error_names_wrap_model():
    rng = np.random.default_rng(4)
    params = {"w1": rng.normal(size=(5, 7)), "w2": rng.normal(size=(7, 2))}

    def f(p, x):
        h = jnp.tanh(x @ p["w1"])
        return h @ p["w2"], {"hidden": h}

    with pytest.raises(ValueError, match="^net: expected a callable returning \\(n, k\\) logits.*"
                                         "tuple of length 2.*lr.wrap_model\\(f, output=lambda "
                                         "out: out\\[0\\]\\)"):
        lr.jacobian_gram(f, params, X6)
    K = lr.jacobian_gram(lr.wrap_model(f, output=lambda out: out[0]), params, X6)
    assert rel(K, gram_reference(lambda p, x: f(p, x)[0], params, X6)) <= 1e-12
