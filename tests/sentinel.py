"""A Redis Sentinel group for the failover tests and the bench.

A master, one replica (``replicaof``) and three sentinels (quorum 2), each a
``redis-server`` child process on a free loopback port, in a temporary
directory. Sentinel is the same Debian binary run with ``--sentinel``, so it
needs no package beyond redis-server. The group is ready once every sentinel
sees the master, the replica in sync and the two other sentinels; a
failover then needs a majority that already know each other.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import redis

from tests.servers import free_port, required, wait_for_port

SERVICE = "maintguard-failover"
QUORUM = 2
#: A dead master is noticed after this long (Sentinel's default is 30 s).
DOWN_AFTER_MS = 1000
#: Bounds each failover step; small so that a stalled attempt is retried
#: soon, large enough for a promotion on a busy two-core machine.
FAILOVER_TIMEOUT_MS = 3000
#: Readiness and promotion waits: generous, they only end a hung run.
TIMEOUT = 30.0


class SentinelGroup:
    """The running group; the sentinels decide which data server is master."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.master_at_start = free_port()
        self.replica_at_start = free_port()
        self.sentinel_ports = tuple(free_port() for _ in range(3))
        self._processes: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{SERVICE}/0"

    # -- asking the sentinels ---------------------------------------------------

    def named_masters(self) -> Counter[int]:
        """How many sentinels name each port as the master's."""
        named: Counter[int] = Counter()
        for port in self.sentinel_ports:
            with contextlib.suppress(redis.RedisError, OSError), _client(port) as sentinel:
                address = sentinel.sentinel_get_master_addr_by_name(SERVICE)
                if address:
                    named[int(address[1])] += 1
        return named

    def master_port(self) -> int | None:
        """The master's port as a majority of the sentinels name it, or None
        while they disagree (mid-failover) or too few of them answer."""
        port, votes = next(iter(self.named_masters().most_common(1)), (None, 0))
        return port if votes >= QUORUM else None

    def wait_for_promotion(
        self, old_master: int, timeout: float = TIMEOUT, *, named_by: int = QUORUM
    ) -> int:
        """Wait until ``named_by`` sentinels name a master other than
        ``old_master``; its port. One is enough for clients, which take the
        first sentinel naming a master it does not think down; the others
        learn it from that one within a second or two."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            named = self.named_masters()
            named.pop(old_master, None)
            port, votes = next(iter(named.most_common(1)), (None, 0))
            if port is not None and votes >= named_by:
                return port
            time.sleep(0.02)
        raise RuntimeError(f"no promotion {timeout:g}s after the master died\n{self.logs()}")

    # -- acting on the data servers -----------------------------------------------

    def wait_for_replication(self, timeout: float = 5.0) -> None:
        """Every write the master has accepted so far is on the replica
        (``WAIT 1``): replication is asynchronous, so a write the master
        acknowledged may otherwise die with it."""
        port = self.master_port()
        if port is None:
            raise RuntimeError("the sentinels name no master")
        with _client(port, timeout + 2.0) as master:
            acknowledged = master.wait(1, int(timeout * 1000))
        if acknowledged < 1:
            raise RuntimeError(f"the replica did not acknowledge within {timeout:g}s")

    def kill_master(self) -> int:
        """SIGKILL the master the sentinels name, as a crash or the OOM
        killer would, and reap it; its port. The kernel still closes its
        sockets, so clients see their connections drop at once (a machine
        that vanished would leave them to time out)."""
        port = self.master_port()
        if port is None or port not in self._processes:
            raise RuntimeError(f"the sentinels name no master of this group ({port})")
        process = self._processes.pop(port)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        return port

    @contextlib.contextmanager
    def frozen_sentinels(self, count: int) -> Iterator[None]:
        """The first ``count`` sentinels stopped (SIGSTOP) inside: they accept
        connections (the kernel does) and never answer, like a hung host."""
        frozen = [self._processes[port] for port in self.sentinel_ports[:count]]
        for process in frozen:
            process.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            for process in frozen:
                process.send_signal(signal.SIGCONT)

    # -- life cycle -----------------------------------------------------------------

    def start(self) -> None:
        self._data_server(self.master_at_start)
        self._data_server(
            self.replica_at_start, "--replicaof", "127.0.0.1", str(self.master_at_start)
        )
        self._wait(self._replica_in_sync, "the replica to sync with the master")
        for port in self.sentinel_ports:
            self._sentinel(port)
        self._wait(self._sentinels_agree, "the sentinels to see the master, replica and peers")

    def stop(self) -> None:
        processes, self._processes = list(self._processes.values()), {}
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)

    def logs(self) -> str:
        """The sentinels' logs, for a failure message."""
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.directory.glob("sentinel-*.log"))
        )

    def _spawn(self, port: int, arguments: list[str]) -> None:
        self._processes[port] = subprocess.Popen(
            [self.binary, *arguments], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port(port)

    def _data_server(self, port: int, *extra: str) -> None:
        self._spawn(
            port,
            [
                "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.directory),
                "--dbfilename", f"dump-{port}.rdb",
                "--logfile", str(self.directory / f"redis-{port}.log"),
                # Redis 7 waits 5 s for more replicas before a diskless sync.
                "--repl-diskless-sync-delay", "0",
                *extra,
            ],
        )  # fmt: skip

    def _sentinel(self, port: int) -> None:
        # A sentinel rewrites its configuration file as it learns: one each.
        config = self.directory / f"sentinel-{port}.conf"
        config.write_text(
            f"port {port}\n"
            "bind 127.0.0.1\n"
            f"dir {self.directory}\n"
            f"logfile {self.directory / f'sentinel-{port}.log'}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {self.master_at_start} {QUORUM}\n"
            f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {SERVICE} {FAILOVER_TIMEOUT_MS}\n"
        )
        self._spawn(port, [str(config), "--sentinel"])

    def _replica_in_sync(self) -> bool:
        with _client(self.replica_at_start) as replica:
            return bool(replica.info("replication").get("master_link_status") == "up")

    def _sentinels_agree(self) -> bool:
        for port in self.sentinel_ports:
            with _client(port) as sentinel:
                master = sentinel.sentinel_master(SERVICE)
                replicas = sentinel.sentinel_slaves(SERVICE)
            in_sync = [
                replica["port"]
                for replica in replicas
                if replica.get("master-link-status") == "ok" and not _troubled(replica)
            ]
            if (
                not master["is_master"]
                or _troubled(master)
                or master["port"] != self.master_at_start
                or master["num-other-sentinels"] != 2
                or in_sync != [self.replica_at_start]
            ):
                return False
        return True

    def _wait(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError, OSError):
                if condition():
                    return
            time.sleep(0.05)
        raise RuntimeError(f"gave up waiting {TIMEOUT:g}s for {what}\n{self.logs()}")


def _troubled(server: dict[str, object]) -> bool:
    """Whether a sentinel flags a server down or unreachable."""
    return bool(server["is_sdown"] or server["is_odown"] or server["is_disconnected"])


@contextlib.contextmanager
def _client(port: int, timeout: float = 2.0) -> Iterator[redis.Redis]:
    """A client of one server (data or sentinel), closed after use."""
    client = redis.Redis(port=port, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        yield client
    finally:
        client.close()


@contextlib.contextmanager
def sentinel_group() -> Iterator[SentinelGroup]:
    """A ready group; every process is stopped and reaped on the way out,
    whatever happened inside."""
    binary = required("redis-server")
    with tempfile.TemporaryDirectory(prefix="maintguard-sentinel-") as directory:
        group = SentinelGroup(binary, Path(directory))
        try:
            group.start()
            yield group
        finally:
            group.stop()
