"""The design rules of proofs/, enforced for every theorem module.

- A statement is data: ``THEOREM`` is a ``Theorem``; the printed statement is its rendering, and
  no mathematical token sits in a string literal of proofs/ outside the renderer (docstrings, the
  prose proofs, excepted).
- ``proofs/STATEMENTS.md`` is the rendering of the current theorems (a changed statement shows
  in a reviewed diff).
- Every theorem passes its check and its numeric falsifier; every false variant is rejected by
  the check (the proof itself, not the falsifier), and prints differently from the true one.
- Module-specific regressions (THEORY.md's counterexamples, the classes A–G of issue 33) live in
  ``tests/test_proofs_<id>.py``.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sympy

import proofs
from proofs import _render, _statement

ROOT = Path(proofs.__file__).parent
MODULES = proofs.proof_modules()
VARIANT_CASES = [(m, name) for m in MODULES for name in m.false_variants()]

# A mathematical token: a character from the Unicode blocks of mathematics (Greek, sub- and
# superscripts, letterlike ℝ ℤ, arrows, operators ≤ ⊗ Σ √, math alphanumerics 𝟙) or from a short
# list (· × ½ ² ‖ ⟨ ⟩), or an ASCII operator between two operands (a = b, x^2, 1/n, a + b, a - b).
MATH_CHARS = re.compile(
    "[\u0370-\u03ff\u1d00-\u1dbf\u2070-\u209f\u2100-\u21ff\u2200-\u23ff\u27c0-\u27ef"
    "\u2980-\u2aff\U0001d400-\U0001d7ff\u00b7\u00d7\u00f7\u00b1\u00bc-\u00be\u00b2\u00b3"
    "\u00b9\u2016\u2212]"
)
ASCII_MATH = re.compile(r"[\w)\]}]\s*(<=|>=|==|!=|[=<>^*/+])\s*[\w(\[{]|\w\s+-\s+\w|_\{")


def math_tokens(text: str) -> list[str]:
    """The mathematical tokens in ``text`` (empty when it is plain words)."""
    return MATH_CHARS.findall(text) + [m.group(0) for m in ASCII_MATH.finditer(text)]


def _docstring_nodes(tree) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                ids.add(id(body[0].value))
    return ids


def string_literals(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every string literal of ``path`` outside docstring position (the
    constant parts of f-strings included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = _docstring_nodes(tree)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            out.append((node.lineno, node.value))
    return out


SCANNED = sorted(p for p in ROOT.glob("*.py") if p.name != "_render.py")


@pytest.mark.parametrize("path", SCANNED, ids=lambda p: p.name)
def test_no_mathematical_token_in_a_string_literal_outside_the_renderer(path):
    found = [(line, text) for line, text in string_literals(path) if math_tokens(text)]
    assert not found, f"{path.name}: mathematical tokens typed into strings: {found[:5]}"


@pytest.mark.parametrize("text", ["λ ≤ ε", "x ⊥ 𝟙", "rank A·rank S", "q(Δ_T) − L_0",
                                  "eta*eps <= n", "n - 1", "1/2", "a_{l+1}", "Σ¹(QX)", "κI/2"])
def test_the_scanner_finds_typed_mathematics(text):
    assert math_tokens(text)


@pytest.mark.parametrize("text", ["lower bound", "induction step", "spectral theorem",
                                  "block-triangular determinant", "flat coefficient"])
def test_the_scanner_passes_plain_words(text):
    assert not math_tokens(text)


def test_the_scanner_sees_f_string_parts_and_skips_docstrings(tmp_path):
    path = tmp_path / "m.py"
    path.write_text('"""doc with λ ≤ ε"""\n\ndef f(x):\n    """doc ≤"""\n'
                    '    return f"{x} ≤ bound"\n', encoding="utf-8")
    texts = [text for _, text in string_literals(path)]
    assert texts == [" ≤ bound"]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.THEOREM.id)
def test_theorem_passes_its_check_and_falsifier(module):
    """The check and the falsifier pass, and the committed STATEMENTS.md section (statement,
    the proof's recorded steps, the false variants) is what the code proves today."""
    row = proofs.run_module(module)
    assert row["passed"], row["error"]
    assert proofs.committed_section(module.THEOREM.id) == proofs.statement_section(module, row) \
        + "\n", "proofs/STATEMENTS.md is stale: run python -m proofs and review the diff"
    assert row["id"] == module.THEOREM.id
    assert row["falsifier"]["checked"] > 0 and not row["falsifier"]["violations"]
    assert row["identities"] or row["solver"]


def test_all_statements_covered():
    ids = {m.THEOREM.id for m in MODULES}
    assert ids == {"T1", "T2", "T2a", "T3", "T4", "T5", "T5a", "T5b", "T6", "T7", "T8", "T9"}


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.THEOREM.id)
def test_module_protocol(module):
    assert isinstance(module.THEOREM, _statement.Theorem)
    assert module.FALSIFIER_TRIALS >= 1
    assert len(module.false_variants()) >= 1
    assert module.THEOREM.claims


