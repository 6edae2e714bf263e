"""The guards of the shared proof machinery refuse malformed input with a message that names what
is wrong (no false variant of a theorem reaches these guards; each is triggered here directly).
Every expected message is typed here, not computed by the code under test."""

from __future__ import annotations

import pytest
import sympy as sp

from proofs import _network as net
from proofs import _smt, _sym
from proofs._statement import Claim, ProofError, Report, Theorem, evaluate_expr, evaluate_relation

x, y = sp.symbols("x y", real=True)
i, k, j_ = sp.symbols("i k j", integer=True)
f = sp.IndexedBase("f")
THEOREM = Theorem(id="T0", variables=(x,), hypotheses=(sp.Ge(x, 0),),
                  claims=(Claim("probe", sp.Ge(x, 0)),),
                  definitions=(sp.Eq(f[i], x * i, evaluate=False),))


def failure(call, *args, **kwargs) -> str:
    """The message of the ``ProofError`` that ``call`` raises."""
    with pytest.raises(ProofError) as info:
        call(*args, **kwargs)
    return str(info.value)


def test_theorem_guards():
    with pytest.raises(ValueError) as info:
        THEOREM.claim("other")
    assert str(info.value) == "claim must be one of ['probe'], got 'other'"
    circular = THEOREM.replace(definitions=(sp.Eq(x, y + 1, evaluate=False),
                                            sp.Eq(y, x - 1, evaluate=False)))
    with pytest.raises(ValueError) as info:
        circular.expand(x)
    assert str(info.value) == "definitions of T0 are circular"


def test_report_guards():
    report = Report(THEOREM)
    a, b = sp.MatrixSymbol("a", 2, 2), sp.MatrixSymbol("b", 2, 2)
    assert failure(report.matrix_identity, "m", a, b) == \
        "T0 m: matrix identity fails, difference a − b"
    assert failure(report.entrywise, "e", sp.Matrix([[x]]), sp.Matrix([[x, y]])) == \
        "T0 e: shapes (1, 1) and (1, 2) differ"
    assert failure(report.entrywise, "e", sp.Matrix([[x, y]]), sp.Matrix([[x, x]])) == \
        "T0 e: entry (0, 1) differs: y = x"
    assert failure(report.holds, "h", sp.false) == "T0 h: not established (False)"
    assert failure(report.holds, "h", 1) == "T0 h: not established (1)"
    assert failure(report.implies, "i", [], sp.Ge(1 / x, 0)) == \
        "T0 i: the solver does not prove 1/x ≥ 0 from the hypotheses (unknown)"
    assert report.identities == [] and report.solver == []
    report.entrywise("e", sp.Matrix([[x + x]]), sp.Matrix([[2 * x]]))
    report.holds("h", True)
    report.holds("g", sp.true)
    assert report.identities == ["e", "h", "g"]
    assert report.proves("p", [sp.Ge(x, 1)], sp.Ge(x, 0))
    assert not report.proves("q", [sp.Ge(x, 0)], sp.Ge(x, 1))
    assert report.proves("r", [], sp.true)
    assert report.solver == ["p"]


def test_evaluation_guards():
    with pytest.raises(ValueError) as info:
        evaluate_relation(x + 1, {x: 1.0})
    assert str(info.value) == "relation must be a sympy relation or boolean, got x + 1"
    with pytest.raises(ValueError) as info:
        evaluate_expr(x + y, {x: 1.0})
    assert str(info.value) == "values must give every free symbol; missing [y]"
    total = sp.Sum(f[i], (i, 0, k - 1))
    with pytest.raises(ValueError) as info:
        evaluate_expr(total, {k: 2, f[i]: [1.0, 2.0, 3.0]})
    assert str(info.value) == ("a sum over 2 indices has 3 terms: the values do not match the "
                               "limits ((i, 0, k - 1),)")
    with pytest.raises(ValueError, match="^a sum over 3 indices has 2 terms"):
        evaluate_expr(total, {k: 3, f[i]: [1.0, 2.0]})
    assert evaluate_expr(total, {k: 3, f[i]: [1.0, 2.0, 4.0]}) == 7.0
    assert evaluate_expr(total, {k: 3, f[i]: [5.0]}) == 5.0  # one value: the summand as given
    double = sp.Sum(x, (i, 0, k - 1), (j_, 1, 2))
    assert evaluate_expr(double, {k: 3, x: 2.0}) == 12.0


def test_a_counterexample_through_an_abstracted_term_is_unknown_not_refuted():
    total = sp.Sum(f[i], (i, 0, k))
    decision = _smt.decide((sp.Ge(x, 0),), sp.Ge(total, x))
    assert decision.verdict == "unknown" and set(decision.model) >= {x}
    assert decision.reason == "counterexample over abstracted terms (may be spurious)"
    refuted = _smt.decide((sp.Ge(x, 0),), sp.Ge(x, 1))
    assert refuted.verdict == "refuted" and refuted.model[x] < 1 and refuted.reason == ""
    assert _smt.decide((sp.Ge(x, 1),), sp.Ge(total + x, total)).verdict == "proved"


