"""W3 latency: a steady producer; the consumer records handled - sent for every message."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Final

import msgspec
from redis.asyncio import Redis

from bench.app import registry
from bench.config import BenchConfig
from bench.payload import LATENCY_TYPE, QUEUE, Timed, timed
from bench.procs import Consumer, spawn
from bench.recorder import LATENCY_FILE_ENV
from bench.rig import BenchError, Rig, create_group, drop, stream_of, wait_drained
from streams.config import Secret, Settings
from streams.messages import to_fields
from streams.producer import Producer

Send = Callable[[Timed], Awaitable[object]]
_encoder: Final = msgspec.json.Encoder()


async def run(rig: Rig, impl: str, cfg: BenchConfig) -> dict[str, float]:
    """Send cfg.latency_rate messages/s for cfg.latency_s; return p50/p99/max in ms."""
    prefix = rig.new_prefix()
    stream = stream_of(prefix)
    out = rig.scratch_file("latency.json")
    redis = rig.client()
    try:
        await create_group(redis, stream)
        send = _sender(redis, impl, prefix, stream)
        consumer = spawn(
            impl,
            rig.url,
            prefix,
            stream,
            rig.scratch_file(f"w3-{impl}.log"),
            cfg.drain_timeout_s + cfg.latency_s,
            **{LATENCY_FILE_ENV: str(out), **cfg.extra_env},
        )
        try:
            await _warm_up(redis, stream, send, consumer, cfg)
            count = await _steady(send, cfg.latency_rate, cfg.latency_s)
            await wait_drained(redis, stream, count + 1, cfg.drain_timeout_s, consumer.check_alive)
            await send(timed(count, last=True))
            latencies = await _read_latencies(out, consumer, cfg.timeout_s)
        finally:
            consumer.stop()
        return _summary(latencies, count)
    finally:
        await drop(redis, prefix)
        await redis.aclose()


def _sender(redis: Redis, impl: str, prefix: str, stream: str) -> Send:
    if impl == "godo":
        producer = Producer(
            redis, Settings(redis_url=Secret("redis://unused"), prefix=prefix), registry
        )
        return lambda probe: producer.publish(QUEUE, LATENCY_TYPE, probe)

    def raw(probe: Timed) -> Awaitable[object]:
        return redis.xadd(stream, to_fields(LATENCY_TYPE, _encoder.encode(probe)))  # type: ignore[arg-type]  # FieldT is invariant

    return raw


async def _warm_up(
    redis: Redis, stream: str, send: Send, consumer: Consumer, cfg: BenchConfig
) -> None:
    """Wait until the consumer has handled one probe, so start-up is not measured."""
    await send(timed(-1, warmup=True))
    await wait_drained(redis, stream, 1, cfg.timeout_s, consumer.check_alive)


async def _steady(send: Send, rate: int, duration_s: float) -> int:
    """Send at a fixed schedule (not back-to-back); return how many were sent."""
    count = int(rate * duration_s)
    start = time.perf_counter()
    for seq in range(count):
        delay = start + seq / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await send(timed(seq))
    return count


async def _read_latencies(path: Path, consumer: Consumer, timeout_s: float) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        latencies = _load(path)
        if latencies is not None:
            return latencies
        consumer.check_alive()
        await asyncio.sleep(0.01)
    raise BenchError(f"W3: the consumer did not write its latencies to {path} in {timeout_s:g}s")


def _load(path: Path) -> list[int] | None:
    try:
        return [int(v) for v in json.loads(path.read_text())]
    except FileNotFoundError:
        return None


def _summary(latencies_ns: list[int], sent: int) -> dict[str, float]:
    if len(latencies_ns) != sent:
        raise BenchError(f"W3: sent {sent} probes but the consumer recorded {len(latencies_ns)}")
    ordered = sorted(latencies_ns)
    return {
        "w3_p50_ms": _percentile(ordered, 50) / 1e6,
        "w3_p99_ms": _percentile(ordered, 99) / 1e6,
        "w3_max_ms": ordered[-1] / 1e6,
    }


def _percentile(ordered: list[int], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    rank = max(1, -(-len(ordered) * pct // 100))
    return float(ordered[int(rank) - 1])
