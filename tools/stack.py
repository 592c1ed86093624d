#!/usr/bin/env python3
"""
Build, develop and export the oversampled-PSF patch series on the pinned PyAutoLens release.

The project ships patch series, not library source. This script is the one place that turns them into something
importable:

    python3 tools/stack.py fetch            download the five pinned release wheels into .cache/wheels
    python3 tools/stack.py wheel LIB        unpack LIB's release wheel, apply its series, repack into dist/
    python3 tools/stack.py install          create .venv and install dist/ + autoconf/autofit + jax, numba, pytest, poppy
    python3 tools/stack.py python           which Python .venv is made with (see PREFERRED_PYTHONS)
    python3 tools/stack.py pristine         unpack the untouched releases into .pristine/site (the reference)
    python3 tools/stack.py dev              turn each library into an editable git tree under dev/, used by .venv
    python3 tools/stack.py export           write each dev/ tree's commits back into its series
    python3 tools/stack.py undev            point .venv back at the dist/ wheels
    python3 tools/stack.py prefixes         run the differential suite on every prefix of the series
    python3 tools/stack.py status           what is built, installed and in which mode

The Makefile calls these; users run `make build`, `make dev`, `make export`, `make test`, `make demo`.
It uses only the standard library, git and pip, so it runs on the bare machine Python before .venv exists.
.venv itself is made with the Python that `chosen_python` picks: $PSFOS_PYTHON (the Makefile's PY) if set, else
python3.12 or python3.13 where the machine has one, else the python3 running this script.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
BASE_VERSION = "2026.5.1.4"
LOCAL_TAG = "psfos"  # PEP 440 local label prefix: "PSF over-sampling" series

#: The libraries we patch, the folder holding each one's series, and its import package.
PATCHED = {
    "autoarray": "PyAutoArray",
    "autogalaxy": "PyAutoGalaxy",
    "autolens": "PyAutoLens",
}
#: Installed unchanged from the release.
UNPATCHED = ["autoconf", "autofit"]
#: What .venv gets on top of the five libraries (the issue asks for the jax extra, numba and pytest). poppy is for
#: the workspace scripts only (autolens_workspace/scripts/imaging/psf_from_file.py and super_resolved_psf.py compute
#: telescope PSFs with it); the patched wheels gain no dependency. Versions are pinned in tools/constraints.txt.
EXTRAS = ["numba", "pytest", "poppy"]

WHEELS = ROOT / ".cache" / "wheels"
BUILD = ROOT / "build"
DIST = ROOT / "dist"
VENV = ROOT / ".venv"
PRISTINE = ROOT / ".pristine"
DEV = ROOT / "dev"
CONSTRAINTS = ROOT / "tools" / "constraints.txt"

#: The Pythons .venv is made with, in order of preference, before the machine's python3: the release's first-class
#: versions (on any other, autoconf prints a "Python 3.11 detected -- first-class support is 3.12 and 3.13" banner on
#: every import). 3.12 comes first because the stack installs there at the very versions of tools/constraints.txt
#: that 3.11 has; 3.13 needs newer numpy and anesthetic (the constraints say which).
PREFERRED_PYTHONS = ["python3.12", "python3.13"]
#: Set by the Makefile from `make ... PY=python3.11`: the Python asked for, instead of PREFERRED_PYTHONS.
PYTHON_ENV = "PSFOS_PYTHON"

DEV_PTH = "psfos-dev.pth"
DEV_MARKER = ".psfos-dev-mode"
PRISTINE_TAG = "pristine"
GIT_ID = [
    "-c",
    "user.name=psfos stack",
    "-c",
    "user.email=stack@psfos.invalid",
    "-c",
    "commit.gpgsign=false",
]


class StackError(Exception):
    """A build step failed; the message says which and why."""


# ---------------------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------------------


def log(msg: str) -> None:
    print(f"[stack] {msg}", flush=True)


def run(cmd: List[str], cwd: Optional[Path] = None, env=None, check=True, capture=False):
    res = subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env=env,
        text=True,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.STDOUT if capture else None,
    )
    if check and res.returncode != 0:
        out = res.stdout if capture else ""
        raise StackError(f"command failed ({res.returncode}): {' '.join(map(str, cmd))}\n{out}")
    return res


def git(args: List[str], cwd: Path, capture=True, check=True, env=None):
    return run(["git", *GIT_ID, *args], cwd=cwd, capture=capture, check=check, env=env)


def isolated_git_env(path: Path) -> Dict[str, str]:
    """Environment in which git does not discover the enclosing project repository above ``path``."""
    env = dict(os.environ)
    env["GIT_CEILING_DIRECTORIES"] = str(path.resolve().parent)
    return env


def series_dir(lib: str) -> Path:
    return ROOT / PATCHED[lib] / "patches"


def series(lib: str, sdir: Optional[Path] = None) -> List[Path]:
    """The ordered patches of ``lib``, as listed in its ``series`` file (blank lines and # comments ignored)."""
    sdir = sdir or series_dir(lib)
    sfile = sdir / "series"
    if not sfile.exists():
        return []
    names = []
    for line in sfile.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(line)
    missing = [n for n in names if not (sdir / n).exists()]
    if missing:
        raise StackError(f"{sfile}: lists patches that do not exist: {missing}")
    return [sdir / n for n in names]


def series_digest(patches: List[Path]) -> str:
    h = hashlib.sha256()
    for p in patches:
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:8]


