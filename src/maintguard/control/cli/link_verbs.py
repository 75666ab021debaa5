"""The verb that hands an admin's browser the bypass cookie: ``bypass-link``.

It prints a one-time, short-lived link signed with the bypass secret
(``MAINTENANCE_BYPASS_SECRET``, the same on every worker) for the current
maintenance; opening it sets the cookie and redirects to ``/``.
"""

from __future__ import annotations

import argparse
from typing import TextIO

from maintguard.control.bypass_links import issue_link
from maintguard.control.cli.errors import EXIT_OK, EXIT_USAGE, CLIError
from maintguard.control.cli.session import _checked_view, _session


def _bypass_link(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    base = str(args.base_url).rstrip("/")
    if base and not base.startswith(("http://", "https://")):
        raise CLIError("--base-url must start with http:// or https://", EXIT_USAGE)
    if not base.isprintable() or any(char.isspace() for char in base):
        raise CLIError("--base-url must be a URL without spaces or control characters", EXIT_USAGE)
    session = _session(args)
    try:
        _checked_view(session)
        link = issue_link(session.service, args.lifetime)
    finally:
        session.service.close()
    print(f"{base}{link}", file=out)
    print(
        f"maintguard: the link works once, for {int(args.lifetime)} s, "
        "during this maintenance only",
        file=err,
    )
    return EXIT_OK
