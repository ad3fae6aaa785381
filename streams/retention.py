"""Safe trimming: only entries that every consumer group has finished are removed."""

from __future__ import annotations

import logging
from typing import Final

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from streams.config import QueueSettings
from streams.keys import Keys
from streams.messages import now_ms
from streams.scripts import source

log = logging.getLogger(__name__)

StreamId = tuple[int, int]
_NONE: Final = (2**64 - 1, 2**64 - 1)
CAP_PAGE: Final = 1_000  # entries the hard cap cuts per script call


def parse_id(raw: bytes | str) -> StreamId:
    text = raw.decode() if isinstance(raw, bytes) else raw
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


def format_id(sid: StreamId) -> str:
    return f"{sid[0]}-{sid[1]}"


def next_id(sid: StreamId) -> StreamId:
    return (sid[0] + 1, 0) if sid[1] == 2**64 - 1 else (sid[0], sid[1] + 1)


async def oldest_needed_id(redis: Redis, stream: str) -> StreamId | None:
    """Return the smallest id some group still needs (unread or unacknowledged), or None.

    None means no group exists, so nothing is known to be finished.
    """
    try:
        groups = await redis.xinfo_groups(stream)
    except ResponseError:
        return None  # no such stream
    if not groups:
        return None
    needed = _NONE
    for group in groups:
        needed = min(needed, next_id(parse_id(group["last-delivered-id"])))
        if group["pending"]:
            # Read apart from XINFO: the last pending entries may be acknowledged in between,
            # and then the summary has no min (nothing pending is nothing needed).
            summary = await redis.xpending(stream, group["name"])
            if summary["min"] is not None:
                needed = min(needed, parse_id(summary["min"]))
    return needed


async def trim(
    redis: Redis, keys: Keys, queue: str, settings: QueueSettings, *, now: int | None = None
) -> tuple[int, int]:
    """Trim finished entries older than the retention, then apply the hard cap.

    Returns (finished entries removed, unread or unacknowledged entries cut by the cap).
    Finished entries the cap cuts before their retention ends count as removed.
    `now` (ms since the epoch) is the clock, injectable for tests.
    """
    stream = keys.stream(queue)
    removed = 0
    needed = await oldest_needed_id(redis, stream)
    if needed is not None:
        cutoff = min(
            needed, (max((now_ms() if now is None else now) - settings.retention_ms, 0), 0)
        )
        removed = int(await redis.xtrim(stream, minid=format_id(cutoff), approximate=False))
    finished, unfinished = await _apply_cap(redis, keys, queue, settings.max_len)
    if unfinished:
        log.warning(
            "stream %s: hard cap %d reached, cut %d entries that were not finished",
            stream,
            settings.max_len,
            unfinished,
        )
    return removed + finished, unfinished


async def _apply_cap(redis: Redis, keys: Keys, queue: str, max_len: int) -> tuple[int, int]:
    """Cut the oldest entries beyond max_len, a page per script call so Redis never stalls.

    Returns (finished entries cut, unfinished entries cut); see lua/trim_cap.lua.
    """
    stream = keys.stream(queue)
    excess = int(await redis.xlen(stream)) - max_len
    if excess <= 0:
        return 0, 0
    script = redis.register_script(source("trim_cap"))
    finished = unfinished = 0
    # Bounded: entries arriving meanwhile wait for the next round rather than keep us here.
    for _ in range(excess // CAP_PAGE + 1):
        cut, counted, over = await script(
            keys=[stream, keys.stats(queue)], args=[max_len, CAP_PAGE]
        )
        finished += int(cut) - int(counted)
        unfinished += int(counted)
        if not int(over):
            break
    return finished, unfinished


async def trim_dead(
    redis: Redis, keys: Keys, queue: str, settings: QueueSettings, *, now: int | None = None
) -> tuple[int, int]:
    """Drop dead letters older than DEAD_RETENTION_MS, then cap them at DEAD_MAX_LEN.

    A dead letter's id is the time it was dead-lettered. Returns (expired, cut by the cap);
    the cap's cuts are counted in the stats field dead_cut_by_cap.
    """
    dead = keys.dead(queue)
    cutoff = max((now_ms() if now is None else now) - settings.dead_retention_ms, 0)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.xtrim(dead, minid=format_id((cutoff, 0)), approximate=False)
        pipe.xtrim(dead, maxlen=settings.dead_max_len, approximate=False)
        expired, cut = await pipe.execute()
    if cut:
        await redis.hincrby(keys.stats(queue), "dead_cut_by_cap", int(cut))
        log.warning(
            "stream %s: dead-letter cap %d reached, cut the %d oldest dead letters",
            dead,
            settings.dead_max_len,
            int(cut),
        )
    return int(expired), int(cut)
