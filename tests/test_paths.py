"""Path readings: the raw path as the router gets it, and its normalised form."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette._utils import get_route_path

from maintguard.core.paths import MAX_PATH, normalise, readings, route_path
from maintguard.testing import hostile_paths, paths

ANY_PATH = st.one_of(paths(), hostile_paths())


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/", "/"),
        ("", "/"),
        ("upload", "/upload"),
        ("//upload", "/upload"),
        ("/admin/", "/admin"),
        ("/a//b/./c/../d;x=1/", "/a/b/d"),
        ("/../../x", "/x"),
        ("/static/..;/upload", "/upload"),
        ("\\static\\..\\upload", "/upload"),
        ("/upload;jsessionid=1", "/upload"),
        ("/%2e%2e/upload", "/%2e%2e/upload"),
        ("/a/.", "/a"),
        ("/a/..", "/"),
    ],
)
def test_normalise_resolves_what_routers_and_proxies_resolve(raw: str, expected: str) -> None:
    """Dot segments, repeated and leading slashes, ;params and backslashes go;
    percent escapes stay (the server decoded the path once already)."""
    assert expected == normalise(raw)


@settings(max_examples=300, deadline=None)
@given(ANY_PATH)
def test_normalise_is_idempotent(path: str) -> None:
    """Normalising a normalised path changes nothing."""
    once = normalise(path)
    assert once == normalise(once)


@settings(max_examples=300, deadline=None)
@given(ANY_PATH)
def test_normalised_paths_are_clean(path: str) -> None:
    """A normalised path starts with '/', has no empty, '.' or '..' segments,
    no ';params', no backslash, and ends with '/' only when it is the root."""
    clean = normalise(path)
    segments = clean.split("/")[1:]
    assert clean.startswith("/")
    assert clean == "/" or not ({"", ".", ".."} & set(segments))
    assert ";" not in clean
    assert "\\" not in clean


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(("", "/app", "/app/v1")), paths(messy=False))
def test_route_path_strips_the_mount_point_as_starlette_does(root: str, rest: str) -> None:
    """root_path is stripped from an ASGI path exactly where Starlette's
    router strips it (an empty remainder reads as '/')."""
    for path in (root + rest, f"{root}x{rest}" if root else rest, rest):
        assert (get_route_path({"path": path, "root_path": root}) or "/") == route_path(path, root)


def test_route_path_keeps_a_mount_point_lookalike() -> None:
    """'/appx' is not under the mount point '/app'."""
    assert "/appx/upload" == route_path("/appx/upload", "/app")


def test_route_path_adds_the_leading_slash() -> None:
    """A PATH_INFO without a leading slash is read as the router reads it."""
    assert "/upload" == route_path("upload")


def test_route_path_keeps_long_paths_whole() -> None:
    """A path longer than MAX_PATH is not cut: the cut-off part may climb out
    of an exempt prefix (/static/aaa…/../../upload)."""
    path = "/static/" + "a" * MAX_PATH + "/../../upload"
    assert path == route_path(path)


def test_readings_are_the_raw_and_the_normalised_path() -> None:
    """Both readings, in that order."""
    assert ("/admin/../upload", "/upload") == readings("/admin/../upload")
