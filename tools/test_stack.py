"""Tests of the stack tooling: series application, repacking, and the dev-loop round trip."""
import base64
import csv
import hashlib
import importlib.util
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location("stack", Path(__file__).with_name("stack.py"))
stack = importlib.util.module_from_spec(spec)
spec.loader.exec_module(stack)


def _tree_files(root: Path) -> dict:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(root).parts and "__pycache__" not in p.parts
    }


@pytest.mark.parametrize("lib", list(stack.PATCHED))
def test_dev_loop_round_trip_reproduces_an_edit_exactly(lib, tmp_path):
    """build -> edit -> commit -> export -> rebuild gives back the edited tree, byte for byte."""
    tree = tmp_path / "dev"
    stack.make_dev_tree(lib, tree, stack.series(lib))

    target = tree / lib / "__init__.py"
    data = target.read_bytes()
    assert data.endswith(b"\r\n"), "the release's sources use CRLF line endings"
    target.write_bytes(data + "# round-trip edit: trailing whitespace stays   \r\nROUND_TRIP = 'é'\r\n".encode())
    (tree / lib / "round_trip_new_file.py").write_text('"""A new module."""\nVALUE = 1\n')
    env = stack.isolated_git_env(tree)
    stack.git(["add", "-A"], tree, env=env)
    stack.git(["commit", "-q", "-m", "Round-trip edit\n\nWhy: exercise export."], tree, env=env)

    out = tmp_path / "series"
    patches = stack.export_tree(lib, tree, out)
    assert len(patches) == len(stack.series(lib)) + 1
    assert stack.series(lib, out) == patches

    rebuilt = tmp_path / "rebuilt"
    stack.unpack(stack.release_wheel(lib), rebuilt)
    stack.apply_series(lib, rebuilt, patches)
    assert _tree_files(rebuilt / lib) == _tree_files(tree / lib)

    # Exporting an unchanged tree again writes the same bytes, so the series does not churn.
    again = stack.export_tree(lib, tree, tmp_path / "series2")
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in patches]
    assert stack.local_version(lib, again) != stack.local_version(lib, stack.series(lib))


def test_export_refuses_a_file_whose_line_endings_flipped(tmp_path):
    """An edit that rewrites a CRLF release file with LF endings would make a patch of every line: refuse it."""
    lib = "autoarray"
    tree = tmp_path / "dev"
    stack.make_dev_tree(lib, tree, stack.series(lib))
    target = tree / lib / "exc.py"
    target.write_bytes(target.read_bytes().replace(b"\r\n", b"\n"))
    env = stack.isolated_git_env(tree)
    stack.git(["commit", "-q", "-am", "Flip line endings"], tree, env=env)
    with pytest.raises(stack.StackError, match="line endings"):
        stack.export_tree(lib, tree, tmp_path / "series")


def test_a_patch_that_does_not_apply_names_itself_and_its_hunk(tmp_path):
    lib = "autoarray"
    tree = tmp_path / "tree"
    stack.unpack(stack.release_wheel(lib), tree)
    bad = tmp_path / "0001-Bad-context.patch"
    bad.write_text(
        "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n"
        "Subject: [PATCH] Bad context\n\n---\n"
        "diff --git a/autoarray/exc.py b/autoarray/exc.py\n"
        "--- a/autoarray/exc.py\n+++ b/autoarray/exc.py\n"
        "@@ -3,3 +3,4 @@\n this line is not in the file\n neither is this\n+added\n and nor this\n"
    )
    with pytest.raises(stack.StackError) as info:
        stack.apply_series(lib, tree, [bad])
    message = str(info.value)
    assert "0001-Bad-context.patch" in message
    assert "this line is not in the file" in message and "autoarray/exc.py" in message


def test_built_wheels_carry_the_series_in_their_version_and_a_valid_record():
    for lib in stack.PATCHED:
        wheel = stack.dist_wheel(lib)
        version = stack.local_version(lib)
        assert wheel.name == f"{lib}-{version}-py3-none-any.whl", "dist/ is stale: run `make build`"
        with zipfile.ZipFile(wheel) as zf:
            info = f"{lib}-{version}.dist-info"
            meta = zf.read(f"{info}/METADATA").decode()
            assert f"Version: {version}" in meta and "patched: oversampled-PSF series" in meta
            rows = list(csv.reader(io.StringIO(zf.read(f"{info}/RECORD").decode())))
            assert {r[0] for r in rows} == set(zf.namelist())
            for name, digest, size in rows:
                if digest:
                    data = zf.read(name)
                    expect = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                    assert digest == f"sha256={expect}" and int(size) == len(data), name


def test_installed_stack_is_the_built_series():
    """`pip show autoarray` in .venv reports the patched version (unless in dev mode)."""
    if stack.dev_mode():
        pytest.skip("dev mode: .venv imports the dev/ trees")
    versions = stack.installed_versions()
    for lib in stack.PATCHED:
        assert versions[lib] == stack.local_version(lib)


