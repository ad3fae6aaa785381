"""A worker's periodic housekeeping of one queue: trims, dead-letter retention, idle consumers.

A consumer stays in its group until deleted, so a worker killed without a clean shutdown
(kill -9, SIGKILL after draining) leaves its consumer behind for good. Housekeeping removes
a consumer that holds nothing (no pending entries), has no live worker heartbeat under its
name, and has been idle for CONSUMER_IDLE_MS, or IDLE_FACTOR visibility timeouts when that
is longer. A consumer with pending entries is never removed (its entries would become
unclaimable): lua/forget_consumer.lua checks that and the idle time again and deletes in one
step. The heartbeat check matters because Redis before 7.2 counts a consumer's idle time from
its last read that returned entries, so a live worker on a quiet queue looks idle; it is
outside the script (another cluster slot), and if it ever misses, the consumer held nothing
and Redis recreates it at its next read.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from streams import retention
from streams.config import QueueSettings
from streams.keys import Keys
from streams.outage import is_outage
from streams.scripts import source

log = logging.getLogger(__name__)

IDLE_FACTOR: Final = 10


def forget_after_ms(settings: QueueSettings) -> int:
    """How long a consumer holding nothing may stay idle before it is removed."""
    return max(settings.consumer_idle_ms, IDLE_FACTOR * settings.visibility_timeout_ms)


async def forget_idle_consumers(
    redis: Redis, keys: Keys, queue: str, group: str, min_idle_ms: int
) -> list[str]:
    """Remove the group's consumers left by dead workers (see above); return their names."""
    stream = keys.stream(queue)
    try:
        consumers: list[dict[str, Any]] = await redis.xinfo_consumers(stream, group)
    except ResponseError as exc:
        if is_outage(exc):
            raise
        return []  # no stream or no group yet (or a key of another type): nobody to remove
    idle: dict[bytes, int] = {
        c["name"]: int(c["idle"])
        for c in consumers
        if not int(c["pending"]) and int(c["idle"]) >= min_idle_ms
    }
    if not idle:
        return []
    async with redis.pipeline(transaction=False) as pipe:  # one key each: any cluster slot
        for name in idle:
            pipe.exists(keys.worker(name.decode(errors="replace")))
        beats = await pipe.execute()
    script = redis.register_script(source("forget_consumer"))
    forgotten = []
    for (name, idle_ms), beat in zip(idle.items(), beats, strict=True):
        if not beat and await script(keys=[stream], args=[group, name, min_idle_ms]):
            forgotten.append(name.decode(errors="replace"))
            log.info(
                "queue=%s group=%s: removed consumer %s, idle %.0f s, holding nothing and "
                "without a live worker",
                queue,
                group,
                forgotten[-1],
                idle_ms / 1000,
            )
    return forgotten


async def housekeep(
    redis: Redis, keys: Keys, queue: str, group: str, settings: QueueSettings
) -> None:
    """Trim the stream and the dead letters, and remove consumers left by dead workers."""
    await retention.trim(redis, keys, queue, settings)
    await retention.trim_dead(redis, keys, queue, settings)
    await forget_idle_consumers(redis, keys, queue, group, forget_after_ms(settings))
