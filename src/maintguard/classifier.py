"""Classify a request (method, path) into an operation type.

Two kinds of rule. A *prefix* rule ``/admin`` matches ``/admin`` and
``/admin/…`` on whole segments only. A *regex* rule (the seeds' form,
``r"/api/custom/.*"``) is a full match. All rules are compiled once into an
index keyed by literal prefix, cut at a segment boundary: classifying a path
looks up each of its leading segment prefixes in a dict and tests only the
few rules found there, so 1,000 rules cost about what 10 do.

The most specific rule wins (longest literal prefix); at equal specificity a
route declaration beats a custom rule, which beats a default one.
"""

from __future__ import annotations

import enum
import re
import threading
from collections.abc import Iterable

import attrs

from maintguard.exceptions import ConfigurationError
from maintguard.operations import OperationType
from maintguard.paths import normalise
from maintguard.policy import SAFE_METHODS, strictness

#: Methods a "non-GET" default rule does not apply to.
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_CACHE_SIZE = 8192
_REGEX_META = frozenset(".^$*+?{}[]()|")
#: Characters that make a pattern a regex; a lone "." does not (``/favicon.ico``).
_REGEX_MARKERS = frozenset("^$*+?{}[]()|\\")
_QUANTIFIERS = frozenset("*?{")


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
        if self.kind == "prefix":
            return self.literal
        return self.literal[: self.literal.rfind("/")] if "/" in self.literal else ""

    @property
    def specificity(self) -> int:
        return len(self.literal)

    def applies_to(self, method: str) -> bool:
        if method in self.except_methods:
            return False
        return self.methods is None or method in self.methods

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


def literal_prefix(pattern: str) -> str:
    """The text every full match of ``pattern`` starts with.

    Conservative: stops at the first metacharacter; drops a character a
    quantifier makes optional; gives up (``""``) on alternation, whose
    branches need not share a prefix.
    """
    if "|" in pattern:
        return ""
    out: list[str] = []
    i = 1 if pattern.startswith("^") else 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            nxt = pattern[i + 1 : i + 2]
            if not nxt or nxt.isalnum() or nxt == "_":
                break  # \d, \w, \A … are classes or anchors, not literals
            out.append(nxt)
            i += 2
            continue
        if char in _REGEX_META:
            if char in _QUANTIFIERS and out:
                out.pop()
            break
        out.append(char)
        i += 1
    return "".join(out)


def _segment_prefixes(path: str, depth: int) -> Iterable[str]:
    """``""``, ``/a``, ``/a/b`` … of ``/a/b/c``, at most ``depth`` deep."""
    yield ""
    end = 0
    for _ in range(depth):
        end = path.find("/", end + 1)
        if end == -1:
            yield path
            return
        yield path[:end]


