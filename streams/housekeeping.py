"""A worker's periodic housekeeping of one queue: stream trim and dead-letter retention."""

from __future__ import annotations

from redis.asyncio import Redis

from streams import retention
from streams.config import QueueSettings
from streams.keys import Keys


async def housekeep(
    redis: Redis, keys: Keys, queue: str, group: str, settings: QueueSettings
) -> None:
    """Trim the stream (retention, hard cap) and the dead letters (retention, cap)."""
    await retention.trim(redis, keys, queue, settings)
    await retention.trim_dead(redis, keys, queue, settings)