@pytest.mark.parametrize(("module", "name"), VARIANT_CASES,
                         ids=[f"{m.THEOREM.id}-{v}" for m, v in VARIANT_CASES])
def test_false_variant_is_rejected_by_the_proof(module, name):
    """The proof rejects the variant at the step, and with the message, that the committed
    proofs/REJECTIONS.md records (a variant rejected for another reason, or an error message
    that changed, shows in a reviewed diff)."""
    variant = module.false_variants()[name]
    assert variant.render() != module.THEOREM.render(), "a variant must print differently"
    committed = proofs.committed_rejection(module.THEOREM.id, name)
    assert proofs.rejection(module, variant) == committed, \
        "proofs/REJECTIONS.md is stale: run python -m proofs --rejections and review the diff"


def test_rejections_md_lists_exactly_the_false_variants():
    text = proofs.REJECTIONS_PATH.read_text(encoding="utf-8")
    listed = {(section.split("\n", 1)[0], line[2:].split(":", 1)[0])
              for section in text.split("\n## ")[1:] for line in section.splitlines()
              if line.startswith("- ")}
    assert listed == {(m.THEOREM.id, name) for m, name in VARIANT_CASES}
    assert text.startswith("\n".join(proofs.REJECTIONS_HEADER))


def test_rejection_names_the_failed_step_without_counterexample_values():
    from proofs import t8_trainability as t8

    def check(theorem):
        raise _statement.ProofError(f"{theorem.id} a step: the solver does not prove x from the "
                                    "hypotheses (counterexample x = 1/3, y = Dummy_17)")

    fake = type("M", (), {"check": staticmethod(check)})
    assert proofs.rejection(fake, t8.THEOREM) == ("ProofError: T8 a step: the solver does not "
                                                  "prove x from the hypotheses (counterexample)")
    long = type("M", (), {"check": staticmethod(lambda theorem: _fail("Dummy_12 " + "x" * 300))})
    text = proofs.rejection(long, t8.THEOREM)
    assert text.startswith("AssertionError: Dummy xxx") and text.endswith("x...")
    assert len(text) == proofs.REJECTION_LENGTH
    exact = "AssertionError: " + "y" * (proofs.REJECTION_LENGTH - 16)
    fits = type("M", (), {"check": staticmethod(lambda theorem: _fail(exact[16:]))})
    assert proofs.rejection(fits, t8.THEOREM) == exact
    accepts = type("M", (), {"check": staticmethod(lambda theorem: None)})
    with pytest.raises(AssertionError, match="^T8: the check accepts the statement$"):
        proofs.rejection(accepts, t8.THEOREM)
    crashes = type("M", (), {"check": staticmethod(lambda theorem: 1 / 0)})
    with pytest.raises(ZeroDivisionError):
        proofs.rejection(crashes, t8.THEOREM)
    assert proofs.committed_rejection("T8", "no such variant") == ""
    assert proofs.committed_rejection("T99", "upper_drops_rho_term") == ""


