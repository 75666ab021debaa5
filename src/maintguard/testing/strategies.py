"""Hypothesis strategies for paths, methods, requests and a route's other spellings.

``paths()``, ``methods()``, ``request_infos()``, ``hostile_paths()`` and
``spellings(path)`` draw what clients send; ``_canonical_spellings`` gives
one spelling of each kind, for the assertions to check before Hypothesis
explores the rest. ``ROUTE_WORDS`` and ``STANDARD_METHODS`` are the
vocabulary they draw from.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from maintguard.core.classifier import DEFAULT_RULES
from maintguard.core.decision import RequestInfo
from maintguard.core.paths import MAX_PATH

Router = Literal["werkzeug", "starlette", "any"]

STANDARD_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")
#: The default routes' segments and some near misses (``administrator``).
ROUTE_WORDS: tuple[str, ...] = tuple(
    sorted(
        {seg for pattern, _, _ in DEFAULT_RULES for seg in pattern.split("/") if seg}
        | {"administrator", "uploads", "static2", "custom", "users", "v1", "x", "maintenance"}
    )
)
_EXEMPT_PREFIXES = ("/admin", "/static", "/health", "/login", "/api/health", "/favicon.ico")
_WRITE_TARGETS = ("upload", "batch", "api/jobs", "settings", "start_caption_generation")
_HOSTILE_PIECES = (
    "..",
    ".",
    "",
    ";",
    "..;",
    ".;x",
    ";a=b",
    "%2e%2e",
    "%2f",
    "\\",
    "\\..",
    "\x00",
    "\r\n",
    "\t",
    " ",
    "\u2215",
    "\uff0f",
    "\u0130",
    "\ud800",
    "\udfff",
    "admin",
    "static",
    "upload",
)
_JUNK = st.from_regex(r"[a-z0-9_-]{1,8}", fullmatch=True)
_PARAMS = st.from_regex(r";[a-z0-9=]{0,8}", fullmatch=True)
_ANY_CHAR = st.characters(exclude_categories=())  # surrogates, NUL and controls too


def _segments(words: Iterable[str]) -> st.SearchStrategy[str]:
    printable = st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="/;\\")
    return st.one_of(
        st.sampled_from(tuple(words)),
        st.text(printable, min_size=1, max_size=10),
        st.text(st.characters(exclude_characters="/;\\"), min_size=1, max_size=6),
    ).filter(lambda segment: segment not in (".", ".."))  # messy paths add those on purpose


@st.composite
def paths(
    draw: st.DrawFn,
    *,
    words: Iterable[str] = ROUTE_WORDS,
    max_segments: int = 5,
    messy: bool = True,
) -> str:
    """Router paths: ``/`` and up to ``max_segments`` segments, drawn from
    ``words`` (the default routes' segments and near misses) and arbitrary
    text. With ``messy``, some segments are ``.``, ``..``, empty or carry
    ``;params``, and some paths end with ``/``."""
    segment = _segments(words)
    if messy:
        segment = st.one_of(
            segment,
            st.sampled_from((".", "..", "")),
            st.tuples(segment, _PARAMS).map("".join),
        )
    parts = draw(st.lists(segment, max_size=max_segments))
    trailing = "/" if messy and parts and draw(st.booleans()) else ""
    return "/" + "/".join(parts) + trailing


def methods() -> st.SearchStrategy[str]:
    """HTTP methods as clients send them: the standard ones in upper, lower
    and mixed case, and any other token."""
    standard = st.sampled_from(STANDARD_METHODS)
    return st.one_of(
        standard,
        standard.map(str.lower),
        standard.map(str.capitalize),
        st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,11}", fullmatch=True),
    )


@st.composite
def request_infos(
    draw: st.DrawFn,
    path: st.SearchStrategy[str] | None = None,
    method: st.SearchStrategy[str] | None = None,
) -> RequestInfo:
    """``RequestInfo`` values as an adapter builds them: lower-case header
    names, an optional client address, scheme, query string and cookies."""
    values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
    names = st.sampled_from(
        (
            "accept",
            "authorization",
            "origin",
            "x-forwarded-for",
            "x-forwarded-proto",
            "access-control-request-method",
            "user-agent",
            "x-http-method-override",
        )
    )
    return RequestInfo(
        method=draw(method if method is not None else methods()),
        path=draw(path if path is not None else paths()),
        headers=draw(st.dictionaries(names, values, max_size=4)),
        client=draw(st.none() | st.ip_addresses().map(str)),
        scheme=draw(st.sampled_from(("http", "https"))),
        query_string=draw(values),
        cookies=draw(st.dictionaries(st.sampled_from(("session", "maintguard_bypass")), values)),
    )


@st.composite
def _traversal(draw: st.DrawFn) -> str:
    """An exempt prefix climbing out to a write route: /static/x/../../upload."""
    prefix = draw(st.sampled_from(_EXEMPT_PREFIXES))
    junk = draw(st.lists(_JUNK, max_size=3))
    climb = draw(st.sampled_from(("/..", "/..;", "\\..", "/./..", "//..")))
    up = climb * (len(junk) + draw(st.integers(1, 3)))
    sep = "/".join(("", *junk))
    return f"{prefix}{sep}{up}/{draw(st.sampled_from(_WRITE_TARGETS))}"


@st.composite
def _long_path(draw: st.DrawFn) -> str:
    """Longer than ``MAX_PATH``: many segments, a huge one, then a climb out."""
    count = draw(st.integers(MAX_PATH // 2, 6 * MAX_PATH))
    body = draw(st.sampled_from(("/a" * (count // 2), "/" + "a" * count, "/" * count)))
    tail = draw(st.sampled_from(("", "/../" * (count // 2) + "upload", "/x")))
    return draw(st.sampled_from(_EXEMPT_PREFIXES)) + body + tail


def hostile_paths() -> st.SearchStrategy[str]:
    """Paths meant to break or fool a classifier: any text at all (NUL,
    control characters, lone surrogates), traversals out of exempt prefixes,
    look-alike slashes, ``;`` and backslash tricks, and paths far longer
    than ``MAX_PATH``."""
    pieces = st.lists(st.sampled_from(_HOSTILE_PIECES) | _JUNK, max_size=8)
    return st.one_of(
        st.text(_ANY_CHAR, max_size=40),
        st.text(_ANY_CHAR, max_size=40).map(lambda text: "/" + text),
        pieces.map(lambda parts: "/" + "/".join(parts)),
        pieces.map(lambda parts: "\\".join(parts)),
        _traversal(),
        _long_path(),
    )


def _split(path: str, fixed: int) -> tuple[list[str], list[str], bool]:
    if not path.startswith("/") or fixed < 0:
        raise InvalidArgument(
            f"spellings() needs a path starting with '/' and fixed >= 0, not {path!r}, {fixed}"
        )
    trailing = len(path) > 1 and path.endswith("/")
    inner = path[1:-1] if trailing else path[1:]
    segments = inner.split("/") if inner else []
    return segments[:fixed], segments[fixed:], trailing


@st.composite
def _spelled(draw: st.DrawFn, head: list[str], tail: list[str], trailing: bool, router: str) -> str:
    werkzeug = router == "werkzeug"
    leading = "/" * draw(st.integers(0, 3)) if werkzeug else ""
    start = leading + "/" + "/".join(head)
    if not tail:
        return start + ("/" if trailing else "")
    pieces: list[str] = []
    for segment in tail:
        noise = st.sampled_from((".",)) | _JUNK.map(lambda junk: junk + "/..")
        pieces.extend(draw(st.lists(noise, max_size=2)))
        params = draw(st.none() | _PARAMS) if segment else None
        pieces.append(segment + (params or ""))
    separators = [draw(st.sampled_from(("/", "//"))) for _ in pieces]
    if werkzeug:
        separators[0] = "/"  # Werkzeug's <path:…> cannot start with '/': //x redirects
    body = "".join(sep + piece for sep, piece in zip(separators, pieces, strict=True))
    if trailing or draw(st.booleans()):
        body += "/"
    return (start if head else leading) + body


def spellings(path: str, *, router: Router = "any", fixed: int = 1) -> st.SearchStrategy[str]:
    """Other spellings of ``path`` that the router sends to the same handler.

    ``fixed`` is how many leading segments the route spells out; the rest is
    taken to be matched by a catch-all (Werkzeug/Flask ``<path:rest>``,
    Starlette ``{rest:path}`` or a ``Mount``), as blueprints, mounted
    sub-apps and static files are. Only spellings that reach the same
    handler *without a redirect* are drawn:

    - **Werkzeug** (``router="werkzeug"``): extra leading slashes
      (``MapAdapter.match`` strips them: ``//upload`` is ``/upload``); in the
      catch-all part, ``.`` segments, ``seg/..`` pairs, ``;params``, a
      trailing slash and repeated slashes — except right after the fixed
      part, which Werkzeug answers with a redirect.
    - **Starlette** (``router="starlette"``): in the catch-all part, the same
      and repeated slashes anywhere; leading slashes do not route.
    - ``router="any"``: either router's spellings (never a mix of both).

    A path with no catch-all part (``fixed`` covers it) has only Werkzeug's
    leading-slash spellings. Neither router resolves dot segments or strips
    ``;params`` in the fixed part, so those are not spellings of a route.
    """
    head, tail, trailing = _split(path, fixed)
    if router not in ("werkzeug", "starlette", "any"):
        raise InvalidArgument(f"unknown router {router!r}")
    routers = ("werkzeug", "starlette") if router == "any" else (router,)
    return st.one_of(*(_spelled(head, tail, trailing, name) for name in routers))


def _canonical_spellings(path: str, router: Router, fixed: int) -> list[str]:
    """One spelling per kind, checked before Hypothesis explores the rest."""
    head, tail, trailing = _split(path, fixed)
    start = "/" + "/".join(head) if head else ""
    rest = "/".join(tail) + ("/" if trailing else "")
    found: list[str] = []
    if router in ("werkzeug", "any"):
        found.append("//" + path.lstrip("/"))
    if tail:
        last = "/".join([*tail[:-1], tail[-1] + ";p"]) if tail[-1] else rest
        found += [f"{start}/./{rest}", f"{start}/x/../{rest}", f"{start}/{last}"]
        if not trailing:
            found.append(f"{start}/{rest}/")
        if len(tail) > 1:
            found.append(f"{start}/{tail[0]}//{'/'.join(tail[1:])}")
        if router in ("starlette", "any"):
            found.append(f"{start}//{rest}")
    return found
