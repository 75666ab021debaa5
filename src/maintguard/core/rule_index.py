"""The rule index: rules filed by literal prefix, and the lookup of a path in it.

Each rule goes into the bucket of its literal prefix cut at a segment
boundary (``Rule.bucket``). A path looks up ``""``, ``/a``, ``/a/b`` … of
itself and tests only the rules found there, best first, so 1,000 rules
cost about what 10 do. This is the request path: ``_match`` allocates
nothing but the prefixes it slices, and everything it reads from a rule is
unpacked once, when the index is built.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import attrs

from maintguard.core.rules import Classification, Rank, Rule, Source

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
    #: Bytes of text the cache holds (one cell: the index itself is frozen).
    cached_bytes: list[int] = attrs.field(factory=lambda: [0])


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


def _match(index: _Index, path: str, method: str, skip_routes: bool = False) -> Rule | None:
    """The winning rule for one reading, or ``None`` (``skip_routes``: the
    winner among classifier rules, route declarations left out).

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
                if skip_routes and rule.source is Source.ROUTE:
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
