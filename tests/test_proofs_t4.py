"""T4 (ReLU layer blocks): regressions of issue 33 and numeric facts computed independently.

The numbers here come from a small float64 numpy MLP written in this file (central differences
of its forward pass), independent of ``proofs`` and of ``linrelu``.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from proofs import t4_relu_blocks as t4
from proofs._statement import ProofError, Report

VARIANTS = t4.false_variants()


# -- an independent numpy network ------------------------------------------------------------------
def _network(seed, widths, n_inputs=2, margin=0.05):
    """Random parameters and inputs with every pre-activation away from 0 and an active unit in
    every hidden layer at every input (so no layer cuts the network off)."""
    rng = np.random.default_rng(seed)
    while True:
        params = [(rng.normal(size=(widths[r - 1], widths[r])), rng.normal(size=widths[r]))
                  for r in range(1, len(widths))]
        X = rng.normal(size=(n_inputs, widths[0]))
        pre = _forward(params, X)[1]
        if (min(np.abs(z).min() for z in pre[:-1]) > margin
                and all((z > 0).any(axis=1).all() for z in pre[:-1])):
            return params, X


def _forward(params, X, sw=1.3, sb=0.7):
    h, pre = X, []
    for r, (W, b) in enumerate(params, start=1):
        z = sw / np.sqrt(W.shape[0]) * h @ W + sb * b
        pre.append(z)
        h = np.maximum(z, 0.0) if r < len(params) else z
    return h, pre


def _flat(params):
    return np.concatenate([np.concatenate([W.ravel(), b]) for W, b in params])


def _unflat(theta, widths):
    out, start = [], 0
    for r in range(1, len(widths)):
        size = widths[r - 1] * widths[r]
        out.append((theta[start:start + size].reshape(widths[r - 1], widths[r]),
                    theta[start + size:start + size + widths[r]]))
        start += size + widths[r]
    return out


def _slices(widths):
    out, start = [], 0
    for r in range(1, len(widths)):
        size = widths[r - 1] * widths[r] + widths[r]
        out.append(slice(start, start + size))
        start += size
    return out


def _hessian(widths, params, X, output=0, step=1e-3):
    """∇²_θ f_output(x_0) by nested central differences of the forward pass."""
    theta = _flat(params)

    def f(point):
        return _forward(_unflat(point, widths), X)[0][0, output]

    size = theta.size
    hess = np.zeros((size, size))
    for p in range(size):
        for q in range(size):
            ep, eq = np.eye(size)[p] * step, np.eye(size)[q] * step
            hess[p, q] = (f(theta + ep + eq) - f(theta + ep - eq) - f(theta - ep + eq)
                          + f(theta - ep - eq)) / (4 * step**2)
    return hess


def test_the_cross_block_three_layers_apart_is_not_zero_at_depth_three():
    """Issue 33, class C: at depth 3 the (θ_1, θ_4) block of ∇²f is not zero, the diagonal
    blocks are (numbers from this file's numpy network)."""
    widths = (2, 3, 3, 3, 2)
    params, X = _network(3, widths)
    hess = _hessian(widths, params, X)
    blocks = _slices(widths)
    assert np.abs(hess[blocks[0], blocks[3]]).max() > 1e-2
    for block in blocks:
        assert np.abs(hess[block, block]).max() < 1e-6


def test_the_variant_claiming_the_block_three_layers_apart_is_rejected():
    with pytest.raises(ProofError, match="diagonal block"):
        t4.check(VARIANTS["block_three_layers_apart"])


def test_the_sampled_networks_alone_reject_it_at_depth_three_but_not_below(monkeypatch):
    """The old check sampled depth 2 only, where l + 3 is never a layer: the same cross-check
    restricted to depths 1 and 2 passes the false claim, the depth-3 sample rejects it."""
    variant, samples = VARIANTS["block_three_layers_apart"], t4.SAMPLES
    monkeypatch.setattr(t4, "SAMPLES", samples[:2])
    t4._sampled(Report(variant))
    monkeypatch.setattr(t4, "SAMPLES", samples[2:3])
    with pytest.raises(ProofError, match="claimed block fails at depth 3, layers 1 and 4"):
        t4._sampled(Report(variant))


def test_the_check_proves_at_a_symbolic_layer_and_samples_depths_one_to_four():
    report = t4.check()
    assert any("on r, from s" in step for step in report.inductions)
    assert any("on r, from 0" in step for step in report.inductions)
    depths = sorted(int(name.split()[1]) for name in report.instances)
    assert depths == [1, 2, 3, 4]


def test_a_statement_that_claims_too_little_is_noticed_on_the_samples():
    """Sharpness: a block that vanishes on every sample but is left out of the claim."""
    vacuous = t4.THEOREM.with_claim("f_blocks", hypotheses=(sp.Eq(t4.l, 1), sp.Eq(t4.l_prime, 1)))
    with pytest.raises(ProofError, match="vanishes at depth 1 but is not claimed"):
        t4._sampled(Report(vacuous))


@pytest.mark.parametrize("name", ["cross_block_too", "smooth_activation", "step_forgets_mask",
                                  "step_not_affine"])
def test_the_old_mutants_are_rejected_as_statements(name):
    with pytest.raises(AssertionError):
        t4.check(VARIANTS[name])


# -- one false variant per class of issue 33 that T4 touches ---------------------------------------
def test_class_a_a_changed_hypothesis_prints_and_is_checked():
    variant = VARIANTS["upper_triangle"]
    assert variant.render() != t4.THEOREM.render()
    with pytest.raises(ProofError):
        t4.check(variant)


def test_class_b_the_ggn_is_read_from_the_statement():
    with pytest.raises(ProofError, match="sums differ"):
        t4.check(VARIANTS["ggn_without_one_over_n"])


def test_class_d_the_induction_step_meets_the_claims_own_network():
    with pytest.raises(ProofError, match="affinity step"):
        t4.check(VARIANTS["step_not_affine"])


def test_class_e_the_loss_claim_uses_f_blocks_only_under_its_conditions():
    with pytest.raises(ProofError):
        t4.check(VARIANTS["loss_cross_blocks"])


def test_class_f_a_matrix_no_proof_covers_is_rejected():
    with pytest.raises(ProofError, match="no proof covers"):
        t4.check(VARIANTS["wrong_matrix_loss_hessian_zero"])


def test_class_g_every_branch_of_the_mask_is_honoured():
    with pytest.raises(ProofError, match="constant on an open half-line"):
        t4.check(VARIANTS["mask_not_constant_below_zero"])


def test_diagonal_loss_blocks_equal_the_ggn_for_cross_entropy():
    """[∇²L]_ll = [Ĝ]_ll and a cross block differs, for the cross-entropy loss (numbers from
    this file's network: the loss Hessian by nested central differences, Ĝ from the Jacobian by
    central differences)."""
    widths = (2, 3, 3, 3)
    params, X = _network(5, widths, n_inputs=3)
    labels = np.array([0, 2, 1])
    theta, step = _flat(params), 1e-3

    def logits(point):
        return _forward(_unflat(point, widths), X)[0]

    def loss(point):
        out = logits(point)
        out = out - out.max(axis=1, keepdims=True)
        return np.mean(np.log(np.exp(out).sum(axis=1)) - out[np.arange(3), labels])

    size = theta.size
    eye = np.eye(size) * step
    jac = np.stack([(logits(theta + eye[q]) - logits(theta - eye[q])) / (2 * step)
                    for q in range(size)], axis=-1)
    probs = np.exp(logits(theta) - logits(theta).max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    ggn = sum(jac[i].T @ (np.diag(probs[i]) - np.outer(probs[i], probs[i])) @ jac[i]
              for i in range(3)) / 3
    hess = np.array([[(loss(theta + eye[p] + eye[q]) - loss(theta + eye[p] - eye[q])
                       - loss(theta - eye[p] + eye[q]) + loss(theta - eye[p] - eye[q]))
                      / (4 * step**2) for q in range(size)] for p in range(size)])
    blocks = _slices(widths)
    for block in blocks:
        assert np.allclose(hess[block, block], ggn[block, block], atol=1e-5)
    assert np.abs(hess[blocks[0], blocks[2]] - ggn[blocks[0], blocks[2]]).max() > 1e-3


def test_the_falsifier_finds_the_false_block_on_random_networks():
    from proofs._statement import falsify

    counts = falsify(VARIANTS["block_three_layers_apart"], t4.draw, 40)
    assert counts["f_blocks"]["violations"]
    assert not falsify(t4.THEOREM, t4.draw, 8)["f_blocks"]["violations"]


def test_loss_blocks_need_the_blocks_of_every_output():
    """A true but weaker f_blocks (output 1 only) cannot carry the loss claim."""
    weaker = t4.THEOREM.with_claim("f_blocks", conclusion=sp.Eq(t4.hessian_f[1, t4.l,
                                                                             t4.l_prime], 0))
    with pytest.raises(ProofError, match="every output"):
        t4.check(weaker)


def test_the_layer_induction_refuses_a_pre_activation_it_does_not_follow():
    """The induction over layers follows pre-activations through activations only: a
    pre-activation that reads another pre-activation directly is refused, not miscounted."""
    z_def = t4.net.definition(t4.THEOREM.definitions, t4.X.z)
    skip = t4.defs.equation(z_def.lhs, z_def.rhs + t4.defs.sigma_b * t4.X.z[t4.j - 1, t4.v])
    variant = t4.THEOREM.replace(definitions=tuple(skip if d == z_def else d
                                                   for d in t4.THEOREM.definitions))
    with pytest.raises(ProofError, match="left undefined"):
        t4.check(variant)
