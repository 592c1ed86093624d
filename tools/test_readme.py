"""The README's "Using it" snippet runs as written, in a fresh process and an empty folder."""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_snippet_runs_as_written(tmp_path):
    text = (ROOT / "README.md").read_text()
    snippet = re.search(r"## Using it\n\n```python\n(.*?)```", text, re.S).group(1)
    script = tmp_path / "snippet.py"
    script.write_text(snippet)
    env = dict(os.environ, MPLBACKEND="Agg", JAX_PLATFORMS="cpu", PYAUTO_SKIP_WORKSPACE_VERSION_CHECK="1")
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-4000:]
    chi_squared_per_pixel = float(result.stdout.strip().splitlines()[-1])
    assert 0.8 < chi_squared_per_pixel < 1.2
    assert (tmp_path / "psf.fits").exists()
