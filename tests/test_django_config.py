"""settings.MAINTGUARD: options checked at start-up, naming the setting (fresh interpreters)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.realserver import ROOT

PROGRAM = """
import sys
from django.conf import settings
settings.configure(INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes",
                                   "django.contrib.sessions", "maintguard.django"],
                   DATABASES={{"default": {{"ENGINE": "django.db.backends.sqlite3",
                                             "NAME": ":memory:"}}}},
                   {setting})
import django
django.setup()
from maintguard import ConfigurationError
from maintguard.django import project_service
try:
    service = project_service()
except ConfigurationError as exc:
    print("error:", exc)
else:
    print("ok", service.settings.default_timeout, service.settings.exempt_paths,
          type(service.session_invalidator).__name__, service.is_admin_resolver.__name__)
"""


def _run(setting: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM.format(setting=setting)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert 0 == result.returncode, result.stderr[-2000:]
    return result.stdout.strip()


def test_the_settings_dict_builds_the_service() -> None:
    """Keys in either case; staff admins and Django's session invalidator by default."""
    out = _run('MAINTGUARD={"DEFAULT_TIMEOUT": 900, "exempt_paths": "/assets"}')
    assert "ok 900 ('/assets',) DjangoSessionInvalidator staff_admin" == out


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        ('MAINTGUARD={"bogus": 1}', "bogus"),
        ('MAINTGUARD={"store_url": "ftp://x"}', "store_url"),
        ('MAINTGUARD={"default_timeout": -5}', "default_timeout"),
        ('MAINTGUARD=["not", "a", "dict"]', "dict"),
        ('MAINTGUARD={"is_admin": "no.such.module.fn"}', "is_admin"),
        ("DEBUG=False", "MAINTGUARD_SERVICE"),
    ],
)
def test_a_bad_setting_fails_at_start_up_naming_it(setting: str, named: str) -> None:
    """A wrong MAINTGUARD entry (or neither setting) is a ConfigurationError naming it."""
    out = _run(setting)
    assert out.startswith("error: ")
    assert named in out
    assert "MAINTGUARD" in out