def _fail(message):
    raise AssertionError(message)


def test_main_rejections_writes_the_file_and_fails_on_an_accepted_variant(tmp_path, monkeypatch):
    from proofs import __main__ as main_module
    from proofs import t8_trainability as t8

    variant = t8.false_variants()["upper_drops_rho_term"]

    def check(theorem):
        if theorem is variant:
            raise _statement.ProofError("T8 probe: fails")

    fake = type("M", (), {"THEOREM": t8.THEOREM, "check": staticmethod(check),
                          "false_variants": staticmethod(lambda: {"probe": variant})})
    path = tmp_path / "REJECTIONS.md"
    monkeypatch.setattr(main_module, "proof_modules", lambda: [fake])
    monkeypatch.setattr(main_module, "REJECTIONS_PATH", path)
    assert main_module.main(["--rejections"]) == 0
    assert path.read_text(encoding="utf-8") == "\n".join(
        proofs.REJECTIONS_HEADER + ["## T8", "", "- probe: ProofError: T8 probe: fails", ""])
    accepting = type("M", (), {"THEOREM": t8.THEOREM, "check": staticmethod(lambda theorem: None),
                               "false_variants": staticmethod(lambda: {"probe": variant})})
    path.write_text("kept", encoding="utf-8")
    monkeypatch.setattr(main_module, "proof_modules", lambda: [accepting])
    assert main_module.main(["--rejections"]) == 1
    assert path.read_text(encoding="utf-8") == "kept"


def test_statements_md_has_one_section_per_theorem_in_order():
    text = proofs.STATEMENTS_PATH.read_text(encoding="utf-8")
    headers = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert headers == [m.THEOREM.id for m in MODULES]


def test_statement_section_follows_a_changed_statement():
    module = MODULES[-1]
    claim = module.THEOREM.claims[0]
    changed = module.THEOREM.with_claim(claim.name, hypotheses=claim.hypotheses + (
        _render_probe_relation(),))
    fake = type("M", (), {"THEOREM": changed, "false_variants": staticmethod(dict),
                          "FALSIFIER_TRIALS": 1})
    row = {"solver": [], "inductions": [], "identities": [], "instances": [],
           "falsifier": {"claims": {}}}
    assert proofs.statement_section(fake, row) != proofs.statement_section(
        type("M", (), {"THEOREM": module.THEOREM, "false_variants": staticmethod(dict),
                       "FALSIFIER_TRIALS": 1}), row)


def _render_probe_relation():
    import sympy as sp

    x = sp.Symbol("x", real=True)
    return sp.Le(x, 1)


def test_format_table_reports_each_part():
    rows = proofs.run_all(modules=MODULES[-2:])
    table = proofs.format_table(rows)
    for key in ("solver (z3, unsat)", "induction", "sampled instances", "numeric falsifier"):
        assert sum(line.strip().startswith(key) for line in table.splitlines()) == len(rows)
    assert table.splitlines()[-1].startswith(f"{len(rows)}/{len(rows)} passed")
    failed = dict(rows[0], passed=False, error="ProofError: a step")
    assert "FAILED: ProofError: a step" in proofs.format_table([failed])


def test_main_exit_code_and_only(tmp_path):
    out = subprocess.run([sys.executable, "-m", "proofs", "--only", "T9"], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "1/1 passed" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "proofs", "--only", "T99"], capture_output=True,
                         text=True, timeout=300)
    assert bad.returncode == 2 and "--only" in bad.stderr and "T99" in bad.stderr


def test_render_is_the_only_source_of_statement_text():
    for module in MODULES:
        assert module.THEOREM.render() == _render.render_theorem(module.THEOREM)


