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


def test_readme_jax_snippet_runs_as_written_and_jit_equals_numpy(tmp_path):
    text = (ROOT / "README.md").read_text()
    snippet = re.search(r"### Under `jax.jit`\n.*?```python\n(.*?)```", text, re.S).group(1)
    script = tmp_path / "snippet_jax.py"
    script.write_text(snippet)
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}  # the snippet sets it itself
    env.update(MPLBACKEND="Agg", JAX_PLATFORMS="cpu", PYAUTO_SKIP_WORKSPACE_VERSION_CHECK="1")
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-4000:]
    jitted, numpy_value = (float(line) for line in result.stdout.strip().splitlines()[-2:])
    assert jitted == numpy_value or abs(jitted / numpy_value - 1.0) < 1e-10
    assert jitted > 0.0  # a finite log likelihood of the true model, not -inf
