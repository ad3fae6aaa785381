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
from redis.asyncio.client import Pipeline

from streams import partitions
from streams.keys import Keys
from streams.scripts import LUA_MAX_VALUES
from streams.transaction import transaction

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
    partition: str | None = None  # of a partitioned queue (streams.partitions); else null


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


async def _parts(redis: Redis, keys: Keys, queue: str) -> list[Keys]:
    """The key views of every partition of queue (one, for a queue never partitioned)."""
    return [keys.of(p) for p in await partitions.in_use(redis, keys, queue)]


async def list_dead(redis: Redis, keys: Keys, queue: str, limit: int = 100) -> list[DeadLetter]:
    """Return up to limit dead letters of every partition, oldest first."""
    views = await _parts(redis, keys, queue)
    letters: list[DeadLetter] = []
    for view in views:
        entries: list[tuple[bytes, dict[bytes, bytes]]] = await redis.xrange(
            view.dead(queue), count=limit
        )  # type: ignore[assignment]  # redis-py types replies loosely
        label = None if len(views) == 1 else partitions.label(view.partition)
        letters += [
            msgspec.structs.replace(parse(entry_id, fields), partition=label)
            for entry_id, fields in entries
        ]
    letters.sort(key=lambda d: (d.dead_at_ms, d.id))
    return letters[:limit]


async def count_dead(redis: Redis, keys: Keys, queue: str) -> int:
    return sum([int(await redis.xlen(v.dead(queue))) for v in await _parts(redis, keys, queue)])


async def delete(redis: Redis, keys: Keys, queue: str, ids: Sequence[str]) -> int:
    """Delete the given dead letters (from whichever partition holds them); return how many."""
    views = await _parts(redis, keys, queue)
    return sum([int(await redis.xdel(v.dead(queue), *ids)) for v in views])


REPLAY_PAGE: Final = 100

# Entries with more fields than Lua's unpack() can pass (scripts.LUA_MAX_VALUES) are left to the
# client: the script returns their ids after the count.
_REPLAY: Final = """
-- KEYS[1] dead-letter stream, KEYS[2] queue stream; ARGV[1] the most values Lua may unpack,
-- ARGV[2..] dead-letter ids. Re-publishes each dead letter's original fields and deletes it,
-- atomically. Returns {moved, id of each dead letter too big to copy here, ...}.
local moved, too_big = 0, {}
for n = 2, #ARGV do
  local id = ARGV[n]
  local found = redis.call('XRANGE', KEYS[1], id, id)
  if #found == 1 then
    local fields, out = found[1][2], {}
    for i = 1, #fields, 2 do
      if string.sub(fields[i], 1, 5) ~= 'dead_' then
        out[#out + 1] = fields[i]; out[#out + 1] = fields[i + 1]
      end
    end
    -- A dead letter whose original entry was already gone has nothing to replay.
    if #out > tonumber(ARGV[1]) then
      too_big[#too_big + 1] = id
    elseif #out > 0 then
      redis.call('XADD', KEYS[2], '*', unpack(out))
      redis.call('XDEL', KEYS[1], id)
      moved = moved + 1
    end
  end
end
return {moved, unpack(too_big)}
"""


async def replay(redis: Redis, keys: Keys, queue: str, ids: Sequence[str] = ()) -> int:
    """Move dead letters (the given ids, or all) back to the queue; return how many moved.

    Replayed messages get new entry ids and a fresh attempt count, on the partition their
    dead letter is in. Each move is atomic; the work goes in pages of REPLAY_PAGE so a long
    dead-letter stream never blocks Redis. "All" means the dead letters there when the call
    starts, not those that arrive meanwhile.
    """
    return sum([await _replay_one(redis, v, queue, ids) for v in await _parts(redis, keys, queue)])


async def _replay_one(redis: Redis, keys: Keys, queue: str, ids: Sequence[str]) -> int:
    dead, stream = keys.dead(queue), keys.stream(queue)
    script = redis.register_script(_REPLAY)

    async def move(page: Sequence[str | bytes]) -> int:
        moved, *too_big = await script(keys=[dead, stream], args=[LUA_MAX_VALUES, *page])
        for entry_id in too_big:
            moved += await _replay_big(redis, dead, stream, entry_id)
        return int(moved)

    if ids:
        return sum([await move(ids[i : i + REPLAY_PAGE]) for i in range(0, len(ids), REPLAY_PAGE)])
    newest: list[tuple[bytes, object]] = await redis.xrevrange(dead, count=1)  # type: ignore[assignment]  # loosely typed reply
    if not newest:
        return 0
    last_id, lower, moved = newest[0][0], b"-", 0
    while True:
        page: list[tuple[bytes, object]] = await redis.xrange(  # type: ignore[assignment]
            dead, min=lower, max=last_id, count=REPLAY_PAGE
        )
        if not page:
            return moved
        moved += await move([entry_id for entry_id, _ in page])
        lower = b"(" + page[-1][0]


async def _replay_big(redis: Redis, dead: str, stream: str, entry_id: bytes) -> int:
    """Replay one dead letter too big for Lua: WATCH the stream, copy and delete in MULTI/EXEC."""

    async def read(pipe: Pipeline) -> dict[bytes, bytes] | None:
        found: list[tuple[bytes, dict[bytes, bytes]]] = await pipe.xrange(  # type: ignore[assignment]
            dead, entry_id, entry_id
        )
        return found[0][1] if found else None

    def write(pipe: Pipeline, letter: dict[bytes, bytes] | None) -> int:
        if letter is None:
            return 0  # replayed by someone else meanwhile
        fields = {k: v for k, v in letter.items() if not k.startswith(b"dead_")}
        pipe.xadd(stream, fields)  # type: ignore[arg-type]  # FieldT is invariant
        pipe.xdel(dead, entry_id)
        return 1

    what = f"replaying dead letter {entry_id.decode()} of {stream}"
    return await transaction(redis, [dead], read, write, what=what)


async def purge(redis: Redis, keys: Keys, queue: str) -> int:
    """Delete every dead letter of a queue (every partition); return how many there were."""
    return sum([await _purge_one(redis, v, queue) for v in await _parts(redis, keys, queue)])


async def _purge_one(redis: Redis, keys: Keys, queue: str) -> int:
    async with redis.pipeline(transaction=True) as pipe:
        pipe.xlen(keys.dead(queue))
        # Freed in the background: a big stream would block Redis. The raw command, because a
        # cluster pipeline runs pipe.unlink() at once instead of queueing it.
        pipe.execute_command("UNLINK", keys.dead(queue))
        count, _ = await pipe.execute()
    return int(count)
