"""One-time bypass links: GET {prefix}/bypass?link=… sets the cookie once, on any worker."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.test import Client
from werkzeug.wrappers import Response as WerkzeugResponse

from maintguard import MaintenanceService
from maintguard.control.bypass_links import _link_binding, issue_link, redeem_link
from maintguard.control.cli import main
from maintguard.core.decision import RequestInfo
from maintguard.stores.sql import SQLStore
from maintguard.wsgi import MaintenanceMiddleware

SECRET = "bypass-link-secret-0123456789"
TOKEN = "ops-token-0123456789abcdef"


def _app(environ: object, start_response: object) -> list[bytes]:
    start_response("201 Created", [("Content-Type", "text/plain")])  # type: ignore[operator]
    return [b"written"]


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = SQLStore.from_url(url)
    store.create_schema()
    store.close()
    return url


@pytest.fixture
def workers(url: str) -> Iterator[list[MaintenanceService]]:
    """Two services on one SQLite file: two workers of one site."""
    made = [
        MaintenanceService(url, bypass_cookie_secret=SECRET, admin_tokens=f"ops:{TOKEN}")
        for _ in range(2)
    ]
    made[0].enable_maintenance("Upgrade")
    for service in made:
        service.snapshot.refresh()
    yield made
    for service in made:
        service.close()


def _client(service: MaintenanceService) -> Client:
    return Client(MaintenanceMiddleware(_app, service), WerkzeugResponse)


def test_a_link_sets_the_cookie_and_redirects_and_the_cookie_passes_blocks(
    workers: list[MaintenanceService],
) -> None:
    """Opening the link: 303 to /, a bypass cookie, and blocked writes pass."""
    client = _client(workers[0])
    assert 503 == client.post("/upload").status_code
    answer = client.get(issue_link(workers[0]))
    assert (303, "/") == (answer.status_code, answer.headers["Location"])
    assert "HttpOnly" in answer.headers["Set-Cookie"]
    assert 201 == client.post("/upload").status_code


def test_a_link_works_once_across_workers(workers: list[MaintenanceService]) -> None:
    """Used on one worker, the same link is refused by another."""
    link = issue_link(workers[0])
    assert 303 == _client(workers[0]).get(link).status_code
    assert 403 == _client(workers[1]).get(link).status_code


def test_two_workers_racing_one_link_let_exactly_one_through(
    workers: list[MaintenanceService],
) -> None:
    """Concurrent openings of one link on two workers: one 303, the rest 403."""
    link = issue_link(workers[0])
    clients = [_client(workers[i % 2]) for i in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = sorted(pool.map(lambda c: c.get(link).status_code, clients))
    assert [303, 403, 403, 403, 403, 403] == codes


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?link=",
        "?link=garbage",
        "?link=a.b.c",
        "?link=1.bGluazp4Oi0.AAAA",
        "?link=%00",
        "?a=1&b=2&c=3&d=4&link=x",
    ],
)
def test_a_wrong_link_is_403_and_changes_nothing(
    workers: list[MaintenanceService], query: str
) -> None:
    """Garbage links: 403, no cookie, no state change."""
    service = workers[0]
    version = service.store.load().version
    answer = _client(service).get(f"/api/maintenance/bypass{query}")
    assert 403 == answer.status_code
    assert "Set-Cookie" not in answer.headers
    assert version == service.store.load().version


def test_a_tampered_or_expired_link_is_refused(workers: list[MaintenanceService]) -> None:
    """A link whose signature is altered, or whose time is up, is 403."""
    service = workers[0]
    link = issue_link(service)
    tampered = link[:-2] + ("AA" if not link.endswith("AA") else "BB")
    assert 403 == _client(service).get(tampered).status_code
    signer = service.bypass.signer
    assert signer is not None
    expired = signer.sign(_link_binding("old", service.view().state), time.time() - 1)
    path = f"/api/maintenance/bypass?link={quote(expired, safe='')}"
    assert 403 == _client(service).get(path).status_code


def test_a_link_dies_with_its_maintenance(workers: list[MaintenanceService]) -> None:
    """Issued for one maintenance, a link is refused in the next one."""
    service = workers[0]
    link = issue_link(service)
    service.disable_maintenance()
    time.sleep(0.01)
    service.enable_maintenance("Another one")
    assert 403 == _client(service).get(link).status_code


def test_the_cli_prints_a_working_link(url: str, workers: list[MaintenanceService]) -> None:
    """`maintguard bypass-link --base-url …` prints the link the site redeems."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MAINTENANCE_BYPASS_SECRET", SECRET)
        code = main(
            ["bypass-link", "--store", url, "--base-url", "https://shop.example"], out=out, err=err
        )
    assert 0 == code, err.getvalue()
    link = out.getvalue().strip()
    assert link.startswith("https://shop.example/api/maintenance/bypass?link=")
    workers[1].snapshot.refresh()
    assert 303 == _client(workers[1]).get(link.removeprefix("https://shop.example")).status_code


def test_the_cli_refuses_a_link_when_maintenance_is_off(url: str) -> None:
    """No maintenance, no link: one error line, non-zero exit."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MAINTENANCE_BYPASS_SECRET", SECRET)
        code = main(["bypass-link", "--store", url], out=out, err=err)
    assert 0 != code
    assert 1 == len(err.getvalue().strip().splitlines())
    assert "not active" in err.getvalue()


@given(query=st.text(max_size=300))
@settings(max_examples=200, deadline=None)
def test_any_query_is_answered_403_or_404_never_an_error(query: str) -> None:
    """Whatever the query string, redeeming answers 403 (no valid link) and never raises."""
    service = MaintenanceService(bypass_cookie_secret=SECRET)
    service.enable_maintenance("Upgrade")
    info = RequestInfo(method="GET", path="/api/maintenance/bypass", query_string=query)
    assert 403 == redeem_link(service, info).status
    service.close()
