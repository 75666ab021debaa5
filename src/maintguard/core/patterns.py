"""What a regex rule's text promises about every path it matches.

``literal_prefix`` reads the text all full matches start with, and
``_ends_a_segment`` whether that text is a whole leading segment prefix.
The rule index keys on these, so they are conservative: a wrong "yes" would
file a rule where a path never looks for it, a "no" only costs a lookup.
Pure text analysis; nothing here knows about rules.
"""

from __future__ import annotations

_REGEX_META = frozenset(".^$*+?{}[]()|")
_QUANTIFIERS = frozenset("*?{")


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
