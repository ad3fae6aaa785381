"""Worker heartbeats: each worker records itself with a TTL so operators can see it live."""

from __future__ import annotations

import msgspec
from redis.asyncio import Redis

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


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(WorkerInfo)


async def beat(redis: Redis, keys: Keys, info: WorkerInfo, ttl_ms: int) -> None:
    """Record info under the worker's key with a TTL and index it by beat time."""
    info.last_beat_ms = now_ms()
    async with redis.pipeline(transaction=False) as pipe:
        pipe.set(keys.worker(info.name), _encoder.encode(info), px=ttl_ms)
        pipe.zadd(keys.workers(), {info.name: info.last_beat_ms})
        await pipe.execute()


async def forget(redis: Redis, keys: Keys, name: str) -> None:
    """Remove a worker at clean shutdown, so it disappears at once rather than after its TTL."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.delete(keys.worker(name))
        pipe.zrem(keys.workers(), name)
        await pipe.execute()


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
    if gone:
        await redis.zrem(keys.workers(), *gone)
    return live
