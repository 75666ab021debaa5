"""Classify a request (method, path) into an operation type.

Two kinds of rule. A *prefix* rule ``/admin`` matches ``/admin`` and
``/admin/…`` on whole segments only. A *regex* rule (the seeds' form,
``r"/api/custom/.*"``) is a full match. All rules are compiled once into an
index keyed by literal prefix, cut at a segment boundary: classifying a path
looks up each of its leading segment prefixes in a dict and tests only the
few rules found there, so 1,000 rules cost about what 10 do.

The most specific rule wins (longest literal prefix); at equal specificity a
route declaration beats a custom rule, which beats a default one, and among
equals the rule added first wins (as in a router). A route declaration beats
every rule whatever its specificity.
"""

from __future__ import annotations

import enum
import re
import threading
from collections.abc import Callable, Iterable

import attrs

from maintguard.core.operations import OperationType
from maintguard.core.paths import MAX_PATH, normalise
from maintguard.core.policy import SAFE_METHODS, is_blocked_operation, strictness
from maintguard.exceptions import ConfigurationError

#: Methods a "non-GET" default rule does not apply to.
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_CACHE_SIZE = 8192
_REGEX_META = frozenset(".^$*+?{}[]()|")
#: Characters that make a pattern a regex; a lone "." does not (``/favicon.ico``).
_REGEX_MARKERS = frozenset("^$*+?{}[]()|\\")
_QUANTIFIERS = frozenset("*?{")
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


def literal_prefix(pattern: str) -> str:
    """The text every full match of ``pattern`` starts with.

    Conservative: stops at the first metacharacter; drops a character a
    quantifier makes optional; gives up (``""``) on a top-level alternation,
    whose branches need not share a prefix (one inside a group comes after
    the first metacharacter, ``(``, so it cannot shorten the prefix).
    """
    if "|" in pattern and _top_level_alternation(pattern):
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


def _ends_a_segment(pattern: str, literal: str) -> bool:
    """Whether every full match of ``pattern`` has ``literal`` as a whole
    leading segment prefix: the literal is written out plainly and followed
    by the end, by ``/?`` and the end, or by a ``/`` that is not optional
    (``^/search$``, ``/search/?$``, ``^/search/[^/]+$``)."""
    rest = pattern[1:] if pattern.startswith("^") else pattern
    if not literal or literal.endswith("/") or not rest.startswith(literal):
        return False
    after = rest[len(literal) :]
    if after in ("", "$", "/?$", "/?"):
        return True
    return after.startswith("/") and after[1:2] not in ("*", "?", "{")


def _top_level_alternation(pattern: str) -> bool:
    """Whether ``pattern`` has a ``|`` outside every group and class."""
    depth = 0
    i = 0
    in_class = False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            i += 1 + (pattern[i + 1 : i + 2] == "^")
            if pattern[i : i + 1] == "]":
                i += 1  # a ']' first in a class is literal: []|] or [^]|]
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif char == "|" and depth == 0:
            return True
        i += 1
    return False


Matcher = Callable[[str], "re.Match[str] | None"]
#: One bucket entry: everything ``_match`` reads, unpacked once at build time.
Entry = tuple[Rank, Rule, "Matcher | None", "frozenset[str] | None", frozenset[str]]


@attrs.frozen
class _Index:
    """Rules compiled for lookup, with the cache of answers they give.

    Replaced as a whole when a rule is added, so a request in flight reads
    one consistent index and never caches an answer into a newer one.
    """

    #: Bucket key -> its rules, best first.
    buckets: dict[str, tuple[Entry, ...]]
    #: Every key and each of its leading segment prefixes: a path prefix
    #: outside this set has no bucket under it, so the lookup stops there.
    stems: frozenset[str]
    cache: dict[tuple[str, str], Classification] = attrs.field(factory=dict)


def _stems(key: str) -> Iterable[str]:
    """``/a``, ``/a/b`` of ``/a/b``, cut exactly as ``_match`` cuts a path."""
    end = 0
    while end != -1:
        end = key.find("/", end + 1)
        yield key if end == -1 else key[:end]


def _build_index(rules: Iterable[Rule]) -> _Index:
    buckets: dict[str, list[Entry]] = {}
    for rule in rules:
        matcher = rule.regex.fullmatch if rule.regex is not None else None
        entry: Entry = (rule.rank, rule, matcher, rule.methods, rule.except_methods)
        buckets.setdefault(rule.bucket, []).append(entry)
    # Best first: the first rule that applies in a bucket is that bucket's answer.
    ordered = {
        key: tuple(sorted(entries, key=lambda entry: entry[0], reverse=True))
        for key, entries in buckets.items()
    }
    stems = frozenset(stem for key in buckets for stem in _stems(key))
    return _Index(ordered, stems)


_NO_RANK: Rank = (False, -1, -1, 0)


