"""Method overrides: the other method an application may route a request as.

Many applications honour ``X-HTTP-Method-Override`` and friends, or a
``_method`` field (Rails, Laravel, Symfony; Flask's documented middleware
turns ``GET /upload`` with an override into a ``POST``). A request is judged
under each method it may be routed as, and the stricter answer wins, so an
override never turns a blocked write into an allowed read.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

from maintguard.core.decision import RequestInfo

#: Headers that name the method an application may route the request as.
OVERRIDE_HEADERS = ("x-http-method-override", "x-http-method", "x-method-override")
#: Query fields that do the same (``__METHOD_OVERRIDE__``: Flask's old snippet).
_QUERY_FIELDS = frozenset({"_method", "__method_override__"})
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
#: What a ``_method`` form field of a POST can name where it is honoured; the
#: body is the application's, so it is not read: every one is judged.
_FORM_OVERRIDES = ("PUT", "PATCH", "DELETE")
_METHOD = re.compile(r"[A-Z]{1,16}")


def is_form(content_type: str | None) -> bool:
    return bool(content_type) and content_type.lstrip().lower().startswith(_FORM_TYPES)  # type: ignore[union-attr]


def override_methods(info: RequestInfo, method: str) -> tuple[str, ...]:
    """The methods besides ``method`` that ``info`` may be routed as."""
    found: list[str] = []
    for name in OVERRIDE_HEADERS:
        value = info.header(name)
        if value:
            found.extend(part.strip().upper() for part in value.split(","))
    query = info.query_string
    if query and "method" in query.lower():
        for pair in query.split("&"):
            key, _, value = pair.partition("=")
            if unquote_plus(key).lower() in _QUERY_FIELDS:
                found.append(unquote_plus(value).strip().upper())
    if method == "POST" and is_form(info.header("content-type")):
        found.extend(_FORM_OVERRIDES)
    return tuple(m for m in dict.fromkeys(found) if m != method and _METHOD.fullmatch(m))
