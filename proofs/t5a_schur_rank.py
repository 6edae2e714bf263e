r"""T5a — rank of a layer's Gram term is at most (feature rank) × (backward rank).

Statement
---------
The layer-l weight term of T5 is ``K_l^W = (F ⊗ 𝟙_k𝟙_kᵀ) ∘ B`` with the feature Gram
``F[i,j] = (σ_w²/m_{l−1})⟨h_{l−1}(x_i), h_{l−1}(x_j)⟩`` (rank ≤ rank(H_{l−1}), H_{l−1} the n × m
feature matrix) and the backward Gram ``B[(i,c),(j,c')] = ⟨δ_{l,c}(x_i), δ_{l,c'}(x_j)⟩``
(rank ≤ rank(Δ_l), Δ_l the nk × m_l matrix of backward vectors). Hence
``rank(K_l^W) ≤ rank(H_{l−1}) · rank(Δ_l)``: collapsed feature rank caps curvature rank.

Proof
-----
Write ``F ⊗ 𝟙𝟙ᵀ = UUᵀ`` (U: N × r, r = rank F, rows repeated k times) and ``B = VVᵀ``
(V: N × s, s = rank B). For the row-wise Kronecker (Khatri–Rao) product
``M[i, :] = U[i, :] ⊗ V[i, :]`` (N × rs):
``(MMᵀ)[i,j] = ⟨U_i ⊗ V_i, U_j ⊗ V_j⟩ = ⟨U_i, U_j⟩⟨V_i, V_j⟩ = (UUᵀ ∘ VVᵀ)[i,j]``.
So the Hadamard product equals MMᵀ with M having rs columns: rank ≤ rs. ∎

What ``check()`` proves at general size
---------------------------------------
(MMᵀ)[i,j] = Σ_{a<r} Σ_{b<s} (U_ia V_ib)(U_ja V_jb) = (UUᵀ)[i,j]·(VVᵀ)[i,j] as double sums with
symbolic r, s (summand identity + distributivity), i.e. UUᵀ ∘ VVᵀ = MMᵀ with M of r·s columns for
any sizes. Sample:
``UUᵀ ∘ VVᵀ = MMᵀ`` with M the row-wise Kronecker product, for fully symbolic U (3 × 2) and
V (3 × 2) (so the bound is rank ≤ 4 through an explicit 3 × 4 factor), and the same identity
with rank-one factors in the T5 layout (U = feature vectors repeated over the k = 2 classes).
Named lemmas (prose): rank(MMᵀ) ≤ #columns of M; distributivity of finite sums; a Gram matrix
of rank r factors as UUᵀ with r columns.
"""

from __future__ import annotations

import sympy as sp

from proofs._sym import (
    assert_double_sum_factorizes,
    assert_identity,
    assert_matrix_identity,
    choose_variant,
    fmt,
    symbolic_matrix,
)

ID = "T5a"
CHECKED = ("UUᵀ∘VVᵀ = MMᵀ (M = row-wise U⊗V, rs columns) as index sums with symbolic r, s; "
           "sample 3×2")
GENERAL = ("UUᵀ ∘ VVᵀ = MMᵀ with M the row-wise Kronecker product (double sum factorized by "
           "distributivity), M has r·s columns (product of its index ranges), symbolic r, s")
INDUCTION = ""
LEMMAS = ("rank(MMᵀ) ≤ #columns of M", "Gram matrix of rank r = UUᵀ with r columns",
          "distributivity of finite sums")
MUTANTS = {
    "rank_sum_factor": "claims UUᵀ∘VVᵀ = [U V][U V]ᵀ (rank ≤ r + s)",
}


def khatri_rao_rows(U: sp.Matrix, V: sp.Matrix, variant: str | None = None) -> sp.Matrix:
    """Row-wise Kronecker product: row i is U[i, :] ⊗ V[i, :] (the factor certifying rank ≤ rs)."""
    if variant == "rank_sum_factor":
        return sp.Matrix.hstack(U, V)
    rows = [[u * v for u in U.row(i) for v in V.row(i)] for i in range(U.rows)]
    return sp.Matrix(rows)


