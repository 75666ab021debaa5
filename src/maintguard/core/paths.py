"""Path readings: what the router will route, spelled two ways.

The server has already percent-decoded the path once; decoding again would
classify a path the router never sees (``%252e`` is not ``.`` to Flask), so
nothing here decodes. Instead two readings are produced — the path exactly
as the router receives it and its normalised form — and the classifier
judges both; the stricter wins.
"""

from __future__ import annotations

import sys

#: Paths longer than this are still classified whole (cutting one short
#: could turn ``/static/aaa…/../../upload`` into a static file), but their
#: classification is not cached, so a flood of huge paths cannot fill memory.
MAX_PATH = 4096
#: Memory is bounded in bytes, not entries: a path of 4096 emoji takes four
#: times the memory of an ASCII one. A path or Accept value taking more than
#: this is judged but never remembered.
REMEMBER_MAX_BYTES = 4096
#: What the classifier's cache, and each state's remembered verdicts, may
#: hold (the text they keep, as ``sys.getsizeof`` counts it).
CACHE_BYTES = 4 * 1024 * 1024


def text_bytes(*texts: str | None) -> int:
    """The memory ``texts`` take, O(1) each (CPython stores 1, 2 or 4 bytes
    per character, whichever the widest one needs)."""
    return sum(sys.getsizeof(text) for text in texts if text is not None)


def route_path(path: str, root_path: str = "") -> str:
    """The path relative to the mount point, as a router matches it.

    WSGI servers already split ``SCRIPT_NAME`` from ``PATH_INFO``; ASGI
    servers may include ``root_path`` in ``path``, and Starlette strips it
    only at a segment boundary (``/app`` from ``/app/x``, not from ``/appx``),
    which is what happens here. The result always starts with ``/``.
    """
    if root_path and path.startswith(root_path):
        rest = path[len(root_path) :]
        if not rest or rest.startswith("/"):
            path = rest
    if not path.startswith("/"):
        path = "/" + path
    return path


def normalise(path: str) -> str:
    """Resolve dot segments, drop ``;params`` and empty segments.

    ``/a//b/./c/../d;x=1/`` becomes ``/a/b/d``. ``..`` never climbs above the
    root. A backslash is a separator to some servers and proxies, so it is
    read as one here too (the stricter reading). The result always starts
    with ``/`` and never ends with one (except the root itself); Werkzeug
    reads ``upload`` and ``//upload`` as ``/upload``, and so does this.
    """
    if (
        path.startswith("/")
        and "/." not in path
        and "//" not in path
        and ";" not in path
        and "\\" not in path
    ):
        # Fast path: nothing to resolve except a trailing slash.
        if len(path) > 1 and path.endswith("/"):
            return path.rstrip("/") or "/"
        return path
    segments: list[str] = []
    for raw in path.replace("\\", "/").split("/"):
        segment = raw.split(";", 1)[0]
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    return "/" + "/".join(segments)


def readings(path: str) -> tuple[str, str]:
    """``(raw, normalised)``; equal strings when the path is already clean."""
    return path, normalise(path)
