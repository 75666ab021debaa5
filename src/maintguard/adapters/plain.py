"""Plain requests: those whose answer depends only on (method, path, Accept).

For one state such a request always gets the same answer, so the adapters
remember it (``BlockedResponder.verdicts``) instead of classifying and
rendering again. A request is *not* plain when it carries anything that
could make its sender an admin or change what it is judged as: an
``Authorization`` header when admin tokens are configured, a ``Cookie``
when a bypass secret is, a header the ``is_admin`` resolver reads
(``resolver_headers``; with a resolver and none declared, nothing is
plain), an ``Origin`` when CORS origins are (the answer's
headers differ), a CORS preflight, or a method override (a header, a
``method`` query field, a form body's ``_method``).

The header names are worked out once per middleware from the service's
configuration (frozen settings), so the request path tests a handful of
names against a set, not every header against every rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from maintguard.core.overrides import OVERRIDE_HEADERS, is_form

if TYPE_CHECKING:
    from maintguard.service import MaintenanceService

__all__ = ["PlainEnviron", "PlainScope", "identity_headers", "remembers"]


def remembers(service: MaintenanceService) -> bool:
    """Whether ``service`` may ever answer from memory (its frozen settings):
    not with an IP allowlist or debug headers. Per request the adapters also
    check that there is no ``is_admin`` resolver (one may be set later) or
    that ``resolver_headers`` declares what it reads."""
    return not service.decider.allowed_ips and not service.settings.debug_headers


def identity_headers(service: MaintenanceService) -> frozenset[str]:
    """Lower-case names of the headers whose presence makes a request not plain."""
    names = {"access-control-request-method", *OVERRIDE_HEADERS}
    if service.decider.tokens:
        names.add("authorization")
    if service.bypass.signer is not None:
        names.add("cookie")
    if service.settings.cors_origins:
        names.add("origin")
    # What the application's is_admin resolver reads: a request without any
    # of them is one it could not admit, so it is judged without asking it.
    names.update(name.lower() for name in service.settings.resolver_headers)
    return frozenset(names)


class PlainEnviron:
    """The test for a WSGI environ (or Django's ``request.META``)."""

    __slots__ = ("_keys",)

    def __init__(self, service: MaintenanceService) -> None:
        self._keys = frozenset(
            "HTTP_" + name.upper().replace("-", "_") for name in identity_headers(service)
        )

    def __call__(self, environ: Mapping[str, Any]) -> bool:
        # dict_keys.isdisjoint(set) probes the dict with each (few) name.
        if not environ.keys().isdisjoint(self._keys):
            return False
        query = environ.get("QUERY_STRING")
        if query and "method" in query.lower():
            return False
        content_type = environ.get("CONTENT_TYPE")
        return not content_type or not is_form(content_type)


class PlainScope:
    """The test for an ASGI scope; also gives the joined ``Accept`` value."""

    __slots__ = ("_names",)

    def __init__(self, service: MaintenanceService) -> None:
        self._names = frozenset(name.encode("ascii") for name in identity_headers(service))

    def __call__(self, scope: dict[str, Any]) -> tuple[bool, str | None]:
        """(plain, Accept): Accept joined as ``RequestInfo`` joins repeated
        headers, so the key is what the answer was chosen by."""
        accepts: list[str] = []
        names = self._names
        for name, value in scope.get("headers") or ():
            if name == b"accept":
                accepts.append(value.decode("latin-1"))
            elif name in names or (name == b"content-type" and is_form(value.decode("latin-1"))):
                return False, None
        if b"method" in (scope.get("query_string") or b"").lower():
            return False, None
        if not accepts:
            return True, None
        return True, accepts[0] if len(accepts) == 1 else ", ".join(accepts)