def claimed_rank_bound(r, s, variant=None):
    """rank(UUᵀ ∘ VVᵀ) ≤ this, for rank(UUᵀ) = r, rank(VVᵀ) = s."""
    return r + s if variant == "rank_sum_factor" else r * s


def khatri_rao_entry(U, V, i, a, b):
    """M[i, (a, b)] = U[i, a]·V[i, b]: row i of M is U[i, :] ⊗ V[i, :]."""
    return U[i, a] * V[i, b]


def _check_general(variant) -> None:
    r, s = sp.symbols("r s", integer=True, positive=True)
    i, j, a, b = sp.symbols("i j a b", integer=True, nonnegative=True)
    U, V = sp.IndexedBase("U"), sp.IndexedBase("V")
    if variant == "rank_sum_factor":  # [U V][U V]ᵀ = UUᵀ + VVᵀ, not the Hadamard product
        mm = sp.Sum(U[i, a] * U[j, a], (a, 0, r - 1)) + sp.Sum(V[i, b] * V[j, b], (b, 0, s - 1))
        had = sp.Sum(U[i, a] * U[j, a], (a, 0, r - 1)) * sp.Sum(V[i, b] * V[j, b], (b, 0, s - 1))
        assert_identity(mm - had, 0, "UUᵀ ∘ VVᵀ = [U V][U V]ᵀ")
    # M has one column per pair (a, b), a < r, b < s: M[i, (a, b)] = U[i, a]·V[i, b].
    column_ranges = ((a, 0, r - 1), (b, 0, s - 1))
    mm = sp.Sum(khatri_rao_entry(U, V, i, a, b) * khatri_rao_entry(U, V, j, a, b), *column_ranges)
    n_columns = sp.Mul(*[hi - lo + 1 for _, lo, hi in mm.limits])
    assert_identity(n_columns, claimed_rank_bound(r, s, variant),
                    "M has r·s columns (product of the index ranges) = the claimed rank bound")
    uu = sp.Sum(U[i, a] * U[j, a], (a, 0, r - 1))  # (UUᵀ)_ij, rank-r Gram
    vv = sp.Sum(V[i, b] * V[j, b], (b, 0, s - 1))  # (VVᵀ)_ij
    assert_double_sum_factorizes(mm, uu, vv, "(MMᵀ)_ij = (UUᵀ)_ij·(VVᵀ)_ij")


def check(variant: str | None = None) -> None:
    """Verify T5a symbolically; raise AssertionError if the factorization fails."""
    variant = choose_variant(variant, MUTANTS)
    _check_general(variant)
    U = symbolic_matrix("u", 3, 2)
    V = symbolic_matrix("v", 3, 2)
    M = khatri_rao_rows(U, V, variant)
    assert_matrix_identity((U * U.T).multiply_elementwise(V * V.T), M * M.T,
                           "UUᵀ ∘ VVᵀ = MMᵀ (M row-wise Kronecker)")
    # T5 layout: n = 2 samples, k = 2 classes; features repeated over classes.
    h = symbolic_matrix("h", 2, 2)  # feature vectors h_{l−1}(x_i) as rows
    U5 = sp.Matrix.vstack(*[h.row(i) for i in range(2) for _ in range(2)])
    D5 = symbolic_matrix("d", 4, 3)  # δ_{l,c}(x_i) as rows, index i·k + c
    M5 = khatri_rao_rows(U5, D5, variant)
    assert_matrix_identity((U5 * U5.T).multiply_elementwise(D5 * D5.T), M5 * M5.T,
                           "(F ⊗ 𝟙𝟙ᵀ) ∘ B = MMᵀ in the T5 index layout")


def statement(variant: str | None = None) -> str:
    """The printed statement, generated from the claims the check verifies."""
    r, s_ = sp.symbols("rank(H_(l−1)) rank(Δ_l)")
    return ("rank of layer l's weight term (H_(l−1)H_(l−1)ᵀ ⊗ 𝟙𝟙ᵀ) ∘ Δ_lΔ_lᵀ ≤ "
            f"{fmt(claimed_rank_bound(r, s_, variant))} (Schur product)")


STATEMENT = statement()
