"""Safe trimming: only entries that every consumer group has finished are removed."""

from __future__ import annotations

import logging
from typing import Final

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from streams.config import QueueSettings
from streams.keys import Keys
from streams.messages import now_ms

log = logging.getLogger(__name__)

StreamId = tuple[int, int]
_NONE: Final = (2**64 - 1, 2**64 - 1)


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
    cut = 0
    length = int(await redis.xlen(stream))
    if length > settings.max_len:
        cut = int(await redis.xtrim(stream, maxlen=settings.max_len, approximate=False))
        if cut:
            await redis.hincrby(keys.stats(queue), "cut_by_cap", cut)
            log.warning(
                "stream %s: hard cap %d reached, cut %d entries that were not finished",
                stream,
                settings.max_len,
                cut,
            )
    return removed, cut
