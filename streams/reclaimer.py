"""Finding and claiming entries whose consumer went silent past the visibility timeout.

An entry is eligible once idle for the visibility timeout: its consumer died, or it failed
and its retry delay has passed (a failed entry is parked with its idle time set so that it
becomes eligible exactly when the backoff ends; see lua/settle_failure.lua).
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

Entry = tuple[str, dict[bytes, bytes], int]  # id, fields, attempt number


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def reclaim(
    redis: Redis, stream: str, group: str, consumer: str, *, min_idle_ms: int, count: int
) -> list[Entry]:
    """Claim up to count eligible entries for consumer; return them with their attempt number.

    Entries deleted from the stream meanwhile are dropped from the pending list by the
    server (Redis >= 7) and not returned.
    """
    rows = await redis.xpending_range(
        stream, group, min="-", max="+", count=count, idle=min_idle_ms
    )
    if not rows:
        return []
    deliveries = {_text(row["message_id"]): int(row["times_delivered"]) for row in rows}
    claimed: Any = await redis.xclaim(stream, group, consumer, min_idle_ms, list(deliveries))
    # XCLAIM counts this delivery, so the attempt is one more than XPENDING reported.
    return [
        (_text(entry_id), fields, deliveries[_text(entry_id)] + 1)
        for entry_id, fields in claimed
        if fields is not None
    ]