def test_run_module_fails_on_a_false_variant_and_on_an_empty_falsifier():
    from proofs import t8_trainability as t8

    row = proofs.run_module(t8, t8.false_variants()["upper_drops_rho_term"])
    assert not row["passed"] and row["falsifier"]["violations"]
    assert "solver does not prove" in row["error"]
    empty = type("M", (), {"THEOREM": t8.THEOREM, "check": staticmethod(t8.check),
                           "draw": staticmethod(lambda rng, trial: {}), "FALSIFIER_TRIALS": 2})
    row = proofs.run_module(empty)
    assert not row["passed"] and "no instance" in row["error"]


def test_format_table_marks_failures_and_shortens_long_step_lists():
    row = {"id": "T0", "statement": "T0. statement", "passed": False, "seconds": 0.5,
           "error": "ProofError: step", "solver": [f"step {i}" for i in range(9)],
           "inductions": [], "identities": ["one"], "instances": [], "lemmas": ("a lemma",),
           "falsifier": {"checked": 3, "skipped": 1, "violations": {"c": [0, 2]}}}
    table = proofs.format_table([row])
    lines = table.splitlines()
    assert lines[0].split()[:2] == ["T0", "FAIL"]
    assert "9: step 0; step 1; step 2; step 3; step 4; step 5; and 3 more" in table
    assert "induction            : none" in table
    assert "3 instances checked, 1 skipped, 2 violations" in table
    assert "T0 FAILED: ProofError: step" in table and lines[-1].startswith("0/1 passed")


def test_a_failed_identity_names_the_step_and_renders_the_relation():
    import sympy as sp

    from proofs._statement import ProofError, Report

    x = sp.Symbol("x", real=True)
    report = Report(MODULES[0].THEOREM)
    with pytest.raises(ProofError) as info:
        report.identity("probe step", x + 1, x)
    assert str(info.value) == f"{MODULES[0].THEOREM.id} probe step: identity fails: x + 1 = x"
    with pytest.raises(ProofError, match="counterexample x = "):
        report.implies("probe implication", [sp.Ge(x, 0)], sp.Ge(x, 1))


def test_a_falsifier_violation_fails_the_row_even_when_the_proof_passes():
    """A check that (wrongly) passes must not hide a numeric violation: the row fails."""
    from proofs import t8_trainability as t8

    def draw(rng, trial):
        values = t8.draw(rng, trial)["lower"]
        return {"lower": {**values, t8.R: -1.0}}  # a loss ratio below every lower bound

    fake = type("M", (), {"THEOREM": t8.THEOREM, "check": staticmethod(t8.check),
                          "draw": staticmethod(draw), "FALSIFIER_TRIALS": 3})
    row = proofs.run_module(fake)
    assert not row["passed"] and list(row["falsifier"]["violations"]) == ["lower"]
    assert row["error"] == "falsifier: violations on claims ['lower']"
    assert "proof_seconds" in row and row["proof_seconds"] <= row["seconds"]


def test_an_induction_base_must_be_an_identity_and_the_step_must_be_proved():
    import sympy as sp

    from proofs._statement import ProofError, Report

    x, t = sp.Symbol("x", real=True), sp.Symbol("t", integer=True)
    report = Report(MODULES[0].THEOREM)
    steps = []
    report.induction("probe", lambda value: sp.Eq(x * value, x * value), t, 0,
                     prove_step=lambda hypothesis, claim: steps.append((hypothesis, claim)))
    assert report.identities == ["probe: base"] and report.inductions == ["probe (on t, from 0)"]
    assert steps == [(sp.Eq(x * t, x * t), sp.Eq(x * (t + 1), x * (t + 1)))]
    report.induction("unevaluated", lambda value: sp.Eq(value * x - x * value, 0, evaluate=False),
                     t, 1, prove_step=lambda hypothesis, claim: None)
    assert report.identities == ["probe: base", "unevaluated: base"]
    with pytest.raises(ProofError) as info:
        report.induction("order", lambda value: sp.Le(x, value), t, 1,
                         prove_step=lambda hypothesis, claim: None)
    assert str(info.value) == f"{MODULES[0].THEOREM.id} order: base: not an identity: x ≤ 1"
    with pytest.raises(ProofError, match="false base: base: identity fails: x = 2"):
        report.induction("false base", lambda value: sp.Eq(x, value, evaluate=False), t, 2,
                         prove_step=lambda hypothesis, claim: None)
    assert len(report.inductions) == 2


