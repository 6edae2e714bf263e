"""The benchmark entry point runs end to end on toy sizes and writes a complete report.

Timings are never asserted (the machine is shared and the sizes are toys); what is checked is that
every section ran, produced finite numbers, and that the exactness checks inside it passed.
"""

import math
from pathlib import Path

from benchmarks.__main__ import TINY, gram_flops, main, run

ROOT = Path(__file__).resolve().parents[1]


def test_tiny_run_writes_a_complete_report(tmp_path):
    out = tmp_path / "RESULTS.md"
    r = run(tiny=True, out=out)
    text = out.read_text()
    for heading in ("## Machine", "## Protocol", "## Results", "## Eigensolvers",
                    "## Beyond autodiff", "## Lanczos", "## Misses"):
        assert heading in text
    assert "TINY SIZES" in text
    for key in ("R_jax", "R_numpy"):
        assert math.isfinite(r["dgemm"][key]) and r["dgemm"][key] > 0
    # the fast paths agree with the references on the benchmark nets themselves
    assert r["floor"]["rel_diff_vs_direct"] <= 1e-10
    assert r["autodiff"]["rel_err"] <= 1e-10
    big = r["big"]
    assert big["num_params"] > 0 and big["peak_rss_gib"] > 0
    assert big["reduced_size"] + big["exact_zeros"] == big["n"] * big["k"]
    assert r["lanczos"]["order"] == TINY["lanczos"][2] and r["lanczos"]["t_hvp"] > 0


def test_cli_accepts_tiny_and_out(tmp_path):
    out = tmp_path / "r.md"
    assert main(["--tiny", "--out", str(out)]) == 0
    assert out.exists()


def test_flop_count_matches_the_issue_formula_by_hand():
    # d = 2, one hidden layer of width 3, n = 2, k = 1: F = Σ_l 2(nk)² m_l + 2 n² m_{l−1}
    fl = gram_flops([3], n=2, k=1, d=2)
    assert fl["F"] == (2 * 4 * 3 + 2 * 4 * 2) + (2 * 4 * 1 + 2 * 4 * 3)
    assert fl["recursion"] == 0  # a single hidden layer needs no backward GEMM
    assert fl["forward"] == 2 * 2 * 2 * 3 + 2 * 2 * 3 * 1


def test_generic_gram_benchmark_tiny_report_and_kept_section(tmp_path):
    """The any-model Gram benchmark runs end to end (subprocess cells) and its section survives
    a rewrite of RESULTS.md by ``python -m benchmarks``. The blocked Gram and jax.jacrev J Jᵀ
    (independent) must agree: their traces are compared in the report."""
    from benchmarks import generic_gram

    r = generic_gram.run(tiny=True)
    for row in r["convnet"]:
        b, j = row["blocked"], row["jacrev"]
        assert "error" not in b and "error" not in j
        assert abs(b["trace"] - j["trace"]) <= 1e-10 * abs(j["trace"])
    mlp = r["mlp"][0]
    assert abs(mlp["closed_form"]["trace"] - mlp["blocked"]["trace"]) <= 1e-10 * abs(
        mlp["closed_form"]["trace"])
    out = tmp_path / "RESULTS.md"
    generic_gram.write(out, generic_gram.report(r))
    assert main(["--tiny", "--out", str(out)]) == 0
    text = out.read_text()
    assert "## Machine" in text and text.count(generic_gram.BEGIN) == 1
    assert "Any JAX model" in text


def test_population_benchmark_tiny_runs(capsys):
    """The population benchmark's protocol end to end at a tiny size (no file is written)."""
    from benchmarks import population

    before = (ROOT / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8")
    assert population.main(["--tiny"]) == 0
    out = capsys.readouterr().out
    assert "| 1 |" in out and "| 2 |" in out and "population / lone" in out
    assert (ROOT / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8") == before
