"""What the Redis store keeps where, in which form, and the scripts that change it.

Keys (``{prefix}`` is ``key_prefix``, default ``maintguard``):

- ``{prefix}:state`` — the state, ``MaintenanceState.to_dict()`` as JSON;
- ``{prefix}:audit`` — a stream of audit records, trimmed to about
  ``audit_limit`` entries (``MAXLEN ~`` keeps at least that many);
- ``{prefix}:changes`` — the pub/sub channel a change publishes its version on;
- ``{prefix}:attempts:{epoch}`` — one hash per epoch holding its counters;
  each expires on its own ``ATTEMPTS_TTL`` after its last write.

The Lua scripts run server-side so that each change is atomic and costs one
round trip; the decoders below read back what they and the store wrote.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from maintguard.exceptions import CorruptStateError

#: Counters of a maintenance outlive their last write by this long, so the
#: hash of a maintenance nobody reports on any more goes away on its own.
ATTEMPTS_TTL = 30 * 24 * 3600
#: Marker the scripts put in an error reply about a stored value they cannot read.
_CORRUPT = "MAINTGUARD_CORRUPT"


@dataclass(frozen=True)
class Keys:
    """The key names of one store, all under its ``key_prefix``."""

    state: str
    audit: str
    channel: str
    attempts: str

    @classmethod
    def for_prefix(cls, prefix: str) -> Keys:
        return cls(
            state=f"{prefix}:state",
            audit=f"{prefix}:audit",
            channel=f"{prefix}:changes",
            attempts=f"{prefix}:attempts",
        )

    def attempts_of(self, epoch: str) -> str:
        """The hash holding one epoch's counters and samples."""
        return f"{self.attempts}:{epoch}"


# KEYS: state, audit stream. ARGV: expected version, state JSON, audit record
# JSON, audit limit, channel, new version. Returns 1 when written, 0 when the
# version did not match.
_CAS_SCRIPT = """
local raw = redis.call('GET', KEYS[1])
local current = 0
if raw then
  local ok, decoded = pcall(cjson.decode, raw)
  if not ok or type(decoded) ~= 'table' or type(decoded['version']) ~= 'number' then
    return redis.error_reply('MAINTGUARD_CORRUPT stored state is not valid JSON with a version')
  end
  current = decoded['version']
end
if current ~= tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'record', ARGV[3])
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 1
"""

# ARGV: epoch, ttl, sample limit, then "n, (field, increment) * n" for the
# counters, then "m, (field, JSON list of paths) * m" for the samples. KEYS[1]
# is the epoch's own hash, so batches of different epochs never meet.
_RECORD_SCRIPT = """
local key = KEYS[1]
local limit = tonumber(ARGV[3])
local i = 4
local n = tonumber(ARGV[i])
i = i + 1
for _ = 1, n do
  redis.call('HINCRBY', key, ARGV[i], ARGV[i + 1])
  i = i + 2
end
n = tonumber(ARGV[i])
i = i + 1
for _ = 1, n do
  local field = ARGV[i]
  local incoming = cjson.decode(ARGV[i + 1])
  i = i + 2
  local kept = {}
  local raw = redis.call('HGET', key, field)
  if raw then
    kept = cjson.decode(raw)
  end
  local seen = {}
  for _, path in ipairs(kept) do
    seen[path] = true
  end
  for _, path in ipairs(incoming) do
    if #kept >= limit then
      break
    end
    if not seen[path] then
      table.insert(kept, path)
      seen[path] = true
    end
  end
  if #kept > 0 then
    redis.call('HSET', key, field, cjson.encode(kept))
  end
end
redis.call('EXPIRE', key, ARGV[2])
return 1
"""


def _text(value: object) -> str:
    """A reply as text, whether or not the client decodes responses."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


def _json(raw: object, what: str) -> Any:
    """A stored JSON value, or ``CorruptStateError`` naming ``what`` it was."""
    if raw is None:
        raise CorruptStateError(f"{what} is missing")
    try:
        return json.loads(raw if isinstance(raw, (str, bytes)) else str(raw))
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptStateError(f"{what} is not valid JSON: {exc}") from None
