"""Store URLs never show their password: not in a repr, an error, the
status, the CLI or a log line, however the password is written."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from maintguard import ConfigurationError, MaintenanceService
from maintguard.exceptions import StoreError
from maintguard.logs import redact

SECRET = "Hunter2-Secret"
URLS = [
    f"redis://default:{SECRET}@127.0.0.1:1/0",
    f"redis://default:{SECRET[:6]}/{SECRET[6:]}@127.0.0.1:1/0",  # an unencoded "/"
    f"postgresql+psycopg://app:{SECRET}@127.0.0.1:1/app",
    f"postgresql+psycopg://app:{SECRET[:6]}/{SECRET[6:]}@127.0.0.1:1/app",
    f"postgresql+psycopg://app@127.0.0.1:1/app?password={SECRET}",
    f"mysql+pymysql://app@127.0.0.1:1/app?sslmode=x&password={SECRET}",
]


def _leaks(text: str) -> bool:
    return SECRET in text or SECRET[:6] in text or SECRET[6:] in text


@pytest.mark.parametrize("url", URLS)
def test_redact_hides_every_spelling_of_a_password(url: str) -> None:
    """``user:pass@``, a ``/`` in the password, and ``?password=``."""
    assert not _leaks(redact(f"could not reach {url} (refused)"))


def _store(url: str) -> object:
    """The store, or the start-up error of a URL its client cannot parse
    (redis-py refuses an unencoded "/" in the password)."""
    from maintguard.stores import store_from_url

    try:
        return store_from_url(url)
    except ConfigurationError as exc:
        return exc


@pytest.mark.parametrize("url", [u for u in URLS if not u.startswith("mysql")])
def test_a_store_repr_or_start_up_error_shows_no_password(url: str) -> None:
    """``repr(store)`` (in tracebacks, debuggers, logs) is redacted."""
    store = _store(url)
    assert not _leaks(repr(store) + str(store))


# redis-py refuses URLS[1] at start-up: its error is checked above.
@pytest.mark.parametrize("url", [u for u in URLS if not u.startswith("mysql") and u != URLS[1]])
def test_a_store_error_shows_no_password(url: str) -> None:
    """The error of an unreachable store names it without the password."""
    store = _store(url)
    with pytest.raises(StoreError) as info:
        store.load()  # type: ignore[attr-defined]
    assert not _leaks(str(info.value))


@pytest.mark.parametrize("url", [URLS[1], URLS[4]])
def test_the_cli_shows_no_password(url: str) -> None:
    """``maintguard status --store URL`` against a dead store: one line, redacted."""
    done = subprocess.run(
        [sys.executable, "-m", "maintguard", "status", "--store", url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert not _leaks(done.stdout + done.stderr)


@pytest.mark.parametrize("url", [URLS[0], URLS[4]])
def test_logs_and_status_show_no_password(url: str, caplog: pytest.LogCaptureFixture) -> None:
    """A service on a dead store logs the outage and serves its status
    without the password."""
    service = MaintenanceService(url, refresh_interval=3600)
    with caplog.at_level(logging.DEBUG, logger="maintguard"):
        status = service.get_maintenance_status().to_dict()
    assert not _leaks(caplog.text + repr(status) + repr(service.settings))
    service.close()
