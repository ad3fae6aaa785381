"""W2R durable publish: per-call latency of single publishes with a replica attached,
STREAMS_PUBLISH_MIN_REPLICAS=0 against 1 (baseline: raw XADD against XADD + WAIT 1 pipelined)."""

from __future__ import annotations

import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Final
from urllib.parse import urlsplit

import anyio
import msgspec
from redis.asyncio import Redis

from bench.app import registry
from bench.config import BenchConfig
from bench.payload import NOOP_TYPE, QUEUE, item, item_dict
from bench.rig import BenchError, Rig, drop, stream_of
from streams.client import create_redis
from streams.config import Secret, Settings
from streams.producer import Producer
from streams.server import LocalServer

_encoder: Final = msgspec.json.Encoder()
SYNC_TIMEOUT_S: Final = 10.0

Publish = Callable[[int], Awaitable[object]]


async def run(rig: Rig, impl: str, cfg: BenchConfig) -> dict[str, float]:
    """Return p50 and p99 per-call latency (us) without and with one required replica."""
    count = max(cfg.messages // 10, 100)
    metrics: dict[str, float] = {}
    async with _replica(rig.url):
        for replicas in (0, 1):
            prefix = rig.new_prefix()
            admin = rig.client()
            try:
                latencies = await _measure(rig.url, prefix, impl, replicas, count)
            finally:
                await drop(admin, prefix)
                await admin.aclose()
            metrics[f"w2r_p50_us_r{replicas}"] = statistics.median(latencies)
            metrics[f"w2r_p99_us_r{replicas}"] = statistics.quantiles(latencies, n=100)[98]
    return metrics


async def _measure(url: str, prefix: str, impl: str, replicas: int, count: int) -> list[float]:
    if impl == "godo":
        settings = Settings(redis_url=Secret(url), prefix=prefix, publish_min_replicas=replicas)
        redis = create_redis(settings)
        producer = Producer(redis, settings, registry)

        async def publish(i: int) -> object:
            return await producer.publish(QUEUE, NOOP_TYPE, item(i))

    else:
        redis = Redis.from_url(url)
        stream = stream_of(prefix)

        async def publish(i: int) -> object:
            fields = {"type": NOOP_TYPE, "data": _encoder.encode(item_dict(i))}
            if not replicas:
                return await redis.xadd(stream, fields)  # type: ignore[arg-type]  # FieldT is invariant
            async with redis.pipeline(transaction=False) as pipe:
                pipe.xadd(stream, fields)  # type: ignore[arg-type]  # FieldT is invariant
                pipe.wait(1, 1_000)
                return await pipe.execute()

    try:
        await redis.ping()  # connect outside the timed part
        return await _timed_calls(publish, count)
    finally:
        await redis.aclose()


async def _timed_calls(publish: Publish, count: int) -> list[float]:
    latencies = []
    for i in range(count):
        start = time.perf_counter()
        await publish(i)
        latencies.append((time.perf_counter() - start) * 1e6)
    return latencies


@asynccontextmanager
async def _replica(primary_url: str) -> AsyncIterator[None]:
    """A replica of the rig's server for the duration of the block, in sync before it starts."""
    with LocalServer() as replica:
        async with Redis.from_url(primary_url) as primary:
            await primary.config_set("repl-diskless-sync-delay", 0)  # sync now, not in 5 s
        async with Redis(port=replica.port, decode_responses=True) as redis:
            await redis.replicaof("127.0.0.1", urlsplit(primary_url).port or 6379)
            deadline = time.monotonic() + SYNC_TIMEOUT_S
            while (await redis.info("replication")).get("master_link_status") != "up":
                if time.monotonic() > deadline:
                    raise BenchError(f"the replica did not sync within {SYNC_TIMEOUT_S:g} s")
                await anyio.sleep(0.02)
            yield
