"""maintguard.django: a real Django project (in-memory SQLite, django.contrib.auth)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import django
import pytest
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import Client
from django.test.utils import override_settings
from django.urls import path

from maintguard import ConfigurationError, MaintenanceService
from maintguard.django import MaintenanceMiddleware, load_service, staff_admin

TOKEN = "django-admin-token-0123456789"
BYPASS_SECRET = "django-bypass-secret-0123456789"

#: The service the middleware loads (settings.MAINTGUARD_SERVICE names it);
#: each test installs its own before building a Client.
SERVICE: MaintenanceService | None = None


def jobs(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return JsonResponse({"job": "created"}, status=201)
    return JsonResponse({"jobs": []})


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("home")


def upload(request: HttpRequest) -> HttpResponse:
    return HttpResponse("uploaded", status=201)


urlpatterns = [
    path("", home),
    path("api/jobs", jobs),
    path("upload", upload),
]

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="django-test-secret-key-0123456789",
        ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "maintguard.django.MaintenanceMiddleware",
        ],
        MAINTGUARD_SERVICE=f"{__name__}:SERVICE",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        USE_TZ=True,
    )
    django.setup()


@pytest.fixture(scope="module")
def users() -> dict[str, Any]:
    """A staff user and an ordinary one, in a freshly migrated in-memory database."""
    from django.contrib.auth.models import User
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    return {
        "staff": User.objects.create_user("staff", password="pw", is_staff=True),
        "alice": User.objects.create_user("alice", password="pw"),
    }


@pytest.fixture
def install() -> Iterator[Callable[..., MaintenanceService]]:
    """Build a service and make it the one settings.MAINTGUARD_SERVICE names."""
    global SERVICE
    made: list[MaintenanceService] = []

    def build(**options: Any) -> MaintenanceService:
        global SERVICE
        SERVICE = MaintenanceService(**options)
        made.append(SERVICE)
        return SERVICE

    yield build
    SERVICE = None
    for service in made:
        service.close()


@pytest.fixture
def service(install: Callable[..., MaintenanceService]) -> MaintenanceService:
    return install(
        admin_tokens=f"ops:{TOKEN}", is_admin=staff_admin, bypass_cookie_secret=BYPASS_SECRET
    )


@pytest.fixture
def client(service: MaintenanceService) -> Client:
    """A client whose handler loads the middleware, and so this test's service."""
    return Client()


def test_normal_maintenance_blocks_a_write_with_503_json_under_api(
    service: MaintenanceService, client: Client
) -> None:
    """A POST under /api/ answers 503 with the JSON body naming the operation."""
    service.enable_maintenance("Database upgrade", message="Back soon")
    response = client.post("/api/jobs")
    body = response.json()
    assert (503, "maintenance", "JOB_CREATION", "Back soon") == (
        response.status_code,
        body["error"],
        body["operation_type"],
        body["message"],
    )


def test_blocked_answer_carries_maintenance_headers(
    service: MaintenanceService, client: Client
) -> None:
    """The 503 is never cached and says when to retry."""
    service.enable_maintenance("Database upgrade", duration=300)
    response = client.post("/upload")
    assert "no-store" == response["Cache-Control"]
    assert 295 <= int(response["Retry-After"]) <= 300


def test_browser_gets_the_html_page(service: MaintenanceService, client: Client) -> None:
    """Outside /api/ a browser gets the HTML maintenance page."""
    service.enable_maintenance("Database upgrade")
    response = client.post("/upload", headers={"Accept": "text/html"})
    assert (503, "text/html; charset=utf-8") == (response.status_code, response["Content-Type"])


def test_normal_maintenance_serves_reads(service: MaintenanceService, client: Client) -> None:
    """A GET reaches the view during normal maintenance."""
    service.enable_maintenance("Database upgrade")
    assert 200 == client.get("/api/jobs").status_code


def test_control_api_status_is_served(service: MaintenanceService, client: Client) -> None:
    """GET /api/maintenance/status answers from the middleware, before any view."""
    service.enable_maintenance("Database upgrade")
    response = client.get("/api/maintenance/status")
    assert (200, True, "normal") == (
        response.status_code,
        response.json()["is_active"],
        response.json()["mode"],
    )


