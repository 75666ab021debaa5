"""Client- and operator-written text cannot forge a log line or drive a
terminal: every non-printable character is escaped."""

from __future__ import annotations

import io
import logging
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maintguard import MaintenanceService, RequestInfo
from maintguard.control.cli import main
from maintguard.logs import quote

HOSTILE = "Upgrade\x1b[2J\x9b31m\r\n[MAINTENANCE] forged\u202egnp.exe\u2066x\u2069\u200b\ufeff"


def _raw_controls(text: str) -> list[str]:
    """Characters of Unicode category C (and line/paragraph separators)
    that reached the text unescaped; newlines that end lines are allowed."""
    return [
        c
        for c in text
        if c != "\n" and (unicodedata.category(c).startswith("C") or c in "\u2028\u2029")
    ]


def _cli(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    assert 0 == main(list(args), out=out, err=err), err.getvalue()
    return out.getvalue()


def test_status_escapes_controls_in_reason_and_message(tmp_path: Path) -> None:
    """``maintguard status`` shows a hostile reason and message escaped, as
    ``maintguard audit`` does: no terminal escape, no bidi override."""
    url = f"sqlite:///{tmp_path / 'maint.db'}"
    _cli("init-db", "--store", url)
    service = MaintenanceService(url)
    service.enable_maintenance(HOSTILE, message=HOSTILE)
    shown = _cli("status", "--store", url)
    assert [] == _raw_controls(shown)
    assert "\\u202e" in shown and "\\x1b" in shown
    service.close()


def test_audit_escapes_c1_controls_and_bidi_overrides(tmp_path: Path) -> None:
    """``maintguard audit`` escaped C0 controls already; C1 (``\\x9b``) and
    bidi overrides too now."""
    url = f"sqlite:///{tmp_path / 'maint.db'}"
    _cli("init-db", "--store", url)
    service = MaintenanceService(url)
    service.enable_maintenance(HOSTILE)
    assert [] == _raw_controls(_cli("audit", "--store", url))
    service.close()


@pytest.mark.parametrize(
    "char", ["\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200b", "\ufeff", "\x9b", "\u0085"]
)
def test_a_log_line_escapes_invisible_and_bidi_characters(
    char: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A blocked path carrying the character logs it as ``\\uXXXX``/``\\xNN``."""
    service = MaintenanceService()
    service.enable_maintenance("Upgrade")
    info = RequestInfo("POST", f"/upload/{char}x")
    with caplog.at_level(logging.INFO, logger="maintguard"):
        service.record(info, service.decide(info))
    (line,) = [r.getMessage() for r in caplog.records if "Operation blocked" in r.getMessage()]
    assert char not in line
    assert f"\\x{ord(char):02x}" in line or f"\\u{ord(char):04x}" in line


@given(st.text())
def test_a_quoted_value_holds_no_unicode_control_character(value: str) -> None:
    """Whatever the text, no category-C character survives quoting."""
    quoted = quote(value)
    assert ("\n" not in quoted, []) == (True, _raw_controls(quoted))
