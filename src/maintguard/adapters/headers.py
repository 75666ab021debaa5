"""Request headers and cookies as lazy mappings over what the server gave.

Nothing is parsed unless the core asks: a request that is allowed never
pays for building a header dict or parsing its cookies.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from werkzeug.http import parse_cookie

#: Cookie headers longer than this are not parsed (a bypass cookie is short).
_MAX_COOKIE_HEADER = 8192


class ASGIHeaders(Mapping[str, str]):
    """``scope["headers"]`` as a case-insensitive mapping (lower-case keys).

    Repeated headers are joined with ", " as HTTP allows; ``getlist`` gives
    each value, so a doubled ``Authorization`` can be refused.
    """

    __slots__ = ("_dict", "_raw")

    def __init__(self, raw: Iterable[tuple[bytes, bytes]]) -> None:
        self._raw = raw
        self._dict: dict[str, list[str]] | None = None

    def _parsed(self) -> dict[str, list[str]]:
        if self._dict is None:
            parsed: dict[str, list[str]] = {}
            for name, value in self._raw:
                key = name.decode("latin-1").lower()
                parsed.setdefault(key, []).append(value.decode("latin-1"))
            self._dict = parsed
        return self._dict

    def __getitem__(self, key: str) -> str:
        return ", ".join(self._parsed()[key.lower()])

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        values = self._parsed().get(key.lower())
        return ", ".join(values) if values is not None else default

    def getlist(self, key: str) -> list[str]:
        return list(self._parsed().get(key.lower(), ()))

    def __iter__(self) -> Iterator[str]:
        return iter(self._parsed())

    def __len__(self) -> int:
        return len(self._parsed())


class WSGIHeaders(Mapping[str, str]):
    """A WSGI environ's ``HTTP_*`` keys as a lower-case header mapping."""

    __slots__ = ("_environ",)

    def __init__(self, environ: Mapping[str, object]) -> None:
        self._environ = environ

    @staticmethod
    def _key(name: str) -> str:
        upper = name.upper().replace("-", "_")
        if upper in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            return upper
        return "HTTP_" + upper

    def __getitem__(self, key: str) -> str:
        value = self._environ[self._key(key)]
        if not isinstance(value, str):
            raise KeyError(key)
        return value

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        value = self._environ.get(self._key(key))
        return value if isinstance(value, str) else default

    def getlist(self, key: str) -> list[str]:
        # WSGI servers fold repeated headers into one value already; a
        # doubled Authorization arrives as "Bearer a, Bearer b" and fails
        # bearer parsing on its own.
        value = self.get(key)
        return [] if value is None else [value]

    def __iter__(self) -> Iterator[str]:
        for key in self._environ:
            if key.startswith("HTTP_"):
                yield key[5:].lower().replace("_", "-")
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                yield key.lower().replace("_", "-")

    def __len__(self) -> int:
        return sum(1 for _ in self)


class LazyCookies(Mapping[str, str]):
    """The ``Cookie`` header, parsed on first access; junk parses to nothing."""

    __slots__ = ("_header", "_parsed")

    def __init__(self, header: str | None) -> None:
        self._header = header
        self._parsed: dict[str, str] | None = None

    def _cookies(self) -> dict[str, str]:
        if self._parsed is None:
            header = self._header
            parsed: dict[str, str] = {}
            if header and len(header) <= _MAX_COOKIE_HEADER:
                try:
                    parsed = dict(parse_cookie(header))
                except (ValueError, TypeError, UnicodeError):
                    parsed = {}
            self._parsed = parsed
        return self._parsed

    def __getitem__(self, key: str) -> str:
        return self._cookies()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._cookies())

    def __len__(self) -> int:
        return len(self._cookies())
