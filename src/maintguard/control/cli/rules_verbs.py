"""The verbs about the classification rules: ``explain`` and ``lint-rules``.

``explain`` says what maintguard does with one request, against the current
state or, without a store, under each mode in turn. ``lint-rules`` reports
mistakes in the rules, using ``maintguard.testing`` (an optional extra).
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from typing import TextIO, cast

from maintguard.config import Settings
from maintguard.control.cli.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CLIError
from maintguard.control.cli.session import (
    _checked_view,
    _session,
    given_service,
    import_service,
)
from maintguard.core.classifier import OperationClassifier
from maintguard.core.decision import RequestInfo
from maintguard.core.state import Mode
from maintguard.service import MaintenanceService


def _explain(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    method = args.method.upper()
    path = args.path.split("?", 1)[0]
    if not method.isalpha() or not path.startswith("/"):
        raise CLIError("explain takes a METHOD and a PATH starting with '/'", EXIT_USAGE)
    if (
        not args.app
        and given_service.get() is None
        and not (args.store or os.environ.get("MAINTENANCE_STORE_URL", "").strip())
    ):
        _print_exemptions(MaintenanceService("memory://", settings=Settings.from_env()), err)
        return _explain_every_mode(method, path, args.json, out)
    session = _session(args)
    try:
        _checked_view(session)
        decision = session.service.decide(RequestInfo(method=method, path=path))
        _print_exemptions(session.service, err)
    finally:
        session.service.close()
    if args.json:
        data = {
            "action": decision.action.value,
            "operation": decision.operation.name,
            "mode": decision.mode.value if decision.mode is not None else None,
            "why": decision.why,
            "explanation": decision.explain(),
        }
        print(json.dumps(data, indent=2, ensure_ascii=False), file=out)
    else:
        print(decision.explain(), file=out)
    return EXIT_OK


def exemptions(service: MaintenanceService) -> list[str]:
    """The paths never blocked for reads: exempt prefixes, then the control API."""
    found = [
        rule.pattern
        for rule in service.classifier.rules
        if rule.operation.name == "HEALTH_CHECK" and rule.kind == "prefix"
    ]
    return [*dict.fromkeys(found), f"{service.settings.prefix}/…", service.settings.health_path]


def _print_exemptions(service: MaintenanceService, err: TextIO) -> None:
    """On stderr, so the verdict on stdout stays one line per mode."""
    listed = ", ".join(exemptions(service))
    print(f"maintguard: never blocked for GET/HEAD/OPTIONS: {listed}", file=err)


def _explain_every_mode(method: str, path: str, as_json: bool, out: TextIO) -> int:
    """Without a store there is no current state: explain the request under
    each mode in turn, with the default rules, on a throwaway service."""
    info = RequestInfo(method=method, path=path)
    decisions = []
    logger = logging.getLogger("maintguard")
    quiet, logger.disabled = logger.disabled, True  # its "activated" lines are no news here
    try:
        for mode in Mode:
            # A private in-memory store: explaining must never switch the real one.
            service = MaintenanceService("memory://", settings=Settings.from_env())
            service.enable_maintenance("explain", mode=mode)
            decisions.append((mode, service.decide(info)))
            service.close()
    finally:
        logger.disabled = quiet
    if as_json:
        data = {
            mode.value: {
                "action": decision.action.value,
                "operation": decision.operation.name,
                "why": decision.why,
                "explanation": decision.explain(),
            }
            for mode, decision in decisions
        }
        print(json.dumps(data, indent=2, ensure_ascii=False), file=out)
    else:
        for mode, decision in decisions:
            print(f"if {mode.value}: {decision.explain()}", file=out)
    return EXIT_OK


def _lint_rules(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    lint = _lint_function()
    classifier = import_service(args.app).classifier if args.app else OperationClassifier()
    problems = list(lint(classifier))
    for problem in problems:
        print(problem, file=out)
    if problems:
        raise CLIError(f"{len(problems)} problem(s) in the classification rules", EXIT_FAILED)
    print(f"{len(classifier.rules)} rules, no problems", file=out)
    return EXIT_OK


def _lint_function() -> Callable[[OperationClassifier], Sequence[str]]:
    try:
        module = importlib.import_module("maintguard.testing")
    except ModuleNotFoundError as exc:
        if exc.name in ("maintguard.testing", None):
            raise CLIError("lint-rules needs maintguard.testing, which is not installed") from None
        raise CLIError(
            f"lint-rules needs {exc.name!r}: pip install 'maintguard[testing]'"
        ) from None
    return cast("Callable[[OperationClassifier], Sequence[str]]", module.lint_rules)
