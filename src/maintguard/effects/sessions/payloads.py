"""What every session store shares: the report, the payload decoders, the judge.

Holds ``InvalidationReport`` and ``REASON`` (here rather than in
``__init__`` so the store modules need not import the package that imports
them), the decoder chain that reads a stored payload without ever
unpickling it, the default administrator rule, and the per-run helpers the
stores use to judge, count and log a batch.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from maintguard.exceptions import ConfigurationError
from maintguard.logs import maintenance as log_line

logger = logging.getLogger("maintguard")

#: The ``reason`` every invalidation line carries (the seeds' wording).
REASON = "maintenance_activation"

SessionDecoder = Callable[[bytes], "Mapping[str, Any] | None"]
"""Turns a stored value into a dict, or returns None (or raises) if it cannot."""

AdminPredicate = Callable[[Mapping[str, Any]], bool]
"""Says whether a decoded session payload belongs to an administrator."""


@attrs.frozen
class InvalidationReport:
    """What an invalidation did.

    ``failed`` counts sessions chosen for invalidation whose deletion was not
    confirmed; ``complete`` is False when the run stopped early (outage);
    ``simulated`` marks a dry run (test mode), which deletes nothing.
    """

    invalidated: int
    kept_admin: int
    failed: int
    complete: bool
    simulated: bool = False

    def __add__(self, other: InvalidationReport) -> InvalidationReport:
        if not isinstance(other, InvalidationReport):
            return NotImplemented
        return InvalidationReport(
            invalidated=self.invalidated + other.invalidated,
            kept_admin=self.kept_admin + other.kept_admin,
            failed=self.failed + other.failed,
            complete=self.complete and other.complete,
            # Simulated only if nothing real happened in either part.
            simulated=self.simulated and other.simulated,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "invalidated": self.invalidated,
            "kept_admin": self.kept_admin,
            "failed": self.failed,
            "complete": self.complete,
            "simulated": self.simulated,
        }


# --- payloads ---------------------------------------------------------------


def decode_json(value: bytes) -> Mapping[str, Any] | None:
    """A JSON object (also Flask-Session with ``SESSION_SERIALIZATION_FORMAT=json``)."""
    if value.lstrip()[:1] != b"{":
        return None
    try:
        data = json.loads(value)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def decode_msgpack(value: bytes) -> Mapping[str, Any] | None:
    """A msgpack map: Flask-Session ≥ 0.6 stores ``msgspec.msgpack.encode(dict(session))``."""
    try:
        import msgspec
    except ImportError:
        return None
    try:
        data = msgspec.msgpack.decode(value)
    except (msgspec.DecodeError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


#: The default chain: JSON first (cheap to rule out), then msgpack.
DEFAULT_DECODERS: tuple[SessionDecoder, ...] = (decode_json, decode_msgpack)


def is_pickle(value: bytes) -> bool:
    """Pickle protocol ≥ 2, bare or behind cachelib's ``!`` marker: never loaded."""
    return value[:1] == b"\x80" or value[:2] == b"!\x80"


def decode_session(
    value: bytes, decoders: Sequence[SessionDecoder] = DEFAULT_DECODERS
) -> Mapping[str, Any] | None:
    """The payload as a dict, or None when no decoder can read it."""
    if not value or is_pickle(value):
        return None
    for decoder in decoders:
        payload = _apply(decoder, value)
        if isinstance(payload, Mapping):
            return payload
    return None


def _apply(decoder: SessionDecoder, value: bytes) -> object:
    try:
        return decoder(value)
    except Exception:  # a decoder that chokes simply does not apply
        return None


def default_is_admin(payload: Mapping[str, Any]) -> bool:
    """``"role": "admin"`` (any case) or ``"is_admin": true``, at the top level
    or inside a ``user`` / ``_user`` object."""
    candidates = (payload, payload.get("user"), payload.get("_user"))
    return any(isinstance(c, Mapping) and _claims_admin(c) for c in candidates)


def _claims_admin(data: Mapping[str, Any]) -> bool:
    role = data.get("role")
    if isinstance(role, str) and role.strip().casefold() == "admin":
        return True
    return data.get("is_admin") is True


def fingerprint(key: bytes | str) -> str:
    """A short one-way name for a session key, safe to log (the key is a secret)."""
    raw = key.encode("utf-8", "surrogateescape") if isinstance(key, str) else key
    return hashlib.sha256(raw).hexdigest()[:12]


# --- shared by the stores ---------------------------------------------------


@attrs.define
class Judge:
    """Decides, for one run, whether a stored session is an administrator's."""

    decoders: Sequence[SessionDecoder]
    is_admin: AdminPredicate
    predicate_errors: int = 0

    def payload_is_admin(self, payload: Mapping[str, Any] | None) -> bool:
        if payload is None:
            return False  # unreadable is never an admin's
        try:
            return bool(self.is_admin(payload))
        except Exception:
            # Failing safe: a session we cannot vouch for is ended.
            self.predicate_errors += 1
            return False

    def value_is_admin(self, value: bytes | str | memoryview | None) -> bool:
        if value is None:
            return False
        if isinstance(value, str):
            value = value.encode("utf-8", "surrogateescape")
        return self.payload_is_admin(decode_session(bytes(value), self.decoders))

    def stored_is_admin(self, value: object) -> bool:
        """A value as read from Redis: bytes, a hash as a dict, or None (unreadable)."""
        if isinstance(value, Mapping):
            return self.payload_is_admin(value)
        return self.value_is_admin(value if isinstance(value, bytes) else None)

    def report_errors(self) -> None:
        if self.predicate_errors:
            log_line(
                "Admin check failed",
                logging.WARNING,
                sessions=self.predicate_errors,
                outcome="treated as non-admin",
            )


@attrs.define
class Tally:
    invalidated: int = 0
    kept_admin: int = 0
    failed: int = 0

    def report(self, *, complete: bool, simulated: bool) -> InvalidationReport:
        return InvalidationReport(
            self.invalidated, self.kept_admin, self.failed, complete, simulated
        )


def finish(tally: Tally, *, complete: bool, simulated: bool, store: str) -> InvalidationReport:
    report = tally.report(complete=complete, simulated=simulated)
    log_line(
        "Session invalidation simulated" if simulated else "Session invalidation finished",
        logging.INFO if complete else logging.WARNING,
        store=store,
        invalidated=report.invalidated,
        kept_admin=report.kept_admin,
        failed=report.failed,
        complete=str(complete).lower(),
    )
    return report


def log_batch(tally_delta: Tally, removed: Sequence[bytes | str], *, dry_run: bool) -> None:
    if not (tally_delta.invalidated or tally_delta.kept_admin or tally_delta.failed):
        return
    log_line(
        "Sessions would be invalidated" if dry_run else "Sessions invalidated",
        count=tally_delta.invalidated,
        kept_admin=tally_delta.kept_admin,
        failed=tally_delta.failed,
        reason=REASON,
    )
    if not dry_run and logger.isEnabledFor(logging.INFO):
        # The manuals' per-session line; the id is a one-way fingerprint,
        # since a session key is a credential.
        for key in removed:
            log_line(
                "Session invalidated", logging.INFO, session_id=fingerprint(key), reason=REASON
            )


def check_batch_size(batch_size: int) -> int:
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int)
        or not (1 <= batch_size <= 100_000)
    ):
        raise ConfigurationError("batch_size must be an integer between 1 and 100000")
    return batch_size
