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

``OperationClassifier`` lives here; what a rule is and how a pattern is
compiled live in ``maintguard.core.rules``, the index in
``maintguard.core.rule_index``, the reading of a regex's literal prefix in
``maintguard.core.patterns``. Their public names are re-exported here, where
applications and the other modules import them from.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

from maintguard.core.operations import OperationType
from maintguard.core.paths import CACHE_BYTES, REMEMBER_MAX_BYTES, normalise, text_bytes
from maintguard.core.patterns import literal_prefix as literal_prefix
from maintguard.core.policy import SAFE_METHODS, is_blocked_operation, strictness
from maintguard.core.rule_index import Entry as Entry
from maintguard.core.rule_index import Matcher as Matcher
from maintguard.core.rule_index import _build_index, _Index, _match
from maintguard.core.rules import (
    _READ_METHODS,
    _REGEX_MARKERS,
    _methods,
    _operation,
    compile_rule,
)
from maintguard.core.rules import DEFAULT_RULES as DEFAULT_RULES
from maintguard.core.rules import DEFAULT_SIGNUP_RULES as DEFAULT_SIGNUP_RULES
from maintguard.core.rules import EXEMPT_METHODS as EXEMPT_METHODS
from maintguard.core.rules import Classification as Classification
from maintguard.core.rules import Rank as Rank
from maintguard.core.rules import Rule as Rule
from maintguard.core.rules import Source as Source
from maintguard.exceptions import ConfigurationError

_CACHE_SIZE = 8192


#: Regex syntax left in a route pattern once its anchors and escapes are gone.
_GENERIC = re.compile(r"[.*+?\[\](){}|]")


def _generic(rule: Rule) -> bool:
    """A route pattern that matches more than one path (a converter such as
    ``<index>`` or ``<int:id>``, a host or subdomain flattened away): the
    framework may route some of those paths to another, static route."""
    if rule.kind != "regex":
        return False
    body = re.sub(r"\\.", "", rule.pattern.removeprefix("^").removesuffix("$").removesuffix("\\Z"))
    return _GENERIC.search(body) is not None


def _winner(index: _Index, path: str, method: str) -> Rule | None:
    """The winning rule. A route declaration whose pattern covers many paths
    cannot tell which of them its own route serves (``POST
    /api/search/<index>`` also matches the static ``/api/search/reindex``
    Werkzeug prefers): it may only make a request stricter than the
    classifier's own rules, never looser."""
    rule = _match(index, path, method)
    if rule is None or rule.source is not Source.ROUTE or not _generic(rule):
        return rule
    other = _match(index, path, method, skip_routes=True)
    other_operation = _fallback(method) if other is None else other.operation
    return other if strictness(other_operation) > strictness(rule.operation) else rule


def _fallback(method: str) -> OperationType:
    """No rule matched: any other GET/HEAD is a read, anything else unknown."""
    if method == "GET" or method == "HEAD":
        return OperationType.READ_OPERATIONS
    return OperationType.UNKNOWN


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
                kind = OperationType(operation)
                self._add(
                    pattern,
                    kind,
                    # Health and static exemptions hold for reads only: a POST
                    # under /static may reach a catch-all view.
                    EXEMPT_METHODS if kind is OperationType.HEALTH_CHECK else None,
                    _READ_METHODS if non_get else frozenset(),
                    Source.DEFAULT,
                    "prefix",
                )
            for pattern, operation in DEFAULT_SIGNUP_RULES:
                # Sign-up and password resets write user data: not logins.
                self._add(
                    pattern, OperationType(operation), None, _READ_METHODS, Source.DEFAULT, "regex"
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

    def add_exempt(self, prefix: str) -> Rule:
        """Exempt a path prefix (whole segments) for GET, HEAD and OPTIONS:
        static files, metrics, readiness probes. Other methods under it are
        classified like any path, so a write never hides under an exemption.
        Idempotent: the same prefix twice is one rule."""
        for rule in self._rules:
            if (rule.pattern, rule.methods, rule.source) == (
                prefix,
                frozenset(EXEMPT_METHODS),
                Source.CUSTOM,
            ) and rule.operation is OperationType.HEALTH_CHECK:
                return rule
        return self._add(
            prefix, OperationType.HEALTH_CHECK, EXEMPT_METHODS, frozenset(), Source.CUSTOM, "prefix"
        )

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
            rule = compile_rule(
                pattern, operation, method_set, except_methods, source, kind, len(self._rules)
            )
            self._rules.append(rule)
            self._index = _build_index(self._rules)
        return rule

    def match_rule(self, path: str, method: str) -> Rule | None:
        """The rule that wins for one reading of ``path`` (no normalisation),
        or ``None`` when the fallback applies. ``method`` is upper case."""
        return _winner(self._index, path, method)

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
        rule = _winner(index, path, method)
        operation = _fallback(method) if rule is None else rule.operation
        clean = normalise(path)
        if clean == path:
            found = Classification(operation, rule, path)
        else:
            other = _winner(index, clean, method)
            other_operation = _fallback(method) if other is None else other.operation
            if other_operation == operation:
                found = Classification(operation, rule, path)
            elif strictness(other_operation) > strictness(operation):
                found = Classification(other_operation, other, clean, operation)
            else:
                found = Classification(operation, rule, path, other_operation)
        size = text_bytes(path, clean if clean != path else None)
        if size <= REMEMBER_MAX_BYTES:
            # Bounded in entries and bytes: a flood of unique (long, wide)
            # paths cannot grow it.
            cache, spent = index.cache, index.cached_bytes
            if len(cache) >= _CACHE_SIZE or spent[0] + size > CACHE_BYTES:
                cache.clear()
                spent[0] = 0
            cache[key] = found
            spent[0] += size
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
