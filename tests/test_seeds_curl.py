"""The manuals' curl lines work as written against an app using maintguard.

The deployment (000), operations (001) and rollback (003) manuals — and the
configuration (002) and troubleshooting (004) ones — tell operators to run
these exact commands. Each runs here with the real ``curl`` in ``bash``,
against the example Flask app served by Werkzeug and the example FastAPI app
served by uvicorn, both on a free loopback port. Only the address
(``http://localhost:5000``) and the token (``YOUR_ADMIN_TOKEN``, which becomes
``$ADMIN_TOKEN``) are substituted. Where the HTTP status matters, ``-s -w``
is added right after ``curl`` to read it; nothing else about the request
changes.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator

import attrs
import pytest
import uvicorn
from examples.fastapi_app.app import create_app as create_fastapi_app
from examples.flask_app.app import create_app as create_flask_app
from werkzeug.serving import make_server

from maintguard import MaintenanceService
from maintguard.stores import MemoryStore
from tests.servers import free_port

CURL = shutil.which("curl")
BASH = shutil.which("bash")
pytestmark = pytest.mark.skipif(
    CURL is None or BASH is None, reason="the curl binary (and bash) are not installed"
)

TOKEN = "seed-admin-token-4c7d9e"

# ---------------------------------------------- the manuals' lines, verbatim

# 000 Deployment, 5.2 Verify Service Health (also 003 Rollback, 5.2).
HEALTH_CHECK = 'curl -f http://localhost:5000/health || echo "Health check failed"'
STATUS_CHECK = (
    'curl -f http://localhost:5000/api/maintenance/status || echo "Maintenance API failed"'
)
# 000 Deployment, 1. Basic Functionality Tests.
ENABLE_DEPLOYMENT = """\
curl -X POST http://localhost:5000/api/maintenance/enable \\
  -H "Content-Type: application/json" \\
  -H "Authorization: Bearer YOUR_ADMIN_TOKEN" \\
  -d '{"reason": "Deployment validation test", "duration": 300}'"""
STATUS = "curl http://localhost:5000/api/maintenance/status"
BLOCKED_CAPTION = """\
curl -X POST http://localhost:5000/start_caption_generation \\
  -H "Content-Type: application/json" \\
  -d '{"test": "data"}'"""
DISABLE_DEPLOYMENT = """\
curl -X POST http://localhost:5000/api/maintenance/disable \\
  -H "Authorization: Bearer YOUR_ADMIN_TOKEN\""""
# 000 Deployment, 2. Emergency Mode Tests.
EMERGENCY_DEPLOYMENT = """\
curl -X POST http://localhost:5000/api/maintenance/emergency \\
  -H "Content-Type: application/json" \\
  -H "Authorization: Bearer YOUR_ADMIN_TOKEN" \\
  -d '{"reason": "Deployment validation - emergency test"}'"""
MAINTENANCE_PAGE = "curl http://localhost:5000/ # Should show maintenance page"
# 000 Deployment, Security Testing (also 003 Rollback, Security Validation).
NO_TOKEN = """\
curl -X POST http://localhost:5000/api/maintenance/enable \\
  -H "Content-Type: application/json" \\
  -d '{"reason": "test"}'"""
INVALID_TOKEN = """\
curl -X POST http://localhost:5000/api/maintenance/enable \\
  -H "Content-Type: application/json" \\
  -H "Authorization: Bearer invalid_token" \\
  -d '{"reason": "test"}'"""
INVALID_MODE = """\
curl -X POST http://localhost:5000/api/maintenance/enable \\
  -H "Content-Type: application/json" \\
  -H "Authorization: Bearer YOUR_ADMIN_TOKEN" \\
  -d '{"mode": "invalid_mode"}'"""
# 000 Deployment, health_check.sh.
HEALTH_SCRIPT = """\
curl -f http://localhost:5000/health >/dev/null 2>&1
if [ $? -eq 0 ]; then
    echo "✅ Application: OK"
else
    echo "❌ Application: FAILED"
    exit 1
fi

# Check maintenance API
curl -f http://localhost:5000/api/maintenance/status >/dev/null 2>&1
if [ $? -eq 0 ]; then
    echo "✅ Maintenance API: OK"
else
    echo "❌ Maintenance API: FAILED"
    exit 1
fi"""
# 001 Operations, Morning System Health Check.
JQ_ACTIVE = "curl -s http://localhost:5000/api/maintenance/status | jq '.is_active'"
JQ_DETAILS = (
    "curl -s http://localhost:5000/api/maintenance/status | "
    "jq '.reason, .started_at, .estimated_completion'"
)
# 001 Operations, Activate Emergency Mode.
EMERGENCY_OPERATIONS = """\
curl -X POST http://localhost:5000/api/maintenance/emergency \\
     -H "Content-Type: application/json" \\
     -H "Authorization: Bearer $ADMIN_TOKEN" \\
     -d '{
       "reason": "EMERGENCY: [Brief description of issue]",
       "terminate_jobs": true,
       "grace_period": 30
     }'"""
