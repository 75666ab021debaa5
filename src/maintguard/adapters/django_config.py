"""The Django project's service: ``settings.MAINTGUARD = {...}`` or ``MAINTGUARD_SERVICE``.

``MAINTGUARD`` is a dict of maintguard options (the fields of
``maintguard.Settings``, in lower or upper case: ``"store_url"``,
``"ADMIN_TOKENS"``, ``"exempt_paths"``, …) built with
``Settings.from_mapping`` over ``Settings.from_env()`` — the environment
still applies where the dict is silent. Three keys are not settings:
``"is_admin"`` (a callable or a dotted path; default: active staff or
superusers), ``"session_invalidator"`` (``"auto"``, the default, ends
``django.contrib.sessions`` sessions; ``None`` for none; or an object) and
``"page"`` (default: the ``maintguard/503.html`` template).

One service per process, built on first use and shared by the middleware,
the management command and the context processor. Declared views
(``@operation``, ``@exempt``) and ``STATIC_URL``/``MEDIA_URL`` are added
to its rules when it is built.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from django.conf import settings  # type: ignore[import-untyped, import-not-found, unused-ignore]

from maintguard.adapters.django_views import template_page
from maintguard.adapters.routes import Declaration, add_route_rules, declared_operation
from maintguard.config import Settings
from maintguard.core.decision import RequestInfo
from maintguard.exceptions import ConfigurationError
from maintguard.service import MaintenanceService

__all__ = ["load_service", "maintenance", "project_service", "staff_admin", "url_declarations"]

SETTING = "MAINTGUARD_SERVICE"
OPTIONS = "MAINTGUARD"
_EXTRA = ("is_admin", "session_invalidator", "page")
_NAMED_GROUP = re.compile(r"\(\?P<[^>]+>")

_lock = threading.Lock()
_built: dict[str, MaintenanceService] = {}


def staff_admin(info: RequestInfo) -> bool:
    """``is_admin`` resolver: an active staff user or superuser (``request.user``).

    Needs ``AuthenticationMiddleware`` before this middleware; without a
    ``request.user`` nobody is an admin.
    """
    user = getattr(info.native, "user", None)
    return bool(
        user is not None
        and getattr(user, "is_active", False) is True
        and (
            getattr(user, "is_staff", False) is True or getattr(user, "is_superuser", False) is True
        )
    )


def _imported(value: object, what: str) -> Any:
    if not isinstance(value, str):
        return value
    module_name, sep, attr = value.partition(":")
    if not sep:
        module_name, _, attr = value.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigurationError(f"{what} = {value!r} cannot be imported: {exc}") from None


def load_service(value: object = None) -> MaintenanceService:
    """The service named by ``settings.MAINTGUARD_SERVICE``.

    ``"package.module:service"`` or ``"package.module.service"``; a
    ``MaintenanceService`` instance is accepted as is.
    """
    if value is None:
        value = getattr(settings, SETTING, None)
    if isinstance(value, MaintenanceService):
        return value
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(
            f"settings.{SETTING} must name the MaintenanceService, "
            "e.g. 'myproject.maintenance:service' (or use settings.MAINTGUARD = {{...}})"
        )
    found = _imported(value, f"settings.{SETTING}")
    if not isinstance(found, MaintenanceService):
        raise ConfigurationError(
            f"settings.{SETTING} = {value!r} is a {type(found).__name__}, not a MaintenanceService"
        )
    return found


def project_service() -> MaintenanceService:
    """The project's service: ``MAINTGUARD_SERVICE`` if set, else built once
    from ``MAINTGUARD``; its views' declarations and static URLs added."""
    with _lock:
        if getattr(settings, SETTING, None) is not None:
            # The project's own object (its module holds it): read the setting
            # each time, so a test that swaps it is followed.
            service = load_service()
            _prepare(service)
            return service
        options = getattr(settings, OPTIONS, None)
        if options is None:
            raise ConfigurationError(
                f"maintguard needs settings.{OPTIONS} = {{...}} (its options; {{}} for the "
                f"defaults) or settings.{SETTING} naming a MaintenanceService"
            )
        built = _built.get("service")
        if built is None:
            built = _from_options(options)
            _prepare(built)
            _built["service"] = built
        return built


