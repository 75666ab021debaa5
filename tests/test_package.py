"""The package as a user installs it: imports, extras, no work at import."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest

import maintguard

CHECK = """
import sys, threading
before = threading.active_count()
import maintguard
from maintguard import MaintenanceService, store_from_url
from maintguard.wsgi import MaintenanceMiddleware
service = MaintenanceService(store_from_url("memory://"))
MaintenanceMiddleware(lambda e, s: [], service)
heavy = [m for m in ("redis", "sqlalchemy", "rq", "flask", "starlette", "django", "hypothesis")
         if m in sys.modules]
import json
print(json.dumps({"heavy": heavy, "threads": threading.active_count() - before}))
"""


def test_import_and_construction_load_no_backend_and_start_no_thread() -> None:
    """`import maintguard` needs neither redis nor SQLAlchemy, and building a
    service and a middleware starts no thread (safe before a fork)."""
    result = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True
    )
    assert {"heavy": [], "threads": 0} == json.loads(result.stdout)


def test_public_names_are_sorted_and_importable() -> None:
    """`__all__` is sorted and every name in it exists."""
    names = list(maintguard.__all__)
    assert sorted(names) == names
    assert all(hasattr(maintguard, name) for name in names)


def test_unknown_store_scheme_names_the_known_ones() -> None:
    """A typo in the store URL fails at start-up with the schemes to choose from."""
    with pytest.raises(maintguard.ConfigurationError, match=r"known: .*memory.*redis.*sqlite"):
        maintguard.store_from_url("reddis://localhost")


def test_store_url_errors_never_show_the_password() -> None:
    """The password in a bad URL is redacted from the message."""
    with pytest.raises(maintguard.ConfigurationError) as raised:
        maintguard.store_from_url("nosuch://user:hunter2@host/db")
    assert "hunter2" not in str(raised.value)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_memory_store_warns_in_a_forked_worker() -> None:
    """Several workers on the in-memory store each have their own state: say so."""
    service = maintguard.MaintenanceService()
    read, write = os.pipe()

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if os.getpid() != parent:  # only what the child's fork hook logs
                os.write(write, record.getMessage().encode()[:200])

    parent = os.getpid()
    handler = Capture()
    logger = logging.getLogger("maintguard")
    logger.addHandler(handler)
    try:
        pid = os.fork()
        if pid == 0:  # the child: the fork hook has already run
            os._exit(0)
    finally:
        logger.removeHandler(handler)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        message = pipe.read().decode()
    os.waitpid(pid, 0)
    service.close()
    assert "in-memory store in a forked worker" in message
