import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
PRISTINE_SITE = ROOT / ".pristine" / "site"


def side_env(pristine: bool) -> dict:
    """The environment of one side: the pristine release first on PYTHONPATH, or the patched stack of .venv."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYAUTO")}
    paths = [str(ROOT)]
    if pristine:
        paths.insert(0, str(PRISTINE_SITE))
    elif os.environ.get("PSFOS_PATCHED_SITE"):
        # A prefix of the series, built by `tools/stack.py prefixes`, stands in for the installed stack.
        paths.insert(0, os.environ["PSFOS_PATCHED_SITE"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    # One thread everywhere, so that both sides reduce in the same order.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[var] = "1"
    env["JAX_PLATFORMS"] = "cpu"
    env["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    env["MPLBACKEND"] = "Agg"
    return env


def start_side(workdir: Path, pristine: bool, only=None, inject_ulp=False):
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / "outputs.npz"
    cmd = [sys.executable, "-m", "differential.runner", "--out", str(out)]
    if only:
        cmd += ["--only", *only]
    if inject_ulp:
        cmd.append("--inject-ulp")
    log = open(workdir / "runner.log", "w")
    proc = subprocess.Popen(cmd, cwd=workdir, env=side_env(pristine), stdout=log, stderr=subprocess.STDOUT)
    return proc, out, workdir / "runner.log"


def finish_side(proc, out, log) -> dict:
    code = proc.wait()
    if code != 0 or not out.exists():
        raise RuntimeError(f"scenario runner failed ({code}):\n{log.read_text()[-5000:]}")
    with np.load(out, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(Path(str(out) + ".json").read_text())
    return {"arrays": arrays, "meta": meta}


@pytest.fixture(scope="session")
def differential_outputs(tmp_path_factory):
    """Run every scenario on both sides (in parallel) and return both sides' outputs."""
    if not PRISTINE_SITE.exists():
        pytest.fail(".pristine/site is missing: run `make build` (it unpacks the pristine release there)")
    base = tmp_path_factory.mktemp("differential")
    pristine = start_side(base / "pristine", pristine=True)
    patched = start_side(base / "patched", pristine=False)
    result = {"pristine": finish_side(*pristine), "patched": finish_side(*patched)}
    origins = result["pristine"]["meta"]["origins"]
    for name, path in origins.items():
        assert str(PRISTINE_SITE) in path, f"pristine side imported {name} from {path}"
    for name, path in result["patched"]["meta"]["origins"].items():
        assert str(PRISTINE_SITE) not in path, f"patched side imported {name} from {path}"
        if os.environ.get("PSFOS_PATCHED_SITE"):
            assert os.environ["PSFOS_PATCHED_SITE"] in path, f"patched side imported {name} from {path}"
    return result
