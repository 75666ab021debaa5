"""The control API does what its OpenAPI document says (schemathesis).

The document is loaded from ``GET {prefix}/openapi.json`` of the running
ASGI app, and every operation is fuzzed from it — with the bearer token and
without — checking that no answer is a server error, that every status is
documented and every body (and documented header) matches its schema. Each answer that rejects the
request (4xx) must have changed nothing: the stored state is the same
before and after the call.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from examples.fastapi_app.app import create_app
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from maintguard import MaintenanceService, MaintenanceState
from maintguard.stores import MemoryStore

PREFIX = "/api/maintenance"
TOKEN = "fuzz-admin-token-0b6f"
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    response_headers_conformance,
]
#: Written by the snapshot's housekeeper when a window opens or an end is
#: reached — on its own schedule, so it may land during any call.
_TRANSITIONS = frozenset({"window_start", "window_end"})

SERVICE = MaintenanceService(
    MemoryStore(),
    admin_tokens=f"fuzzer:{TOKEN}",
    bypass_cookie_secret="fuzz-bypass-secret-0123456789",
)


APP = create_app(SERVICE)  # the FastAPI example, behind maintguard's ASGI middleware
schema = schemathesis.openapi.from_asgi(f"{PREFIX}/openapi.json", APP)
# An events stream stays open for its whole duration: tested under real
# servers (test_console_events.py) rather than fuzzed call by call.
schema = schema.exclude(operation_id="getEvents")
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])

FUZZ = settings(
    max_examples=15,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module", autouse=True)
def close_service() -> Iterator[None]:
    """The module's service is closed when its tests are done."""
    yield
    SERVICE.close()


def _changes_since(before: MaintenanceState) -> list[str]:
    """Actions recorded since ``before``, other than scheduled transitions."""
    after = SERVICE.store.load()
    if after.version == before.version:
        return [] if after == before else ["state changed without a new version"]
    records = SERVICE.store.read_audit(after.version - before.version)
    return [
        r.action for r in records if r.version > before.version and r.action not in _TRANSITIONS
    ]


def _fuzz(case: schemathesis.Case, headers: dict[str, str]) -> None:
    before = SERVICE.store.load()
    response = case.call(headers=headers)
    case.validate_response(response, checks=CHECKS)
    if 400 <= response.status_code < 500:
        assert [] == _changes_since(before)


@schema.parametrize()
@FUZZ
def test_api_with_the_token(case: schemathesis.Case) -> None:
    """With the admin token: documented answers, and a 4xx changes nothing."""
    _fuzz(case, {"Authorization": f"Bearer {TOKEN}"})


@schema.parametrize()
@FUZZ
def test_api_without_a_token(case: schemathesis.Case) -> None:
    """Without a token: documented answers (401 for secured operations), nothing changes."""
    before = SERVICE.store.load()
    _fuzz(case, {})
    if case.operation.definition.raw.get("security"):
        assert [] == _changes_since(before)
