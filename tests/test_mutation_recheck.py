"""benchmarks.mutation_proofs.recheck_raised: a mutant whose run raised inside mutmut's harness is
run again on its tests' files with mutmut's switch ``MUTANT_UNDER_TEST`` and takes that status."""

from __future__ import annotations

from benchmarks.mutation_proofs import recheck_raised

TEST_FILE = '''
import os


def test_reads_the_switch():
    assert os.environ.get("MUTANT_UNDER_TEST") != "pkg.mod.x_f__mutmut_1"
'''


def test_recheck_takes_the_status_of_a_run_by_test_file(tmp_path):
    (tmp_path / "mutants" / "tests").mkdir(parents=True)
    (tmp_path / "mutants" / "tests" / "test_switch.py").write_text(TEST_FILE)
    tests = {"pkg.mod.x_f": ["tests/test_switch.py::test_reads_the_switch"],
             "pkg.mod.x_g": ["tests/test_switch.py::test_reads_the_switch"]}
    assert recheck_raised(tmp_path, "pkg.mod.x_f__mutmut_1", tests) == "killed"
    assert recheck_raised(tmp_path, "pkg.mod.x_g__mutmut_1", tests) == "survived"
    assert recheck_raised(tmp_path, "pkg.mod.x_h__mutmut_1", tests) == "no tests"
