"""What the request handlers share: settings, registry, the Redis clients and the caches."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from api.cache import TtlCache
from streams.cluster_client import ClusterState, cluster_state
from streams.config import Settings
from streams.heartbeat import WorkerInfo, live_workers
from streams.inspect import QueueState, RateTracker, inspect_queues
from streams.keys import Keys
from streams.router import Registry

CACHE_TTL_S = 1.0
HEALTH_TIMEOUT_S = 1.5
SAVE_CONFIG_TTL_S = 30.0


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    """One round of INFO, XINFO and heartbeats, shared by every read endpoint for a second."""

    info: dict[str, Any]
    queues: list[QueueState]
    workers: list[WorkerInfo]
    cache_hits: int
    cache_misses: int
    cluster: ClusterState | None = None  # on a Redis Cluster

    def queue(self, name: str) -> QueueState:
        return next(q for q in self.queues if q.queue == name)


@dataclass
class _Ping:
    """One PING in flight and its outcome, shared by the callers that joined it."""

    done: asyncio.Event
    error: Exception | None = None
    task: asyncio.Task[None] | None = None  # referenced so it is not collected mid-flight


@dataclass
class ApiState:
    settings: Settings
    registry: Registry
    keys: Keys
    redis: Redis | None = None
    health_redis: Redis | None = None
    cache: TtlCache[Snapshot] = field(default_factory=lambda: TtlCache(CACHE_TTL_S))
    rates: RateTracker = field(default_factory=RateTracker)
    # CONFIG GET save for /health: a setting, so asked every 30 s rather than every second.
    save_config: TtlCache[str | None] = field(default_factory=lambda: TtlCache(SAVE_CONFIG_TTL_S))
    health_timeout_s: float = HEALTH_TIMEOUT_S
    # The Prometheus text of the last snapshot: rendering it cost ~40 % of the API's CPU under
    # a scrape storm (bench W5) when done per request, though the snapshot changes once a second.
    _exposition: tuple[Snapshot, bytes] | None = field(default=None, repr=False)
    _ping: _Ping | None = field(default=None, repr=False)

    def exposition(self, snapshot: Snapshot, render: Callable[[Snapshot], bytes]) -> bytes:
        """Render a snapshot once, however many requests show it."""
        if self._exposition is None or self._exposition[0] is not snapshot:
            self._exposition = (snapshot, render(snapshot))
        return self._exposition[1]

    @property
    def client(self) -> Redis:
        if self.redis is None:
            raise RuntimeError("the app's Redis client is used outside its lifespan")
        return self.redis

    @property
    def health_client(self) -> Redis:
        if self.health_redis is None:
            raise RuntimeError("the app's Redis client is used outside its lifespan")
        return self.health_redis

    async def ping(self) -> None:
        """PING Redis on the health client; concurrent callers share the PING in flight.

        Never a cached answer: each caller gets the reply to a PING sent at most one round
        trip before it asked. Under a /health storm (bench W5) a PING per request queued for
        the health pool's 4 connections, one event-loop turn per round, and held up the
        health snapshot's own commands behind them. Callers wait on an Event, not on the
        task: it wakes them one loop turn after the reply, where awaiting a shielded task
        takes two more, and a caller that gives up cancels only its own wait.
        """
        flight = self._ping
        if flight is None:
            flight = self._ping = _Ping(asyncio.Event())
            flight.task = asyncio.create_task(self._ping_once(flight))
        await flight.done.wait()
        if flight.error is not None:
            raise flight.error

    async def _ping_once(self, flight: _Ping) -> None:
        try:
            await self.health_client.ping()
        except asyncio.CancelledError:
            flight.error = RedisConnectionError("the health PING was cancelled")
            raise
        except Exception as exc:  # noqa: BLE001  # handed to every caller
            flight.error = exc
        finally:
            self._ping = None
            flight.done.set()

    async def snapshot(self, *, health: bool = False) -> Snapshot:
        """Return the cached snapshot (the health path has its own, with its own client)."""
        redis = self.health_client if health else self.client
        return await self.cache.get("health" if health else "main", lambda: self._take(redis))

    async def _take(self, redis: Redis) -> Snapshot:
        info: dict[str, Any] = await redis.info()
        queues = await inspect_queues(
            redis, self.keys, self.settings.group, self.settings.queue_names
        )
        stats = await redis.hgetall(self.keys.cache_stats())
        hits, misses = int(stats.get(b"hits", 0)), int(stats.get(b"misses", 0))
        if not hits and not misses:
            hits, misses = int(info.get("keyspace_hits", 0)), int(info.get("keyspace_misses", 0))
        return Snapshot(
            info=info,
            queues=self.rates.apply(queues),
            workers=await live_workers(redis, self.keys),
            cache_hits=hits,
            cache_misses=misses,
            cluster=await cluster_state(redis),
        )
