"""The benchmark entry point runs end to end on toy sizes and writes a complete report.

Timings are never asserted (the machine is shared and the sizes are toys); what is checked is that
every section ran, produced finite numbers, and that the exactness checks inside it passed.
"""

import math
from pathlib import Path

from benchmarks.__main__ import TINY, gram_flops, main, run

ROOT = Path(__file__).resolve().parents[1]


def test_flop_count_matches_the_issue_formula_by_hand():
    # d = 2, one hidden layer of width 3, n = 2, k = 1: F = Σ_l 2(nk)² m_l + 2 n² m_{l−1}
    fl = gram_flops([3], n=2, k=1, d=2)
    assert fl["F"] == (2 * 4 * 3 + 2 * 4 * 2) + (2 * 4 * 1 + 2 * 4 * 3)
    assert fl["recursion"] == 0  # a single hidden layer needs no backward GEMM
    assert fl["forward"] == 2 * 2 * 2 * 3 + 2 * 2 * 3 * 1


def test_tiny_runs_write_complete_reports_and_keep_each_others_sections(tmp_path, monkeypatch):
    """Both benchmark entry points at toy sizes, in one test (each run costs tens of seconds of
    compilation): the any-model Gram benchmark (subprocess cells) writes its section, then the
    main benchmark's command line (``python -m benchmarks --tiny --out``) rewrites RESULTS.md
    with every section of its own and keeps the Gram section. Inside the reports, the fast paths
    are compared with independent references: the blocked Gram with ``jax.jacrev`` J Jᵀ (traces),
    the closed form with the blocked Gram, the Gram engine with the direct implementation and
    with autodiff."""
    import benchmarks.__main__ as bench
    from benchmarks import generic_gram
    from benchmarks._sections import write_section

    r = generic_gram.run(tiny=True)
    for row in r["convnet"]:
        b, j = row["blocked"], row["jacrev"]
        assert "error" not in b and "error" not in j
        assert abs(b["trace"] - j["trace"]) <= 1e-10 * abs(j["trace"])
    mlp = r["mlp"][0]
    assert abs(mlp["closed_form"]["trace"] - mlp["blocked"]["trace"]) <= 1e-10 * abs(
        mlp["closed_form"]["trace"])
    out = tmp_path / "RESULTS.md"
    write_section(out, generic_gram.BEGIN, generic_gram.END, generic_gram.report(r))

    runs = []
    monkeypatch.setattr(bench, "run", lambda tiny, out: runs.append(run(tiny, out)) or runs[-1])
    assert main(["--tiny", "--out", str(out)]) == 0
    (r,) = runs
    text = out.read_text()
    for heading in ("## Machine", "## Protocol", "## Results", "## Eigensolvers",
                    "## Beyond autodiff", "## Lanczos", "## Misses"):
        assert heading in text
    assert "TINY SIZES" in text
    assert text.count(generic_gram.BEGIN) == 1 and "Any JAX model" in text
    for key in ("R_jax", "R_numpy"):
        assert math.isfinite(r["dgemm"][key]) and r["dgemm"][key] > 0
    # the fast paths agree with the references on the benchmark nets themselves
    assert r["floor"]["rel_diff_vs_direct"] <= 1e-10
    assert r["autodiff"]["rel_err"] <= 1e-10
    big = r["big"]
    assert big["num_params"] > 0 and big["peak_rss_gib"] > 0
    assert big["reduced_size"] + big["exact_zeros"] == big["n"] * big["k"]
    assert r["lanczos"]["order"] == TINY["lanczos"][2] and r["lanczos"]["t_hvp"] > 0


def test_population_benchmark_tiny_runs(capsys):
    """The population benchmark's protocol end to end at a tiny size (no file is written)."""
    from benchmarks import population

    before = (ROOT / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8")
    assert population.main(["--tiny"]) == 0
    out = capsys.readouterr().out
    assert "| lone run |" in out and "| population P=1 |" in out and "| population P=2 |" in out
    assert "vs one lone run, medians" in out and "fastest rounds" in out
    assert (ROOT / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8") == before


def test_results_sections_are_rewritten_in_place_and_carried_over(tmp_path):
    """Each script rewrites only its own marked section; the main report carries them all over."""
    from benchmarks._sections import OWNED, owned_sections, write_section

    path = tmp_path / "RESULTS.md"
    path.write_text("# main report\n", encoding="utf-8")
    for i, (begin, end) in enumerate(OWNED):
        write_section(path, begin, end, f"body {i}")
    (b1, e1) = OWNED[1]
    write_section(path, b1, e1, "new body 1")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# main report\n")
    assert "body 1" not in text.replace("new body 1", "")
    assert all(text.count(b) == 1 and text.count(e) == 1 for b, e in OWNED)
    kept = owned_sections(text)
    assert [kept.index(b) for b, _ in OWNED] == sorted(kept.index(b) for b, _ in OWNED)
    assert "body 0" in kept and "new body 1" in kept and "body 3" in kept
    assert "# main report" not in kept


def test_committed_results_keep_every_owned_section():
    """benchmarks/RESULTS.md brackets every section another script (or a hand measurement)
    owns, so `python -m benchmarks` cannot drop one."""
    from benchmarks._sections import OWNED

    text = (ROOT / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8")
    for begin, end in OWNED:
        assert text.count(begin) == 1 and text.count(end) == 1, begin
    matfree = next(begin for begin, _ in OWNED if "MATFREE" in begin)
    assert "## matfree vs linrelu.spectral.lanczos" in text.split(matfree, 1)[1]


def test_dispatch_benchmark_times_the_public_path_beside_its_engine(tmp_path):
    """benchmarks.dispatch at toy sizes in this process (one round): every timing is there and
    positive, the dispatched call is compared with the engine gram_backend chose, and the
    section is written once between its own markers."""
    from benchmarks import dispatch
    from benchmarks._sections import write_section

    m = dispatch.measure(x64=True, tiny=True, rounds=1)
    assert m["chosen"] in ("host", "xla") and m["cfg"] == list(dispatch.TINY)
    assert all(t > 0 for t in m["median_s"].values())
    assert m["dispatched_over_chosen"] == m["median_s"]["dispatched"] / m["median_s"][m["chosen"]]
    r = {"cpu": "cpu", "cores": 2, "tiny": True, "date": "today", "modes": [m]}
    out = tmp_path / "RESULTS.md"
    for _ in range(2):
        write_section(out, dispatch.BEGIN, dispatch.END, dispatch.report(r))
    text = out.read_text()
    assert text.count(dispatch.BEGIN) == 1 and "| on | " + m["chosen"] + " |" in text