# 001 Operations, Security Incident Recovery: no Content-Type (curl sends its form type).
EMERGENCY_NO_CONTENT_TYPE = """\
curl -X POST http://localhost:5000/api/maintenance/emergency \\
     -H "Authorization: Bearer $ADMIN_TOKEN" \\
     -d '{"reason": "Security incident - system under attack"}'"""
# 003 Rollback, 1.1 Activate Emergency Maintenance Mode.
EMERGENCY_ROLLBACK = """\
curl -X POST http://localhost:5000/api/maintenance/emergency \\
  -H "Content-Type: application/json" \\
  -H "Authorization: Bearer $ADMIN_TOKEN" \\
  -d '{
    "reason": "ROLLBACK: Critical issues detected - initiating rollback procedures",
    "terminate_jobs": true,
    "grace_period": 30
  }'"""
# 003 Rollback, Post-Rollback Validation.
HEAD_ROOT = "curl -I http://localhost:5000/"
ENABLE_ROLLBACK = """\
curl -X POST http://localhost:5000/api/maintenance/enable \\
  -H "Content-Type: application/json" \\
  -H "Authorization: Bearer $ADMIN_TOKEN" \\
  -d '{"reason": "Rollback validation test", "duration": 300}'"""
DISABLE_ROLLBACK = """\
curl -X POST http://localhost:5000/api/maintenance/disable \\
  -H "Authorization: Bearer $ADMIN_TOKEN\""""
TIMED = """\
time curl -s http://localhost:5000/api/maintenance/status > /dev/null
time curl -s http://localhost:5000/health > /dev/null"""
# 002 Configuration, monitoring endpoints.
HEALTH_ENDPOINT = "curl http://localhost:5000/api/health/maintenance"
BLOCKED_OPERATIONS = "curl http://localhost:5000/api/maintenance/blocked-operations"
# 004 Troubleshooting.
BLOCKED_VERBOSE = """\
curl -X POST http://localhost:5000/start_caption_generation \\
  -H "Content-Type: application/json" \\
  -d '{"test": "data"}' \\
  -v"""
HEAD_STATUS = "curl -I http://localhost:5000/api/maintenance/status"


# ------------------------------------------------------------------- servers


@attrs.define
class Site:
    base: str
    service: MaintenanceService


def _service() -> MaintenanceService:
    return MaintenanceService(MemoryStore(), admin_tokens=f"ops:{TOKEN}")