def local_version(lib: str, patches: Optional[List[Path]] = None) -> str:
    patches = series(lib) if patches is None else patches
    return f"{BASE_VERSION}+{LOCAL_TAG}.{len(patches)}.g{series_digest(patches)}"


def release_wheel(name: str) -> Path:
    path = WHEELS / f"{name}-{BASE_VERSION}-py3-none-any.whl"
    if not path.exists():
        raise StackError(f"{path.name} is missing; run `make fetch` (python3 tools/stack.py fetch) first")
    return path


def unpack(wheel: Path, dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(dest)


# ---------------------------------------------------------------------------------------------------------------
# fetch
# ---------------------------------------------------------------------------------------------------------------


def cmd_fetch() -> None:
    names = UNPATCHED + list(PATCHED)
    todo = [n for n in names if not (WHEELS / f"{n}-{BASE_VERSION}-py3-none-any.whl").exists()]
    if not todo:
        log("release wheels already in .cache/wheels")
        return
    WHEELS.mkdir(parents=True, exist_ok=True)
    log(f"downloading {', '.join(f'{n}=={BASE_VERSION}' for n in todo)}")
    run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
         "-d", WHEELS, *[f"{n}=={BASE_VERSION}" for n in todo]]
    )


# ---------------------------------------------------------------------------------------------------------------
# Applying a series
# ---------------------------------------------------------------------------------------------------------------


def failing_hunk(patch: Path, path: str, line: int) -> str:
    """Return the hunk of ``patch`` that targets ``path`` and starts at ``line`` in the old file."""
    text = patch.read_text(errors="replace").splitlines()
    current = None
    hunks = []
    for i, l in enumerate(text):
        if l.startswith("--- "):
            current = None
        elif l.startswith("+++ "):
            current = l[4:].strip()
            if current.startswith("b/"):
                current = current[2:]
        elif l.startswith("@@") and current == path:
            m = re.match(r"@@ -(\d+)", l)
            hunks.append((int(m.group(1)) if m else -1, i))
    for start, i in hunks:
        if start == line:
            end = i + 1
            while end < len(text) and not text[end].startswith(("@@", "diff --git", "-- ")):
                end += 1
            return "\n".join(text[i:end])
    return "(hunk not located)"


