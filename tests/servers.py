"""Real servers for the tests: redis-server, PostgreSQL and MariaDB.

Each runs as a child process on a free loopback port in a temporary
directory and is stopped at the end. Where a server binary is missing the
test skips with a clear reason, unless ``MAINTGUARD_REQUIRE_SERVICES`` is set
(CI sets it), in which case it fails: a missing server must never pass
quietly.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REQUIRE = os.environ.get("MAINTGUARD_REQUIRE_SERVICES", "") not in ("", "0", "false")


def missing(what: str) -> None:
    message = f"{what} is not installed"
    if REQUIRE:
        pytest.fail(f"{message} and MAINTGUARD_REQUIRE_SERVICES is set")
    pytest.skip(message)


def required(*names: str, what: str | None = None) -> str:
    """The path of the first of ``names`` installed; the test skips (fails
    under MAINTGUARD_REQUIRE_SERVICES) naming ``what`` when none is."""
    found = _find(*names)
    if found is None:
        missing(what or names[0])
    assert found is not None
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


#: Server binaries live in sbin on Debian, which a CI PATH may lack.
_SEARCH_PATH = os.pathsep.join(
    [os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"]
)


def _find(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name, path=_SEARCH_PATH)
        if found:
            return found
    for directory in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        for name in names:
            if (directory / name).exists():
                return str(directory / name)
    return None


class RedisServer:
    """A redis-server that a test may stop, start and pause (SIGSTOP)."""

    def __init__(self, binary: str, directory: Path, *, durable: bool = False) -> None:
        self.binary = binary
        self.directory = directory
        #: An append-only file written on every command: a restart keeps the data.
        self.durable = durable
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                *(("--appendonly", "yes", "--appendfsync", "always") if self.durable else ()),
                "--dir",
                str(self.directory),
                "--protected-mode",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(20)
            self.process = None

    def pause(self) -> None:
        """Freeze the server: connections hang, as behind a black hole."""
        assert self.process is not None
        self.process.send_signal(19)  # SIGSTOP

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(18)  # SIGCONT

    def flush(self) -> None:
        import redis

        client = redis.Redis.from_url(self.url)
        try:
            client.flushall()
        finally:
            client.close()


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer]:
    binary = required("redis-server")
    with tempfile.TemporaryDirectory(prefix="maintguard-redis-") as directory:
        server = RedisServer(binary, Path(directory))
        server.start()
        try:
            yield server
        finally:
            with contextlib.suppress(Exception):
                server.resume()
            server.stop()


def _as_user(user: str) -> list[str]:
    """Run a command as ``user`` when we are root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return []
    return [_find("runuser") or "runuser", "-u", user, "--"]


@contextlib.contextmanager
def postgresql_server() -> Iterator[str]:
    """Yield a SQLAlchemy URL of a fresh PostgreSQL cluster."""
    initdb = required("initdb", what="PostgreSQL (initdb, pg_ctl)")
    pg_ctl = required("pg_ctl", what="PostgreSQL (initdb, pg_ctl)")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="maintguard-pg-") as directory:
        data = Path(directory) / "data"
        owner = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.getuid()).pw_name
        if os.geteuid() == 0:
            os.chmod(directory, 0o777)  # noqa: S103 - the cluster runs as postgres
        prefix = _as_user(owner)
        subprocess.run(
            [*prefix, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        options = (
            f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        subprocess.run(
            [
                *prefix,
                pg_ctl,
                "-D",
                str(data),
                "-o",
                options,
                "-w",
                "-l",
                str(data / "log"),
                "start",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port)
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run(
                [*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                check=False,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )


@contextlib.contextmanager
def mariadb_server() -> Iterator[str]:
    """Yield a SQLAlchemy URL of a fresh MariaDB server."""
    server = required("mariadbd", "mysqld", what="MariaDB (mariadbd, mariadb-install-db)")
    install = required(
        "mariadb-install-db", "mysql_install_db", what="MariaDB (mariadbd, mariadb-install-db)"
    )
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="maintguard-mariadb-") as directory:
        data = Path(directory) / "data"
        user = ["--user=root"] if os.geteuid() == 0 else []
        subprocess.run(
            [
                install,
                f"--datadir={data}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                *user,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        process = subprocess.Popen(
            [
                server,
                "--no-defaults",
                f"--datadir={data}",
                f"--port={port}",
                "--bind-address=127.0.0.1",
                f"--socket={directory}/mysql.sock",
                f"--pid-file={directory}/mysql.pid",
                "--skip-grant-tables=0",
                "--innodb-flush-log-at-trx-commit=0",
                "--skip-log-bin",
                *user,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port, timeout=60)
            subprocess.run(
                [
                    _find("mariadb", "mysql") or "mariadb",
                    f"--socket={directory}/mysql.sock",
                    "-uroot",
                    "-e",
                    "CREATE DATABASE maintguard; "
                    "CREATE USER 'maint'@'127.0.0.1' IDENTIFIED BY 'maint'; "
                    "GRANT ALL ON maintguard.* TO 'maint'@'127.0.0.1';",
                ],
                check=True,
            )
            yield f"mysql+pymysql://maint:maint@127.0.0.1:{port}/maintguard"
        finally:
            process.terminate()
            process.wait(30)
