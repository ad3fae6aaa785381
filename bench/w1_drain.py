"""W1 drain and W4 memory: one consumer process works off a pre-loaded backlog."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis

from bench.config import BenchConfig
from bench.payload import NOOP_TYPE, item, item_dict
from bench.procs import spawn
from bench.recorder import FIRST_FILE_ENV
from bench.rig import (
    BenchError,
    Rig,
    create_group,
    drop,
    group_state,
    preload,
    stream_of,
    wait_drained,
)


async def run(rig: Rig, impl: str, cfg: BenchConfig) -> dict[str, float]:
    """Drain cfg.messages; return rates from process start and from the first handled message."""
    prefix = rig.new_prefix()
    stream = stream_of(prefix)
    first_file = rig.scratch_file("first")
    redis = rig.client()
    try:
        make = item if impl == "godo" else item_dict
        await preload(redis, stream, cfg.messages, make, NOOP_TYPE)
        await create_group(redis, stream)
        consumer = spawn(
            impl,
            rig.url,
            prefix,
            stream,
            rig.scratch_file(f"w1-{impl}.log"),
            cfg.drain_timeout_s,
            **{FIRST_FILE_ENV: str(first_file), **cfg.extra_env},
        )
        try:
            done_ns = await wait_drained(
                redis, stream, cfg.messages, cfg.drain_timeout_s, consumer.check_alive
            )
            rss = consumer.peak_rss_bytes()
            cpu_s = consumer.cpu_s()
        finally:
            consumer.stop()
        await _check_all_handled(redis, stream, cfg.messages)
        metrics = _metrics(cfg.messages, consumer.started_ns, _first_ns(first_file), done_ns, rss)
        return metrics | {"w1_cpu_us": cpu_s * 1e6 / cfg.messages}
    finally:
        await drop(redis, prefix)
        await redis.aclose()


def _first_ns(path: Path) -> int:
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        raise BenchError(f"the consumer never recorded its first message in {path}") from None


async def _check_all_handled(redis: Redis, stream: str, expected: int) -> None:
    read, pending, lag = await group_state(redis, stream)
    if read != expected or pending or lag:
        raise BenchError(
            f"W1: expected {expected} handled and none pending; "
            f"read {read}, pending {pending}, lag {lag}"
        )


def _metrics(count: int, start_ns: int, first_ns: int, done_ns: int, rss: int) -> dict[str, float]:
    return {
        "w1_from_start": count / ((done_ns - start_ns) / 1e9),
        "w1_from_first": count / (max(done_ns - first_ns, 1) / 1e9),
        "w4_rss_mb": rss / 2**20,
    }
