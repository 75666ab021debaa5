"""The dashboard in a real browser: Debian's Chromium, driven by Playwright's
Python package, against the Flask example under gunicorn on a loopback port.

Playwright's own browsers are never downloaded: the tests launch
``/usr/bin/chromium`` (``.ci/run`` installs it). Screenshots go to
``test-artifacts/console/`` (git-ignored).
"""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests import servers
from tests.console_server import AUTH, ROOT, TOKEN, serve

pytestmark = [pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTEFACTS = ROOT / "test-artifacts" / "console"
LIVE = 15_000  # ms: a generous wait for what the page shows live


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    """The Flask example under gunicorn (threaded: each open stream holds a thread)."""
    with serve("wsgi", "memory://", threads=16) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if shutil.which(CHROMIUM) is None:
        servers.missing("chromium (Debian package)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(autouse=True)
def normal(base: str) -> None:
    """Every test starts with maintenance off."""
    _request(base, "POST", "/api/maintenance/disable", AUTH, b"{}")


def _request(
    base: str,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> int:
    request = urllib.request.Request(base + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        with error:
            return int(error.code)


class Page:
    """A dashboard tab, recording every console error and page error."""

    def __init__(self, browser: Any, base: str, **options: Any) -> None:
        self.context = browser.new_context(**options)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        #: Error answers the test provokes on purpose (the browser logs each).
        self.expected: set[int] = set()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(base + "/api/maintenance/dashboard")
        self.expect(self.page.locator("#live")).to_have_text("live", timeout=LIVE)

    def _console(self, message: Any) -> None:
        if message.type != "error":
            return
        if any(f"status of {code} " in message.text for code in self.expected):
            return
        self.errors.append(message.text)

    @staticmethod
    def expect(locator: Any) -> Any:
        from playwright.sync_api import expect

        return expect(locator)

    def see(self, selector: str, text: str) -> None:
        self.expect(self.page.locator(selector)).to_contain_text(text, timeout=LIVE)

    def use_token(self) -> None:
        self.page.fill("#token", TOKEN)
        self.page.click("#token-form button[type=submit]")
        self.see("#token-state", "Token set")
        self.see("#st-store", "healthy")

    def enable(self, reason: str, mode: str = "normal") -> None:
        self.page.fill("#en-reason", reason)
        self.page.select_option("#en-mode", mode)
        self.page.click("#enable")
        self.see("#answer", "enable: 200")

    def shot(self, name: str) -> Path:
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTEFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> list[str]:
        self.context.close()
        return self.errors


@pytest.fixture
def tab(browser: Any, base: str) -> Iterator[Page]:
    page = Page(browser, base)
    yield page
    assert [] == page.close(), "the page logged errors"


def test_the_dashboard_loads_without_a_console_error(tab: Page) -> None:
    """Loaded, connected live, with a token: no console error, no CSP violation."""
    tab.use_token()
    tab.see("#state-badge", "NORMAL OPERATION")
    tab.shot("loaded")
    assert [] == tab.errors


def test_a_token_and_enable_block_a_route_for_another_client(tab: Page, base: str) -> None:
    """Enable from the page: another client's upload now gets 503."""
    assert 201 == _request(base, "POST", "/upload", body=b"{}")
    tab.use_token()
    tab.enable("Database upgrade")
    tab.see("#state-badge", "MAINTENANCE")
    assert 503 == _request(base, "POST", "/upload", body=b"{}")


def test_blocked_counts_move_as_blocked_requests_arrive(tab: Page, base: str) -> None:
    """Three blocked uploads show as three in the operations table and the total."""
    tab.use_token()
    tab.enable("Counting")
    for _ in range(3):
        assert 503 == _request(base, "POST", "/upload", body=b"{}")
    tab.expect(tab.page.locator("#total-blocked")).to_have_text("3", timeout=LIVE)
    tab.see("[data-operation=IMAGE_PROCESSING]", "3")
    tab.expect(tab.page.locator("#rate")).to_have_text("3", timeout=LIVE)
    tab.shot("counts")


def test_the_emergency_button_confirms_and_a_second_tab_sees_it_live(
    browser: Any, base: str, tab: Page
) -> None:
    """The red button asks first (naming sessions and jobs), then switches;
    another browser context, without a token, follows without reloading."""
    other = Page(browser, base)
    tab.use_token()
    tab.page.click("#emergency")
    dialog = tab.page.locator("#emergency-dialog")
    tab.expect(dialog).to_be_visible()
    consequences = tab.page.locator("#em-consequences").inner_text()
    assert "sessions" in consequences
    assert "jobs" in consequences
    tab.shot("emergency-confirmation")
    tab.page.fill("#em-reason", "Security incident")
    tab.page.click("#em-confirm")
    tab.see("#answer", "emergency: 202")
    tab.see("#state-badge", "EMERGENCY")
    other.see("#state-badge", "EMERGENCY")
    other.see("#st-reason", "Security incident")
    assert 503 == _request(base, "GET", "/")
    assert [] == other.close()


def test_test_mode_shows_its_report(tab: Page, base: str) -> None:
    """In test mode an upload is served, and the report lists it as would-be-blocked."""
    tab.use_token()
    tab.enable("Rehearsal", mode="test")
    tab.see("#state-badge", "TEST MODE")
    assert 201 == _request(base, "POST", "/upload", body=b"{}")
    tab.page.click("#report-button")
    tab.see("#report", "IMAGE_PROCESSING")
    tab.see("#report", "/upload")
    tab.shot("test-mode-report")


def test_disable_returns_to_normal(tab: Page, base: str) -> None:
    """Disable from the page: the badge says normal and uploads work again."""
    tab.use_token()
    tab.enable("Short one")
    tab.page.click("#disable")
    tab.see("#answer", "disable: 200")
    tab.see("#state-badge", "NORMAL OPERATION")
    assert 201 == _request(base, "POST", "/upload", body=b"{}")


def _tab_to(page: Any, element_id: str) -> None:
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    pytest.fail(f"#{element_id} is not reachable with Tab")


def test_the_console_works_with_the_keyboard_only(tab: Page) -> None:
    """Token, enable, the emergency dialog (Escape cancels, Enter confirms),
    all with Tab, typing and Enter."""
    page = tab.page
    _tab_to(page, "token")
    page.keyboard.type(TOKEN)
    page.keyboard.press("Enter")
    tab.see("#token-state", "Token set")
    _tab_to(page, "en-reason")
    page.keyboard.type("Keyboard maintenance")
    _tab_to(page, "enable")
    page.keyboard.press("Enter")
    tab.see("#answer", "enable: 200")
    _tab_to(page, "emergency")
    page.keyboard.press("Enter")
    tab.expect(page.locator("#emergency-dialog")).to_be_visible()
    page.keyboard.press("Escape")
    tab.expect(page.locator("#emergency-dialog")).to_be_hidden()
    assert "emergency" == page.evaluate("document.activeElement.id")
    page.keyboard.press("Enter")
    assert "em-reason" == page.evaluate("document.activeElement.id")
    page.keyboard.type("Keyboard emergency")
    page.keyboard.press("Enter")
    tab.see("#state-badge", "EMERGENCY")


def test_the_page_is_readable_at_360_pixels(browser: Any, base: str) -> None:
    """At 360 px wide nothing runs off the side of the page."""
    narrow = Page(browser, base, viewport={"width": 360, "height": 740})
    width = narrow.page.evaluate("document.documentElement.scrollWidth")
    narrow.shot("narrow-360")
    assert [] == narrow.close()
    assert width <= 360


def _page_with_banner(browser: Any, base: str, attributes: str) -> Any:
    """A page of the site that includes the banner, as an application's would."""
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    html = (
        "<!doctype html><html><head><title>app</title>"
        f'<script src="/api/maintenance/banner.js" {attributes}></script>'
        "</head><body><p>An application page</p></body></html>"
    )
    page.route(
        base + "/page-with-banner",
        lambda route: route.fulfill(status=200, body=html, content_type="text/html"),
    )
    page.goto(base + "/page-with-banner")
    page.errors = errors
    return page


def test_the_banner_shows_the_maintenance_message(browser: Any, base: str) -> None:
    """A page that includes banner.js shows the users' message (polling the status)."""
    body = b'{"reason": "internal", "message": "Back at noon"}'
    assert 200 == _request(base, "POST", "/api/maintenance/enable", AUTH, body)
    page = _page_with_banner(browser, base, "defer")
    Page.expect(page.locator("#maintguard-banner")).to_contain_text("Back at noon", timeout=LIVE)
    assert "internal" not in page.locator("#maintguard-banner").inner_text()
    page.screenshot(path=str(ARTEFACTS / "banner.png"))
    page.context.close()
    assert [] == page.errors


def test_the_banner_says_services_resumed_when_maintenance_ends(browser: Any, base: str) -> None:
    """Following the events stream, an open page learns that maintenance ended."""
    assert 200 == _request(base, "POST", "/api/maintenance/enable", AUTH, b'{"reason": "x"}')
    page = _page_with_banner(browser, base, 'data-live="events"')
    banner = page.locator("#maintguard-banner")
    Page.expect(banner).to_be_visible(timeout=LIVE)
    assert 200 == _request(base, "POST", "/api/maintenance/disable", AUTH, b"{}")
    Page.expect(banner).to_contain_text("Services resumed", timeout=LIVE)
    page.context.close()
    assert [] == page.errors


def test_a_conflict_shows_and_offers_force(tab: Page, base: str) -> None:
    """A normal enable during an emergency answers 409; the page shows it and
    offers to repeat with force, which then succeeds."""
    body = b'{"reason": "Incident"}'
    assert 202 == _request(base, "POST", "/api/maintenance/emergency", AUTH, body)
    tab.expected.add(409)
    tab.use_token()
    tab.page.fill("#en-reason", "Planned work")
    tab.page.click("#enable")
    tab.see("#answer", "enable: 409")
    tab.expect(tab.page.locator("#force")).to_be_visible()
    tab.page.click("#force")
    tab.see("#answer", "enable: 200")
    tab.see("#state-badge", "MAINTENANCE")


def test_a_window_is_scheduled_and_cancelled(tab: Page) -> None:
    """Schedule shows the upcoming window; cancel removes it."""
    tab.use_token()
    tab.page.fill("#sc-reason", "Night upgrade")
    tomorrow = datetime.now() + timedelta(days=1)  # the browser's local time is the host's
    tab.page.fill("#sc-starts", tomorrow.strftime("%Y-%m-%dT%H:%M"))
    tab.page.click("#schedule")
    tab.see("#answer", "schedule: 200")
    tab.see("#st-upcoming", "Night upgrade")
    tab.page.click("#cancel-schedule")
    tab.see("#answer", "cancel schedule: 200")
    tab.expect(tab.page.locator("#st-upcoming")).to_have_text("—", timeout=LIVE)
