"""What the dashboard page polls: one JSON document built from the shared one-second snapshot.

Twenty open tabs cost Redis what one does: the snapshot, the extras (gone workers, the
scheduler) and each queue's history are cached per API process (TtlCache), whoever asks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec
from redis.asyncio import Redis

from api.cache import TtlCache
from api.health import assess, redis_details, redis_reasons
from api.metrics import redis_metrics
from api.schemas import HealthOut
from api.state import ApiState, Snapshot
from streams.heartbeat import WorkerInfo, gone_workers
from streams.history import History
from streams.inspect import QueueState
from streams.keys import Keys
from streams.messages import now_ms

HISTORY_TTL_S: Final = 2.0


class JobOut(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    every_ms: int
    last_tick_ms: int | None
    next_tick_ms: int


class SchedulerOut(msgspec.Struct, frozen=True, kw_only=True):
    leader: str | None
    jobs: list[JobOut]


class RedisOut(msgspec.Struct, frozen=True, kw_only=True):
    version: str
    role: str
    used_memory_bytes: int
    maxmemory_bytes: int
    maxmemory_policy: str
    policy_unsafe: bool
    connected_clients: int
    ops_per_sec: int
    cache_hit_ratio: float | None


class DashboardOut(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the page shows but history and dead letters."""

    now_ms: int
    token_configured: bool
    health: HealthOut
    queues: list[QueueState]
    workers: list[WorkerInfo]
    gone_workers: list[WorkerInfo]
    scheduler: SchedulerOut
    redis: RedisOut


class _Extras(msgspec.Struct, frozen=True, kw_only=True):
    gone: list[WorkerInfo]
    scheduler: SchedulerOut


@dataclass
class Board:
    """The dashboard's caches, one per app."""

    history: TtlCache[History] = field(default_factory=lambda: TtlCache(HISTORY_TTL_S))
    extras: TtlCache[_Extras] = field(default_factory=lambda: TtlCache(1.0))

    async def state(self, api: ApiState) -> DashboardOut:
        snapshot = await api.snapshot()

        async def compute() -> _Extras:
            return await _extras(api.client, api.keys, snapshot.workers)

        extras = await self.extras.get("extras", compute)
        return DashboardOut(
            now_ms=now_ms(),
            token_configured=api.settings.api_token is not None,
            health=assess(snapshot, api.settings),
            queues=snapshot.queues,
            workers=snapshot.workers,
            gone_workers=[
                w for w in extras.gone if w.name not in {x.name for x in snapshot.workers}
            ],
            scheduler=extras.scheduler,
            redis=_redis(snapshot),
        )


async def _extras(redis: Redis, keys: Keys, live: list[WorkerInfo]) -> _Extras:
    async with redis.pipeline(transaction=False) as pipe:
        pipe.get(keys.scheduler_leader())
        pipe.hgetall(keys.scheduler_jobs())
        leader, jobs = await pipe.execute()
    return _Extras(
        gone=await gone_workers(redis, keys, live),
        scheduler=SchedulerOut(
            leader=leader.decode(errors="replace") if leader else None,
            jobs=_jobs(jobs, now_ms()),
        ),
    )


def _jobs(raw: dict[bytes, bytes], now: int) -> list[JobOut]:
    jobs = []
    for name, value in sorted(raw.items()):
        try:
            record: dict[str, Any] = json.loads(value)
            every = int(record["every_ms"])
            last = int(record["last_tick_ms"])
        except (ValueError, KeyError, TypeError):
            continue  # written by another version: skip rather than fail the page
        jobs.append(
            JobOut(
                name=name.decode(errors="replace"),
                every_ms=every,
                last_tick_ms=last,
                next_tick_ms=(now // every + 1) * every,
            )
        )
    return jobs


def _redis(snapshot: Snapshot) -> RedisOut:
    details = redis_details(snapshot.info)
    performance = redis_metrics(snapshot).metrics.performance
    return RedisOut(
        version=details.version,
        role=str(snapshot.info.get("role", "")),
        used_memory_bytes=details.memory_used_bytes,
        maxmemory_bytes=details.maxmemory_bytes,
        maxmemory_policy=details.maxmemory_policy,
        policy_unsafe=any("maxmemory-policy" in r for r in redis_reasons(details)),
        connected_clients=details.connected_clients,
        ops_per_sec=performance.ops_per_sec,
        cache_hit_ratio=performance.cache_hit_ratio,
    )