def forget_service() -> None:
    """Drop the cached service (tests that change settings)."""
    with _lock:
        _built.clear()


def _from_options(options: object) -> MaintenanceService:
    if not isinstance(options, Mapping):
        raise ConfigurationError(f"settings.{OPTIONS} must be a dict of maintguard options")
    values: dict[str, Any] = {}
    for key, value in options.items():
        if not isinstance(key, str):
            raise ConfigurationError(f"settings.{OPTIONS} keys must be option names")
        values[key.lower()] = value
    extras = {name: values.pop(name) for name in _EXTRA if name in values}
    try:
        configured = Settings.from_mapping(values, base=Settings.from_env())
    except ConfigurationError as exc:
        raise ConfigurationError(f"settings.{OPTIONS}: {exc}") from None
    is_admin = _imported(extras.get("is_admin", staff_admin), f"settings.{OPTIONS}['is_admin']")
    if not callable(is_admin):
        raise ConfigurationError(f"settings.{OPTIONS}['is_admin'] must be a callable")
    invalidator = extras.get("session_invalidator", "auto")
    if invalidator == "auto":
        invalidator = _auto_invalidator()
    else:
        invalidator = _imported(invalidator, f"settings.{OPTIONS}['session_invalidator']")
    page = extras.get("page", template_page)
    return MaintenanceService(
        settings=configured, is_admin=is_admin, session_invalidator=invalidator, page=page
    )


def _auto_invalidator() -> Any:
    if "django.contrib.sessions" not in getattr(settings, "INSTALLED_APPS", ()):
        return None
    from maintguard.adapters.django_sessions import DjangoSessionInvalidator

    return DjangoSessionInvalidator()


def _prepare(service: MaintenanceService) -> None:
    """Declared views into route rules; STATIC_URL and MEDIA_URL exempt for reads."""
    for name in ("STATIC_URL", "MEDIA_URL"):
        prefix = _local_prefix(getattr(settings, name, None))
        if prefix is not None:
            service.classifier.add_exempt(prefix)
    if not getattr(settings, "ROOT_URLCONF", None):
        return  # no URLconf (a bare management command): no view to read
    from django.urls import get_resolver  # type: ignore[import-untyped, import-not-found, unused-ignore]

    add_route_rules(service.classifier, url_declarations(get_resolver().url_patterns))


def _local_prefix(url: object) -> str | None:
    """``/static/`` → ``/static``; a URL on another host, or ``/``, is no prefix."""
    if not isinstance(url, str) or not url:
        return None
    if not url.startswith("/"):
        url = "/" + url  # Django joins a relative STATIC_URL to SCRIPT_NAME
    if url.startswith("//") or "://" in url:
        return None
    prefix = url.rstrip("/")
    return prefix or None


def url_declarations(patterns: Iterable[Any], prefix: str = "") -> Iterator[Declaration]:
    """``(anchored regex, None, declared type)`` for each declared view of a URLconf."""
    for entry in patterns:
        regex = getattr(getattr(entry, "pattern", None), "regex", None)
        if not isinstance(regex, re.Pattern):
            continue
        body = prefix + _body(regex.pattern)
        nested = getattr(entry, "url_patterns", None)
        if nested is not None and not hasattr(entry, "callback"):
            yield from url_declarations(nested, body)
            continue
        declared = declared_operation(getattr(entry, "callback", None))
        if declared is not None:
            yield f"^/{body}$", None, declared


def _body(pattern: str) -> str:
    """A Django URL regex without anchors and group names."""
    body = pattern.removeprefix("^")
    for end in ("\\Z", "$"):
        body = body.removesuffix(end)
    return _NAMED_GROUP.sub("(?:", body)


def maintenance(request: object) -> dict[str, Any]:
    """Context processor: ``{"maintenance": <MaintenanceStatus>}`` (from the snapshot)."""
    return {"maintenance": project_service().get_maintenance_status()}
