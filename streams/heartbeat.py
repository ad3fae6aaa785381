"""Worker heartbeats: each worker records itself with a TTL so operators can see it live.

A worker's last beat is also kept for GONE_KEEP_MS in a hash, so one that stops beating
without a clean exit shows as gone for a while instead of vanishing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import msgspec
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from streams.keys import Keys
from streams.messages import now_ms


class WorkerInfo(msgspec.Struct, kw_only=True):
    """What a worker says about itself on every beat; counters are totals since it started."""

    name: str
    host: str
    pid: int
    queues: list[str]
    started_ms: int
    last_beat_ms: int = 0
    processed: int = 0
    failed: int = 0
    retried: int = 0
    dead_lettered: int = 0
    in_flight: int = 0


GONE_KEEP_MS: Final = 3_600_000

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(WorkerInfo)

# Adds commands to the heartbeat's pipeline (the worker's counter flush rides along).
PipelineExtra = Callable[[Pipeline], None]


async def beat(
    redis: Redis, keys: Keys, info: WorkerInfo, ttl_ms: int, extra: PipelineExtra | None = None
) -> None:
    """Record info under the worker's key with a TTL and index it by beat time."""
    info.last_beat_ms = now_ms()
    encoded = _encoder.encode(info)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.set(keys.worker(info.name), encoded, px=ttl_ms)
        pipe.zadd(keys.workers(), {info.name: info.last_beat_ms})
        pipe.hset(keys.workers_last(), info.name, encoded)
        if extra is not None:
            extra(pipe)
        await pipe.execute()


async def forget(redis: Redis, keys: Keys, name: str, extra: PipelineExtra | None = None) -> None:
    """Remove a worker at clean shutdown, so it disappears at once rather than after its TTL."""
    async with redis.pipeline(transaction=False) as pipe:
        if extra is not None:
            extra(pipe)
        pipe.delete(keys.worker(name))
        pipe.zrem(keys.workers(), name)
        pipe.hdel(keys.workers_last(), name)
        await pipe.execute()


def _name(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


async def live_workers(redis: Redis, keys: Keys) -> list[WorkerInfo]:
    """Return workers whose heartbeat key has not expired; prune the index of the others."""
    names = [
        n.decode() if isinstance(n, bytes) else str(n)
        for n in await redis.zrange(keys.workers(), 0, -1)
    ]
    if not names:
        return []
    # One GET per worker in a pipeline, not MGET: on a cluster the keys live in many slots.
    async with redis.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.get(keys.worker(name))
        raw = await pipe.execute()
    live: list[WorkerInfo] = []
    gone: list[str] = []
    for name, value in zip(names, raw, strict=True):
        if value is None:
            gone.append(name)
        else:
            live.append(_decoder.decode(value))
    if gone:  # kept in the index (as gone) for GONE_KEEP_MS after their last beat
        await redis.zremrangebyscore(keys.workers(), "-inf", now_ms() - GONE_KEEP_MS)
    return live


async def gone_workers(redis: Redis, keys: Keys, live: list[WorkerInfo]) -> list[WorkerInfo]:
    """Return workers that stopped beating without a clean exit in the last GONE_KEEP_MS."""
    names = {w.name for w in live}
    seen = await redis.hgetall(keys.workers_last())
    gone = [_decoder.decode(v) for k, v in seen.items() if _name(k) not in names]
    horizon = now_ms() - GONE_KEEP_MS
    old = [w.name for w in gone if w.last_beat_ms < horizon]
    if old:
        await redis.hdel(keys.workers_last(), *old)
    return sorted((w for w in gone if w.last_beat_ms >= horizon), key=lambda w: -w.last_beat_ms)