def _match(index: _Index, path: str, method: str) -> Rule | None:
    """The winning rule for one reading, or ``None``.

    Looks up ``""``, ``/a``, ``/a/b`` … of ``/a/b/c`` in turn, stopping at
    the first prefix that no bucket key starts with.
    """
    buckets = index.buckets
    stems = index.stems
    best: Rule | None = None
    best_rank = _NO_RANK
    key = ""
    end = 0
    while True:
        entries = buckets.get(key)
        if entries is not None:
            for rank, rule, matcher, methods, excluded in entries:
                if rank <= best_rank:
                    break  # sorted: nothing further in this bucket can win
                if method in excluded or (methods is not None and method not in methods):
                    continue
                if matcher is not None and matcher(path) is None:
                    continue
                best, best_rank = rule, rank
                break
        if end == -1:
            return best
        end = path.find("/", end + 1)
        key = path if end == -1 else path[:end]
        if key not in stems:
            return best


def _fallback(method: str) -> OperationType:
    """No rule matched: any other GET/HEAD is a read, anything else unknown."""
    if method == "GET" or method == "HEAD":
        return OperationType.READ_OPERATIONS
    return OperationType.UNKNOWN


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


class OperationClassifier:
    """Rules from (method, path) to ``OperationType``, compiled into an index.

    ``OperationClassifier(defaults=False)`` starts empty. Rules are added at
    start-up; a bad pattern or an unknown type raises ``ConfigurationError``.
    """

    def __init__(self, *, defaults: bool = True) -> None:
        self._rules: list[Rule] = []
        self._index = _build_index(())
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
        methods: Iterable[str] | str | None = None,
        *,
        kind: str | None = None,
    ) -> Rule:
        """Add a rule. ``pattern`` is a regex when it contains regex syntax
        (``/api/custom/.*``), else a whole-segment prefix (``/api/custom``);
        ``kind="prefix"`` or ``"regex"`` says so explicitly. ``methods``
        limits the rule to those methods (``"POST"`` or ``["PUT", "PATCH"]``).
        """
        operation = _operation(pattern, operation_type)
        return self._add(pattern, operation, methods, frozenset(), Source.CUSTOM, kind)

    def add_route(
        self,
        pattern: str,
        operation_type: OperationType | str,
        methods: Iterable[str] | str | None = None,
        *,
        kind: str | None = None,
    ) -> Rule:
        """A route's own declaration (framework integrations); beats every rule."""
        operation = _operation(pattern, operation_type)
        return self._add(pattern, operation, methods, frozenset(), Source.ROUTE, kind)

    def _add(
        self,
        pattern: str,
        operation: OperationType,
        methods: Iterable[str] | str | None,
        except_methods: frozenset[str],
        source: Source,
        kind: str | None = None,
    ) -> Rule:
        if not isinstance(pattern, str) or not pattern.startswith(("/", "^/")):
            raise ConfigurationError(f"rule pattern {pattern!r} must start with '/'")
        method_set = _methods(pattern, methods)
        if kind not in (None, "prefix", "regex"):
            raise ConfigurationError(f"rule {pattern!r}: kind must be 'prefix' or 'regex'")
        if kind is None:
            kind = "regex" if any(c in _REGEX_MARKERS for c in pattern) else "prefix"
        with self._lock:
            order = len(self._rules)
            if kind == "regex":
                compiled = _compile(pattern)
                literal = "" if compiled.flags & _NON_LITERAL_FLAGS else literal_prefix(pattern)
                rule = Rule(
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
            else:
                if not pattern.startswith("/"):
                    raise ConfigurationError(f"prefix rule {pattern!r} must start with '/'")
                rule = Rule(
                    pattern,
                    operation,
                    "prefix",
                    source,
                    order,
                    _prefix_literal(pattern),
                    method_set,
                    except_methods,
                )
            self._rules.append(rule)
            self._index = _build_index(self._rules)
        return rule

    def match_rule(self, path: str, method: str) -> Rule | None:
        """The rule that wins for one reading of ``path`` (no normalisation),
        or ``None`` when the fallback applies. ``method`` is upper case."""
        return _match(self._index, path, method)

    def classify(self, method: str, path: str) -> Classification:
        """Classify both readings of ``path``; the stricter wins.

        ``path`` is the router's path (already decoded once by the server,
        relative to the mount point). Never raises on any string.
        """
        index = self._index
        key = (method, path)
        found = index.cache.get(key)
        if found is not None:
            return found
        method = method.upper()
        rule = _match(index, path, method)
        operation = _fallback(method) if rule is None else rule.operation
        clean = normalise(path)
        if clean == path:
            found = Classification(operation, rule, path)
        else:
            other = _match(index, clean, method)
            other_operation = _fallback(method) if other is None else other.operation
            if other_operation == operation:
                found = Classification(operation, rule, path)
            elif strictness(other_operation) > strictness(operation):
                found = Classification(other_operation, other, clean, operation)
            else:
                found = Classification(operation, rule, path, other_operation)
        if len(path) <= MAX_PATH:
            cache = index.cache
            if len(cache) >= _CACHE_SIZE:
                cache.clear()  # bounded: a flood of unique paths cannot grow it
            cache[key] = found
        return found

    def classify_operation(self, path: str, method: str = "GET") -> OperationType:
        """The seeds' call: ``classify_operation('/start_caption_generation', 'POST')``."""
        return self.classify(method, path).operation

    def is_blocked_operation(
        self, operation: OperationType | str, mode: str, method: str | None = None
    ) -> bool:
        """The seeds' call; see ``maintguard.core.policy.is_blocked_operation``."""
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
