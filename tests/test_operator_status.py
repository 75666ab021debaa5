"""What the status and the 503 page tell whom: public vs full status, no
token-hash fragment for anonymous callers, and the fields operators read."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

import pytest

from maintguard import ConfigurationError, MaintenanceService, Settings
from maintguard.core.state import utcnow
from maintguard.stores.memory import MemoryStore
from tests.clients import WSGIClient

TOKEN = "ops-token-0123456789abcdef"
UNNAMED = "unnamed-token-0123456789abcdef"
DIGEST = hashlib.sha256(UNNAMED.encode()).hexdigest()
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PUBLIC = {
    "is_active",
    "mode",
    "message",
    "started_at",
    "estimated_completion",
    "ends_at",
    "blocked_operations",
    "upcoming",
}


def _client(**options: Any) -> WSGIClient:
    service = MaintenanceService(
        MemoryStore(), admin_tokens=f"ops:{TOKEN},sha256:{DIGEST}", **options
    )
    return WSGIClient(service)


def _status(client: WSGIClient, headers: dict[str, str] | None = None) -> dict[str, Any]:
    answer = client.request("GET", "/api/maintenance/status", headers=headers or {})
    assert 200 == answer.status
    return answer.json()  # type: ignore[no-any-return]


def test_full_status_is_the_default_and_shows_the_reason() -> None:
    """The manuals' curl lines read ``reason`` from the public status."""
    client = _client()
    client.service.enable_maintenance("Database upgrade", message="Back soon")
    assert "Database upgrade" == _status(client)["reason"]


def test_minimal_status_shows_anonymous_callers_only_public_fields() -> None:
    """``public_status="minimal"``: no reason, operator, store or version."""
    client = _client(public_status="minimal")
    client.service.enable_maintenance("Database upgrade", message="Back soon", enabled_by="alice")
    body = _status(client)
    assert PUBLIC == set(body)
    assert ("Back soon", True) == (body["message"], body["is_active"])


def test_minimal_status_hides_an_upcoming_window_s_reason() -> None:
    """A scheduled window shows its public message and times, not its reason."""
    client = _client(public_status="minimal")
    starts = utcnow() + timedelta(hours=1)
    client.service.schedule_maintenance("Internal: rotate keys", starts, message="Planned work")
    upcoming = _status(client)["upcoming"]
    assert ("Planned work", False) == (upcoming["message"], "reason" in upcoming)


def test_a_valid_token_gets_the_full_status_under_minimal() -> None:
    """With the bearer token the full status comes back in both settings."""
    client = _client(public_status="minimal")
    client.service.enable_maintenance("Database upgrade", enabled_by="alice")
    body = _status(client, AUTH)
    assert ("Database upgrade", "alice") == (body["reason"], body["enabled_by"])


def test_a_wrong_token_gets_the_minimal_status() -> None:
    """A wrong token is an anonymous caller, not an error."""
    client = _client(public_status="minimal")
    client.service.enable_maintenance("Database upgrade")
    body = _status(client, {"Authorization": "Bearer wrong-token-0123456789abcdef"})
    assert PUBLIC == set(body)


def test_public_status_is_read_from_the_environment() -> None:
    """``MAINTENANCE_PUBLIC_STATUS=minimal``; another value names the variable."""
    assert "minimal" == Settings.from_env({"MAINTENANCE_PUBLIC_STATUS": "minimal"}).public_status
    with pytest.raises(ConfigurationError, match=r"^MAINTENANCE_PUBLIC_STATUS must be one of"):
        Settings.from_env({"MAINTENANCE_PUBLIC_STATUS": "some"})


def test_no_token_hash_fragment_reaches_an_anonymous_caller() -> None:
    """An unnamed token's change shows ``enabled_by: "admin"`` and no part of its hash."""
    client = _client()
    answer = client.request(
        "POST",
        "/api/maintenance/enable",
        headers={"Authorization": f"Bearer {UNNAMED}"},
        body=b'{"reason": "Database upgrade"}',
    )
    text = client.request("GET", "/api/maintenance/status").text
    assert (200, "admin") == (answer.status, _status(client)["enabled_by"])
    assert DIGEST[:8] not in text and "token:" not in text


def test_mode_is_normal_after_an_emergency_is_disabled() -> None:
    """After ``disable``, ``mode`` is ``normal``, not ``emergency`` with
    ``is_active: false``."""
    client = _client()
    client.service.enable_emergency("Security incident")
    client.service.disable_maintenance()
    body = _status(client)
    assert (False, "normal") == (body["is_active"], body["mode"])


def test_mode_is_normal_after_an_ends_at_passes() -> None:
    """A maintenance that ended at its ``ends_at`` shows ``normal`` too."""
    service = MaintenanceService(MemoryStore())
    service.enable_maintenance("Short", mode="test", ends_at=utcnow() + timedelta(seconds=1))
    stored = service.store.load()
    ended = stored.effective(utcnow() + timedelta(seconds=2))
    from maintguard.control.status import build_status

    status = build_status(ended, blocked=(), active_jobs_count=0, store="memory", override=None)
    assert "normal" == status.mode.value


class _Sessions:
    def invalidate(self, keep_admins: bool = True, *, dry_run: bool = False) -> Any:
        from types import SimpleNamespace

        return SimpleNamespace(invalidated=1, kept_admin=0, failed=0, complete=True)


def test_enabled_by_stays_the_person_after_side_effects_record_progress() -> None:
    """Progress written by the side effects does not make it "maintguard"."""
    service = MaintenanceService(MemoryStore(), session_invalidator=_Sessions())
    service.enable_maintenance("Database upgrade", enabled_by="alice")
    service.effects.wait()
    status = service.get_maintenance_status()
    assert ("done", "alice") == (status.progress["sessions"], status.enabled_by)


class _Jobs:
    def __init__(self) -> None:
        self.running = 4

    def active_jobs_count(self) -> int:
        return self.running

    def terminate_all_jobs(self, grace_period: float) -> int:
        stopped, self.running = self.running, 0
        return stopped


def test_active_jobs_count_is_asked_when_the_status_is_built() -> None:
    """The first status already shows the queue's count, with no refresh
    having run yet (the refresher here would wait an hour)."""
    service = MaintenanceService(MemoryStore(), job_terminator=_Jobs(), refresh_interval=3600)
    assert 4 == service.get_maintenance_status().active_jobs_count
    service.close()


def test_the_503_page_says_the_expected_time_in_words() -> None:
    """``about 20 minutes`` and a local clock time with its zone, not a raw
    ISO string."""
    client = _client()
    client.service.enable_maintenance("Database upgrade", duration=1200)
    page = client.request("POST", "/upload", headers={"Accept": "text/html"}).text
    (eta,) = re.findall(r'<p class="eta">([^<]*)</p>', page)
    assert eta.startswith("Expected back in about 20 minutes (around ")
    assert not re.search(r"\d{4}-\d\d-\d\dT", eta)
