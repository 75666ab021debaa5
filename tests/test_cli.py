"""The ``maintguard`` command (DESIGN.md, "Command line").

Most tests call ``maintguard.control.cli.main`` in-process against a SQLite file;
a few run the real console script and ``python -m maintguard`` in a child
process, including the one that shows a running app following a change the
command made.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest
from examples.flask_app.app import create_app
from werkzeug.test import Client

from maintguard import MaintenanceService, OperationClassifier
from maintguard.config import VARIABLES
from maintguard.control.cli import main
from maintguard.jobs import CallableJobTerminator
from maintguard.sessions import CallableSessionInvalidator
from maintguard.stores import MemoryStore, register_store

#: What the side effects of ``app_service`` did, for the tests to read.
SIDE_EFFECTS: dict[str, list[Any]] = {"sessions": [], "jobs": []}


@attrs.frozen
class Run:
    code: int
    out: str
    err: str

    @property
    def one_error_line(self) -> bool:
        """Exactly one line on stderr, and no traceback."""
        return self.err.count("\n") == 1 and "Traceback" not in self.err


def cli(*args: str) -> Run:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return Run(code, out.getvalue(), err.getvalue())


def app_service() -> MaintenanceService:
    """The application's configured service, as ``--app tests.test_cli:app_service`` loads it."""
    classifier = OperationClassifier()
    classifier.add_custom_classification("/reports/export", "BATCH_OPERATIONS")
    return MaintenanceService(
        os.environ["CLI_TEST_STORE"],
        classifier=classifier,
        session_invalidator=CallableSessionInvalidator(
            lambda keep_admins: SIDE_EFFECTS["sessions"].append(keep_admins) or 3
        ),
        job_terminator=CallableJobTerminator(
            count=lambda: 0, terminate=lambda grace: SIDE_EFFECTS["jobs"].append(grace) or 2
        ),
    )


def interrupted_service() -> MaintenanceService:
    """An --app factory interrupted by the operator (Ctrl-C)."""
    raise KeyboardInterrupt


NOT_A_SERVICE = "just a string"


def shadowed_rules_service() -> MaintenanceService:
    """An app whose second rule for a path can never win."""
    classifier = OperationClassifier()
    classifier.add_custom_classification("/reports/export", "BATCH_OPERATIONS")
    classifier.add_custom_classification("/reports/export", "IMAGE_PROCESSING")
    return MaintenanceService(os.environ["CLI_TEST_STORE"], classifier=classifier)


def memory_service() -> MaintenanceService:
    """An app that keeps its state in process memory."""
    return MaintenanceService()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No maintguard variable from the outside; a known user; side effects reset."""
    for name, _, _ in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("USER", "ops-anna")
    monkeypatch.setattr(sys, "path", list(sys.path))
    for calls in SIDE_EFFECTS.values():
        calls.clear()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite file with the schema in place (made by ``maintguard init-db``)."""
    url = f"sqlite:///{tmp_path / 'maint.db'}"
    monkeypatch.setenv("CLI_TEST_STORE", url)
    assert 0 == cli("init-db", "--store", url).code
    return url


def status(store: str) -> dict[str, Any]:
    run = cli("status", "--store", store, "--json")
    assert 0 == run.code
    data: dict[str, Any] = json.loads(run.out)
    return data


def future(hours: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(hours=hours)).isoformat()


# ------------------------------------------------------------------- the verbs


def test_init_db_is_idempotent(store: str) -> None:
    """`init-db` on a store that has its schema succeeds again."""
    run = cli("init-db", "--store", store)
    assert (0, True) == (run.code, run.out.startswith("schema ready"))


def test_init_db_on_a_store_without_schema_says_so() -> None:
    """A store without create_schema needs nothing: exit 0 and say it."""
    register_store("clitest", lambda url, **options: MemoryStore(), replace=True)
    run = cli("init-db", "--store", "clitest://anything")
    assert (0, "the memory store needs no schema: nothing to do\n") == (run.code, run.out)


def test_status_json_has_the_status_fields_at_the_top_level(store: str) -> None:
    """`status --json` prints the API's status object itself."""
    data = status(store)
    expected = {
        "is_active",
        "mode",
        "reason",
        "message",
        "estimated_duration",
        "started_at",
        "estimated_completion",
        "ends_at",
        "blocked_operations",
        "active_jobs_count",
        "upcoming",
        "store",
        "version",
    }
    assert (set(), False, "sqlite") == (expected - set(data), data["is_active"], data["store"])


