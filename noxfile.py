"""nox sessions: the steps of ``python dev.py test`` and ``dev.py bench``.

    nox                 # tests: ruff, mypy --strict, pytest and coverage, as dev.py test
    nox -s lint         # ruff only
    nox -s typing       # mypy --strict only
    nox -s bench        # benchmarks/bench.py: every benchmark, tables into docs/performance.md

Each session installs the project with its extras and one dependency group
of ``pyproject.toml`` (``pip install --group``, pip 25.1 or newer), so the
tool versions live in one place, shared with tox.ini and dev.py.
"""

from __future__ import annotations

import nox

nox.needs_version = ">=2024.4"
nox.options.sessions = ["tests"]

LINTED = ("src", "tests", "examples", "benchmarks", "dev.py", "noxfile.py")
EXTRAS = ".[redis,sql,testing]"
#: Branch coverage of the pytest process, reported after the run (no threshold).
COVERAGE = ("--cov=maintguard", "--cov-branch", "--cov-report=term:skip-covered")


def install(session: nox.Session, group: str) -> None:
    # pip learnt dependency groups (--group) in 25.1; a fresh venv may be older.
    session.install("pip>=25.1")
    session.install("-e", EXTRAS, "--group", group)


def run_lint(session: nox.Session) -> None:
    session.run("ruff", "check", *LINTED)
    session.run("ruff", "format", "--check", *LINTED)


def run_typing(session: nox.Session) -> None:
    session.run("mypy", "--strict", "src")


def run_pytest(session: nox.Session) -> None:
    session.run("pytest", *COVERAGE, *session.posargs, env={"PYTHONDONTWRITEBYTECODE": "1"})


@nox.session
def tests(session: nox.Session) -> None:
    """ruff, mypy --strict, the whole pytest suite and its branch coverage (as dev.py test)."""
    install(session, "dev")
    run_lint(session)
    run_typing(session)
    run_pytest(session)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over everything dev.py test lints."""
    install(session, "lint")
    run_lint(session)


@nox.session
def typing(session: nox.Session) -> None:
    """mypy --strict over src/."""
    install(session, "typing")
    run_typing(session)


@nox.session
def bench(session: nox.Session) -> None:
    """Every benchmark (in-process, propagation, real servers under wrk), its
    tables written into docs/performance.md; ``nox -s bench -- --quick`` for a
    smoke run that writes nothing."""
    install(session, "bench")  # the test servers (tests/servers.py), the competitors
    session.run("python", "benchmarks/bench.py", *session.posargs)
