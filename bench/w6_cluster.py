"""W6 scale-out: W1's drain on a local 3-master Redis Cluster, by partitions and workers.

For 1, 3 and 6 partitions and 1, 2 and 3 worker processes: the drain rate (process start to
last ack), the CPU per message of the workers and the cluster's nodes together, and the
Redis commands per message (the nodes' total_commands_processed; a pipeline of n commands
counts n). On one machine every process shares the same cores, so the rate cannot show the
scale-up separate machines give; CPU and commands per message show the cost.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import msgspec
import redis as sync_redis
from redis.asyncio import Redis

from bench.config import BenchConfig
from bench.payload import NOOP_TYPE, QUEUE, item
from bench.procs import Consumer, godo_worker
from bench.rig import GROUP, POLL_INTERVAL_S, BenchError, Rig
from streams.client import create_redis, make_keys
from streams.cluster import LocalCluster
from streams.config import QueueSettings, Secret, Settings
from streams.keys import Keys
from streams.messages import to_fields

PARTITIONS: Final = (1, 3, 6)
WORKERS: Final = (1, 2, 3)
_encoder: Final = msgspec.json.Encoder()


def metric_keys(partitions: int, workers: int) -> tuple[str, str, str]:
    base = f"w6_p{partitions}_w{workers}"
    return f"{base}_rate", f"{base}_cpu_us", f"{base}_cmds"


async def run(rig: Rig, impl: str, cfg: BenchConfig) -> dict[str, float]:
    """Every (partitions, workers) pair drains cfg.messages on one fresh local cluster."""
    metrics: dict[str, float] = {}
    with LocalCluster(masters=3) as cluster:
        for partitions in PARTITIONS:
            for workers in WORKERS:
                metrics |= await _drain(rig, cluster, partitions, workers, cfg)
    return metrics


def _settings(url: str, prefix: str, partitions: int) -> Settings:
    return Settings(
        redis_url=Secret(url),
        prefix=prefix,
        queues={QUEUE: QueueSettings(partitions=partitions)},
        cluster="true",
    )


async def _drain(
    rig: Rig, cluster: LocalCluster, partitions: int, workers: int, cfg: BenchConfig
) -> dict[str, float]:
    settings = _settings(cluster.url, rig.new_prefix(), partitions)
    keys = make_keys(settings)
    streams = [keys.of(p).stream(QUEUE) for p in _numbers(partitions)]
    redis = create_redis(settings)
    try:
        await _preload(redis, keys, partitions, cfg.messages)
        for stream in streams:
            await redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
        cpu0, cmds0 = _node_cpu_s(cluster), _commands(cluster)
        env = {"STREAMS_PARTITIONS": str(partitions), "STREAMS_CLUSTER": "true", **cfg.extra_env}
        procs = [
            godo_worker(cluster.url, settings.prefix, rig.scratch_file(f"w6-{n}.log"), **env)
            for n in range(workers)
        ]
        started_ns = min(p.started_ns for p in procs)
        try:
            done_ns = await _wait_drained(redis, streams, cfg.messages, cfg.drain_timeout_s, procs)
            worker_cpu_s = sum(p.cpu_s() for p in procs)
        finally:
            for proc in procs:
                proc.stop()
        cpu_s = worker_cpu_s + _node_cpu_s(cluster) - cpu0
        commands = _commands(cluster) - cmds0
    finally:
        await _drop(redis, keys, partitions)
        await redis.aclose()
    rate, cpu, cmds = metric_keys(partitions, workers)
    return {
        rate: cfg.messages / ((done_ns - started_ns) / 1e9),
        cpu: cpu_s * 1e6 / cfg.messages,
        cmds: commands / cfg.messages,
    }


def _numbers(partitions: int) -> list[int | None]:
    return [None] if partitions == 1 else list(range(partitions))


async def _preload(redis: Redis, keys: Keys, partitions: int, count: int) -> None:
    """Spread count messages round-robin over the partitions, 500 per pipelined batch."""
    numbers = _numbers(partitions)
    if partitions > 1:
        await redis.sadd(keys.partitions(QUEUE), *range(partitions))
    for start in range(0, count, 500):
        async with redis.pipeline(transaction=False) as pipe:
            for seq in range(start, min(start + 500, count)):
                stream = keys.of(numbers[seq % len(numbers)]).stream(QUEUE)
                pipe.xadd(stream, to_fields(NOOP_TYPE, _encoder.encode(item(seq))))  # type: ignore[arg-type]  # FieldT is invariant
            await pipe.execute()


async def _wait_drained(
    redis: Redis, streams: Sequence[str], expected: int, timeout_s: float, procs: list[Consumer]
) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        read = pending = 0
        for stream in streams:
            (group,) = await redis.xinfo_groups(stream)
            read += int(group.get("entries-read") or 0)
            pending += int(group["pending"])
        if read >= expected and not pending:
            return time.time_ns()
        for proc in procs:
            proc.check_alive()
        await asyncio.sleep(POLL_INTERVAL_S * 4)
    raise BenchError(f"W6: {expected} messages not drained within {timeout_s:g}s")


def _node_cpu_s(cluster: LocalCluster) -> float:
    total = 0.0
    for node in cluster.nodes:
        if node.process is None:
            continue
        try:
            stat = Path(f"/proc/{node.process.pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _commands(cluster: LocalCluster) -> int:
    total = 0
    for port in cluster.ports:
        with sync_redis.Redis(port=port) as node:
            total += int(node.info("stats")["total_commands_processed"])
    return total


async def _drop(redis: Redis, keys: Keys, partitions: int) -> None:
    for p in _numbers(partitions):
        view = keys.of(p)
        for key in (view.stream(QUEUE), view.dead(QUEUE), view.stats(QUEUE)):
            await redis.delete(key)
    await redis.delete(keys.partitions(QUEUE))
