"""The Debian packages the bench drives, installed with apt-get when missing.

``python3 dev.py bench`` on a fresh machine with only Python (and root)
must run whole: the load generator (``wrk``), the instruction counter
(``valgrind``) and the stores' servers (``redis-server``, PostgreSQL's
``initdb``) come from Debian. One ``apt-get update`` and one install for
whatever is missing; without root or apt the caller says what to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.servers import _find  # noqa: E402 - finds sbin and PostgreSQL's versioned bin

#: command → the Debian package that provides it.
PACKAGES = {
    "wrk": "wrk",
    "valgrind": "valgrind",
    "callgrind_control": "valgrind",
    "redis-server": "redis-server",
    "initdb": "postgresql",
}


def missing(commands: tuple[str, ...]) -> list[str]:
    return [command for command in commands if _find(command) is None]


def ensure(*commands: str) -> list[str]:
    """Install the packages of ``commands`` not found; the ones still
    missing afterwards (none, unless there is no root or no apt-get)."""
    absent = missing(commands)
    apt = shutil.which("apt-get")
    if not absent or apt is None or os.geteuid() != 0:
        return absent
    packages = sorted({PACKAGES[command] for command in absent})
    print(f"installing {' '.join(packages)} with apt-get", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([apt, "update", "-qq"], stdout=subprocess.DEVNULL, env=env, check=False)
    subprocess.run(
        [apt, "install", "-y", "-qq", "--no-install-recommends", *packages],
        stdout=subprocess.DEVNULL,
        env=env,
        check=False,
    )
    return missing(commands)
