"""Prometheus metrics under a real multi-worker gunicorn: a scrape of any one
worker during a flood shows the blocked requests of every worker."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from maintguard import MaintenanceService
from tests.console_server import AUTH, serve

pytestmark = [pytest.mark.services, pytest.mark.slow]

FLOOD = 40


def _upload(base: str) -> tuple[int, str]:
    request = urllib.request.Request(base + "/upload", data=b"{}", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.headers["X-Worker"]
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers["X-Worker"]


def _blocked_total(base: str) -> int:
    request = urllib.request.Request(base + "/api/maintenance/metrics", headers=AUTH)
    with urllib.request.urlopen(request, timeout=10) as answer:
        text = answer.read().decode()
    found = re.search(
        r'^maintguard_blocked_requests_total\{mode="normal",operation="IMAGE_PROCESSING"\} (\S+)$',
        text,
        re.M,
    )
    return int(float(found.group(1))) if found else 0


def test_a_scrape_sums_the_blocked_requests_of_every_worker(redis_url: str) -> None:
    """40 blocked uploads spread over three workers: the scrape says 40."""
    # One thread per worker, so that concurrent requests spread over all three.
    with serve("wsgi", redis_url, workers=3, threads=1, app="wsgi_spread") as base:
        writer = MaintenanceService(redis_url)
        writer.enable_maintenance("Flood")
        writer.close()
        deadline = time.monotonic() + 10
        while _upload(base)[0] != 503 and time.monotonic() < deadline:
            time.sleep(0.05)
        with ThreadPoolExecutor(max_workers=12) as pool:
            answers = list(pool.map(lambda _: _upload(base), range(FLOOD - 1)))
        total = 0
        while total < FLOOD and time.monotonic() < deadline + 10:
            total = _blocked_total(base)
            time.sleep(0.1)
    assert {503} == {status for status, _ in answers}
    assert len({worker for _, worker in answers}) >= 2
    assert FLOOD == total