def apply_series(lib: str, tree: Path, patches: List[Path]) -> None:
    """Apply ``patches`` in order to the unpacked release in ``tree``; stop at the first that fails."""
    env = isolated_git_env(tree)
    for patch in patches:
        res = run(["git", "apply", "--whitespace=nowarn", patch], cwd=tree, env=env, check=False, capture=True)
        if res.returncode != 0:
            detail = res.stdout.strip()
            hunks = []
            for m in re.finditer(r"patch failed: (\S+):(\d+)", detail):
                hunks.append(f"--- failing hunk in {m.group(1)} (old line {m.group(2)}):\n"
                             + failing_hunk(patch, m.group(1), int(m.group(2))))
            raise StackError(
                f"{PATCHED[lib]}/patches/{patch.name} does not apply to {lib} {BASE_VERSION}:\n"
                f"{detail}\n" + "\n".join(hunks)
            )
        log(f"  applied {patch.name}")


# ---------------------------------------------------------------------------------------------------------------
# wheel
# ---------------------------------------------------------------------------------------------------------------


def _record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def repack(lib: str, tree: Path, version: str, patches: List[Path], out_dir: Path) -> Path:
    """Zip the patched tree as ``{lib}-{version}-py3-none-any.whl`` with fresh METADATA and RECORD."""
    old_info = tree / f"{lib}-{BASE_VERSION}.dist-info"
    new_info_name = f"{lib}-{version}.dist-info"
    new_info = tree / new_info_name
    old_info.rename(new_info)

    meta = (new_info / "METADATA").read_text()
    meta = re.sub(r"^Version: .*$", f"Version: {version}", meta, count=1, flags=re.M)
    summary = (
        f" [patched: oversampled-PSF series {PATCHED[lib]}/patches, {len(patches)} patch(es), "
        f"sha {series_digest(patches)}]"
    )
    meta = re.sub(r"^(Summary: .*)$", lambda m: m.group(1) + summary, meta, count=1, flags=re.M)
    (new_info / "METADATA").write_text(meta)
    (new_info / "PSFOS_SERIES").write_text("".join(p.name + "\n" for p in patches))

    files = sorted(p for p in tree.rglob("*") if p.is_file() and p.name != "RECORD")
    out_dir.mkdir(parents=True, exist_ok=True)
    wheel = out_dir / f"{lib}-{version}-py3-none-any.whl"
    rows = []
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in files:
            arc = path.relative_to(tree).as_posix()
            data = path.read_bytes()
            info = zipfile.ZipInfo(arc, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
            rows.append((arc, _record_hash(data), str(len(data))))
        rows.append((f"{new_info_name}/RECORD", "", ""))
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        info = zipfile.ZipInfo(f"{new_info_name}/RECORD", date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, buf.getvalue())
    return wheel


def cmd_wheel(lib: str) -> Path:
    if lib not in PATCHED:
        raise StackError(f"unknown library {lib!r}; choose from {list(PATCHED)}")
    patches = series(lib)
    version = local_version(lib, patches)
    tree = BUILD / lib
    log(f"{lib}: unpacking the {BASE_VERSION} release and applying {len(patches)} patch(es)")
    unpack(release_wheel(lib), tree)
    apply_series(lib, tree, patches)
    for old in DIST.glob(f"{lib}-*.whl"):
        old.unlink()
    wheel = repack(lib, tree, version, patches, DIST)
    log(f"{lib}: wrote dist/{wheel.name}")
    return wheel


# ---------------------------------------------------------------------------------------------------------------
# The Python of .venv
# ---------------------------------------------------------------------------------------------------------------


def find_python(name: str) -> Optional[Path]:
    """The interpreter ``name`` (a command such as ``python3.12``, or a path) as its real executable, or None.

    A pyenv shim of a version that is installed but not selected (by `pyenv global`) is on PATH but fails when run,
    so for a bare command the interpreters that pyenv installed are tried as well.
    """
    candidates = [name]
    if "/" not in name:
        pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
        candidates += [str(p) for p in sorted(pyenv_root.glob(f"versions/*/bin/{name}"))]
    for candidate in candidates:
        try:
            res = subprocess.run(
                [candidate, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True, timeout=60
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if res.returncode == 0 and res.stdout.strip():
            return Path(res.stdout.strip())
    return None


def chosen_python() -> Path:
    """The Python .venv is made with: $PSFOS_PYTHON if set, else the first of PREFERRED_PYTHONS that the machine has,
    else the python3 running this script."""
    requested = os.environ.get(PYTHON_ENV, "").strip()
    if requested:
        found = find_python(requested)
        if found is None:
            raise StackError(f"PY={requested}: there is no such Python on this machine (or it does not run)")
        return found
    for name in PREFERRED_PYTHONS:
        found = find_python(name)
        if found is not None:
            return found
    return Path(sys.executable)


def python_version(python: Path) -> Optional[str]:
    """``python``'s major.minor version, e.g. "3.12", or None if it does not run (or is not there)."""
    try:
        res = run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], check=False, capture=True)
    except OSError:
        return None
    return res.stdout.strip() if res.returncode == 0 else None


def cmd_python(record: Optional[Path]) -> None:
    """Print the Python .venv is made with; with a ``record`` file, write it there if it changed (for the Makefile,
    whose .venv target depends on that file, so that another Python reinstalls .venv)."""
    python = chosen_python()
    line = f"Python {python_version(python)} {python}\n"
    print(line, end="")
    if record is not None and (not record.exists() or record.read_text() != line):
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(line)


# ---------------------------------------------------------------------------------------------------------------
# install
# ---------------------------------------------------------------------------------------------------------------


def venv_python() -> Path:
    return VENV / "bin" / "python"


def venv_site() -> Path:
    out = run(
        [venv_python(), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture=True
    ).stdout.strip()
    return Path(out)


def installed_versions() -> Dict[str, str]:
    code = (
        "import importlib.metadata as m\n"
        "for n in %r:\n"
        "    try: print(n, m.version(n))\n"
        "    except m.PackageNotFoundError: print(n, '-')\n" % (UNPATCHED + list(PATCHED))
    )
    out = run([venv_python(), "-c", code], capture=True).stdout.split()
    return dict(zip(out[::2], out[1::2]))


def dist_wheel(lib: str) -> Path:
    found = sorted(DIST.glob(f"{lib}-*.whl"))
    if len(found) != 1:
        raise StackError(f"expected one dist/{lib}-*.whl, found {[f.name for f in found]}; run `make wheels`")
    return found[0]


def dev_mode() -> bool:
    return (VENV / DEV_MARKER).exists()


def missing_extras() -> List[str]:
    """The distributions of `EXTRAS` that .venv does not have (e.g. one added to EXTRAS after .venv was made)."""
    code = (
        "import importlib.metadata as m, sys\n"
        "for n in sys.argv[1:]:\n"
        "    try: m.version(n)\n"
        "    except m.PackageNotFoundError: print(n)\n"
    )
    return run([venv_python(), "-c", code, *EXTRAS], capture=True).stdout.split()


def install_missing_extras(pip: List) -> None:
    """Install the `EXTRAS` an existing .venv lacks, at the versions of tools/constraints.txt."""
    missing = missing_extras()
    if missing:
        log(f"installing extras missing from .venv: {', '.join(missing)}")
        cons = ["-c", CONSTRAINTS] if CONSTRAINTS.exists() else []
        run([*pip, "install", "--quiet", *cons, *missing])


def check_venv_python(python: Path, version: str) -> None:
    """Remove a .venv of another Python than ``python`` (or one whose Python no longer runs), so that it is made
    again; refuse in dev mode, where removing it would drop the dev/ trees from .venv."""
    if not VENV.exists():
        return
    have = python_version(venv_python())
    if have == version:
        return
    have_text = f"Python {have}" if have else "a Python that no longer runs"
    if dev_mode():
        raise StackError(
            f".venv is in dev mode on {have_text}, and this build uses Python {version} ({python}). "
            f"To move to {version}: `make undev` (it makes .venv again), then `make dev` (dev/ is kept as it is)."
            + (f" To stay on {have}: pass PY=python{have} (e.g. `make test PY=python{have}`)." if have else "")
        )
    log(f".venv is {have_text}, and this build uses Python {version} ({python}): making .venv again"
        + (f" (to keep {have}, pass PY=python{have})" if have else ""))
    shutil.rmtree(VENV)


def cmd_install() -> None:
    pip = [venv_python(), "-m", "pip", "--disable-pip-version-check"]
    python = chosen_python()
    version = python_version(python)
    check_venv_python(python, version)
    if not venv_python().exists():
        log(f"creating .venv with Python {version} ({python})")
        run([python, "-m", "venv", VENV])
    versions = installed_versions()
    if dev_mode():
        log("dev mode: .venv imports the libraries from dev/ (run `make undev` to return to dist/ wheels)")
        install_missing_extras(pip)
        return
    wheels = {lib: dist_wheel(lib) for lib in PATCHED}
    want = {lib: w.name.split("-")[1] for lib, w in wheels.items()}
    if all(versions.get(n, "-") == BASE_VERSION for n in UNPATCHED):
        stale = [lib for lib in PATCHED if versions[lib] != want[lib]]
        if stale:
            log(f"reinstalling changed wheels: {', '.join(wheels[l].name for l in stale)}")
            run([*pip, "install", "--quiet", "--no-deps", "--force-reinstall", *[wheels[l] for l in stale]])
        else:
            log("installed libraries match dist/")
        install_missing_extras(pip)
        return
    log("installing the stack into .venv (first time: downloads jax, numba and the libraries' dependencies)")
    reqs = [f"{release_wheel(n)}" for n in UNPATCHED]
    reqs += [f"{wheels[lib]}[jax]" for lib in PATCHED]
    reqs += EXTRAS
    cons = ["-c", CONSTRAINTS] if CONSTRAINTS.exists() else []
    run([*pip, "install", "--quiet", *cons, *reqs])


# ---------------------------------------------------------------------------------------------------------------
# pristine
# ---------------------------------------------------------------------------------------------------------------


def pristine_site() -> Path:
    return PRISTINE / "site"


def cmd_pristine() -> None:
    """Unpack the untouched releases of the patched libraries into one site directory.

    A process that puts this directory first on ``PYTHONPATH`` imports the pristine autoarray, autogalaxy and
    autolens, and everything else (autoconf, autofit, numpy, jax) from .venv, so both sides share one environment.
    """
    site = pristine_site()
    fresh = site.with_name("site.new")
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    for lib in PATCHED:
        with zipfile.ZipFile(release_wheel(lib)) as zf:
            zf.extractall(fresh)
    # Swap in the new tree, so a process importing from the old one is never left with half a tree.
    if site.exists():
        stale = site.with_name("site.old")
        shutil.rmtree(stale, ignore_errors=True)
        site.rename(stale)
        shutil.rmtree(stale, ignore_errors=True)
    fresh.rename(site)
    log(f"pristine releases unpacked into {site.relative_to(ROOT)}")


# ---------------------------------------------------------------------------------------------------------------
# dev / export / undev
# ---------------------------------------------------------------------------------------------------------------


def make_dev_tree(lib: str, tree: Path, patches: List[Path]) -> None:
    """A git tree of ``lib``'s package: one pristine commit (tagged) and one commit per patch."""
    with tempfile.TemporaryDirectory() as tmp:
        unpack(release_wheel(lib), Path(tmp))
        tree.mkdir(parents=True)
        shutil.copytree(Path(tmp) / lib, tree / lib)
    env = isolated_git_env(tree)
    git(["init", "--quiet", "-b", "main"], tree, env=env)
    (tree / ".gitignore").write_text("__pycache__/\n*.pyc\n")
    git(["add", "-A"], tree, env=env)
    git(["commit", "--quiet", "-m", f"{lib} {BASE_VERSION} (pristine release)"], tree, env=env)
    git(["tag", PRISTINE_TAG], tree, env=env)
    for patch in patches:
        # --keep-cr: the release's sources have CRLF line endings, which the patches' context lines carry.
        res = git(["am", "--quiet", "--keep-cr", "--whitespace=nowarn", str(patch)], tree, check=False, env=env)
        if res.returncode != 0:
            git(["am", "--abort"], tree, check=False, env=env)
            raise StackError(f"{PATCHED[lib]}/patches/{patch.name} does not apply in the dev tree:\n{res.stdout}")


def export_tree(lib: str, tree: Path, out: Path) -> List[Path]:
    """Write ``tree``'s commits since the pristine tag into ``out`` as a series (patches + ``series`` file)."""
    env = isolated_git_env(tree)
    status = git(["status", "--porcelain"], tree, env=env).stdout.strip()
    if status:
        raise StackError(f"dev/{PATCHED[lib]} has uncommitted changes; commit them first:\n{status}")
    check_line_endings(lib, tree)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.patch"):
        old.unlink()
    res = git(
        ["format-patch", "--quiet", "--zero-commit", "--no-signature", "--no-numbered", "--full-index",
         "-o", str(out), f"{PRISTINE_TAG}..HEAD"],
        tree,
        env=env,
    )
    names = sorted(p.name for p in out.glob("*.patch"))
    (out / "series").write_text(
        "# Applied in this order to the files of the release wheel (python3 tools/stack.py wheel).\n"
        + "".join(n + "\n" for n in names)
    )
    return [out / n for n in names]


def check_line_endings(lib: str, tree: Path) -> None:
    """Refuse to export a tree in which an edited file changed line-ending style (CRLF <-> LF).

    The release's sources use CRLF. An editor or script that rewrites a file with LF endings turns a small change
    into a patch that replaces every line of the file.
    """
    env = isolated_git_env(tree)
    changed = git(["diff", "--name-only", "--diff-filter=M", PRISTINE_TAG, "HEAD"], tree, env=env).stdout.split()
    flipped = []
    for path in changed:
        before, after = (
            subprocess.run(["git", "show", f"{rev}:{path}"], cwd=tree, env=env, capture_output=True).stdout
            for rev in (PRISTINE_TAG, "HEAD")
        )
        if (b"\r\n" in before) != (b"\r\n" in after) or (
            b"\r\n" in after and after.count(b"\n") != after.count(b"\r\n")
        ):
            flipped.append(path)
    if flipped:
        raise StackError(
            f"dev/{PATCHED[lib]}: these files no longer use the release's line endings (CRLF), so their patches "
            f"would rewrite every line: {flipped}. Convert them back (e.g. unix2dos) and amend the commits."
        )


def cmd_dev() -> None:
    if not venv_python().exists():
        raise StackError(".venv does not exist; run `make build` first")
    site = venv_site()
    paths = []
    for lib, folder in PATCHED.items():
        tree = DEV / folder
        if tree.exists():
            log(f"dev/{folder} exists; kept as it is (export it, or delete it to start again from the series)")
        else:
            make_dev_tree(lib, tree, series(lib))
            log(f"dev/{folder}: pristine commit + {len(series(lib))} patch commit(s)")
        paths.append(str(tree.resolve()))
    run([venv_python(), "-m", "pip", "uninstall", "--quiet", "-y", *PATCHED], check=False)
    (site / DEV_PTH).write_text("\n".join(paths) + "\n")
    (VENV / DEV_MARKER).write_text("dev\n")
    log("dev mode on: .venv now imports autoarray, autogalaxy and autolens from dev/. "
        "Commit there, then `make export`.")


def cmd_export() -> None:
    for lib, folder in PATCHED.items():
        tree = DEV / folder
        if not tree.exists():
            log(f"dev/{folder} does not exist; nothing to export")
            continue
        patches = export_tree(lib, tree, series_dir(lib))
        log(f"{folder}/patches: {len(patches)} patch(es) written")


def cmd_undev() -> None:
    if python_version(venv_python()):  # a .venv whose Python no longer runs is made again by cmd_install
        pth = venv_site() / DEV_PTH
        if pth.exists():
            pth.unlink()
    marker = VENV / DEV_MARKER
    if marker.exists():
        marker.unlink()
    log("dev mode off")
    cmd_install()


def cmd_prefixes() -> int:
    """Run the differential suite on every prefix of the combined series (autoarray, then autogalaxy, autolens).

    Each prefix is built into ``build/prefixes/<k>/site`` and put first on the patched side's PYTHONPATH, so the
    check needs no reinstall. Returns non-zero if any prefix fails.
    """
    combined = [(lib, p) for lib in PATCHED for p in series(lib)]
    failures = []
    for k in range(len(combined) + 1):
        site = BUILD / "prefixes" / str(k) / "site"
        if site.exists():
            shutil.rmtree(site)
        site.mkdir(parents=True)
        for lib in PATCHED:
            tree = BUILD / "prefixes" / str(k) / lib
            unpack(release_wheel(lib), tree)
            apply_series(lib, tree, [p for l, p in combined[:k] if l == lib])
            shutil.copytree(tree / lib, site / lib)
        label = "pristine release" if k == 0 else f"through {PATCHED[combined[k - 1][0]]}/{combined[k - 1][1].name}"
        log(f"prefix {k}/{len(combined)} ({label}): differential suite")
        env = dict(os.environ, PSFOS_PATCHED_SITE=str(site))
        res = run([venv_python(), "-m", "pytest", "-q", "-p", "no:randomly", str(ROOT / "differential")],
                  cwd=ROOT, env=env, check=False, capture=True)
        summary = [l for l in res.stdout.splitlines() if l.strip()][-1:] or ["(no output)"]
        log(f"  {summary[0]}")
        if res.returncode != 0:
            failures.append(label)
            print(res.stdout[-4000:])
    if failures:
        log(f"FAILED prefixes: {failures}")
        return 1
    log(f"all {len(combined) + 1} prefixes pass the differential suite")
    return 0


def cmd_status() -> None:
    for lib, folder in PATCHED.items():
        print(f"{lib:11s} series: {len(series(lib))} patch(es) -> {local_version(lib)}")
    python = chosen_python()
    print(f"the build uses Python {python_version(python)} ({python})")
    if venv_python().exists():
        print(f".venv: Python {python_version(venv_python())}, site-packages {venv_site()}")
        print("mode:", "dev (dev/ trees)" if dev_mode() else "wheels (dist/)")
        for n, v in installed_versions().items():
            print(f"  installed {n:11s} {v}")


def main(argv: List[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    cmd, *args = argv
    try:
        if cmd == "fetch":
            cmd_fetch()
        elif cmd == "wheel":
            for lib in args or list(PATCHED):
                cmd_wheel(lib)
        elif cmd == "install":
            cmd_install()
        elif cmd == "python":
            cmd_python(Path(args[1]) if args[:1] == ["--record"] else None)
        elif cmd == "pristine":
            cmd_pristine()
        elif cmd == "dev":
            cmd_dev()
        elif cmd == "export":
            cmd_export()
        elif cmd == "undev":
            cmd_undev()
        elif cmd == "prefixes":
            return cmd_prefixes()
        elif cmd == "status":
            cmd_status()
        elif cmd == "version":
            print(local_version(args[0]))
        else:
            print(__doc__)
            return 2
    except StackError as e:
        print(f"[stack] ERROR: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