def test_solver_fragment_guard():
    with pytest.raises(ValueError) as info:
        _smt.decide((), sp.Contains(x, sp.Interval(0, 1)))
    assert str(info.value) == ("expression outside the solver's fragment: "
                               "Contains(x, Interval(0, 1))")


def test_network_guards():
    report = Report(THEOREM)
    g = sp.IndexedBase("g")
    assert failure(net.definition, THEOREM.definitions, g) == \
        "the statement must define g once, found 0 definitions"
    twice = THEOREM.definitions * 2
    assert failure(net.definition, twice, f) == \
        "the statement must define f once, found 2 definitions"
    assert net.definition(THEOREM.definitions, f) is THEOREM.definitions[0]
    assert failure(net.instantiate, THEOREM.definitions[0], i, k) == \
        "the definition of f_i is not a definition at generic indices"
    fixed = sp.Eq(f[1], x, evaluate=False)
    assert failure(net.instantiate, fixed, k) == \
        "the definition of f_1 is not a definition at generic indices"
    assert net.instantiate(THEOREM.definitions[0], k + 1) == x * (k + 1)
    choice = sp.Piecewise((x, y > 0), (-x, True))
    assert failure(net.resolve_piecewise, report, "r", choice, ()) == \
        "T0 r: the facts decide neither y > 0 nor its negation"
    never = sp.Piecewise((x, y > 0), (-x, y > 1))
    assert failure(net.resolve_piecewise, report, "r", never, (sp.Le(y, 0),)) == \
        "T0 r: no branch of {x if y > 0; −x if y > 1} applies"
    assert net.resolve_piecewise(report, "r", choice, (sp.Le(y, 0),)) == -x
    assert report.solver == ["r: branch excluded"] * 3
    assert failure(net.same_layer, report, "s", (), i, k) == \
        "T0 s: the facts do not tell the layers i and k apart"
    assert net.same_layer(report, "s", (), i + 1, 1 + i)
    assert not net.same_layer(report, "s", (sp.Gt(k, i),), i, k)
    assert failure(net.sums_identity, report, "u", sp.Sum(f[i], (i, 0, k)),
                   sp.Sum(f[i], (i, 1, k))) == \
        "T0 u: the sums differ: Σ_{i=0}^{k} f_i = Σ_{i=1}^{k} f_i"


def test_double_sum_guards():
    j = sp.Symbol("j", integer=True)
    double = sp.Sum(f[i] * f[j], (i, 0, k), (j, 0, k))
    left, right = sp.Sum(f[i], (i, 0, k)), sp.Sum(f[j], (j, 0, k))
    _sym.assert_double_sum_factorizes(double, left, right, "w")
    with pytest.raises(AssertionError) as info:
        _sym.assert_double_sum_factorizes(double, sp.Sum(f[i], (i, 1, k)), right, "w")
    assert str(info.value) == "summation ranges differ: w"
    with pytest.raises(AssertionError) as info:
        _sym.assert_double_sum_factorizes(double, sp.Sum(f[i] * j, (i, 0, k)), right, "w")
    assert str(info.value) == "a factor depends on the other index: w"
    with pytest.raises(AssertionError) as info:
        _sym.assert_double_sum_factorizes(double, sp.Sum(2 * f[i], (i, 0, k)), right, "w")
    assert str(info.value) == "summand is not the product of the factors: w"
    with pytest.raises(AssertionError) as info:
        _sym.check_telescoping_lemma(variant_factor=2)
    assert str(info.value) == "identity fails: telescoping lemma, induction step"


def test_a_negated_condition_is_printed_in_words():
    """A solver step on the negation of a condition prints it in words when it fails."""
    from proofs._render import render

    assert render(sp.Not(sp.Or(x > 0, y > 0))) == "not (x > 0 or y > 0)"
    message = failure(Report(THEOREM).implies, "n", [], sp.Not(sp.And(x > 0, y > 0)))
    assert message.startswith("T0 n: the solver does not prove not (x > 0 and y > 0) from the "
                              "hypotheses (counterexample x = ")


def test_the_taylor_expansion_starts_at_the_sample_networks_outputs():
    """The exact expansion of a sampled network's outputs along random directions has, as its
    constant term, the network's own outputs at the point (its masks, σ_w/√m scaling)."""
    sample = net.sample_network(0, (2, 3, 2), 2)
    steps = sp.symbols("s1 s2", real=True)
    for x, masks, outputs in zip(sample.inputs, sample.masks,
                                 net.taylor_outputs(sample, 0, steps), strict=True):
        h = x
        for r, (W, bias) in enumerate(zip(sample.weights, sample.biases, strict=True), start=1):
            z = sample.sigma_w / sp.sqrt(W.rows) * W.T * h + sample.sigma_b * bias
            h = sp.diag(*masks[r - 1]) * z if r < len(sample.weights) else z
        assert [value.get((0, 0), 0) for value in outputs] == [sp.expand(v) for v in h]
        assert any(value.get((0, 1), 0) != 0 for value in outputs)


