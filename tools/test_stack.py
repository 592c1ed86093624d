"""Tests of the stack tooling: series application, repacking, and the dev-loop round trip."""
import base64
import csv
import hashlib
import importlib.util
import io
import subprocess
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
