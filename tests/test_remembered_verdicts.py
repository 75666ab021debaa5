"""Remembered verdicts: the fast path answers exactly as judging in full does.

Plain requests (nothing that could make the sender an admin) are answered
from a per-state memo of (method, path, Accept). These properties check the
memo against a service that never remembers (an IP allowlist that matches
nobody turns remembering off), for whatever request a client sends.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maintguard import MaintenanceService
from maintguard.stores.memory import MemoryStore
from tests.clients import Answer, ASGIClient, WSGIClient

TOKEN = "remembered-admin-token-0123456789"

METHODS = st.sampled_from(["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "get", "post"])
SEGMENTS = st.sampled_from(
    [
        "upload",
        "api",
        "jobs",
        "static",
        "health",
        "login",
        "admin",
        ".",
        "..",
        "",
        "é",
        "%2e",
        "x;v",
    ]
)
PATHS = st.lists(SEGMENTS, min_size=1, max_size=5).map(lambda parts: "/" + "/".join(parts))
ACCEPTS = st.sampled_from(
    [None, "text/html", "application/json", "text/html, application/json", "*/*"]
)
MODES = st.sampled_from(["normal", "emergency", "test"])


def comparable(answer: Answer) -> tuple[object, ...]:
    """What a client sees, but the clock-dependent Retry-After."""
    headers = {k: v for k, v in answer.headers.items() if k != "retry-after"}
    return answer.status, answer.app_called, headers, answer.body


@pytest.fixture(params=["wsgi", "asgi"])
def pair(request: pytest.FixtureRequest) -> Iterator[tuple[WSGIClient | ASGIClient, ...]]:
    """(remembering client, never-remembering client), same configuration."""
    kind = WSGIClient if request.param == "wsgi" else ASGIClient
    store = MemoryStore()  # one state for both, so that their pages are alike to the byte
    fast = MaintenanceService(store, admin_tokens=f"ops:{TOKEN}")
    full = MaintenanceService(store, admin_tokens=f"ops:{TOKEN}", allowed_ips="203.0.113.0/24")
    yield kind(fast), kind(full)
    fast.close()
    full.close()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(mode=MODES, method=METHODS, path=PATHS, accept=ACCEPTS)
def test_a_remembered_answer_is_the_answer_judged_in_full(
    pair: tuple[WSGIClient | ASGIClient, ...], mode: str, method: str, path: str, accept: str | None
) -> None:
    """The same request twice (the second from the memo) answers as a service
    that judges every request in full."""
    fast, full = pair
    state = fast.service.view().state
    if not state.active or state.mode.value != mode:
        fast.service.enable_maintenance("Upgrade", mode=mode, force=True)
        full.service.snapshot.refresh()
    headers = {"Accept": accept} if accept else {}
    reference = comparable(full.request(method, path, headers=headers))
    first = comparable(fast.request(method, path, headers=headers))
    second = comparable(fast.request(method, path, headers=headers))
    assert (reference, reference) == (first, second)


def test_a_token_holder_passes_after_a_flood_of_remembered_blocks(
    pair: tuple[WSGIClient | ASGIClient, ...],
) -> None:
    """However often a path was answered from the memo, a token is still checked."""
    fast, _ = pair
    fast.service.enable_emergency("Incident")
    for _ in range(50):
        assert 503 == fast.request("POST", "/upload").status
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert 200 == fast.request("POST", "/upload", headers=auth).status
