"""
Run every example script of autolens_workspace_test/ and autolens_workspace/ in a fresh process.

A script passes if it exits 0; each script asserts its own numerical checks.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted(
    p
    for folder in ("autolens_workspace_test/scripts", "autolens_workspace/scripts")
    for p in (ROOT / folder).rglob("*.py")
)


@pytest.mark.parametrize("script", SCRIPTS, ids=[str(p.relative_to(ROOT)) for p in SCRIPTS])
def test_script_runs(script, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg", JAX_PLATFORMS="cpu", PYAUTO_SKIP_WORKSPACE_VERSION_CHECK="1")
    res = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
    )
    assert res.returncode == 0, f"{script.name} failed:\n{res.stdout[-3000:]}\n{res.stderr[-5000:]}"
