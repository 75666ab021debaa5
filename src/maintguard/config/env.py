"""Reading one setting from an environment variable's text.

Each reader turns the text of one variable into a typed value or raises a
``ConfigurationError`` naming the variable. Ranges and meanings are not
judged here: ``Settings``' own checks do that, once, for every source.

Structured values (switches, numbers, choices) may carry a trailing
``# comment`` as the seeds' ``.env`` files do (``7200  # 2 hours default``).
Free text (URLs, tokens, secrets, addresses) is taken as written: cutting a
password at a ``#`` would be a silent change, so a comment there fails the
value's own check instead. An unset or empty variable takes the default.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from maintguard.exceptions import ConfigurationError

#: Turns a variable's stripped, non-empty text into the field's value.
Reader = Callable[[str, str], object]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_COMMENT = re.compile(r"\s+#.*\Z", re.DOTALL)


def _structured(raw: str) -> str:
    """A switch, number or choice: an inline ``# comment`` is dropped."""
    return _COMMENT.sub("", raw).strip()


def text(raw: str, name: str) -> str:
    """Free text, as written."""
    return raw


def boolean(raw: str, name: str) -> bool:
    value = _structured(raw).lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be true or false, not {raw[:40]!r}")


def seconds(raw: str, name: str) -> float:
    value = _structured(raw)
    try:
        return float(value)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number of seconds, not {raw[:40]!r}") from None


def integer(raw: str, name: str) -> int:
    value = _structured(raw)
    if not (value.isascii() and value.isdigit()):
        raise ConfigurationError(f"{name} must be a whole number, not {raw[:40]!r}")
    return int(value)


def choice(raw: str, name: str) -> str:
    """A choice word; its check names the choices."""
    return _structured(raw).lower()


def level(raw: str, name: str) -> str:
    return _structured(raw).upper()


def items(raw: str, name: str) -> tuple[str, ...]:
    """A comma-separated list; an empty entry is a typo, not nothing."""
    values = tuple(item.strip() for item in raw.split(","))
    if any(not item for item in values):
        raise ConfigurationError(f"{name} has an empty entry (check the commas)")
    return values