@contextlib.contextmanager
def flask_site() -> Iterator[Site]:
    """The Flask example, served by a real Werkzeug server in a thread."""
    service = _service()
    port = free_port()
    server = make_server("127.0.0.1", port, create_flask_app(service), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="werkzeug-seeds", daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{port}", service)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
        service.close()


@contextlib.contextmanager
def fastapi_site() -> Iterator[Site]:
    """The FastAPI example, served by uvicorn in a thread, shut down cleanly."""
    service = _service()
    port = free_port()
    config = uvicorn.Config(
        create_fastapi_app(service),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-seeds", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        if not server.started:
            raise RuntimeError("uvicorn did not start")
        yield Site(f"http://127.0.0.1:{port}", service)
    finally:
        server.should_exit = True
        thread.join(10)
        service.close()


@pytest.fixture(scope="module", params=["flask", "fastapi"])
def site(request: pytest.FixtureRequest) -> Iterator[Site]:
    """Each example app, served for real, shared by this module's tests."""
    serve = flask_site if request.param == "flask" else fastapi_site
    with serve() as served:
        yield served


@pytest.fixture(autouse=True)
def maintenance_off(site: Site) -> None:
    """Every test starts with maintenance off."""
    site.service.disable_maintenance(force=True)


# --------------------------------------------------------------------- running


@attrs.frozen
class Result:
    exit_code: int
    stdout: str
    stderr: str


def shell(site: Site, script: str) -> Result:
    """Run ``script`` in bash with the manuals' address and token substituted."""
    script = script.replace("http://localhost:5000", site.base).replace(
        "YOUR_ADMIN_TOKEN", "$ADMIN_TOKEN"
    )
    env = {**os.environ, "ADMIN_TOKEN": TOKEN}
    done = subprocess.run(
        [str(BASH), "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


@attrs.frozen
class Answer:
    status: int
    body: str

    def json(self) -> dict[str, object]:
        data: dict[str, object] = json.loads(self.body)
        return data


def request(site: Site, command: str) -> Answer:
    """Run one curl command, reading its HTTP status with ``-s -w`` after ``curl``."""
    measured = command.replace("curl ", "curl -s -w '\\n%{http_code}' ", 1)
    result = shell(site, measured)
    body, _, status = result.stdout.rpartition("\n")
    return Answer(int(status), body)


def caption_status(site: Site) -> int:
    return request(site, BLOCKED_CAPTION).status


# ---------------------------------------------------------- 000 Deployment


def test_health_check_line_passes(site: Site) -> None:
    """`curl -f /health || echo "Health check failed"` prints no failure."""
    result = shell(site, HEALTH_CHECK)
    assert (0, False) == (result.exit_code, "Health check failed" in result.stdout)


def test_status_check_line_passes(site: Site) -> None:
    """`curl -f /api/maintenance/status || echo …` prints no failure."""
    result = shell(site, STATUS_CHECK)
    assert (0, False) == (result.exit_code, "Maintenance API failed" in result.stdout)


def test_enable_with_json_activates_maintenance(site: Site) -> None:
    """The deployment manual's enable answers 200 and maintenance is on."""
    answer = request(site, ENABLE_DEPLOYMENT)
    assert (200, True, "Deployment validation test", 300.0) == (
        answer.status,
        answer.json()["is_active"],
        answer.json()["reason"],
        answer.json()["estimated_duration"],
    )


def test_status_line_shows_the_maintenance(site: Site) -> None:
    """`curl /api/maintenance/status` shows the maintenance in force."""
    request(site, ENABLE_DEPLOYMENT)
    answer = request(site, STATUS)
    assert (200, True, "normal") == (
        answer.status,
        answer.json()["is_active"],
        answer.json()["mode"],
    )


def test_caption_generation_is_blocked_during_maintenance(site: Site) -> None:
    """`POST /start_caption_generation` answers 503 during maintenance ("Should return 503")."""
    before = caption_status(site)
    request(site, ENABLE_DEPLOYMENT)
    assert (202, 503) == (before, caption_status(site))


def test_disable_without_a_body_ends_maintenance(site: Site) -> None:
    """The disable line (no body, no Content-Type) answers 200 and unblocks."""
    request(site, ENABLE_DEPLOYMENT)
    answer = request(site, DISABLE_DEPLOYMENT)
    assert (200, False, 202) == (answer.status, answer.json()["is_active"], caption_status(site))


def test_emergency_with_json_is_accepted(site: Site) -> None:
    """The deployment manual's emergency answers 202."""
    answer = request(site, EMERGENCY_DEPLOYMENT)
    assert (202, "emergency") == (answer.status, answer.json()["mode"])


def test_root_shows_the_maintenance_page_in_an_emergency(site: Site) -> None:
    """`curl http://localhost:5000/ # Should show maintenance page`: a 503 HTML page."""
    request(site, EMERGENCY_DEPLOYMENT)
    answer = request(site, MAINTENANCE_PAGE)
    assert (503, True, True) == (
        answer.status,
        answer.body.startswith("<!doctype html>"),
        "Deployment validation - emergency test" in answer.body,
    )


@pytest.mark.parametrize("command", [NO_TOKEN, INVALID_TOKEN], ids=["no-token", "invalid-token"])
def test_enable_without_a_valid_token_is_401(site: Site, command: str) -> None:
    """The security tests' enable lines answer 401 and change nothing."""
    answer = request(site, command)
    assert (401, False) == (answer.status, site.service.get_maintenance_status().is_active)


def test_invalid_mode_is_400(site: Site) -> None:
    """`{"mode": "invalid_mode"}` answers 400 naming the field."""
    answer = request(site, INVALID_MODE)
    assert (400, "mode") == (answer.status, answer.json()["field"])


def test_health_script_passes_during_maintenance(site: Site) -> None:
    """health_check.sh's curl -f lines succeed while an emergency is on."""
    request(site, EMERGENCY_DEPLOYMENT)
    result = shell(site, HEALTH_SCRIPT)
    assert (0, "✅ Application: OK\n✅ Maintenance API: OK\n") == (result.exit_code, result.stdout)


def test_deployment_validation_sequence(site: Site) -> None:
    """Enable, check, see a block, disable, see the block lifted — in the manual's order."""
    statuses = [
        request(site, ENABLE_DEPLOYMENT).status,
        request(site, STATUS).status,
        request(site, BLOCKED_CAPTION).status,
        request(site, DISABLE_DEPLOYMENT).status,
        request(site, BLOCKED_CAPTION).status,
    ]
    assert [200, 200, 503, 200, 202] == statuses


# ---------------------------------------------------------- 001 Operations


def test_jq_reads_is_active(site: Site) -> None:
    """`curl -s …/status | jq '.is_active'` prints true during maintenance."""
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed")
    request(site, ENABLE_DEPLOYMENT)
    assert "true\n" == shell(site, JQ_ACTIVE).stdout


def test_jq_reads_reason_and_times(site: Site) -> None:
    """`jq '.reason, .started_at, .estimated_completion'` prints the three values."""
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed")
    request(site, ENABLE_DEPLOYMENT)
    lines = shell(site, JQ_DETAILS).stdout.splitlines()
    assert ('"Deployment validation test"', True, True) == (
        lines[0],
        lines[1].endswith('Z"'),
        lines[2].endswith('Z"'),
    )


def test_operations_emergency_with_jobs_and_grace_is_202(site: Site) -> None:
    """The operations manual's emergency (terminate_jobs, grace_period) answers 202."""
    answer = request(site, EMERGENCY_OPERATIONS)
    assert (202, "EMERGENCY: [Brief description of issue]") == (
        answer.status,
        answer.json()["reason"],
    )


def test_emergency_without_content_type_is_202(site: Site) -> None:
    """The incident line sends curl's form type with a JSON body: still 202."""
    answer = request(site, EMERGENCY_NO_CONTENT_TYPE)
    assert (202, "emergency", 503) == (
        answer.status,
        answer.json()["mode"],
        request(site, MAINTENANCE_PAGE).status,
    )


# ------------------------------------------------------------ 003 Rollback


def test_rollback_emergency_is_202(site: Site) -> None:
    """The rollback manual's emergency answers 202 and blocks reads."""
    answer = request(site, EMERGENCY_ROLLBACK)
    assert (202, 503) == (answer.status, request(site, HEAD_ROOT).status)


def test_head_root_is_200_when_off(site: Site) -> None:
    """`curl -I http://localhost:5000/` answers 200 with maintenance off."""
    assert 200 == request(site, HEAD_ROOT).status


def test_head_root_during_emergency_has_retry_headers(site: Site) -> None:
    """During an emergency `curl -I /` shows the 503 and no-store."""
    request(site, EMERGENCY_ROLLBACK)
    answer = request(site, HEAD_ROOT)
    assert (503, True) == (answer.status, "cache-control: no-store" in answer.body.lower())


def test_rollback_validation_sequence(site: Site) -> None:
    """Enable, status and disable from the rollback manual all succeed."""
    statuses = [
        request(site, ENABLE_ROLLBACK).status,
        request(site, STATUS).status,
        request(site, DISABLE_ROLLBACK).status,
    ]
    assert ([200, 200, 200], False) == (statuses, site.service.get_maintenance_status().is_active)


def test_timed_lines_succeed(site: Site) -> None:
    """`time curl -s … > /dev/null` for status and health exits 0."""
    assert 0 == shell(site, TIMED).exit_code


# ------------------------------------------- 002 Configuration, 004 Troubleshooting


def test_health_endpoint_is_ok_during_maintenance(site: Site) -> None:
    """`curl /api/health/maintenance`: maintenance is not a fault (200, ok)."""
    request(site, ENABLE_DEPLOYMENT)
    answer = request(site, HEALTH_ENDPOINT)
    assert (200, "ok") == (answer.status, answer.json()["status"])


def test_blocked_operations_endpoint_lists_the_blocked_types(site: Site) -> None:
    """`curl /api/maintenance/blocked-operations` lists what is blocked."""
    request(site, ENABLE_DEPLOYMENT)
    answer = request(site, BLOCKED_OPERATIONS)
    listed = answer.json()["blocked_operations"]
    assert isinstance(listed, list)
    assert (200, True) == (
        answer.status,
        "CAPTION_GENERATION" in [item["operation_type"] for item in listed],
    )


def test_verbose_blocked_line_is_503(site: Site) -> None:
    """The troubleshooting manual's verbose line sees the 503."""
    request(site, ENABLE_DEPLOYMENT)
    assert 503 == request(site, BLOCKED_VERBOSE).status


def test_head_status_is_200(site: Site) -> None:
    """`curl -I …/api/maintenance/status` answers 200."""
    assert 200 == request(site, HEAD_STATUS).status
