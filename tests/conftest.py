"""Fixtures shared by the whole suite: real servers, started once per run."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from tests import servers

# CI runs the same examples every time, so a submission never fails on a
# draw nobody can reproduce; developers' runs keep exploring at random.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[servers.RedisServer]:
    """One redis-server for the run; tests flush what they use."""
    with servers.redis_server() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: servers.RedisServer) -> str:
    """A clean Redis database (flushed before each test)."""
    redis_server.flush()
    return redis_server.url


@pytest.fixture
def own_redis() -> Iterator[servers.RedisServer]:
    """A redis-server of the test's own, which it may stop or freeze."""
    with servers.redis_server() as server:
        yield server


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    with servers.postgresql_server() as url:
        yield url


@pytest.fixture(scope="session")
def mariadb_url() -> Iterator[str]:
    with servers.mariadb_server() as url:
        yield url