class OperationClassifier:
    """Rules from (method, path) to ``OperationType``, compiled into an index.

    ``OperationClassifier(defaults=False)`` starts empty. Rules are added at
    start-up; a bad pattern or an unknown type raises ``ConfigurationError``.
    """

    def __init__(self, *, defaults: bool = True) -> None:
        self._rules: list[Rule] = []
        self._buckets: dict[str, tuple[Rule, ...]] = {}
        self._depth = 0
        self._cache: dict[tuple[str, str], Classification] = {}
        self._lock = threading.Lock()
        if defaults:
            for pattern, operation, non_get in DEFAULT_RULES:
                self._add(
                    pattern,
                    OperationType(operation),
                    None,
                    _READ_METHODS if non_get else frozenset(),
                    Source.DEFAULT,
                    "prefix",
                )

    @property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(self._rules)

    def add_custom_classification(
        self,
        pattern: str,
        operation_type: OperationType | str,
        methods: Iterable[str] | None = None,
        *,
        kind: str | None = None,
    ) -> Rule:
        """Add a rule. ``pattern`` is a regex when it contains regex syntax
        (``/api/custom/.*``), else a whole-segment prefix (``/api/custom``);
        ``kind="prefix"`` or ``"regex"`` says so explicitly."""
        return self._add(
            pattern, OperationType(operation_type), methods, frozenset(), Source.CUSTOM, kind
        )

    def add_route(
        self, pattern: str, operation_type: OperationType | str, methods: Iterable[str] | None
    ) -> Rule:
        """A route's own declaration (framework integrations); beats every rule."""
        return self._add(
            pattern, OperationType(operation_type), methods, frozenset(), Source.ROUTE, None
        )

    def _add(
        self,
        pattern: str,
        operation: OperationType,
        methods: Iterable[str] | None,
        except_methods: frozenset[str],
        source: Source,
        kind: str | None = None,
    ) -> Rule:
        if not isinstance(pattern, str) or not pattern.startswith(("/", "^/")):
            raise ConfigurationError(f"rule pattern {pattern!r} must start with '/'")
        method_set = None
        if methods is not None:
            method_set = frozenset(str(m).upper() for m in methods)
            if not method_set:
                raise ConfigurationError(f"rule {pattern!r}: methods must not be empty")
        if kind not in (None, "prefix", "regex"):
            raise ConfigurationError(f"rule {pattern!r}: kind must be 'prefix' or 'regex'")
        if kind is None:
            kind = "regex" if any(c in _REGEX_MARKERS for c in pattern) else "prefix"
        if kind == "regex":
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise ConfigurationError(f"rule pattern {pattern!r} is not a valid regex: {exc}")
            rule = Rule(
                pattern, operation, "regex", source, len(self._rules),
                literal_prefix(pattern), method_set, except_methods, compiled,
            )
        else:
            prefix = normalise(pattern)
            rule = Rule(
                pattern, operation, "prefix", source, len(self._rules),
                "" if prefix == "/" else prefix, method_set, except_methods,
            )
        with self._lock:
            self._rules.append(rule)
            self._rebuild()
        return rule

    def _rebuild(self) -> None:
        buckets: dict[str, list[Rule]] = {}
        for rule in self._rules:
            buckets.setdefault(rule.bucket, []).append(rule)
        self._buckets = {key: tuple(rules) for key, rules in buckets.items()}
        self._depth = max((key.count("/") for key in buckets), default=0)
        self._cache = {}

    def _match(self, path: str, method: str) -> Rule | None:
        best: Rule | None = None
        best_key: tuple[bool, int, int, int] = (False, -1, -1, 0)
        buckets = self._buckets
        for key in _segment_prefixes(path, self._depth):
            rules = buckets.get(key)
            if rules is None:
                continue
            for rule in rules:
                if not rule.applies_to(method):
                    continue
                if rule.regex is not None and rule.regex.fullmatch(path) is None:
                    continue
                # A route's declaration beats every rule; then specificity.
                rank = (rule.source is Source.ROUTE, rule.specificity, rule.source, -rule.order)
                if rank > best_key:
                    best, best_key = rule, rank
        return best

    def _one(self, path: str, method: str) -> Classification:
        rule = self._match(path, method)
        if rule is not None:
            return Classification(rule.operation, rule, path)
        if method in ("GET", "HEAD"):
            return Classification(OperationType.READ_OPERATIONS, None, path)
        return Classification(OperationType.UNKNOWN, None, path)

    def classify(self, method: str, path: str) -> Classification:
        """Classify both readings of ``path``; the stricter wins.

        ``path`` is the router's path (already decoded once by the server,
        relative to the mount point). Never raises on any string.
        """
        key = (method, path)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        method_upper = method.upper()
        raw = self._one(path, method_upper)
        clean = normalise(path)
        if clean != path:
            other = self._one(clean, method_upper)
            if other.operation != raw.operation:
                first, second = (
                    (other, raw) if strictness(other.operation) > strictness(raw.operation)
                    else (raw, other)
                )
                raw = attrs.evolve(first, alternate=second.operation)
        cache = self._cache
        if len(cache) >= _CACHE_SIZE:
            cache.clear()  # bounded: a flood of unique paths cannot grow it
        cache[key] = raw
        return raw

    def classify_operation(self, path: str, method: str = "GET") -> OperationType:
        """The seeds' call: ``classify_operation('/start_caption_generation', 'POST')``."""
        return self.classify(method, path).operation

    def is_blocked_operation(
        self, operation: OperationType | str, mode: str, method: str | None = None
    ) -> bool:
        from maintguard.policy import is_blocked_operation

        return is_blocked_operation(operation, mode, method)

    def is_safe_method(self, method: str) -> bool:
        return method.upper() in SAFE_METHODS


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