def test_status_text_says_off(store: str) -> None:
    """Plain `status` is a readable summary."""
    assert "maintenance:          off\n" == cli("status", "--store", store).out.splitlines(True)[0]


def test_enable_switches_maintenance_on(store: str) -> None:
    """`enable --reason --duration` starts a normal maintenance in the store."""
    run = cli("enable", "--store", store, "--reason", "DB upgrade", "--duration", "600")
    data = status(store)
    assert (0, True, "normal", "DB upgrade", 600.0) == (
        run.code,
        data["is_active"],
        data["mode"],
        data["reason"],
        data["estimated_duration"],
    )


def test_enable_takes_mode_message_end_and_operations(store: str) -> None:
    """`enable` passes --mode, --message, --ends-at and --operations through."""
    ends = future(2)
    cli(
        "enable",
        "--store",
        store,
        "--reason",
        "r",
        "--mode",
        "test",
        "--message",
        "Soon back",
        "--ends-at",
        ends,
        "--operations",
        "IMAGE_PROCESSING,JOB_CREATION",
    )
    data = status(store)
    assert ("test", "Soon back", ["IMAGE_PROCESSING", "JOB_CREATION"], True) == (
        data["mode"],
        data["message"],
        data["operations"],
        data["ends_at"] is not None,
    )


def test_emergency_switches_emergency_on(store: str) -> None:
    """`emergency --reason` starts an emergency."""
    run = cli("emergency", "--store", store, "--reason", "breach")
    assert (0, "emergency", "breach") == (run.code, status(store)["mode"], status(store)["reason"])


def test_disable_switches_maintenance_off(store: str) -> None:
    """`disable` ends the maintenance in force."""
    cli("enable", "--store", store, "--reason", "r")
    run = cli("disable", "--store", store)
    assert (0, False) == (run.code, status(store)["is_active"])


def test_disable_force_also_drops_the_scheduled_window(store: str) -> None:
    """`disable --force` clears a pending window as well."""
    cli("schedule", "--store", store, "--reason", "later", "--starts-at", future(5))
    cli("disable", "--store", store, "--force")
    assert None is status(store)["upcoming"]


def test_schedule_plans_a_window(store: str) -> None:
    """`schedule --reason --starts-at --ends-at` shows as upcoming."""
    run = cli(
        "schedule",
        "--store",
        store,
        "--reason",
        "nightly",
        "--starts-at",
        future(3),
        "--ends-at",
        future(4),
        "--mode",
        "normal",
    )
    upcoming = status(store)["upcoming"]
    assert (0, "nightly", False) == (run.code, upcoming["reason"], status(store)["is_active"])


def test_schedule_cancel_removes_the_window(store: str) -> None:
    """`schedule --cancel` cancels the planned window."""
    cli("schedule", "--store", store, "--reason", "nightly", "--starts-at", future(3))
    run = cli("schedule", "--store", store, "--cancel")
    assert (0, None) == (run.code, status(store)["upcoming"])


def test_schedule_without_a_start_is_a_usage_error(store: str) -> None:
    """`schedule` needs --starts-at (or --cancel): exit 2, one line."""
    run = cli("schedule", "--store", store, "--reason", "r")
    assert (2, True) == (run.code, run.one_error_line)


def test_audit_lists_changes_newest_first_with_the_default_actor(store: str) -> None:
    """`audit` shows each change; the actor defaults to cli:$USER."""
    cli("enable", "--store", store, "--reason", "one")
    cli("disable", "--store", store)
    run = cli("audit", "--store", store, "--json")
    records = json.loads(run.out)["records"]
    assert [("disable", "cli:ops-anna"), ("enable", "cli:ops-anna")] == [
        (r["action"], r["actor"]) for r in records
    ]


def test_actor_option_names_the_actor(store: str) -> None:
    """`--actor` is recorded in the audit trail."""
    cli("enable", "--store", store, "--reason", "r", "--actor", "deploy-pipeline")
    records = json.loads(cli("audit", "--store", store, "--json").out)["records"]
    assert "deploy-pipeline" == records[0]["actor"]


