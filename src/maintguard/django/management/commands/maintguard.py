"""``python manage.py maintguard VERB …``: the ``maintguard`` command with the project's service.

Every verb and option of the ``maintguard`` command line (``status``,
``enable --reason …``, ``disable``, ``emergency --reason …``, ``explain
METHOD PATH``, …); the service is the one the middleware uses
(``settings.MAINTGUARD`` or ``settings.MAINTGUARD_SERVICE``), side effects
included.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from django.core.management.base import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
    BaseCommand,
    CommandError,
)

from maintguard.adapters.django_config import project_service
from maintguard.control.cli import main


class Command(BaseCommand):  # type: ignore[misc, unused-ignore]
    help = "Maintenance mode: status, enable, disable, emergency, explain, … (maintguard --help)."

    def run_from_argv(self, argv: list[str]) -> None:
        # The maintguard parser owns every argument, --help included.
        sys.exit(_run(argv[2:]))

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("arguments", nargs=argparse.REMAINDER)

    def handle(self, *args: Any, **options: Any) -> None:
        code = _run([*args, *options.get("arguments", [])])
        if code:
            raise CommandError(f"maintguard exited with status {code}", returncode=code)


def _run(arguments: list[str]) -> int:
    return main(arguments, service=project_service(), label="this Django project")
