"""Tests of the base-suite gate's bookkeeping: reading pytest's JUnit XML, and what counts as a regression."""
import importlib.util
import subprocess
import sys
from pathlib import Path

spec = importlib.util.spec_from_file_location("base_suites", Path(__file__).with_name("base_suites.py"))
base_suites = importlib.util.module_from_spec(spec)
spec.loader.exec_module(base_suites)


def _junit_of(tmp_path: Path, name: str, test_source: str) -> Path:
    """Run pytest on a one-file suite and return its JUnit XML (the real writer, not a hand-made file)."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / "test_suite.py").write_text(test_source)
    junit = folder / "junit.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", "test_suite.py"],
        cwd=folder,
        capture_output=True,
    )
    return junit


PRISTINE = """
import pytest

def test_green(): pass
def test_turns_red(): pass
def test_turns_skipped(): pass
def test_vanishes(): pass
def test_red_on_both(): assert False
def test_red_only_on_pristine(): assert False
"""

PATCHED = """
import pytest

def test_green(): pass
def test_turns_red(): assert False
def test_turns_skipped(): pytest.skip("no")
def test_red_on_both(): assert False
def test_red_only_on_pristine(): pass
"""


def test_a_regression_is_a_pristine_pass_that_does_not_pass_on_the_patched_side(tmp_path):
    pristine = base_suites.outcomes_from_junit(_junit_of(tmp_path, "pristine", PRISTINE))
    patched = base_suites.outcomes_from_junit(_junit_of(tmp_path, "patched", PATCHED))

    assert pristine["test_suite::test_green"] == "passed"
    assert pristine["test_suite::test_red_on_both"] == "failed"
    assert patched["test_suite::test_turns_skipped"] == "skipped"

    assert base_suites.regressions_from(pristine, patched) == [
        ("test_suite::test_turns_red", "failed"),
        ("test_suite::test_turns_skipped", "skipped"),
        ("test_suite::test_vanishes", "missing"),
    ]


def test_a_collection_error_makes_every_pristine_pass_of_the_file_a_regression(tmp_path):
    pristine = base_suites.outcomes_from_junit(_junit_of(tmp_path, "pristine", "def test_a(): pass\n"))
    patched = base_suites.outcomes_from_junit(_junit_of(tmp_path, "patched", "import no_such_module\n"))

    assert base_suites.regressions_from(pristine, patched) == [("test_suite::test_a", "missing")]
    assert "failed" in patched.values()