def test_audit_limit_bounds_the_records(store: str) -> None:
    """`audit --limit 1` prints one record."""
    cli("enable", "--store", store, "--reason", "one")
    cli("enable", "--store", store, "--reason", "two")
    run = cli("audit", "--store", store, "--limit", "1")
    assert (1, True) == (len(run.out.splitlines()), '"two"' in run.out)


def test_explain_names_the_rule_and_the_verdict(store: str) -> None:
    """`explain METHOD PATH` prints Decision.explain() under the current state."""
    cli("enable", "--store", store, "--reason", "r")
    run = cli("explain", "POST", "/start_caption_generation", "--store", store)
    assert (
        "BLOCK: operation CAPTION_GENERATION matched by default prefix rule "
        "'/start_caption_generation'; maintenance normal: normal maintenance blocks "
        "CAPTION_GENERATION\n"
    ) == run.out


def test_explain_when_maintenance_is_off_allows(store: str) -> None:
    """With maintenance off, `explain` says so."""
    run = cli("explain", "post", "/upload", "--store", store, "--json")
    data = json.loads(run.out)
    assert ("allow", "IMAGE_PROCESSING", "maintenance is off") == (
        data["action"],
        data["operation"],
        data["why"],
    )


def test_explain_uses_the_apps_classifier(store: str) -> None:
    """With --app, `explain` classifies with the application's own rules."""
    cli("enable", "--store", store, "--reason", "r")
    run = cli("explain", "POST", "/reports/export", "--app", "tests.test_cli:app_service")
    assert run.out.startswith("BLOCK: operation BATCH_OPERATIONS matched by custom prefix rule")


def test_options_may_come_before_the_verb(store: str) -> None:
    """`maintguard --store URL --json status` works like the options after the verb."""
    run = cli("--store", store, "--json", "status")
    assert (0, False) == (run.code, json.loads(run.out)["is_active"])


