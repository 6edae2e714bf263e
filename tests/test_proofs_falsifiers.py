"""The numeric falsifiers draw what their docstrings document (issue 33: the falsifier must cover
its parameter ranges, sizes and depths 1–4).

Each module's ``draw`` runs on its seeded trials (those ``python -m proofs`` evaluates) with a
recording generator: every distribution the docstring names must be drawn from with the
documented range, and the drawn instances must cover the documented sizes, depths and cases. The
expected ranges below are typed from the docstrings, not read from the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest

from proofs import t1_gram_ggn_identity as t1
from proofs import t2_spectral_equivalence as t2
from proofs import t2a_softmax_hessian as t2a
from proofs import t3_linearized as t3
from proofs import t4_relu_blocks as t4
from proofs import t5_closed_form_gram as t5
from proofs import t5a_schur_rank as t5a
from proofs import t5b_dead_units as t5b
from proofs import t6_kronecker_l2 as t6
from proofs import t7_infinite_width as t7
from proofs import t8_trainability as t8
from proofs import t9_quadratic_model as t9


def _plain(value):
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(_plain(v) for v in np.asarray(value).ravel())
    return float(value) if isinstance(value, (int, float, np.number)) else value


class RecordingGenerator:
    """``numpy.random.default_rng(seed)`` that records (method, positional arguments) → the
    values it returned."""

    def __init__(self, seed: int = 0):
        self._rng = np.random.default_rng(seed)
        self.calls: dict = {}

    def __getattr__(self, name):
        method = getattr(self._rng, name)

        def call(*args, **kwargs):
            value = method(*args, **kwargs)
            key = (name, tuple(_plain(a) for a in args))
            self.calls.setdefault(key, []).extend(np.ravel(value).tolist())
            return value

        return call


def recorded(module, trials: int | None = None):
    """The draws of ``module`` on its seeded trials and the recording generator."""
    rng = RecordingGenerator(0)
    draws = [module.draw(rng, trial) for trial in range(trials or module.FALSIFIER_TRIALS)]
    return draws, rng.calls


# (method, documented range) each module's draw must use, with the values it must reach:
# integers(lo, hi) must return every value lo … hi − 1 (for at most 8 values; else reach the
# lowest and highest fifth); uniform(lo, hi) must stay in the range and reach its lowest and
# highest fifth.
RANGES = {
    "T1": [("uniform", (-3, 3))],
    "T2": [("integers", (1, 4)), ("uniform", (0.02, 1.0))],
    "T2a": [("integers", (2, 8)), ("integers", (-5, 6))],
    "T3": [("integers", (1, 5)), ("integers", (1, 4))],
    "T4": [("integers", (2, 4)), ("uniform", (0.5, 2.0)), ("uniform", (0.2, 1.5))],
    "T5": [("integers", (2, 5)), ("integers", (2, 4))],
    "T5a": [("integers", (1, 5)), ("integers", (1, 4)), ("uniform", (0.5, 2.0))],
    "T5b": [("integers", (1, 4)), ("integers", (1, 6)), ("uniform", (0.5, 2))],
    "T6": [("integers", (1, 6)), ("uniform", (0.2, 2.0))],
    "T7": [("uniform", (0.2, 3.0, 2)), ("uniform", (-0.95, 0.95)), ("uniform", (0.5, 2.0)),
           ("uniform", (0.0, 1.0)), ("integers", (1, 16, 2)), ("integers", (1, 5)),
           ("uniform", (0.0, 2.0))],
    "T8": [("integers", (1, 7)), ("integers", (1, 8)), ("integers", (1, 5)),
           ("uniform", (0.05, 2.5)), ("integers", (1, 6)), ("uniform", (0.0, 1.3)),
           ("uniform", (0.05, 1.0)), ("uniform", (0, 3))],
    "T9": [("integers", (1, 7)), ("uniform", (0.05, 1.0)), ("uniform", (0.05, 1.6)),
           ("uniform", (-3, 3))],
}
MODULES = {m.THEOREM.id: m for m in (t1, t2, t2a, t3, t4, t5, t5a, t5b, t6, t7, t8, t9)}
def draws_of(theorem_id: str):
    """The module's draws, made anew in each test: no cache, so that a tool that maps each test
    to the code it runs (mutmut) sees every test that calls ``draw``."""
    return recorded(MODULES[theorem_id])


@pytest.mark.parametrize("theorem_id", sorted(RANGES))
def test_the_documented_distributions_are_drawn_over_their_whole_range(theorem_id):
    _, calls = draws_of(theorem_id)
    for method, args in RANGES[theorem_id]:
        values = [call for (name, given), drawn in calls.items()
                  if name == method and given[:2] == args[:2] for call in drawn]
        assert values, f"{theorem_id}: no draw from {method}{args}"
        low, high = args[:2]
        if method == "integers" and high - low <= 8:
            assert set(values) == set(range(low, high)), (theorem_id, method, args)
            continue
        high = high - 1 if method == "integers" else high
        fifth = (high - low) / 5
        assert low <= min(values) <= low + fifth and high - fifth <= max(values) <= high, \
            (theorem_id, method, args, min(values), max(values))


def _values(theorem_id, claim, symbol):
    draws, _ = draws_of(theorem_id)
    return [d[claim][symbol] for d in draws if claim in d]


def test_networks_cover_depths_one_to_four():
    for theorem_id, claim, depth in (("T4", "f_blocks", t4.L), ("T5", "gram", t5.L),
                                     ("T5b", "null_count", t5b.L),
                                     ("T7", "orthogonal_invariance", t7.L)):
        assert sorted(set(_values(theorem_id, claim, depth))) == [1, 2, 3, 4], theorem_id
    assert sorted(set(_values("T7", "library_recursion", t7.L))) == [0, 1, 2, 3, 4]


def test_sizes_and_cases_cover_the_documented_ranges():
    # T1: N above and below p, and both output Hessians (identity, softmax of rank k − 1)
    t1_values = [d["ggn_factor"] for d in draws_of("T1")[0]]
    assert any(v[t1.N] > v[t1.p] for v in t1_values)
    assert any(v[t1.N] < v[t1.p] for v in t1_values)
    deficits = {v[t1.N] - int(np.linalg.matrix_rank(v[t1.H])) for v in t1_values}
    assert 0 in deficits and max(deficits) > 0
    # … the identity (mse) also with several outputs per sample, not only where k = 1
    assert any(v[t1.N] > v[t1.n] and np.array_equal(v[t1.H], np.eye(v[t1.N])) for v in t1_values)
    # T2: the cases in turn (mse, uniform, binary, ce) beside the bracket and the ranks
    cases = [set(d) - {"bracket", "rank_lower", "rank_upper"} for d in draws_of("T2")[0]]
    assert cases == [[{"mse"}, {"uniform"}, {"binary"}, {"ce"}][t % 4] for t in range(len(cases))]
    # T2a: k = 2 … 7; T3: n = 1 … 4 samples, k = 1 … 3 outputs, both losses
    assert set(_values("T2a", "kernel", t2a.k)) == set(range(2, 8))
    assert set(_values("T3", "real", t3.n)) == {1, 2, 3, 4}
    assert set(_values("T3", "real", t3.k)) == {1, 2, 3}
    # T5a: n = 1 … 4 samples, k = 1 … 3 outputs, fan-in and width 1 … 4 (read from the shapes
    # of H and Δ: the integer draws for the planted ranks use the same ranges)
    t5a_values = [d["rank_bound"] for d in draws_of("T5a")[0]]
    assert {v[t5a.H].shape[0] for v in t5a_values} == {1, 2, 3, 4}
    assert {v[t5a.H].shape[1] for v in t5a_values} == {1, 2, 3, 4}
    assert {v[t5a.Delta].shape[0] // v[t5a.H].shape[0] for v in t5a_values} == {1, 2, 3}
    assert {v[t5a.Delta].shape[1] for v in t5a_values} == {1, 2, 3, 4}
    # T6: factor sizes 1 … 5; T7: n ∈ {2, 3, 4}, d ∈ {2, 4}
    assert set(_values("T6", "mixed_product", t6.a)) == set(range(1, 6)) \
        == set(_values("T6", "mixed_product", t6.b)) == set(_values("T6", "l2_shift", t6.p))
    inputs = _values("T7", "orthogonal_invariance", t7.X)
    assert {x.shape for x in inputs} == {(n, d) for n in (2, 3, 4) for d in (2, 4)}
    # T8: N = 1 … 6, n = 1 … 4, T = 1 … 5; ε and η on both sides of the conditions
    lower = _values("T8", "lower", t8.N)
    assert set(lower) == set(range(1, 7))
    assert set(_values("T8", "lower", t8.n)) == {1, 2, 3, 4}
    assert set(_values("T8", "lower", t8.T)) == {1, 2, 3, 4, 5}
    common = [d["lower"] for d in draws_of("T8")[0]]
    assert any(v[t8.eta] * v[t8.eps] > v[t8.n] for v in common)
    assert any(v[t8.eta] * (v[t8.lam_max] + v[t8.eps]) > 2 * v[t8.n] for v in common)
    assert any(v[t8.eta] * (v[t8.lam_max] + v[t8.eps]) <= 2 * v[t8.n] for v in common)
    # T9: sizes 1, 2, 3, 5, 8; exact zero eigenvalues; ε = 0; steps past the step condition
    values = [d["decrease"] for d in draws_of("T9")[0]]
    assert {v[t9.p] for v in values} == {1, 2, 3, 5, 8}
    assert any((v[t9.lam[t9.j]] == 0).any() for v in values)
    assert any(v[t9.eps] == 0 for v in values) and any(v[t9.eps] > 0 for v in values)
    assert any(v[t9.eta] * v[t9.lam[t9.j]].max() > 2 for v in values)


def test_dead_units_are_planted_in_some_draws():
    dead = [d["null_count"][t5b.d[t5b.l]] for d in draws_of("T5b")[0] if d]
    assert len(dead) >= t5b.FALSIFIER_TRIALS // 2
    assert any(count.sum() == 0 for count in dead) and any(count.sum() > 0 for count in dead)


def test_t3_draws_both_losses_with_their_own_targets(monkeypatch):
    """T3's network is trained with mse (Gaussian targets) on some draws and with softmax
    cross-entropy (one-hot targets) on others."""
    seen = []
    original = t3._loss_derivatives

    def recording(u, target, kind):
        seen.append((kind, np.asarray(target)))
        return original(u, target, kind)

    monkeypatch.setattr(t3, "_loss_derivatives", recording)
    recorded(t3)
    assert {kind for kind, _ in seen} == {"mse", "ce"}
    one_hot = [((target == 0) | (target == 1)).all() and (target.sum(axis=1) == 1).all()
               for _, target in seen]
    assert all(hot for (kind, _), hot in zip(seen, one_hot, strict=True) if kind == "ce")
    assert not any(hot for (kind, _), hot in zip(seen, one_hot, strict=True) if kind == "mse")


def test_t5_draws_two_inputs_and_t6_thresholds_below_every_positive_product():
    gram = [d["gram"] for d in draws_of("T5")[0]]
    assert all(not np.allclose(v[t5.X.z[t5.j, t5.v]], v[t5.Xp.z[t5.j, t5.v]]) for v in gram)
    ranks = [d["eps_rank_count"] for d in draws_of("T6")[0]]
    full = [int(np.sum(np.outer(v[t6.alpha[t6.i]], v[t6.s[t6.j]]) > 0)) == v[t6.rank_eps]
            for v in ranks]
    assert all(full[::2]) and not all(full[1::2])
