#!/usr/bin/env python3
"""
Run the base release's own test suites on the patched stack and on the pristine release, and report regressions.

    .venv/bin/python tools/base_suites.py [--suites DIR] [--work DIR] [--only autoarray ...]

The plan's gate for the default path: "the pre-existing PyAutoArray and PyAutoGalaxy test suites continuing to pass
without modification — any green-to-red transition in those suites means the default path has drifted". The suites
(`test_autoarray`, `test_autogalaxy`, `test_autolens` at tag 2026.5.1.4, unmodified) are read from
`../shared/base-suites` (or `--suites`, or $PSFOS_BASE_SUITES), never copied into this repository.

Each side runs from its own writable copy of the suites (the tests write files beside themselves):

- patched: `.venv`'s python, which imports the patched wheels (or the `dev/` trees in dev mode, or the folder
  $PSFOS_PATCHED_SITE names);
- pristine: the same python with `.pristine/site` first on PYTHONPATH, which imports the untouched release.

Both sides run at once (one core each), one library after the other. A **regression** is a test that passes on the
pristine release and does not pass on the patched stack (it fails, errors, is skipped or is missing). A test that
fails on both sides is the environment (a package the stack does not install, a newer pytest), not the series:
it is listed, not counted. The script prints both sides' summaries and the regressions, and exits 1 if there is
any (or if a side imported the wrong stack, or a suite did not run), 0 otherwise.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
PRISTINE_SITE = ROOT / ".pristine" / "site"
DEFAULT_SUITES = ROOT.parent / "shared" / "base-suites"

#: The library, the folder holding its suite, and the suite's test package.
SUITES = [
    ("autoarray", "PyAutoArray", "test_autoarray"),
    ("autogalaxy", "PyAutoGalaxy", "test_autogalaxy"),
    ("autolens", "PyAutoLens", "test_autolens"),
]

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


def outcomes_from_junit(path: Path) -> Dict[str, str]:
    """
    Map each test id (``classname::name`` as pytest's JUnit XML writes them) to ``passed``, ``failed`` or
    ``skipped``. A collection error (a test case with an ``error`` and no name of a test) is a failure of the file
    it names.
    """
    outcomes = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        test_id = f"{case.get('classname', '')}::{case.get('name', '')}"
        tags = {child.tag for child in case}
        if "failure" in tags or "error" in tags:
            outcome = FAILED
        elif "skipped" in tags:
            outcome = SKIPPED
        else:
            outcome = PASSED
        if outcomes.get(test_id) == FAILED:  # a failing teardown after a passing call keeps the failure
            continue
        outcomes[test_id] = outcome
    return outcomes


def regressions_from(pristine: Dict[str, str], patched: Dict[str, str]) -> List[Tuple[str, str]]:
    """The tests that pass on the pristine side and not on the patched side, with the patched outcome."""
    return sorted(
        (test_id, patched.get(test_id, "missing"))
        for test_id, outcome in pristine.items()
        if outcome == PASSED and patched.get(test_id) != PASSED
    )


def side_env(pristine: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYAUTO") and k != "PYTHONPATH"}
    if pristine:
        env["PYTHONPATH"] = str(PRISTINE_SITE)
    elif os.environ.get("PSFOS_PATCHED_SITE"):
        # Another build of the patched libraries (a prefix of the series, a tree in progress) stands in for .venv's.
        env["PYTHONPATH"] = os.environ["PSFOS_PATCHED_SITE"]
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[var] = "1"
    env["JAX_PLATFORMS"] = "cpu"
    env["MPLBACKEND"] = "Agg"
    return env


def check_origin(pristine: bool) -> None:
    """Fail unless the side imports the libraries from where it should."""
    code = "import autoarray, autogalaxy, autolens; print('\\n'.join(m.__file__ for m in (autoarray, autogalaxy, autolens)))"
    out = subprocess.run(
        [sys.executable, "-c", code], env=side_env(pristine), capture_output=True, text=True, check=True
    ).stdout.split()
    for path in out:
        inside = str(PRISTINE_SITE) in path
        if inside != pristine:
            raise SystemExit(f"the {'pristine' if pristine else 'patched'} side imports {path}")


def run_side(name: str, suites: Path, work: Path, pristine: bool, libraries) -> subprocess.Popen:
    """Copy the suites to ``work/name`` and start one shell that runs each library's suite in turn."""
    copy = work / name
    if copy.exists():
        shutil.rmtree(copy)
    commands = []
    for library, folder, package in libraries:
        shutil.copytree(suites / folder, copy / folder)
        junit = copy / f"{library}.xml"
        log = copy / f"{library}.log"
        commands.append(
            f"cd {folder} && {sys.executable} -m pytest -q -p no:cacheprovider -o addopts='' "
            f"--junitxml={junit} {package} > {log} 2>&1; cd .."
        )
    for path in copy.rglob("*"):
        path.chmod(path.stat().st_mode | 0o200)
    return subprocess.Popen(["bash", "-c", "; ".join(commands)], cwd=copy, env=side_env(pristine))


def summary_line(log: Path) -> str:
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip("= ") if lines else "(no output)"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suites", type=Path, default=Path(os.environ.get("PSFOS_BASE_SUITES", DEFAULT_SUITES)))
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "base-suites")
    parser.add_argument("--only", nargs="*", choices=[s[0] for s in SUITES])
    args = parser.parse_args(argv)

    if not args.suites.is_dir():
        print(f"base suites not found at {args.suites} (set --suites or PSFOS_BASE_SUITES)", file=sys.stderr)
        return 1
    if not PRISTINE_SITE.is_dir():
        print(".pristine/site is missing: run `make build`", file=sys.stderr)
        return 1
    libraries = [s for s in SUITES if not args.only or s[0] in args.only]

    check_origin(pristine=False)
    check_origin(pristine=True)

    start = time.time()
    args.work.mkdir(parents=True, exist_ok=True)
    procs = {
        side: run_side(side, args.suites, args.work, side == "pristine", libraries)
        for side in ("patched", "pristine")
    }
    for proc in procs.values():
        proc.wait()

    total_regressions = []
    problems = []
    print(f"base suites ({args.suites}), both sides in {time.time() - start:.0f} s:")
    for library, folder, package in libraries:
        outcomes = {}
        for side in ("patched", "pristine"):
            junit = args.work / side / f"{library}.xml"
            log = args.work / side / f"{library}.log"
            print(f"  {library:10s} {side:8s}: {summary_line(log)}")
            if not junit.exists():
                problems.append(f"{library} did not run on the {side} side (see {log})")
                outcomes[side] = {}
                continue
            outcomes[side] = outcomes_from_junit(junit)
        if not outcomes["pristine"] or not outcomes["patched"]:
            problems.append(f"{library}: a side ran no test")
        regressions = regressions_from(outcomes["pristine"], outcomes["patched"])
        both = sorted(t for t, o in outcomes["pristine"].items() if o == FAILED and outcomes["patched"].get(t) == FAILED)
        if both:
            print(f"  {library}: {len(both)} fail on both sides (the environment, not the series)")
        total_regressions += [(library, t, o) for t, o in regressions]

    if total_regressions:
        print(f"\n{len(total_regressions)} regression(s): pass on the pristine release, not on the patched stack:")
        for library, test_id, outcome in total_regressions:
            print(f"  {outcome:7s} {test_id}   (log: {args.work / 'patched' / (library + '.log')})")
    else:
        print("\nno regression: every test that passes on the pristine release passes on the patched stack")
    for problem in problems:
        print(f"error: {problem}")
    return 1 if total_regressions or problems else 0


if __name__ == "__main__":
    sys.exit(main())
