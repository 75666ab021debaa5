"""``flask maintguard …``: the ``maintguard`` command, run with the app's own service.

``flask maintguard status``, ``enable --reason …``, ``disable``,
``emergency --reason …``, ``explain METHOD PATH`` and every other verb of
the ``maintguard`` command take the same options; the service is the one
``init_app`` was given, so its store, rules and side effects apply (as
``--app`` would give them).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from maintguard.control.cli import main
from maintguard.service import MaintenanceService

__all__ = ["command_group"]


def command_group(service: Callable[[], MaintenanceService]) -> click.Command:
    """The ``maintguard`` command for ``app.cli``: its arguments go to the
    ``maintguard`` command line unchanged (``--help`` included)."""

    @click.command(
        "maintguard",
        context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
        add_help_option=False,
        help="Maintenance mode: status, enable, disable, emergency, explain, … (see --help).",
    )
    @click.argument("arguments", nargs=-1, type=click.UNPROCESSED)
    def maintguard(arguments: tuple[str, ...]) -> None:
        code = main(list(arguments), service=service(), label="this Flask app")
        sys.exit(code)

    return maintguard
