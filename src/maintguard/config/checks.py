"""The checks every setting passes, whichever source gave it.

One rule per setting, run once when ``Settings`` is built (from keywords,
from the environment or from a framework's settings). A failure is a
``ConfigurationError`` that names the setting as the user wrote it: the
variable (``MAINTENANCE_DEFAULT_TIMEOUT``) when it came from the
environment, else the option (``default_timeout``). Messages never repeat a
secret or a URL, which may carry a password.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

import attrs

from maintguard.core.identity import parse_admin_tokens, parse_networks
from maintguard.exceptions import ConfigurationError

#: A check: ``(name to show, value)``; raises ``ConfigurationError``.
Check = Callable[[str, Any], None]

_from_env: contextvars.ContextVar[bool] = contextvars.ContextVar("from_env", default=False)


@contextlib.contextmanager
def naming_variables() -> Iterator[None]:
    """While building from the environment, messages name the variables."""
    token = _from_env.set(True)
    try:
        yield
    finally:
        _from_env.reset(token)


def shown_name(attribute: attrs.Attribute[Any]) -> str:
    if _from_env.get():
        return str(attribute.metadata.get("env") or attribute.name)
    return attribute.name


def validator(check: Check) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    """An attrs validator running ``check`` with the name the user wrote."""

    def run(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        check(shown_name(attribute), value)

    return run


def is_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigurationError(f"{name} must be true or false")


def between(minimum: float, maximum: float, unit: str = "seconds") -> Check:
    def check(name: str, value: Any) -> None:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or not minimum <= value <= maximum
        ):
            raise ConfigurationError(f"{name} must be between {minimum:g} and {maximum:g} {unit}")

    return check


def whole_between(minimum: int, maximum: int, unit: str) -> Check:
    def check(name: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            raise ConfigurationError(f"{name} must be a {unit} between {minimum} and {maximum}")

    return check


def one_of(*choices: str, optional: bool = False) -> Check:
    def check(name: str, value: Any) -> None:
        if value is None and optional:
            return
        if value not in choices:
            shown = repr(value[:40]) if isinstance(value, str) else type(value).__name__
            raise ConfigurationError(f"{name} must be one of {', '.join(choices)}, not {shown}")

    return check


def optional_text(what: str, *, spaces: bool = True) -> Check:
    def check(name: str, value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, str):
            raise ConfigurationError(f"{name} must be {what}")
        if not spaces and any(char.isspace() for char in value):
            raise ConfigurationError(f"{name} must be {what} without spaces (a trailing comment?)")

    return check


def url_path(name: str, value: Any) -> None:
    if not isinstance(value, str) or not value.startswith("/") or value.endswith("/"):
        raise ConfigurationError(f"{name} must start with '/' and not end with one")
    if any(char.isspace() or not char.isprintable() for char in value):
        raise ConfigurationError(f"{name} must be a path without spaces or control characters")


def path_prefixes(name: str, value: Any) -> None:
    for prefix in value:
        if not isinstance(prefix, str) or prefix == "/":
            raise ConfigurationError(f"{name}: each entry must be a path prefix such as /assets")
        url_path(name, prefix)
        segments = prefix.split("/")[1:]
        if any(char in prefix for char in ";\\?#") or "." in segments or ".." in segments:
            raise ConfigurationError(
                f"{name}: {prefix[:80]!r} must be a plain path (no ';', '?', '#', '\\', "
                "'.' or '..' segments)"
            )


def webhook_url(name: str, value: Any) -> None:
    if value is None:
        return
    optional_text("a URL", spaces=False)(name, value)
    try:
        parts = urlsplit(value)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid:
        # The URL may carry a token in its path or query: do not echo it.
        raise ConfigurationError(f"{name} must be an http:// or https:// URL with a host")


def store_url(name: str, value: Any) -> None:
    from maintguard.stores import registered_schemes

    optional_text("a URL", spaces=False)(name, value)
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    known = registered_schemes()
    if scheme not in known and scheme.split("+", 1)[0] not in known:
        # Never echo the URL: it may carry a password.
        raise ConfigurationError(
            f"{name} must be a store URL such as redis://host:6379/0 or sqlite:///maint.db "
            f"(known schemes: {', '.join(known)})"
        )


def admin_tokens(name: str, value: Any) -> None:
    parse_admin_tokens(value, name)  # the messages name the entry, never the token


def networks(name: str, value: Any) -> None:
    parse_networks(value, name)


def secret(name: str, value: Any) -> None:
    if value is None:
        return
    key = value.encode("utf-8") if isinstance(value, str) else value
    if not isinstance(key, bytes) or len(key) < 16:
        raise ConfigurationError(f"{name} must be at least 16 bytes long")


def log_file(name: str, value: Any) -> None:
    import os.path

    if value is None:
        return
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{name} must be a file path")
    directory = os.path.dirname(os.path.abspath(value))
    if not os.path.isdir(directory):
        raise ConfigurationError(f"{name}: the directory {directory[:200]!r} does not exist")
    if os.path.isdir(value):
        raise ConfigurationError(f"{name} names a directory, not a file")


def emails(name: str, value: Any) -> None:
    for address in value:
        if "@" not in address or any(char.isspace() for char in address):
            raise ConfigurationError(f"{name}: {address[:80]!r} is not an e-mail address")


def sender(name: str, value: Any) -> None:
    if value is not None and (not isinstance(value, str) or "@" not in value):
        raise ConfigurationError(f"{name} must be an e-mail address")


def origins(name: str, value: Any) -> None:
    for origin in value:
        if origin != "*" and not re.fullmatch(r"https?://[^\s/]+", origin):
            raise ConfigurationError(
                f"{name}: {origin[:80]!r} is not an origin (scheme://host[:port]) or *"
            )


def header_names(name: str, value: Any) -> None:
    for header in value:
        if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}", header):
            raise ConfigurationError(f"{name}: {header[:80]!r} is not a header name")


def entries(value: str | Iterable[str]) -> tuple[str, ...]:
    """Converter: a comma-separated string or any iterable of strings."""
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return tuple(value)
