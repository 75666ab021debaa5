#!/usr/bin/env python3
"""Set up and run maintguard's demo, tests and benchmarks with only Python.

    python3 dev.py demo    # the example Flask app behind maintguard on 127.0.0.1:8000
    python3 dev.py test    # ruff, mypy --strict, the whole pytest suite, branch coverage
    python3 dev.py bench   # the benchmarks, tables written into docs/performance.md

Each command creates ``.venv`` on first use and installs what it needs into
it; nothing outside the checkout is touched.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".maintguard-installed"
#: Branch coverage of the pytest process, reported after the run (no threshold).
COVERAGE = ("--cov=maintguard", "--cov-branch", "--cov-report=term:skip-covered")


def run(*args: str | Path, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    result = subprocess.run([str(a) for a in args], cwd=ROOT, env=env, check=False)
    if result.returncode != 0:
        sys.exit(result.returncode)


def ensure_venv(groups: tuple[str, ...]) -> None:
    if sys.version_info < (3, 10):  # noqa: UP036 - dev.py may run on any python3
        sys.exit("maintguard needs Python 3.10 or newer")
    if not PYTHON.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    wanted = ",".join(groups)
    pyproject = (ROOT / "pyproject.toml").stat().st_mtime
    if STAMP.exists() and STAMP.read_text() == f"{wanted}:{pyproject}":
        return
    run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip>=25.1")
    group_args = [arg for group in groups for arg in ("--group", group)]
    run(PYTHON, "-m", "pip", "install", "--quiet", "-e", ".[redis,sql,testing]", *group_args)
    STAMP.write_text(f"{wanted}:{pyproject}")


def demo() -> None:
    ensure_venv(("demo",))
    run(PYTHON, "-m", "examples.flask_app.app", *sys.argv[2:])


def test() -> None:
    ensure_venv(("dev",))
    linted = ("src", "tests", "examples", "benchmarks", "docs/hooks.py", "dev.py", "noxfile.py")
    run(BIN / "ruff", "check", *linted)
    run(BIN / "ruff", "format", "--check", *linted)
    run(BIN / "mypy", "--strict", "src")
    env = dict(os.environ)
    run(PYTHON, "-m", "pytest", *COVERAGE, *sys.argv[2:], env=env)


def bench() -> None:
    ensure_venv(("dev", "bench"))
    run(PYTHON, ROOT / "benchmarks" / "bench.py", *sys.argv[2:])


COMMANDS = {"demo": demo, "test": test, "bench": bench}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]]()