def test_control_api_write_with_a_bearer_token(service: MaintenanceService, client: Client) -> None:
    """POST /enable with a token reads the JSON body and switches maintenance on (no CSRF)."""
    response = client.post(
        "/api/maintenance/enable",
        data=b'{"reason": "Upgrade", "duration": 60}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert (200, True) == (response.status_code, service.get_maintenance_status().is_active)


def test_control_api_write_without_a_token_is_refused(
    service: MaintenanceService, client: Client
) -> None:
    """Neither a session nor a staff login authorises a change: 401."""
    response = client.post(
        "/api/maintenance/enable", data=b'{"reason": "x"}', content_type="application/json"
    )
    assert (401, False) == (response.status_code, service.get_maintenance_status().is_active)


def test_control_api_body_over_the_limit_is_413(client: Client) -> None:
    """A body larger than the service's limit is refused without being used."""
    big = b'{"reason": "' + b"x" * (70 * 1024) + b'"}'
    response = client.post(
        "/api/maintenance/enable",
        data=big,
        content_type="application/json",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert 413 == response.status_code


def test_bypass_cookie_from_the_control_api_lets_its_holder_through(
    service: MaintenanceService, client: Client
) -> None:
    """The Set-Cookie of POST /bypass reaches the client, and the cookie passes a block."""
    service.enable_emergency("Incident")
    response = client.post(
        "/api/maintenance/bypass",
        content_type="application/json",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    cookie = response.cookies["maintguard_bypass"]
    assert (200, "/", True) == (response.status_code, cookie["path"], bool(cookie["httponly"]))
    assert 200 == client.get("/").status_code


def test_staff_user_passes_during_an_emergency(
    service: MaintenanceService, client: Client, users: dict[str, Any]
) -> None:
    """request.user.is_staff makes an admin: the emergency lets a staff user through."""
    client.force_login(users["staff"])
    service.enable_emergency("Incident")
    assert 200 == client.get("/").status_code


def test_ordinary_user_is_blocked_during_an_emergency(
    service: MaintenanceService, client: Client, users: dict[str, Any]
) -> None:
    """A logged-in user who is not staff is blocked like anyone else."""
    client.force_login(users["alice"])
    service.enable_emergency("Incident")
    assert 503 == client.get("/").status_code


def test_anonymous_user_is_blocked_during_an_emergency(
    service: MaintenanceService, client: Client, users: dict[str, Any]
) -> None:
    """Without a login nobody is an admin."""
    service.enable_emergency("Incident")
    assert 503 == client.get("/").status_code


def test_blocked_log_line_names_the_logged_in_user(
    service: MaintenanceService,
    client: Client,
    users: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The blocked-operation line carries request.user's id."""
    client.force_login(users["alice"])
    service.enable_maintenance("Upgrade")
    with caplog.at_level(logging.INFO, logger="maintguard"):
        client.post("/upload")
    assert f'user="{users["alice"].pk}"' in caplog.text


def test_blocked_log_line_does_not_load_an_unresolved_user(
    install: Callable[..., MaintenanceService],
    users: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Without a resolver that loaded request.user, the line says anonymous (no lookup)."""
    service = install()
    client = Client()
    client.force_login(users["alice"])
    service.enable_maintenance("Upgrade")
    with caplog.at_level(logging.INFO, logger="maintguard"):
        client.post("/upload")
    assert 'user="anonymous"' in caplog.text


def test_test_mode_serves_and_marks_what_would_be_blocked(
    service: MaintenanceService, client: Client
) -> None:
    """In test mode a write is served with X-Maintenance-Simulated: blocked."""
    service.enable_maintenance("Rehearsal", mode="test")
    response = client.post("/upload")
    assert (201, "blocked") == (response.status_code, response["X-Maintenance-Simulated"])


def test_missing_setting_is_a_configuration_error_naming_it() -> None:
    """Without MAINTGUARD_SERVICE the middleware refuses to start, naming the setting."""
    with (
        override_settings(MAINTGUARD_SERVICE=None),
        pytest.raises(ConfigurationError, match="MAINTGUARD_SERVICE"),
    ):
        MaintenanceMiddleware(lambda request: HttpResponse())


def test_setting_accepts_a_dotted_path(service: MaintenanceService) -> None:
    """ "package.module.attr" names the service as well as "package.module:attr"."""
    assert service is load_service(f"{__name__}.SERVICE")


def test_setting_naming_something_else_is_a_configuration_error() -> None:
    """A path to an object that is not a MaintenanceService is refused."""
    with pytest.raises(ConfigurationError, match="not a MaintenanceService"):
        load_service(f"{__name__}:TOKEN")


def test_blocked_requests_are_not_logged_again_as_django_errors(
    install: Callable[..., MaintenanceService], caplog: pytest.LogCaptureFixture
) -> None:
    """A flood of blocked requests writes no ERROR line per request on django.request
    (maintguard logs them itself, at a bounded rate)."""
    service = install(admin_tokens=f"ops:{TOKEN}")
    service.enable_maintenance("Upgrade")
    with caplog.at_level(logging.INFO, logger="django.request"):
        statuses = {Client().post("/upload").status_code for _ in range(20)}
    django_lines = [r for r in caplog.records if r.name == "django.request"]
    assert ({503}, []) == (statuses, django_lines)


def test_a_token_holder_passes_after_remembered_blocks(
    install: Callable[..., MaintenanceService],
) -> None:
    """Plain blocked requests are answered from memory; a token is still checked."""
    service = install(admin_tokens=f"ops:{TOKEN}")
    service.enable_emergency("Incident")
    client = Client()
    blocked = [client.post("/upload").status_code for _ in range(5)]
    admitted = client.post("/upload", headers={"Authorization": f"Bearer {TOKEN}"}).status_code
    assert ([503] * 5, 201) == (blocked, admitted)


def test_remembered_answers_are_the_first_answer_and_all_counted(
    install: Callable[..., MaintenanceService],
) -> None:
    """Plain requests answered from memory: the same 503 (but the countdown),
    every one counted, and allowed reads still served by the view."""
    service = install()
    service.enable_maintenance("Upgrade", duration=600)
    client = Client()
    blocked = [client.post("/upload") for _ in range(6)]

    def seen(response: Any) -> tuple[object, ...]:
        headers = {k: v for k, v in response.items() if k != "Retry-After"}
        return response.status_code, headers, response.content

    assert [seen(blocked[0])] * 6 == [seen(response) for response in blocked]
    assert all(590 <= int(response["Retry-After"]) <= 600 for response in blocked)
    assert 6 == sum(service.attempt_counts().blocked.values())
    assert [(200, b"home")] * 3 == [
        (r.status_code, r.content) for r in (client.get("/") for _ in range(3))
    ]
