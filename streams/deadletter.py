"""The dead-letter stream of a queue: its entry format, listing, replay and purge.

A dead letter keeps the original entry's fields and adds:

    dead_id        the original entry id
    dead_error     the error type, a colon, the message (truncated)
    dead_attempts  how many times the entry was delivered
    dead_at        when it was dead-lettered, milliseconds since the epoch
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import msgspec
from redis.asyncio import Redis

from streams.keys import Keys

DEAD_FIELDS: Final = (b"dead_id", b"dead_error", b"dead_attempts", b"dead_at")
MAX_ERROR_LENGTH: Final = 1_000


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    """One dead-lettered message as operators see it."""

    id: str
    original_id: str
    type: str | None
    data: str | None
    error: str
    attempts: int
    dead_at_ms: int


def describe_error(exc: BaseException) -> str:
    """Describe an error for a log line and a dead letter; never raises, at most 1,000 characters."""
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001  # a broken __str__ must not lose the entry
        message = "<unprintable message>"
    text = f"{type(exc).__name__}: {message[:MAX_ERROR_LENGTH]}"
    # Lone surrogates (bytes decoded with surrogateescape) can't be sent to Redis as UTF-8.
    text = text.encode(errors="backslashreplace").decode()
    return text if len(text) <= MAX_ERROR_LENGTH else text[: MAX_ERROR_LENGTH - 3] + "..."


def _text(fields: dict[bytes, bytes], name: bytes) -> str | None:
    value = fields.get(name)
    return None if value is None else value.decode(errors="replace")


def parse(entry_id: bytes | str, fields: dict[bytes, bytes]) -> DeadLetter:
    def number(name: bytes) -> int:
        try:
            return int(fields.get(name, b"0"))
        except ValueError:
            return 0

    return DeadLetter(
        id=entry_id.decode() if isinstance(entry_id, bytes) else entry_id,
        original_id=_text(fields, b"dead_id") or "",
        type=_text(fields, b"type"),
        data=_text(fields, b"data"),
        error=_text(fields, b"dead_error") or "",
        attempts=number(b"dead_attempts"),
        dead_at_ms=number(b"dead_at"),
    )


async def list_dead(redis: Redis, keys: Keys, queue: str, limit: int = 100) -> list[DeadLetter]:
    """Return up to limit dead letters, oldest first."""
    entries: list[tuple[bytes, dict[bytes, bytes]]] = await redis.xrange(
        keys.dead(queue), count=limit
    )  # type: ignore[assignment]  # redis-py types replies loosely
    return [parse(entry_id, fields) for entry_id, fields in entries]


async def count_dead(redis: Redis, keys: Keys, queue: str) -> int:
    return int(await redis.xlen(keys.dead(queue)))


_REPLAY: Final = """
-- KEYS[1] dead-letter stream, KEYS[2] queue stream; ARGV dead-letter ids (none: all).
-- Re-publishes each dead letter's original fields and deletes it, atomically.
local ids = ARGV
if #ids == 0 then
  ids = {}
  for _, e in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) do ids[#ids + 1] = e[1] end
end
local moved = 0
for _, id in ipairs(ids) do
  local found = redis.call('XRANGE', KEYS[1], id, id)
  if #found == 1 then
    local fields, out = found[1][2], {}
    for i = 1, #fields, 2 do
      if string.sub(fields[i], 1, 5) ~= 'dead_' then
        out[#out + 1] = fields[i]; out[#out + 1] = fields[i + 1]
      end
    end
    -- A dead letter whose original entry was already gone has nothing to replay.
    if #out > 0 then
      redis.call('XADD', KEYS[2], '*', unpack(out))
      redis.call('XDEL', KEYS[1], id)
      moved = moved + 1
    end
  end
end
return moved
"""


async def replay(redis: Redis, keys: Keys, queue: str, ids: Sequence[str] = ()) -> int:
    """Move dead letters (the given ids, or all) back to the queue; return how many moved.

    Replayed messages get new entry ids and a fresh attempt count.
    """
    script = redis.register_script(_REPLAY)
    return int(await script(keys=[keys.dead(queue), keys.stream(queue)], args=list(ids)))


async def purge(redis: Redis, keys: Keys, queue: str) -> int:
    """Delete every dead letter of a queue; return how many there were."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.xlen(keys.dead(queue))
        pipe.delete(keys.dead(queue))
        count, _ = await pipe.execute()
    return int(count)
