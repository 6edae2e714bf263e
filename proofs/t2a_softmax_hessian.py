r"""T2a — bounds on the softmax cross-entropy output Hessian (lemma for T2).

Statement
---------
For p in the open simplex (p_c > 0, Σ_c p_c = 1) let ``H = diag p − ppᵀ``. Then
``H𝟙 = 0`` and, for every x ⊥ 𝟙,

    p_min ‖x‖² ≤ xᵀHx ≤ min(p_max, ½) ‖x‖².

So with ``P = I − 𝟙𝟙ᵀ/k``: ``H = PHP`` and ``p_min P ≼ H ≼ min(p_max, ½) P``.

Proof
-----
``H𝟙 = p − p(pᵀ𝟙) = p − p = 0``. Write ``x̄ = Σ_c p_c x_c``; then
``xᵀHx = Σ_c p_c x_c² − x̄² = Σ_c p_c (x_c − x̄)²`` (a variance under p).

*Lower bound (x ⊥ 𝟙).* Order the classes so that p_1 = p_min. Since Σ_c x_c = 0,
``Σ_c (x_c − x̄)² = ‖x‖² + k x̄²``, hence the exact decomposition

    xᵀHx − p_min‖x‖² = Σ_c (p_c − p_min)(x_c − x̄)² + k · p_min · x̄²  ≥ 0.          (L)

*Upper bound p_max (any x).*  ``p_max‖x‖² − xᵀHx = Σ_c (p_max − p_c) x_c² + x̄² ≥ 0``.    (U1)

*Upper bound ½ (any x).* Using Σ p_c = 1,
``xᵀHx = Σ_{c<d} p_c p_d (x_c − x_d)²`` and
``Σ_c p_c(1 − p_c) x_c² = Σ_{c<d} p_c p_d (x_c² + x_d²)``,
which give the exact decomposition

    ½‖x‖² − xᵀHx = ½ Σ_c (1 − 2p_c)² x_c² + Σ_{c<d} p_c p_d (x_c + x_d)²  ≥ 0.        (U2)

(U1) and (U2) give the upper bound min(p_max, ½). Restricting to the invariant subspace 𝟙^⊥ and
using ``H𝟙 = 0`` gives the Loewner form. Both constants are attained (k = 2: xᵀHx/‖x‖² =
2p_1p_2, equal to p_min and to ½ at p = (½, ½)), so neither bound can be improved
in general. ∎

What ``check()`` verifies symbolically
--------------------------------------
For k = 2, 3, 4 with fully symbolic p (p_k eliminated by Σ p = 1) and symbolic x: ``H𝟙 = 0``;
the decompositions (L) (with x_k eliminated by Σ x = 0, p_1 playing p_min), (U1) (p_1 playing
p_max) and (U2) are *identities*, and each term is a nonnegative coefficient × atoms known to be
≥ 0 (p_c, p_c − p_min, p_max − p_c) × a square. The relabelling "p_1 is the min / max" is the only
step not done by sympy (the expressions are invariant under permuting p and x together). General
k rests on the prose proof (the decompositions are written for general k above).
"""

from __future__ import annotations

import sympy as sp

from proofs._sym import assert_matrix_identity, assert_nonneg_certificate, choose_variant

ID = "T2a"
STATEMENT = "x ⊥ 𝟙: p_min‖x‖² ≤ xᵀ(diag p − ppᵀ)x ≤ min(p_max, ½)‖x‖²; (diag p − ppᵀ)𝟙 = 0"
CHECKED = "SOS-type certificates (L), (U1), (U2) as identities on the simplex, k = 2, 3, 4"
MUTANTS = {
    "lower_constant_doubled": "claims 2·p_min‖x‖² ≤ xᵀHx",
    "upper_half_to_quarter": "claims xᵀHx ≤ ¼‖x‖²",
    "hessian_sign_flipped": "uses H = diag p + ppᵀ (swapped sign of the rank-one term)",
}

SIZES = (2, 3, 4)


def softmax_hessian(p: sp.Matrix, variant: str | None = None) -> sp.Matrix:
    """Output Hessian of −log softmax(f)_y with respect to f: ``diag p − ppᵀ``."""
    sign = 1 if variant == "hessian_sign_flipped" else -1
    return sp.diag(*p) + sign * p * p.T


def _check_size(k: int, variant: str | None) -> None:
    p = sp.Matrix(sp.symbols(f"p1:{k + 1}", positive=True))
    x = sp.Matrix(sp.symbols(f"x1:{k + 1}", real=True))
    on_simplex = {p[k - 1]: 1 - sum(p[:k - 1])}
    centred = {x[k - 1]: -sum(x[:k - 1])}
    H = softmax_hessian(p, variant)
    quad = (x.T * H * x)[0, 0]
    norm2 = (x.T * x)[0, 0]
    xbar = (p.T * x)[0, 0]

    ones = sp.ones(k, 1)
    assert_matrix_identity((H * ones).subs(on_simplex), sp.zeros(k, 1), f"H𝟙 = 0 (k={k})")

    lower_const = 2 if variant == "lower_constant_doubled" else 1
    p_min = p[0]  # relabelled so that p_1 = min_c p_c
    assert_nonneg_certificate(
        quad - lower_const * p_min * norm2,
        [(1, [p[c] - p_min], x[c] - xbar) for c in range(1, k)] + [(k, [p_min], xbar)],
        nonneg_atoms=[p_min] + [p[c] - p_min for c in range(1, k)],
        what=f"(L) xᵀHx − p_min‖x‖² ≥ 0 for x ⊥ 𝟙 (k={k})",
        substitutions={**centred, **on_simplex},
    )

    p_max = p[0]  # relabelled so that p_1 = max_c p_c
    assert_nonneg_certificate(
        p_max * norm2 - quad,
        [(1, [p_max - p[c]], x[c]) for c in range(1, k)] + [(1, [], xbar)],
        nonneg_atoms=[p_max - p[c] for c in range(1, k)],
        what=f"(U1) p_max‖x‖² − xᵀHx ≥ 0 (k={k})",
        substitutions=on_simplex,
    )

    half = sp.Rational(1, 4) if variant == "upper_half_to_quarter" else sp.Rational(1, 2)
    pairs = [(c, d) for c in range(k) for d in range(c + 1, k)]
    assert_nonneg_certificate(
        half * norm2 - quad,
        [(sp.Rational(1, 2), [], (1 - 2 * p[c]) * x[c]) for c in range(k)]
        + [(1, [p[c], p[d]], x[c] + x[d]) for c, d in pairs],
        nonneg_atoms=list(p),
        what=f"(U2) ½‖x‖² − xᵀHx ≥ 0 (k={k})",
        substitutions=on_simplex,
    )


def check(variant: str | None = None, sizes=SIZES) -> None:
    """Verify T2a symbolically for each k in ``sizes``; raise AssertionError on failure."""
    variant = choose_variant(variant, MUTANTS)
    for k in sizes:
        _check_size(k, variant)
