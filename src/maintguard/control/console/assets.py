"""The dashboard page and the banner script, read once from package data.

The page's CSS and JavaScript are files of their own next to this module;
they are put into the HTML when it is first served, and the
Content-Security-Policy allows exactly those two blocks by their SHA-256
hashes: no other script or style runs on the page, inline or fetched.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
from importlib import resources

from maintguard.core.responses import Response

_PACKAGE = "maintguard.control.console"


def _read(name: str) -> str:
    return resources.files(_PACKAGE).joinpath(name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def dashboard_response(prefix: str) -> Response:
    """The page for a service whose control API lives under ``prefix``."""
    style, script = _read("dashboard.css"), _read("dashboard.js")
    page = (
        _read("dashboard.html")
        .replace("/*STYLE*/", style)
        .replace("/*SCRIPT*/", script)
        .replace("__PREFIX__", html.escape(prefix, quote=True))
    )
    policy = "; ".join(
        (
            "default-src 'none'",
            f"script-src {_sha256(script)}",
            f"style-src {_sha256(style)}",
            "connect-src 'self'",
            "img-src 'self' data:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )
    body = page.encode("utf-8")
    return Response(
        200,
        [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Content-Security-Policy", policy),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "no-referrer"),
        ],
        body,
    )


@functools.lru_cache(maxsize=1)
def banner_response() -> Response:
    body = _read("banner.js").encode("utf-8")
    return Response(
        200,
        [
            ("Content-Type", "text/javascript; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "public, max-age=300"),
            ("X-Content-Type-Options", "nosniff"),
        ],
        body,
    )
