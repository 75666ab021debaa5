"""nox sessions: the steps of ``python dev.py test`` and ``dev.py bench``.

    nox                 # tests: ruff, mypy --strict, pytest and coverage, as dev.py test
    nox -s lint         # ruff only
    nox -s typing       # mypy --strict only
    nox -s bench        # benchmarks/bench.py: every benchmark, tables into docs/performance.md
    nox -s docs         # the documentation site, built strictly into site/
    nox -s release      # sdist and wheel into dist/, twine check --strict
    nox -s frameworks   # the integration tests on the oldest and newest supported
                        # Flask, Django and FastAPI/Starlette (Python 3.10 and 3.13)

Each session installs the project with its extras and one dependency group
of ``pyproject.toml`` (``pip install --group``, pip 25.1 or newer), so the
tool versions live in one place, shared with tox.ini and dev.py.
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.needs_version = ">=2024.4"
nox.options.sessions = ["tests"]

LINTED = ("src", "tests", "examples", "benchmarks", "docs/hooks.py", "dev.py", "noxfile.py")
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


@nox.session
def docs(session: nox.Session) -> None:
    """Build the site into site/ (``nox -s docs -- serve``: serve it instead)."""
    install(session, "docs")
    if session.posargs[:1] == ["serve"]:
        session.run("mkdocs", "serve", *session.posargs[1:])
    else:
        session.run("mkdocs", "build", "--strict", *session.posargs)


@nox.session
def release(session: nox.Session) -> None:
    """The files to upload: sdist and wheel in dist/, checked by twine."""
    session.install("pip>=25.1")
    session.install("--group", "release")
    session.run("python", "-m", "build", "--outdir", "dist")
    session.run("twine", "check", "--strict", *map(str, Path("dist").glob("*")))


#: The supported range of each framework: its oldest release and the newest.
FRAMEWORKS = {
    "flask": {"oldest": ("flask==3.0.0", "werkzeug==3.0.0"), "newest": ("flask", "werkzeug")},
    "django": {"oldest": ("django==4.2.*",), "newest": ("django",)},
    "fastapi": {
        # FastAPI 0.110.1 is the first release that accepts Starlette 0.37.
        "oldest": ("fastapi==0.110.1", "starlette==0.37.2"),
        "newest": ("fastapi", "starlette"),
    },
}
#: The tests that exercise each framework.
FRAMEWORK_TESTS = {
    "flask": ("tests/test_integration_flask.py", "tests/test_example_login.py"),
    "django": ("tests/test_integration_django.py",),
    "fastapi": ("tests/test_integration_starlette.py", "tests/test_asgi.py"),
}


@nox.session(python=["3.10", "3.13"])
@nox.parametrize("framework", list(FRAMEWORKS))
@nox.parametrize("versions", ["oldest", "newest"])
def frameworks(session: nox.Session, framework: str, versions: str) -> None:
    """One framework at one end of its supported range, under its tests."""
    install(session, "tests")
    session.install("--upgrade", *FRAMEWORKS[framework][versions])
    session.run("python", "-m", "pip", "list", "--format=freeze")  # the versions tested
    session.run("pytest", "-p", "no:cacheprovider", *FRAMEWORK_TESTS[framework], *session.posargs)
