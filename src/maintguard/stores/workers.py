"""Is this process one of several workers of a server?

The in-memory store lives inside one process: under a server that runs
several worker processes, each worker would keep its own state and a change
would reach only the worker that made it. Servers that import the app in
each worker (gunicorn without ``--preload``, ``uvicorn --workers N``) fork
or spawn before maintguard exists, so the fork hook cannot see them; this
reads the signs they leave instead. No I/O: ``sys.modules``, the process
tree as ``multiprocessing`` knows it, and the command line.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys

__all__ = [
    "MEMORY_WARNING",
    "warn_memory_in_forked_worker",
    "warn_memory_under_workers",
    "worker_server",
]

logger = logging.getLogger("maintguard")

MEMORY_WARNING = (
    "[MAINTENANCE] maintguard uses the in-memory store in a worker of {server} "
    "(pid {pid}): every worker process keeps its own state, so a change made "
    "through one worker is not seen by the others. Set MAINTENANCE_STORE_URL "
    "to redis://… or a SQL URL (a SQLite file works on one machine)."
)


def _gunicorn_workers(argv: list[str]) -> int:
    """The worker count on gunicorn's command line (or WEB_CONCURRENCY), else 1."""
    count = os.environ.get("WEB_CONCURRENCY", "1")
    for index, argument in enumerate(argv):
        if argument in ("-w", "--workers") and index + 1 < len(argv):
            count = argv[index + 1]
        elif argument.startswith("--workers="):
            count = argument.split("=", 1)[1]
        elif argument.startswith("-w") and argument[2:].isdigit():
            count = argument[2:]
    return int(count) if count.isdigit() else 1


def worker_server(argv: list[str] | None = None) -> str | None:
    """The server whose worker this process is, when it runs several; else None."""
    arguments = list(sys.argv if argv is None else argv)
    program = os.path.basename(arguments[0]) if arguments else ""
    gunicorn = "gunicorn.workers.base" in sys.modules or program.startswith("gunicorn")
    if gunicorn and _gunicorn_workers(arguments[1:]) > 1:
        return "gunicorn"
    if "uvicorn" in sys.modules and multiprocessing.parent_process() is not None:
        return "uvicorn --workers"
    return None


def warn_memory_under_workers(store: object) -> None:
    """Log ``MEMORY_WARNING`` (ERROR, once per service) when ``store`` is the
    in-memory store and this process is one of several workers."""
    if getattr(store, "name", None) != "memory":
        return
    server = worker_server()
    if server is not None:
        logger.error(MEMORY_WARNING.format(server=server, pid=os.getpid()))


def warn_memory_in_forked_worker(store: object) -> None:
    """After a ``fork`` (gunicorn ``--preload``): the same warning, since the
    child's copy of an in-memory store no longer sees its siblings' changes."""
    if getattr(store, "name", None) == "memory":
        logger.error(
            "[MAINTENANCE] maintguard uses the in-memory store in a forked worker "
            "(pid %s): each worker has its own state, so a change made through one "
            "worker is not seen by the others. Configure MAINTENANCE_STORE_URL with "
            "redis:// or a SQL URL for several workers.",
            os.getpid(),
        )