def test_main_rewrites_statements_md_from_the_checked_modules(tmp_path, monkeypatch, capsys):
    from proofs import __main__ as main_module
    from proofs import t5a_schur_rank as t5a

    path = tmp_path / "STATEMENTS.md"
    monkeypatch.setattr(main_module, "proof_modules", lambda: [t5a])
    monkeypatch.setattr(main_module, "STATEMENTS_PATH", path)
    assert main_module.main([]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("T5a  PASS") and out[-2].startswith("1/1 passed in ")
    assert out[-1] == "statements written to STATEMENTS.md"
    assert path.read_text(encoding="utf-8") == "\n".join(proofs.STATEMENTS_HEADER) + "\n" \
        + proofs.committed_section("T5a")


def test_a_fresh_import_builds_the_committed_statements():
    """The theorem objects and the definitions they use are built while a module is imported:
    a fresh interpreter's statements and false variants render as the committed STATEMENTS.md
    says (in this process they were built once, before any test ran)."""
    script = ("import proofs\n"
              "for m in proofs.proof_modules():\n"
              "    print('## ' + m.THEOREM.id)\n"
              "    print(m.THEOREM.render())\n"
              "    print('\\n'.join(proofs._variant_lines(m)))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    expected = [line for module in MODULES for line in _committed_lines(module.THEOREM.id)]
    assert out.stdout.splitlines() == expected


def _committed_lines(theorem_id: str) -> list[str]:
    """The heading, the rendered statement and the false-variant lines of ``theorem_id`` in the
    committed STATEMENTS.md."""
    section = proofs.committed_section(theorem_id)
    statement = section.split("```text\n", 1)[1].split("\n```", 1)[0]
    variants = section.split("False variants, each rejected by the proof:\n\n", 1)[1]
    return "\n".join([f"## {theorem_id}", statement, *[
        line for line in variants.splitlines() if line.startswith("- ")]]).splitlines()


@contextlib.contextmanager
def _fresh_proofs():
    """``proofs`` imported anew in this process: new module objects, so every module-level
    statement (the THEOREM objects, the definitions they call, the numeric functions bound to
    function symbols) runs again while the test runs. The original modules are put back after."""
    def ours(name):
        return name == "proofs" or name.startswith("proofs.")

    saved = {name: module for name, module in sys.modules.items() if ours(name)}
    for name in saved:
        del sys.modules[name]
    sympy.core.cache.clear_cache()  # no expression built from the original modules is reused
    try:
        yield importlib.import_module("proofs")
    finally:
        for name in [name for name in sys.modules if ours(name)]:
            del sys.modules[name]
        sys.modules.update(saved)
        sympy.core.cache.clear_cache()


def test_a_fresh_import_in_this_process_proves_the_committed_statements():
    """The same fresh import inside the test process (what a tool that follows the test process,
    such as a mutation tester, sees): every module-level definition is built again, renders the
    committed statements and false variants, and passes its proof and numeric falsifier."""
    with _fresh_proofs() as fresh:
        modules = fresh.proof_modules()
        assert [m.THEOREM.id for m in modules] == [m.THEOREM.id for m in MODULES]
        assert all(m is not o for m, o in zip(modules, MODULES, strict=True))
        for module in modules:
            rendered = "\n".join([f"## {module.THEOREM.id}", module.THEOREM.render(),
                                  *fresh._variant_lines(module)]).splitlines()
            assert rendered == _committed_lines(module.THEOREM.id)
            row = fresh.run_module(module)
            assert row["passed"] and row["falsifier"]["checked"] > 0, row
    assert sys.modules["proofs"] is proofs
