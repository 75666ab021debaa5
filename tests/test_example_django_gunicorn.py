"""The Django example project under gunicorn (2 workers), over real HTTP.

``settings.MAINTGUARD`` configures the service; maintenance is switched
with ``manage.py maintguard``, which also ends the database sessions of
non-staff users (the Django session invalidator runs where the change is
made). Staff keep working; ``@operation`` and ``@exempt`` views are honoured;
the 503 page comes from the ``maintguard/503.html`` template.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import servers
from tests.realserver import ROOT, Browser, binary, demo_env, run, serving, until_all

pytestmark = pytest.mark.slow
MANAGE = [sys.executable, str(ROOT / "examples" / "django_app" / "manage.py")]
USERS = (
    "from django.contrib.auth.models import User; "
    "User.objects.create_user('staff', password='staff-password', is_staff=True); "
    "User.objects.create_user('root', password='root-password', is_superuser=True); "
    "User.objects.create_user('alice', password='alice-password')"
)


@contextlib.contextmanager
def _project(directory: Path, **extra: str) -> Iterator[tuple[str, dict[str, str]]]:
    env = demo_env(directory) | {"DJANGO_SETTINGS_MODULE": "examples.django_app.settings"} | extra
    run([*MANAGE, "migrate", "--verbosity", "0"], env)
    run([*MANAGE, "shell", "-c", USERS], env)
    run([*MANAGE, "maintguard", "init-db"], env)
    port = servers.free_port()
    command = [
        binary("gunicorn"),
        "--workers",
        "2",
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "examples.django_app.wsgi",
    ]
    with serving(command, env, port) as base:
        yield base, env


@pytest.fixture(scope="module")
def django_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    with _project(tmp_path_factory.mktemp("django-example")) as served:
        yield served


def _login(base: str, name: str) -> Browser:
    browser = Browser(base)
    assert 200 == browser.post("/login", {"username": name, "password": f"{name}-password"})
    return browser


def test_staff_pass_a_plain_user_is_blocked_and_logged_out(
    django_server: tuple[str, dict[str, str]],
) -> None:
    """After `manage.py maintguard enable`: staff and superusers write, alice
    gets 503 and her database session is gone."""
    base, env = django_server
    staff, root, alice = _login(base, "staff"), _login(base, "root"), _login(base, "alice")
    assert "alice" == alice.json("/whoami")["user"]
    run([*MANAGE, "maintguard", "enable", "--reason", "Schema migration"], env)
    try:
        assert {503} == set(until_all(lambda: Browser(base).post("/upload"), 503))
        assert {201} == set(until_all(lambda: staff.post("/upload"), 201))
        assert {201} == set(until_all(lambda: root.post("/upload"), 201))
        assert {503} == set(until_all(lambda: alice.post("/upload"), 503))
        assert alice.json("/whoami")["user"] is None
        assert "staff" == staff.json("/whoami")["user"]
    finally:
        run([*MANAGE, "maintguard", "disable"], env)
    assert {201} == set(until_all(lambda: Browser(base).post("/upload"), 201))


def test_operation_blocks_a_get_and_exempt_serves_a_post(
    django_server: tuple[str, dict[str, str]],
) -> None:
    """@operation("JOB_CREATION") on a GET view: 503; @exempt on a POST view: served."""
    base, env = django_server
    anonymous = Browser(base)
    assert 202 == anonymous.get("/reports/3/export")[0]
    run([*MANAGE, "maintguard", "enable", "--reason", "Upgrade"], env)
    try:
        assert {503} == set(until_all(lambda: anonymous.get("/reports/3/export")[0], 503))
        assert {200} == set(until_all(lambda: anonymous.post("/hooks/payment"), 200))
        assert 503 != anonymous.get("/assets/site.css")[0]  # STATIC_URL is exempt for reads
    finally:
        run([*MANAGE, "maintguard", "disable"], env)


def test_the_503_page_is_the_django_template(django_server: tuple[str, dict[str, str]]) -> None:
    """A blocked browser request gets maintguard/503.html, with the message escaped."""
    base, env = django_server
    message = "Back <soon>"
    run([*MANAGE, "maintguard", "enable", "--reason", "Upgrade", "--message", message], env)
    try:
        until_all(lambda: Browser(base).post("/upload"), 503)
        status, headers, body = Browser(base).request(
            "POST", "/upload", {}, {"Accept": "text/html"}
        )
        assert 503 == status
        assert "text/html" in headers["Content-Type"]
        assert b'class="maintguard-503"' in body  # the template's own markup
        assert b"Back &lt;soon&gt;" in body
    finally:
        run([*MANAGE, "maintguard", "disable"], env)


def test_templates_see_the_status_through_the_context_processor(
    django_server: tuple[str, dict[str, str]],
) -> None:
    """A page rendered during maintenance shows the banner from `maintenance`."""
    base, env = django_server

    def banner_shown() -> int:
        return int(b"maintenance-banner" in Browser(base).get("/reports")[2])

    # Every worker first follows the previous test's disable (within the
    # refresh interval): no banner anywhere.
    assert {0} == set(until_all(banner_shown, 0))
    run([*MANAGE, "maintguard", "enable", "--reason", "Upgrade", "--message", "Back at 10"], env)
    try:
        until_all(lambda: Browser(base).post("/upload"), 503)
        body = Browser(base).get("/reports")[2]
        assert b'<div class="maintenance-banner">Back at 10</div>' in body
    finally:
        run([*MANAGE, "maintguard", "disable"], env)


def test_manage_py_maintguard_status_reads_the_shared_state(
    django_server: tuple[str, dict[str, str]],
) -> None:
    """`manage.py maintguard status --json` shows what the workers serve."""
    _, env = django_server
    run([*MANAGE, "maintguard", "enable", "--reason", "Checking"], env)
    try:
        assert '"is_active": true' in run([*MANAGE, "maintguard", "status", "--json"], env).stdout
    finally:
        run([*MANAGE, "maintguard", "disable"], env)


def test_cache_backend_sessions_end_by_the_maintenance_epoch(tmp_path: Path) -> None:
    """With the cache session backend (nothing to list), alice's session from
    before the maintenance ends on her next request; staff keep theirs."""
    engine = "django.contrib.sessions.backends.cache"
    with _project(tmp_path, DEMO_SESSION_ENGINE=engine) as (base, env):
        staff, alice = _login(base, "staff"), _login(base, "alice")
        assert "alice" == alice.json("/whoami")["user"]
        run([*MANAGE, "maintguard", "enable", "--reason", "Upgrade"], env)
        until_all(lambda: Browser(base).post("/upload"), 503)
        assert alice.json("/whoami")["user"] is None
        assert "staff" == staff.json("/whoami")["user"]
        run([*MANAGE, "maintguard", "disable"], env)
        assert alice.json("/whoami")["user"] is None
