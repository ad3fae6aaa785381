"""The consumer group of a queue: create it when missing, and name a key of the wrong type."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from streams.errors import StreamsError
from streams.outage import error_code, is_outage


async def ensure_group(redis: Redis, stream: str, group: str) -> None:
    """Create the consumer group (and the stream) if missing, reading from the beginning.

    Raises StreamsError when the stream key holds another type of value.
    """
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as exc:
        code = error_code(exc)
        if code == "BUSYGROUP":
            return
        if code == "WRONGTYPE":
            raise await wrong_type(redis, stream) from None
        # A full or read-only Redis refuses XGROUP CREATE even when the group exists.
        if is_outage(exc) and await _group_exists(redis, stream, group):
            return
        raise


async def _group_exists(redis: Redis, stream: str, group: str) -> bool:
    try:
        groups: Any = await redis.xinfo_groups(stream)
    except ResponseError:
        return False  # no such stream
    return any(g["name"] == group.encode() for g in groups)


async def wrong_type(redis: Redis, key: str) -> StreamsError:
    """The error for a queue key that holds something other than a stream."""
    kind = await redis.type(key)
    kind = kind.decode() if isinstance(kind, bytes) else str(kind)
    return StreamsError(
        f"key {key!r} holds a {kind}, not a stream, so the queue can't use it; "
        "delete or rename it, or set STREAMS_PREFIX to give the queues other keys"
    )
