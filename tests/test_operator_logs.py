"""The log lines the operator manuals grep for: wording, level, rate limits,
and a log file for apps that configure no logging."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from maintguard import ConfigurationError, MaintenanceService, RequestInfo, Settings, logs
from maintguard.sessions import RedisSessionInvalidator
from maintguard.stores.memory import MemoryStore
from tests.clients import WSGIClient

TOKEN = "ops-token-0123456789abcdef"
WRONG = "wrong-token-0123456789abcdef"
UPLOAD = RequestInfo("POST", "/upload")


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """A log file path; the handler a test attaches is removed afterwards."""
    path = tmp_path / "webapp.log"
    logger = logging.getLogger("maintguard")
    level = logger.level
    yield path
    handler = logs._attached.pop(str(path), None)
    if handler is not None:
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(level)


def _messages(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if text in r.getMessage()]


def test_log_file_receives_the_lines_the_manuals_grep(log_file: Path) -> None:
    """With ``log_file=`` and no logging configured, the monitoring guide's
    greps each find their line in the file, dated as its scripts expect."""
    service = MaintenanceService(log_file=str(log_file))
    service.enable_maintenance("Database optimization", enabled_by="admin")
    service.record(UPLOAD, service.decide(UPLOAD))
    service.disable_maintenance("admin")
    service.enable_emergency("Security incident", enabled_by="admin")
    text = log_file.read_text("utf-8")
    for phrase in (
        "Maintenance mode activated",
        "Operation blocked",
        "Maintenance mode deactivated",
        "Emergency mode activated",
        "Emergency maintenance activated",
    ):
        assert phrase in text, phrase
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", line) for line in text.splitlines())
    service.close()


def test_log_file_is_read_from_the_environment(log_file: Path) -> None:
    """``MAINTENANCE_LOG_FILE`` sets ``log_file``."""
    assert str(log_file) == Settings.from_env({"MAINTENANCE_LOG_FILE": str(log_file)}).log_file


def test_a_log_file_in_a_missing_directory_fails_at_start_up(tmp_path: Path) -> None:
    """A typo in the path is a start-up error naming the variable."""
    with pytest.raises(ConfigurationError, match=r"^MAINTENANCE_LOG_FILE"):
        Settings.from_env({"MAINTENANCE_LOG_FILE": str(tmp_path / "nope" / "webapp.log")})


def test_activation_and_deactivation_are_warnings(caplog: pytest.LogCaptureFixture) -> None:
    """An app with no logging configured still shows them (Python prints
    WARNING and up by default)."""
    service = MaintenanceService()
    with caplog.at_level(logging.INFO, logger="maintguard"):
        service.enable_maintenance("Database optimization", enabled_by="admin")
        service.disable_maintenance("admin")
    levels = [
        r.levelno
        for r in caplog.records
        if "Maintenance mode activated" in r.getMessage()
        or "Maintenance mode deactivated" in r.getMessage()
    ]
    assert [logging.WARNING, logging.WARNING] == levels


def test_an_emergency_logs_both_wordings_of_the_manuals(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The monitoring guide's "Emergency mode activated" and the
    troubleshooting guide's "[EMERGENCY] Emergency maintenance activated"."""
    service = MaintenanceService()
    with caplog.at_level(logging.INFO, logger="maintguard"):
        service.enable_emergency("Security incident", enabled_by="admin")
    text = caplog.text
    assert (
        '[MAINTENANCE] Emergency mode activated: reason="Security incident" admin="admin"' in text
    )
    assert (
        '[EMERGENCY] Emergency maintenance activated: reason="Security incident" admin="admin"'
        in text
    )


def test_each_invalidated_session_is_an_info_line(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The manuals' "Session invalidated" line, one per session at INFO,
    naming a fingerprint of the session id, never the id."""
    client = redis.Redis.from_url(redis_url)
    client.set("session:secret-session-id-1", b'{"role": "user"}')
    client.set("session:secret-session-id-2", b'{"role": "user"}')
    client.close()
    with caplog.at_level(logging.INFO, logger="maintguard"):
        RedisSessionInvalidator(redis_url).invalidate()
    lines = _messages(caplog, "[MAINTENANCE] Session invalidated: session_id=")
    assert [logging.INFO, logging.INFO] == [r.levelno for r in lines]
    assert "secret-session-id" not in caplog.text


def test_a_rejected_token_is_logged_as_unauthorized(caplog: pytest.LogCaptureFixture) -> None:
    """A wrong bearer token gives the manuals' UNAUTHORIZED line (WARNING),
    with the path and client, never the token."""
    client = WSGIClient(MaintenanceService(MemoryStore(), admin_tokens=f"ops:{TOKEN}"))
    with caplog.at_level(logging.INFO, logger="maintguard"):
        answer = client.request(
            "POST", "/api/maintenance/enable", headers={"Authorization": f"Bearer {WRONG}"}
        )
    (line,) = _messages(caplog, "UNAUTHORIZED")
    assert 401 == answer.status
    assert (logging.WARNING, True) == (
        line.levelno,
        line.getMessage().startswith(
            '[MAINTENANCE] UNAUTHORIZED control request: path="/api/maintenance/enable" client='
        ),
    )
    assert WRONG not in caplog.text


def test_unauthorized_lines_are_rate_limited_per_client(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Ten rejected requests from one client give one line and a folded
    count; another client still gets its own line."""
    service = MaintenanceService(MemoryStore(), admin_tokens=f"ops:{TOKEN}")
    with caplog.at_level(logging.INFO, logger="maintguard"):
        for _ in range(10):
            service.unauthorized.rejected("/api/maintenance/enable", "203.0.113.9")
        service.unauthorized.rejected("/api/maintenance/enable", "198.51.100.7")
        service.unauthorized.flush(now=float("inf"))
    lines = [r.getMessage() for r in _messages(caplog, "UNAUTHORIZED")]
    assert 3 == len(lines)
    assert 1 == sum('client="198.51.100.7"' in line for line in lines)
    assert any('client="203.0.113.9" (+9 more in 60 s)' in line for line in lines)


def test_folded_blocked_lines_add_up_to_the_counter(caplog: pytest.LogCaptureFixture) -> None:
    """21 blocked uploads: five lines and one "(+16 more in 60 s)", so the
    counts read from the log equal the counter."""
    service = MaintenanceService()
    service.enable_maintenance("Upgrade")
    with caplog.at_level(logging.INFO, logger="maintguard"):
        for _ in range(21):
            service.record(UPLOAD, service.decide(UPLOAD))
        service.limiter.flush(now=float("inf"))
    lines = [r.getMessage() for r in _messages(caplog, "Operation blocked")]
    folded = [int(m.group(1)) for line in lines if (m := re.search(r"\(\+(\d+) more in", line))]
    assert [16] == folded
    assert 21 == len(lines) - len(folded) + sum(folded)
    assert 21 == service.counters.totals(service.view().epoch).blocked["IMAGE_PROCESSING"]
