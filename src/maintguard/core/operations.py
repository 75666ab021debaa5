"""Operation types: what a request *does*, independent of its URL.

``OperationType`` is a ``str`` subclass whose instances are interned by name,
so ``OperationType.JOB_CREATION == "JOB_CREATION"`` and a plain string can be
used wherever a type is expected (the seeds pass ``'CAPTION_GENERATION'``).
It is not an ``enum.Enum`` because applications register their own types at
start-up (``OperationType.register("CUSTOM_OPERATION")``).
"""

from __future__ import annotations

import re
import threading
from typing import ClassVar

from maintguard.exceptions import ConfigurationError

_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,63}")


class OperationType(str):
    """An operation a request performs; compare with ``==`` or by name."""

    _registry: ClassVar[dict[str, OperationType]] = {}
    _descriptions: ClassVar[dict[str, str]] = {}
    _builtin: ClassVar[frozenset[str]] = frozenset()
    #: Names read from stored state that this process never registered.
    _opaque: ClassVar[set[str]] = set()
    _lock: ClassVar[threading.Lock] = threading.Lock()

    # The seeds' eight, then maintguard's own.
    CAPTION_GENERATION: ClassVar[OperationType]
    JOB_CREATION: ClassVar[OperationType]
    PLATFORM_OPERATIONS: ClassVar[OperationType]
    BATCH_OPERATIONS: ClassVar[OperationType]
    USER_DATA_MODIFICATION: ClassVar[OperationType]
    IMAGE_PROCESSING: ClassVar[OperationType]
    ADMIN_OPERATIONS: ClassVar[OperationType]
    READ_OPERATIONS: ClassVar[OperationType]
    AUTHENTICATION: ClassVar[OperationType]
    HEALTH_CHECK: ClassVar[OperationType]
    UNKNOWN: ClassVar[OperationType]

    def __new__(cls, name: str) -> OperationType:
        """Return the registered type called ``name``.

        Raises ``ConfigurationError`` for a name nobody registered, so a typo
        in a rule fails at start-up instead of silently never matching.
        """
        if isinstance(name, OperationType):
            return name
        found = cls._registry.get(name)
        if found is None:
            raise ConfigurationError(
                f"unknown operation type {name!r}; register it first with "
                f"OperationType.register({name!r})"
            )
        return found

    @classmethod
    def _create(cls, name: str, description: str) -> OperationType:
        instance = str.__new__(cls, name)
        cls._registry[name] = instance
        cls._descriptions[name] = description
        setattr(cls, name, instance)
        return instance

    @classmethod
    def register(cls, name: str, description: str = "") -> OperationType:
        """Add an application-defined operation type.

        Custom types are blocked in normal and emergency maintenance and
        simulated in test mode, like the built-in write types.
        """
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ConfigurationError(
                f"operation type name {name!r} must be UPPER_SNAKE_CASE "
                "(letters, digits, underscores; at most 64 characters)"
            )
        with cls._lock:
            if name in cls._opaque:
                # Seen in stored state first (another process registered it):
                # the same type, now with this process's description.
                cls._opaque.discard(name)
                cls._descriptions[name] = description or name.replace("_", " ").lower()
                return cls._registry[name]
            if name in cls._registry:
                raise ConfigurationError(f"operation type {name!r} is already registered")
            return cls._create(name, description or name.replace("_", " ").lower())

    @classmethod
    def stored(cls, name: object) -> OperationType:
        """The type a stored state names. A well-formed name this process
        never registered (a custom type of another app, a worker, the CLI)
        is kept as an opaque custom type: blocked like any custom type and
        shown by name, so a partial maintenance never makes the stored
        state unreadable. A malformed name is ``ValueError``."""
        if isinstance(name, OperationType):
            return name
        if not isinstance(name, str):
            raise ValueError(f"operation type {name!r} is not a name")
        found = cls._registry.get(name)
        if found is not None:
            return found
        if not _NAME.fullmatch(name):
            raise ValueError(f"operation type {name[:80]!r} is not UPPER_SNAKE_CASE")
        with cls._lock:
            found = cls._registry.get(name)
            if found is None:
                found = cls._create(name, f"{name.replace('_', ' ').lower()} (custom type)")
                cls._opaque.add(name)
            return found

    @classmethod
    def get(cls, name: str) -> OperationType | None:
        """The type called ``name``, or ``None`` when nobody registered it."""
        return cls._registry.get(name)

    @classmethod
    def all(cls) -> tuple[OperationType, ...]:
        """Every registered type, built-in first, in registration order."""
        return tuple(cls._registry.values())

    @property
    def name(self) -> str:
        """The type's name, also its JSON spelling."""
        return str.__str__(self)

    @property
    def description(self) -> str:
        return self._descriptions[self.name]

    @property
    def is_builtin(self) -> bool:
        return self.name in self._builtin

    def __repr__(self) -> str:
        return f"OperationType.{self.name}"

    def __str__(self) -> str:
        return self.name

    def __reduce__(self) -> tuple[type[OperationType], tuple[str]]:
        return (OperationType, (self.name,))


_BUILTIN = {
    "CAPTION_GENERATION": "caption generation",
    "JOB_CREATION": "creating background jobs",
    "PLATFORM_OPERATIONS": "platform switching and connection tests",
    "BATCH_OPERATIONS": "batch and bulk processing",
    "USER_DATA_MODIFICATION": "profile, settings and password changes",
    "IMAGE_PROCESSING": "image upload and processing",
    "ADMIN_OPERATIONS": "administration",
    "READ_OPERATIONS": "reading pages and data",
    "AUTHENTICATION": "logging in and out",
    "HEALTH_CHECK": "health checks and static files",
    "UNKNOWN": "unclassified requests",
}
for _name, _description in _BUILTIN.items():
    OperationType._create(_name, _description)
OperationType._builtin = frozenset(_BUILTIN)

#: Types that modify data or start work; blocked by every maintenance.
WRITE_TYPES: frozenset[OperationType] = frozenset(
    OperationType(name)
    for name in (
        "CAPTION_GENERATION",
        "JOB_CREATION",
        "PLATFORM_OPERATIONS",
        "BATCH_OPERATIONS",
        "USER_DATA_MODIFICATION",
        "IMAGE_PROCESSING",
    )
)

#: Types never blocked in any mode.
EXEMPT_TYPES: frozenset[OperationType] = frozenset(
    {OperationType.HEALTH_CHECK, OperationType.AUTHENTICATION}
)


def coerce_operation(value: str) -> OperationType:
    """``OperationType`` for a name or an instance; errors name the value."""
    return OperationType(value)
