"""W2 publish: cfg.messages messages from this process, one call each, then in batches."""

from __future__ import annotations

import time
from typing import Final

import msgspec
from redis.asyncio import Redis

from bench.app import registry
from bench.config import BenchConfig
from bench.payload import NOOP_TYPE, QUEUE, item, item_dict
from bench.rig import Rig, drop, stream_of
from streams.client import create_redis
from streams.config import Secret, Settings
from streams.producer import Outgoing, Producer

_encoder: Final = msgspec.json.Encoder()


async def run(rig: Rig, impl: str, cfg: BenchConfig) -> dict[str, float]:
    """Return messages/s for single and for batch publishing."""
    single = await _timed(rig, impl, cfg, batch=False)
    many = await _timed(rig, impl, cfg, batch=True)
    return {"w2_single": single, "w2_batch": many}


async def _timed(rig: Rig, impl: str, cfg: BenchConfig, *, batch: bool) -> float:
    prefix = rig.new_prefix()
    admin = rig.client()
    try:
        if impl == "godo":
            settings = Settings(redis_url=Secret(rig.url), prefix=prefix)
            redis = create_redis(settings)
            elapsed = await _godo(Producer(redis, settings, registry), cfg, batch)
        else:
            redis = Redis.from_url(rig.url)
            elapsed = await _baseline(redis, stream_of(prefix), cfg, batch)
        await redis.aclose()
        return cfg.messages / elapsed
    finally:
        await drop(admin, prefix)
        await admin.aclose()


async def _godo(producer: Producer, cfg: BenchConfig, batch: bool) -> float:
    await producer.redis.ping()  # connect outside the timed part, as the baseline does
    start = time.perf_counter()
    if batch:
        for first in range(0, cfg.messages, cfg.batch):
            last = min(first + cfg.batch, cfg.messages)
            await producer.publish_many(
                QUEUE, [Outgoing(type=NOOP_TYPE, data=item(i)) for i in range(first, last)]
            )
    else:
        for i in range(cfg.messages):
            await producer.publish(QUEUE, NOOP_TYPE, item(i))
    return time.perf_counter() - start


def _fields(seq: int) -> dict[str, bytes | str]:
    return {"type": NOOP_TYPE, "data": _encoder.encode(item_dict(seq))}


async def _baseline(redis: Redis, stream: str, cfg: BenchConfig, batch: bool) -> float:
    await redis.ping()
    start = time.perf_counter()
    if batch:
        for first in range(0, cfg.messages, cfg.batch):
            async with redis.pipeline(transaction=False) as pipe:
                for i in range(first, min(first + cfg.batch, cfg.messages)):
                    pipe.xadd(stream, _fields(i))  # type: ignore[arg-type]  # FieldT is invariant
                await pipe.execute()
    else:
        for i in range(cfg.messages):
            await redis.xadd(stream, _fields(i))  # type: ignore[arg-type]  # FieldT is invariant
    return time.perf_counter() - start
