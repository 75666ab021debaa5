"""The release: what `python -m build` makes is what PyPI and users get.

The sdist and the wheel are built once per run into a temporary directory
(``python -m build --no-isolation``: the build backend of this environment,
nothing downloaded; the wheel is built from the sdist), checked with ``twine check --strict``, opened, and the
wheel installed into a fresh virtual environment where the quickstart of
docs/index.md runs.
"""

from __future__ import annotations

import email.parser
import os
import re
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import attrs
import pytest

import maintguard
from tests import snippets

ROOT = snippets.ROOT


@attrs.frozen
class Dist:
    sdist: Path
    wheel: Path


def _run(*args: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"{' '.join(map(str, args))} failed:\n{(done.stdout + done.stderr)[-3000:]}")
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    """The sdist and the wheel of this checkout."""
    out = tmp_path_factory.mktemp("dist")
    # No --sdist/--wheel: build makes the sdist, then the wheel *from the sdist*,
    # so a file the sdist lacks breaks the wheel too.
    _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out)
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return Dist(sdist, wheel)


def test_twine_check_strict_passes(dist: Dist) -> None:
    """`twine check --strict` accepts both files (metadata, README rendering)."""
    output = _run(sys.executable, "-m", "twine", "check", "--strict", dist.sdist, dist.wheel)
    assert 2 == output.count("PASSED")


def _wheel_metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(archive.read(name).decode())


def test_version_comes_from_one_place(dist: Dist) -> None:
    """The package's version is maintguard.__version__; pyproject.toml only points at it."""
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert (maintguard.__version__, True, None) == (
        _wheel_metadata(dist.wheel)["Version"],
        'dynamic = ["version"]' in pyproject,
        re.search(r"^version\s*=", pyproject, re.MULTILINE),
    )


def _package_files() -> set[str]:
    """Every file of src/maintguard a build takes (bytecode caches aside)."""
    source = ROOT / "src"
    return {
        path.relative_to(source).as_posix()
        for path in (source / "maintguard").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def test_wheel_holds_the_package_and_its_data_only(dist: Dist) -> None:
    """The wheel has every file of src/maintguard (code and data) and nothing else
    but its metadata: no tests, docs or examples."""
    with zipfile.ZipFile(dist.wheel) as archive:
        names = set(archive.namelist())
    package = {name for name in names if not name.startswith("maintguard-")}
    expected = _package_files()
    assert (expected, True) == (
        package,
        all(name.split("/")[0].endswith(".dist-info") for name in names - package),
    )


def test_sdist_carries_tests_docs_and_license(dist: Dist) -> None:
    """The sdist holds what a packager needs to test and document the release."""
    with tarfile.open(dist.sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    wanted = {
        "pyproject.toml",
        "README.md",
        "CHANGELOG.md",
        "LICENSE",
        "mkdocs.yml",
        "tests/test_docs.py",
        "tests/conftest.py",
        "docs/index.md",
        "docs/hooks.py",
        "src/maintguard/__init__.py",
    }
    assert set() == wanted - names


def test_wheel_installs_into_a_fresh_venv_and_the_quickstart_runs(
    dist: Dist, tmp_path: Path
) -> None:
    """A fresh venv with the built wheel and only its core dependencies runs
    docs/index.md's quickstart and the `maintguard` command."""
    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    scripts = target / ("Scripts" if os.name == "nt" else "bin")
    python = scripts / "python"
    core = [
        requirement
        for requirement in _wheel_metadata(dist.wheel).get_all("Requires-Dist") or []
        if "extra ==" not in requirement
    ]
    pip = (sys.executable, "-m", "pip", "--python", python, "install", "--quiet")
    _run(*pip, "--no-deps", dist.wheel)
    _run(*pip, *core)
    quickstart = next(
        block
        for block in snippets.python_blocks(ROOT / "docs" / "index.md")
        if "MaintenanceMiddleware" in block.code
    )
    script = tmp_path / "quickstart.py"
    script.write_text(quickstart.code + "\nimport maintguard\nprint(maintguard.__file__)\n")
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("MAINTENANCE_", "PYTHON", "COV_", "COVERAGE"))
    }
    printed = _run(python, script, cwd=tmp_path, env=env).strip().splitlines()
    version = _run(scripts / "maintguard", "--version", cwd=tmp_path, env=env)
    assert (True, f"maintguard {maintguard.__version__}") == (
        Path(printed[-1]).is_relative_to(target),
        version.strip(),
    )
