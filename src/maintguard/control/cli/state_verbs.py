"""The verbs that read or change the maintenance state.

``status``, ``enable``, ``emergency``, ``disable``, ``schedule`` and
``audit``. Each change goes through ``_change``, which records ``--actor``,
lets the side effects settle and prints the resulting status.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TextIO

from maintguard.control.cli.errors import EXIT_OK, EXIT_USAGE, CLIError
from maintguard.control.cli.output import _show_audit, _show_status
from maintguard.control.cli.session import _actor, _checked_view, _session
from maintguard.control.status import MaintenanceStatus
from maintguard.service import MaintenanceService


def _status(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    session = _session(args)
    try:
        _checked_view(session)
        _show_status(session.service.get_maintenance_status(), args.json, out)
    finally:
        session.service.close()
    return EXIT_OK


def _change(
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
    make: Callable[[MaintenanceService, str], MaintenanceStatus],
) -> int:
    """Make one change as ``--actor``, let its side effects settle, show the status."""
    actor = _actor(args)
    session = _session(args)
    service = session.service
    try:
        status = make(service, actor)
        session.settle(err)
        _show_status(
            service.get_maintenance_status() if session.from_app else status, args.json, out
        )
    finally:
        service.close()
    return EXIT_OK


def _enable(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.mode == "emergency" and (args.ends_at or args.operations):
        raise CLIError("--ends-at and --operations do not apply to an emergency", EXIT_USAGE)
    return _change(
        args,
        out,
        err,
        lambda service, actor: service.enable_maintenance(
            args.reason,
            duration=args.duration,
            mode=args.mode,
            enabled_by=actor,
            message=args.message,
            ends_at=args.ends_at,
            operations=args.operations,
            force=args.force,
        ),
    )


def _emergency(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    return _change(
        args,
        out,
        err,
        lambda service, actor: service.enable_emergency(
            args.reason,
            terminate_jobs=args.terminate_jobs,
            grace_period=args.grace_period,
            enabled_by=actor,
            message=args.message,
            duration=args.duration,
            background=False,  # this process ends soon: run sessions and jobs now
        ),
    )


def _disable(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    return _change(
        args, out, err, lambda service, actor: service.disable_maintenance(actor, force=args.force)
    )


def _schedule(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    given = [name for name in ("reason", "starts_at", "ends_at", "message") if getattr(args, name)]
    if args.cancel and given:
        raise CLIError("--cancel takes no window options", EXIT_USAGE)
    if not args.cancel and (args.reason is None or args.starts_at is None):
        raise CLIError("schedule needs --reason and --starts-at (or --cancel)", EXIT_USAGE)
    if args.cancel:
        return _change(args, out, err, lambda service, actor: service.cancel_schedule(actor))
    return _change(
        args,
        out,
        err,
        lambda service, actor: service.schedule_maintenance(
            args.reason,
            args.starts_at,
            ends_at=args.ends_at,
            mode=args.mode,
            message=args.message,
            scheduled_by=actor,
        ),
    )


def _audit(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    session = _session(args)
    try:
        _show_audit(session.service.get_audit_log(args.limit), args.json, out)
    finally:
        session.service.close()
    return EXIT_OK
