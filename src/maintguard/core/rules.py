"""The rules: what one says (``Rule``), what classifying says (``Classification``),
and how a pattern given by the application is checked and compiled into a rule.

Every check here runs when a rule is added, at start-up; a bad pattern, method
or operation type raises ``ConfigurationError`` then, never on a request.
``DEFAULT_RULES`` are the seeds' routes.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable

import attrs

from maintguard.core.operations import OperationType
from maintguard.core.paths import normalise
from maintguard.core.patterns import _ends_a_segment, literal_prefix
from maintguard.exceptions import ConfigurationError

#: Methods a "non-GET" default rule does not apply to.
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
#: Characters that make a pattern a regex; a lone "." does not (``/favicon.ico``).
_REGEX_MARKERS = frozenset("^$*+?{}[]()|\\")
#: Flags under which a pattern's text is not what it matches literally.
_NON_LITERAL_FLAGS = re.IGNORECASE | re.VERBOSE
#: An HTTP method is a token (RFC 9110, section 5.6.2).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

Rank = tuple[bool, int, int, int]


class Source(int, enum.Enum):
    """Where a rule comes from; higher wins at equal specificity."""

    DEFAULT = 0
    CUSTOM = 1
    ROUTE = 2


@attrs.frozen
class Rule:
    """One compiled classification rule."""

    pattern: str
    operation: OperationType
    kind: str  # "prefix" or "regex"
    source: Source
    order: int
    literal: str
    #: ``None``: every method; else only these (upper case).
    methods: frozenset[str] | None = None
    #: Methods the rule never applies to (the defaults' "non-GET").
    except_methods: frozenset[str] = frozenset()
    regex: re.Pattern[str] | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def bucket(self) -> str:
        """The index key: the literal prefix cut back to a segment boundary."""
        literal = self.literal
        if self.kind == "prefix":
            return literal
        if _ends_a_segment(self.pattern, literal):
            return literal
        return literal[: literal.rfind("/")] if "/" in literal else ""

    @property
    def specificity(self) -> int:
        return len(self.literal)

    @property
    def rank(self) -> Rank:
        """Higher wins: a route's declaration, then specificity, then source,
        then the rule added first."""
        return (self.source is Source.ROUTE, len(self.literal), int(self.source), -self.order)

    def applies_to(self, method: str) -> bool:
        """Whether the rule considers ``method`` (upper case) at all."""
        if method in self.except_methods:
            return False
        return self.methods is None or method in self.methods

    def matches(self, path: str) -> bool:
        """Whether one reading of a path falls under this rule (any method)."""
        if self.regex is not None:
            return self.regex.fullmatch(path) is not None
        literal = self.literal
        return not literal or path == literal or path.startswith(literal + "/")

    def describe(self) -> str:
        methods = ""
        if self.methods is not None:
            methods = f" [{','.join(sorted(self.methods))}]"
        elif self.except_methods:
            methods = " [non-GET]"
        return f"{self.source.name.lower()} {self.kind} rule {self.pattern!r}{methods}"


@attrs.frozen
class Classification:
    """The operation a request performs, and which rule said so.

    ``alternate`` is the other reading's operation when the raw and the
    normalised path disagree (the service blocks if either is blocked).
    ``path`` is the reading that decided ``operation``.
    """

    operation: OperationType
    rule: Rule | None
    path: str
    alternate: OperationType | None = None

    def describe(self) -> str:
        if self.rule is not None:
            return self.rule.describe()
        if self.operation is OperationType.READ_OPERATIONS:
            return "fallback: any other GET/HEAD is a read"
        return "fallback: no rule matched a non-read method"


def _methods(pattern: str, methods: Iterable[str] | str | None) -> frozenset[str] | None:
    if methods is None:
        return None
    if isinstance(methods, str):
        methods = (methods,)  # "POST" is one method, not four letters
    found: set[str] = set()
    for method in methods:
        if not isinstance(method, str) or not _TOKEN.fullmatch(method):
            raise ConfigurationError(f"rule {pattern!r}: {method!r} is not an HTTP method")
        found.add(method.upper())
    if not found:
        raise ConfigurationError(f"rule {pattern!r}: methods must not be empty")
    if "GET" in found:
        found.add("HEAD")  # routers run a GET view for HEAD too
    return frozenset(found)


def _operation(pattern: str, operation: object) -> OperationType:
    if not isinstance(operation, str):
        raise ConfigurationError(f"rule {pattern!r}: {operation!r} is not an operation type")
    return OperationType(operation)


def _prefix_literal(pattern: str) -> str:
    """A prefix rule's path, or ``ConfigurationError`` when no router would
    ever route it as written (``;params``, dot segments, backslashes)."""
    segments = pattern.split("/")[1:]
    if ";" in pattern or "\\" in pattern or "." in segments or ".." in segments:
        raise ConfigurationError(
            f"prefix rule {pattern!r} must be a plain path: no ';params', "
            "'.' or '..' segments, or backslashes"
        )
    literal = normalise(pattern)
    return "" if literal == "/" else literal


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except (re.error, OverflowError, RecursionError) as exc:
        raise ConfigurationError(f"rule pattern {pattern!r} is not a valid regex: {exc}") from None


def compile_rule(
    pattern: str,
    operation: OperationType,
    method_set: frozenset[str] | None,
    except_methods: frozenset[str],
    source: Source,
    kind: str,
    order: int,
) -> Rule:
    """The rule for an already checked pattern of ``kind`` "prefix" or "regex"."""
    if kind == "regex":
        compiled = _compile(pattern)
        literal = "" if compiled.flags & _NON_LITERAL_FLAGS else literal_prefix(pattern)
        return Rule(
            pattern,
            operation,
            "regex",
            source,
            order,
            literal,
            method_set,
            except_methods,
            compiled,
        )
    if not pattern.startswith("/"):
        raise ConfigurationError(f"prefix rule {pattern!r} must start with '/'")
    return Rule(
        pattern,
        operation,
        "prefix",
        source,
        order,
        _prefix_literal(pattern),
        method_set,
        except_methods,
    )


#: (pattern, operation, applies to non-GET methods only) — the seeds' routes.
DEFAULT_RULES: tuple[tuple[str, str, bool], ...] = (
    ("/admin", "ADMIN_OPERATIONS", False),
    ("/health", "HEALTH_CHECK", False),
    ("/healthz", "HEALTH_CHECK", False),
    ("/readyz", "HEALTH_CHECK", False),
    ("/livez", "HEALTH_CHECK", False),
    ("/up", "HEALTH_CHECK", False),
    ("/api/health", "HEALTH_CHECK", False),
    ("/static", "HEALTH_CHECK", False),
    ("/favicon.ico", "HEALTH_CHECK", False),
    ("/robots.txt", "HEALTH_CHECK", False),
    ("/login", "AUTHENTICATION", False),
    ("/logout", "AUTHENTICATION", False),
    ("/api/auth", "AUTHENTICATION", False),
    ("/start_caption_generation", "CAPTION_GENERATION", False),
    ("/api/caption", "CAPTION_GENERATION", False),
    ("/api/jobs", "JOB_CREATION", True),
    ("/switch_platform", "PLATFORM_OPERATIONS", False),
    ("/test_connection", "PLATFORM_OPERATIONS", False),
    ("/platform", "PLATFORM_OPERATIONS", False),
    ("/batch", "BATCH_OPERATIONS", False),
    ("/profile", "USER_DATA_MODIFICATION", True),
    ("/settings", "USER_DATA_MODIFICATION", True),
    ("/password", "USER_DATA_MODIFICATION", True),
    ("/upload", "IMAGE_PROCESSING", True),
    ("/images", "IMAGE_PROCESSING", True),
    ("/api/images", "IMAGE_PROCESSING", True),
)


#: The methods a health or static exemption passes; any other method under
#: those prefixes is classified like any path.
EXEMPT_METHODS = ("GET", "HEAD", "OPTIONS")

#: Under the login paths, what writes user data (non-GET): sign-up and
#: password resets are user-data modifications, not logins.
DEFAULT_SIGNUP_RULES: tuple[tuple[str, str], ...] = tuple(
    (
        rf"{root}/(?:.*/)?(?:register|signup|sign-up|sign_up|password[^/]*)(?:/.*)?",
        "USER_DATA_MODIFICATION",
    )
    for root in ("/login", "/api/auth")
)