def test_the_falsifiers_rank_counts_singular_values_above_round_off():
    """rank(·) as the falsifier evaluates it: a 0 × 0 matrix has rank 0 (no singular value),
    a rank-one outer product rank 1, a relative perturbation of 1e-12 is round-off."""
    import numpy as np

    from proofs import _defs

    assert _defs._numeric_rank(np.zeros((0, 0))) == 0
    outer = np.outer([1.0, 2.0, 3.0], [1.0, -1.0])
    assert _defs._numeric_rank(outer) == 1
    assert _defs._numeric_rank(outer + 1e-12 * np.eye(3, 2)) == 1
    assert _defs._numeric_rank(outer + 1e-6 * np.eye(3, 2)) == 2
    assert _defs._numeric_rank(np.zeros((2, 2))) == 0


def test_the_witness_network_realizes_the_requested_activation_pattern():
    """realizing_witness returns a numeric point whose ReLU network (σ_w = σ_b = 1, recomputed
    here) has exactly the requested masks at every hidden layer, deeper layers included."""
    import numpy as np

    masks = (((1, 0), (0, 1)), ((1, 1), (0, 1)))  # two inputs, two hidden layers of width 2
    witness = net.make_net((2, 2, 2, 1), masks)
    X, weights, biases = net.realizing_witness(witness)
    h = X
    for layer, (W, bias) in enumerate(zip(weights[:-1], biases[:-1], strict=True)):
        z = h @ W / np.sqrt(W.shape[0]) + bias
        assert (z > 0).astype(int).tolist() == [list(row) for row in masks[layer]]
        h = np.maximum(z, 0.0)


def test_the_symbolic_network_computes_the_scaled_forward_pass():
    """make_net's forward pass against numpy: z_l = σ_w/√m_{l−1} W_lᵀ h_{l−1} + σ_b b_l,
    h_l = D_l z_l, at widths that differ layer to layer (so a width read from the wrong layer
    changes the outputs)."""
    import numpy as np

    widths, masks = (5, 3, 4, 2), (((1, 0, 1),), ((1, 1, 0, 1),))
    sym = net.make_net(widths, masks)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1, widths[0]))
    Ws = [rng.normal(size=(a, b)) for a, b in zip(widths[:-1], widths[1:], strict=True)]
    bs = [rng.normal(size=b) for b in widths[1:]]
    sw, sb = 1.3, 0.7
    values = {sym.sigma_w: sw, sym.sigma_b: sb,
              **{s: v for s, v in zip(sym.X, X.ravel(), strict=True)}}
    for Wr, W_num, br, b_num in zip(sym.weights, Ws, sym.biases, bs, strict=True):
        values.update(zip(Wr, W_num.ravel(), strict=True))
        values.update(zip(br, b_num, strict=True))
    h = X[0]
    for r, (W_num, b_num) in enumerate(zip(Ws, bs, strict=True), start=1):
        z = sw / np.sqrt(widths[r - 1]) * W_num.T @ h + sb * b_num
        h = np.asarray(masks[r - 1][0]) * z if r < len(Ws) else z
    got = np.array(sym.outputs().subs(values).evalf(), dtype=float).ravel()
    np.testing.assert_allclose(got, h, rtol=1e-12)  # exact arithmetic vs float64 round-off


def test_negated_and_implied_relations_are_evaluated_from_their_parts():
    x = sp.Symbol("x", real=True)
    between = sp.Not(sp.And(sp.Gt(x, 1), sp.Lt(x, 3)))  # sympy keeps Not of a conjunction
    assert isinstance(between, sp.Not)
    assert evaluate_relation(between, {x: 0.5}) and not evaluate_relation(between, {x: 2.0})
    assert evaluate_relation(sp.Implies(sp.Gt(x, 1), sp.Gt(x, 0)), {x: 2.0})
    assert not evaluate_relation(sp.Implies(sp.Gt(x, 0), sp.Gt(x, 1)), {x: 0.5})


def test_listed_values_are_evaluated_as_float64_arrays():
    """A list or tuple of integers is a float64 array (numpy's integer arrays reject negative
    powers and wrap around on overflow)."""
    f, i = sp.IndexedBase("f"), sp.Idx("i")
    assert evaluate_expr(f[i] ** -1, {f[i]: [2, 4]}).tolist() == [0.5, 0.25]
    assert evaluate_expr(f[i] ** 40, {f[i]: (3,)}).tolist() == [3.0**40]