def test_store_comes_from_the_environment(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --store, MAINTENANCE_STORE_URL names the store."""
    monkeypatch.setenv("MAINTENANCE_STORE_URL", store)
    run = cli("enable", "--reason", "from env")
    assert (0, "from env") == (run.code, status(store)["reason"])


# ------------------------------------------------------------------ lint-rules


class _FakeTesting:
    """Stands in for maintguard.testing, whose lint_rules another module provides."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        self.seen: list[OperationClassifier] = []

    def lint_rules(self, classifier: OperationClassifier) -> list[str]:
        self.seen.append(classifier)
        return list(self.problems)


def test_lint_rules_lists_problems_and_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """`lint-rules` prints each problem and exits 1 with one stderr line."""
    fake = _FakeTesting(["rule '/a' is shadowed by '/a'", "rule '/b.*' never matches"])
    monkeypatch.setitem(sys.modules, "maintguard.testing", fake)
    run = cli("lint-rules")
    assert (1, fake.problems, True) == (run.code, run.out.splitlines(), run.one_error_line)


def test_lint_rules_clean_exits_0(monkeypatch: pytest.MonkeyPatch) -> None:
    """No problems: exit 0; the app's classifier is the one checked."""
    fake = _FakeTesting([])
    monkeypatch.setitem(sys.modules, "maintguard.testing", fake)
    monkeypatch.setenv("CLI_TEST_STORE", "sqlite://")
    run = cli("lint-rules", "--app", "tests.test_cli:app_service")
    rules = [rule.pattern for rule in fake.seen[0].rules]
    assert (0, True) == (run.code, "/reports/export" in rules)


def test_lint_rules_finds_a_shadowed_rule_of_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the real maintguard.testing, an app's shadowed rule fails the lint."""
    pytest.importorskip("maintguard.testing")
    monkeypatch.setenv("CLI_TEST_STORE", "sqlite://")
    run = cli("lint-rules", "--app", "tests.test_cli:shadowed_rules_service")
    assert (1, True, True) == (run.code, "'/reports/export'" in run.out, run.one_error_line)


def test_lint_rules_passes_the_default_rules() -> None:
    """With the real maintguard.testing, the default rules are clean."""
    pytest.importorskip("maintguard.testing")
    run = cli("lint-rules")
    assert (0, "") == (run.code, run.err)


def test_lint_rules_without_the_testing_module_fails_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without maintguard.testing, `lint-rules` says so in one line."""
    monkeypatch.setitem(sys.modules, "maintguard.testing", None)
    run = cli("lint-rules")
    assert (1, True, True) == (run.code, run.one_error_line, "maintguard.testing" in run.err)


# ------------------------------------------------------------------- --app


def test_app_runs_the_side_effects_of_an_emergency(store: str) -> None:
    """With --app, sessions are ended and jobs stopped with the given grace."""
    run = cli(
        "emergency",
        "--app",
        "tests.test_cli:app_service",
        "--reason",
        "breach",
        "--grace-period",
        "5",
    )
    assert (0, "", [True], [5.0]) == (
        run.code,
        run.err,
        SIDE_EFFECTS["sessions"],
        SIDE_EFFECTS["jobs"],
    )


def test_app_emergency_can_leave_jobs_alone(store: str) -> None:
    """`--no-terminate-jobs` keeps jobs running."""
    cli("emergency", "--app", "tests.test_cli:app_service", "--reason", "b", "--no-terminate-jobs")
    assert ([True], []) == (SIDE_EFFECTS["sessions"], SIDE_EFFECTS["jobs"])


def test_app_enable_ends_sessions(store: str) -> None:
    """A normal enable through --app ends non-admin sessions."""
    cli("enable", "--app", "tests.test_cli:app_service", "--reason", "upgrade")
    assert [True] == SIDE_EFFECTS["sessions"]


def test_without_app_a_change_notes_that_no_side_effects_ran(store: str) -> None:
    """Without --app: the state changes, and one note on stderr says nothing else ran."""
    run = cli("emergency", "--store", store, "--reason", "breach")
    assert (1, True, []) == (
        run.err.count("\n"),
        "no side effects ran" in run.err,
        SIDE_EFFECTS["sessions"],
    )


def test_app_may_name_a_service_instance(
    store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--app module:attr` where attr is the service itself."""
    (tmp_path / "cli_app_module.py").write_text(
        f"from maintguard import MaintenanceService\nservice = MaintenanceService({store!r})\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "cli_app_module", raising=False)
    run = cli("enable", "--app", "cli_app_module:service", "--reason", "instance")
    sys.modules.pop("cli_app_module", None)
    assert (0, "instance") == (run.code, status(store)["reason"])


@pytest.mark.parametrize(
    "spec",
    [
        "no_such_module_xyz:service",
        "tests.test_cli:no_such_attribute",
        "tests.test_cli:NOT_A_SERVICE",
        "tests.test_cli",
    ],
)
def test_bad_app_is_one_line_exit_2(spec: str) -> None:
    """An --app that cannot be imported or is no service: exit 2, one line."""
    run = cli("status", "--app", spec)
    assert (2, True) == (run.code, run.one_error_line)


def test_app_with_an_in_memory_store_is_refused() -> None:
    """The command cannot reach an app's in-memory state: refused in one line."""
    run = cli("enable", "--app", "tests.test_cli:memory_service", "--reason", "r")
    assert (2, True, True) == (run.code, run.one_error_line, "in memory" in run.err)


def test_app_and_store_together_are_refused(store: str) -> None:
    """--app brings its own store: --store as well is a usage error."""
    run = cli("status", "--app", "tests.test_cli:app_service", "--store", store)
    assert (2, True) == (run.code, run.one_error_line)


def test_interrupt_is_one_line_exit_130() -> None:
    """Ctrl-C ends the command with 130 and one line, no traceback."""
    run = cli("status", "--app", "tests.test_cli:interrupted_service")
    assert (130, "maintguard: error: interrupted\n") == (run.code, run.err)


# ------------------------------------------------------------------ failures


def test_no_store_is_one_line_exit_2() -> None:
    """Without --store and MAINTENANCE_STORE_URL: exit 2, telling to pass one."""
    run = cli("status")
    assert (2, True, True) == (run.code, run.one_error_line, "--store" in run.err)


def test_memory_store_is_refused() -> None:
    """memory:// would die with the command: refused."""
    run = cli("enable", "--store", "memory://", "--reason", "r")
    assert (2, True) == (run.code, run.one_error_line)


def test_unknown_scheme_is_one_line_exit_2() -> None:
    """A URL no store serves: a configuration error in one line."""
    run = cli("status", "--store", "mongodb://db/x")
    assert (2, True) == (run.code, run.one_error_line)


def test_missing_schema_is_one_line_exit_1(tmp_path: Path) -> None:
    """A SQL store without its tables: one line pointing at init-db."""
    run = cli("status", "--store", f"sqlite:///{tmp_path / 'empty.db'}")
    assert (1, True, True) == (run.code, run.one_error_line, "init-db" in run.err)


def test_invalid_input_is_one_line_exit_2(store: str) -> None:
    """A value the service rejects (negative duration): exit 2, one line, nothing changed."""
    run = cli("enable", "--store", store, "--reason", "r", "--duration", "-5")
    assert (2, True, 0) == (run.code, run.one_error_line, status(store)["version"])


def test_offsetless_time_is_a_usage_error(store: str) -> None:
    """Times need an explicit UTC offset."""
    run = cli("enable", "--store", store, "--reason", "r", "--ends-at", "2099-01-01T00:00")
    assert (2, True) == (run.code, run.one_error_line)


def test_downgrading_an_emergency_needs_force(store: str) -> None:
    """A normal enable during an emergency fails (exit 1) unless --force."""
    cli("emergency", "--store", store, "--reason", "fire")
    refused = cli("enable", "--store", store, "--reason", "calmer")
    forced = cli("enable", "--store", store, "--reason", "calmer", "--force")
    assert (1, True, 0, "normal") == (
        refused.code,
        "--force" in refused.err,
        forced.code,
        status(store)["mode"],
    )


def test_invalid_actor_is_one_line_exit_2(store: str) -> None:
    """An actor the audit trail cannot hold (a line break): exit 2, one line."""
    run = cli("enable", "--store", store, "--reason", "r", "--actor", "eve\nforged line")
    assert (2, True, 0) == (run.code, run.one_error_line, status(store)["version"])


def test_unknown_verb_is_one_line_exit_2() -> None:
    """argparse errors are one line too."""
    run = cli("reboot")
    assert (2, True) == (run.code, run.one_error_line)


# ----------------------------------------------------------- real processes


def _env(**extra: str) -> dict[str, str]:
    names = {name for name, _, _ in VARIABLES}
    env = {k: v for k, v in os.environ.items() if k not in names}
    env.update(extra)
    return env


def test_console_script_and_module_run() -> None:
    """`maintguard --version` and `python -m maintguard --version` both work."""
    script = Path(sys.executable).parent / "maintguard"
    outputs = [
        subprocess.run(
            command, capture_output=True, text=True, check=False, env=_env(), timeout=60
        ).stdout
        for command in (
            [str(script), "--version"],
            [sys.executable, "-m", "maintguard", "--version"],
        )
    ]
    assert ["maintguard 0.1.0\n"] * 2 == outputs


def test_store_password_never_appears_in_the_error() -> None:
    """An unreachable store with a password: one line, redacted, no traceback."""
    url = "postgresql+psycopg://maint:hunter2secret@127.0.0.1:1/maint"
    result = subprocess.run(
        [sys.executable, "-m", "maintguard", "status", "--store", url],
        capture_output=True,
        text=True,
        check=False,
        env=_env(),
        timeout=60,
    )
    assert (1, 1, False, True) == (
        result.returncode,
        result.stderr.count("\n"),
        "hunter2secret" in result.stderr,
        "maint:***@" in result.stderr,
    )


def test_change_is_seen_by_a_running_app_sharing_the_store(store: str) -> None:
    """A change made by the command reaches a running app within its refresh interval."""
    service = MaintenanceService(store, refresh_interval=0.05)
    client = Client(create_app(service))
    try:
        before = client.post("/start_caption_generation").status_code
        script = Path(sys.executable).parent / "maintguard"
        subprocess.run(
            [str(script), "enable", "--store", store, "--reason", "from the shell"],
            check=True,
            capture_output=True,
            env=_env(),
            timeout=60,
        )
        deadline = time.monotonic() + 10
        after = before
        while after != 503 and time.monotonic() < deadline:
            time.sleep(0.05)
            after = client.post("/start_caption_generation").status_code
    finally:
        service.close()
    assert (202, 503) == (before, after)


def test_explain_without_a_store_explains_every_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """No store, no current state: the request is explained under each mode."""
    monkeypatch.delenv("MAINTENANCE_STORE_URL", raising=False)
    run = cli("explain", "GET", "/dashboard")
    assert 0 == run.code
    lines = run.out.splitlines()
    assert ["if normal: ALLOW", "if emergency: BLOCK", "if test: ALLOW"] == [
        line.split(":", 2)[0] + ":" + line.split(":", 2)[1] for line in lines
    ]
