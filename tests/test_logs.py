"""Log lines: the seeds' form, quoted so that no value can forge a line."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maintguard import MaintenanceService, RequestInfo
from maintguard.logs import BlockedLineLimiter, quote


@given(st.text())
def test_a_quoted_value_never_contains_a_line_break_or_bare_quote(value: str) -> None:
    """Whatever the text, the quoted form is one line and one value."""
    quoted = quote(value)
    inner = quoted[1:-1]
    assert quoted.startswith('"') and quoted.endswith('"')
    assert not any(c in inner for c in "\r\n\x00\x85\u2028\u2029")
    assert '"' not in inner.replace('\\"', "")


def test_blocked_request_line_escapes_a_forged_path(caplog: pytest.LogCaptureFixture) -> None:
    """A CR/LF and a quote in the path stay inside the endpoint value."""
    service = MaintenanceService()
    service.enable_maintenance("Upgrade")
    info = RequestInfo("POST", '/upload/x"\r\n[MAINTENANCE] Maintenance mode deactivated')
    with caplog.at_level(logging.INFO, logger="maintguard"):
        service.record(info, service.decide(info))
    (line,) = [r.getMessage() for r in caplog.records if "Operation blocked" in r.getMessage()]
    assert (
        '[MAINTENANCE] Operation blocked: endpoint="/upload/x\\"\\x0d\\x0a[MAINTENANCE] '
        'Maintenance mode deactivated" user="anonymous" operation="IMAGE_PROCESSING"'
    ) == line


def test_user_is_the_resolved_id_when_the_app_gave_one(caplog: pytest.LogCaptureFixture) -> None:
    """The seeds' user="user123" appears when identity was already resolved."""
    service = MaintenanceService()
    service.enable_maintenance("Upgrade")
    info = RequestInfo("POST", "/start_caption_generation", user="user123")
    with caplog.at_level(logging.INFO, logger="maintguard"):
        service.record(info, service.decide(info))
    assert (
        '[MAINTENANCE] Operation blocked: endpoint="/start_caption_generation" '
        'user="user123" operation="CAPTION_GENERATION"'
    ) in caplog.text


def test_limiter_summarises_at_most_one_window_after_the_first_dropped_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """flush() after the window emits the suppressed count even with no new line."""
    limiter = BlockedLineLimiter(burst=2, window=60.0)
    allowed = [limiter.allow("IMAGE_PROCESSING", "normal", now=t) for t in (0.0, 1.0, 2.0, 3.0)]
    with caplog.at_level(logging.INFO, logger="maintguard"):
        limiter.flush(now=59.0)
        assert "more in" not in caplog.text
        limiter.flush(now=60.0)
    assert [True, True, False, False] == allowed
    assert "(+2 more in 60 s)" in caplog.text


def test_limiter_counts_each_operation_and_mode_separately() -> None:
    """A flood of one operation does not silence another."""
    limiter = BlockedLineLimiter(burst=1, window=60.0)
    assert limiter.allow("IMAGE_PROCESSING", "normal", now=0.0)
    assert not limiter.allow("IMAGE_PROCESSING", "normal", now=0.1)
    assert limiter.allow("JOB_CREATION", "normal", now=0.2)
    assert limiter.allow("IMAGE_PROCESSING", "emergency", now=0.3)


def test_activation_and_deactivation_lines_follow_the_seeds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Activated, emergency and deactivated lines in the manuals' form."""
    service = MaintenanceService()
    with caplog.at_level(logging.INFO, logger="maintguard"):
        service.enable_maintenance("Database optimization", enabled_by="admin")
        service.disable_maintenance("admin")
        service.enable_emergency("Security incident", enabled_by="admin")
    assert (
        '[MAINTENANCE] Maintenance mode activated: reason="Database optimization" admin="admin"'
        in caplog.text
    )
    assert '[MAINTENANCE] Maintenance mode deactivated: duration="0 seconds"' in caplog.text
    assert (
        '[EMERGENCY] Emergency maintenance activated: reason="Security incident" admin="admin"'
        in caplog.text
    )