def test_installed_venv_has_every_extra_at_its_pinned_version():
    """`make build` installs EXTRAS (poppy for the workspace scripts, too) into .venv, at the constrained versions."""
    assert stack.missing_extras() == []
    pins = dict(
        line.split("==") for line in stack.CONSTRAINTS.read_text().splitlines() if "==" in line and not line.startswith("#")
    )
    code = "import importlib.metadata as m, sys\nfor n in sys.argv[1:]: print(n, m.version(n))"
    out = stack.run([stack.venv_python(), "-c", code, *stack.EXTRAS], capture=True).stdout.split()
    for name, version in zip(out[::2], out[1::2]):
        assert pins.get(name) == version, f"{name} {version} is not pinned in tools/constraints.txt"


def _fake_python(path: Path, prints: str, status: int = 0) -> Path:
    """An executable at ``path`` that prints ``prints`` and exits with ``status``, whatever it is asked to run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho '{prints}'\nexit {status}\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """A machine whose PATH holds only ``tmp_path / "bin"`` and whose pyenv root is ``tmp_path / "pyenv"``."""
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    monkeypatch.delenv(stack.PYTHON_ENV, raising=False)
    return tmp_path


def test_the_build_prefers_python_3_12_then_3_13_then_python3(machine):
    _fake_python(machine / "bin" / "python3.13", "/opt/py313/bin/python3.13")
    _fake_python(machine / "bin" / "python3.12", "/opt/py312/bin/python3.12")
    assert stack.chosen_python() == Path("/opt/py312/bin/python3.12")
    (machine / "bin" / "python3.12").unlink()
    assert stack.chosen_python() == Path("/opt/py313/bin/python3.13")
    (machine / "bin" / "python3.13").unlink()
    assert stack.chosen_python() == Path(stack.sys.executable)


def test_a_pyenv_python_is_found_behind_a_shim_that_fails(machine):
    """pyenv's shim of an installed version that `pyenv global` does not select fails; pyenv's own copy runs."""
    _fake_python(machine / "bin" / "python3.12", "pyenv: python3.12: command not found", status=127)
    real = _fake_python(machine / "pyenv" / "versions" / "3.12.1" / "bin" / "python3.12", "/pyenv/3.12.1/python3.12")
    assert stack.find_python("python3.12") == Path("/pyenv/3.12.1/python3.12")
    real.unlink()
    assert stack.find_python("python3.12") is None


def test_PY_asks_for_a_python_and_one_that_is_not_there_is_an_error(machine, monkeypatch):
    _fake_python(machine / "bin" / "python3.12", "/opt/py312/bin/python3.12")
    _fake_python(machine / "bin" / "python3.11", "/opt/py311/bin/python3.11")
    monkeypatch.setenv(stack.PYTHON_ENV, "python3.11")
    assert stack.chosen_python() == Path("/opt/py311/bin/python3.11")
    monkeypatch.setenv(stack.PYTHON_ENV, "python3.99")
    with pytest.raises(stack.StackError, match="PY=python3.99"):
        stack.chosen_python()


def test_a_venv_of_another_python_is_made_again_or_refused_in_dev_mode(tmp_path, monkeypatch):
    monkeypatch.setattr(stack, "VENV", tmp_path / "venv")
    _fake_python(tmp_path / "venv" / "bin" / "python", "3.11")
    stack.check_venv_python(Path("/opt/py311/bin/python3.11"), "3.11")
    assert stack.venv_python().exists(), "a .venv of the chosen Python is kept"

    (tmp_path / "venv" / stack.DEV_MARKER).write_text("dev\n")
    with pytest.raises(stack.StackError, match="make undev"):
        stack.check_venv_python(Path("/opt/py312/bin/python3.12"), "3.12")
    assert stack.venv_python().exists(), "a .venv in dev mode is never removed"

    (tmp_path / "venv" / stack.DEV_MARKER).unlink()
    stack.check_venv_python(Path("/opt/py312/bin/python3.12"), "3.12")
    assert not (tmp_path / "venv").exists(), "a .venv of another Python is removed, to be made again"


def test_venv_runs_the_python_the_build_chose():
    """.venv (which runs this test) is the Python that `make build` recorded, not one left from another build."""
    record = stack.BUILD / ".stamps" / "python"
    if not record.exists():
        pytest.skip("no build/.stamps/python: .venv was not made by `make build`")
    version = record.read_text().split()[1]
    assert "%d.%d" % sys.version_info[:2] == version == stack.python_version(stack.venv_python())


def test_a_venv_whose_python_is_gone_is_made_again(tmp_path, monkeypatch):
    """A .venv made from an interpreter that was since removed (its bin/python a dangling link) is not kept."""
    monkeypatch.setattr(stack, "VENV", tmp_path / "venv")
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "venv" / "bin" / "python").symlink_to(tmp_path / "removed" / "python3.12")
    assert stack.python_version(stack.venv_python()) is None
    stack.check_venv_python(Path("/opt/py312/bin/python3.12"), "3.12")
    assert not (tmp_path / "venv").exists()
