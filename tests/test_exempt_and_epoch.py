"""exempt_paths / MAINTENANCE_EXEMPT_PATHS, the built-in exemptions, and the session epoch."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maintguard import ConfigurationError, MaintenanceService, Settings
from maintguard.adapters import cookie_sessions
from maintguard.core.decision import Action, RequestInfo
from maintguard.core.state import MaintenanceState, Mode

STARTED = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def _decide(service: MaintenanceService, method: str, path: str) -> Action:
    return service.decide(RequestInfo(method=method, path=path)).action


def test_exempt_paths_come_from_the_environment() -> None:
    """MAINTENANCE_EXEMPT_PATHS is a comma-separated list of prefixes."""
    settings = Settings.from_env({"MAINTENANCE_EXEMPT_PATHS": "/assets, /metrics"})
    assert ("/assets", "/metrics") == settings.exempt_paths


@pytest.mark.parametrize("bad", ["assets", "/", "/a/../b", "/a;x", "/a?b", "/a/"])
def test_a_bad_exempt_path_fails_at_start_up_naming_the_variable(bad: str) -> None:
    """A prefix that is not a plain path is refused, naming MAINTENANCE_EXEMPT_PATHS."""
    with pytest.raises(ConfigurationError, match="MAINTENANCE_EXEMPT_PATHS"):
        Settings.from_env({"MAINTENANCE_EXEMPT_PATHS": bad})


def test_exempt_paths_pass_reads_in_an_emergency_on_whole_segments() -> None:
    """/assets/x passes a GET in an emergency; /assetsx and a POST under /assets do not."""
    service = MaintenanceService(exempt_paths=("/assets", "/ready"))
    service.enable_emergency("Incident", background=False)
    assert Action.ALLOW == _decide(service, "GET", "/assets/app.js")
    assert Action.ALLOW == _decide(service, "HEAD", "/ready")
    assert Action.BLOCK == _decide(service, "GET", "/assetsx")
    assert Action.BLOCK == _decide(service, "POST", "/assets/upload")
    service.close()


def test_robots_txt_is_a_built_in_exemption() -> None:
    """/robots.txt is served in an emergency, like /favicon.ico."""
    service = MaintenanceService()
    service.enable_emergency("Incident", background=False)
    assert Action.ALLOW == _decide(service, "GET", "/robots.txt")
    service.close()


def _state(mode: Mode = Mode.NORMAL, active: bool = True) -> MaintenanceState:
    return MaintenanceState(version=1, active=active, mode=mode, started_at=STARTED)


@given(seconds=st.floats(min_value=0.001, max_value=10**7, allow_nan=False))
def test_a_session_stamped_before_the_start_is_ended(seconds: float) -> None:
    """Any stamp earlier than the maintenance's start ends the session."""
    since = STARTED.timestamp() - seconds
    assert cookie_sessions.ended({"user": "bob", cookie_sessions.STAMP: since}, _state(), True)


@given(seconds=st.floats(min_value=0, max_value=10**7, allow_nan=False))
def test_a_session_stamped_at_or_after_the_start_is_kept(seconds: float) -> None:
    """A session made during the maintenance (an admin's login) is not ended by it."""
    since = STARTED.timestamp() + seconds
    assert not cookie_sessions.ended({"user": "ada", cookie_sessions.STAMP: since}, _state(), True)


@pytest.mark.parametrize(
    ("state", "cleanup"),
    [(_state(Mode.TEST), True), (_state(active=False), True), (_state(), False)],
)
def test_no_session_ends_in_test_mode_when_off_or_without_cleanup(
    state: MaintenanceState, cleanup: bool
) -> None:
    """Test mode, no maintenance, or session_cleanup off: nobody is logged out."""
    old = STARTED - timedelta(days=1)
    session = {"user": "bob", cookie_sessions.STAMP: old.timestamp()}
    assert not cookie_sessions.ended(session, state, cleanup)


@pytest.mark.parametrize("stamp", [None, "yesterday", True])
def test_a_session_without_a_readable_stamp_is_ended(stamp: object) -> None:
    """A session whose age cannot be told is ended (never kept by accident)."""
    session: dict[str, object] = {"user": "bob"}
    if stamp is not None:
        session[cookie_sessions.STAMP] = stamp
    assert cookie_sessions.ended(session, _state(), True)


def test_stamping_marks_only_sessions_with_data() -> None:
    """An empty session stays empty (no cookie for anonymous visitors)."""
    empty: dict[str, object] = {}
    cookie_sessions.stamp(empty, now=5.0)
    full: dict[str, object] = {"user": "bob"}
    cookie_sessions.stamp(full, now=5.0)
    assert ({}, 5.0) == (empty, full[cookie_sessions.STAMP])


def test_explain_lists_the_exemptions(monkeypatch: pytest.MonkeyPatch) -> None:
    """`maintguard explain` names the built-in and configured exemptions on stderr."""
    import io

    from maintguard.control.cli import main

    monkeypatch.delenv("MAINTENANCE_STORE_URL", raising=False)
    monkeypatch.setenv("MAINTENANCE_EXEMPT_PATHS", "/assets")
    out, err = io.StringIO(), io.StringIO()
    assert 0 == main(["explain", "GET", "/assets/app.js"], out=out, err=err)
    listed = err.getvalue()
    assert all(p in listed for p in ("/health", "/static", "/robots.txt", "/assets"))
    assert "if emergency: ALLOW" in out.getvalue()


def test_only_an_admin_known_from_the_session_renews_it() -> None:
    """The resolver's admin renews the stamp; a token or bypass-cookie holder does not."""
    session: dict[str, object] = {"user": "ada", cookie_sessions.STAMP: 1.0}
    cookie_sessions.renew(session, "bypass-cookie", now=9.0)
    assert 1.0 == session[cookie_sessions.STAMP]
    cookie_sessions.renew(session, "resolver", now=9.0)
    assert 9.0 == session[cookie_sessions.STAMP]
