"""GET /metrics/redis (the seed's JSON shape) and GET /metrics (Prometheus text)."""

from __future__ import annotations

from typing import Final

from litestar import Controller, MediaType, Response, get
from litestar.di import NamedDependency
from redis.exceptions import RedisError

from api.errors import error_response
from api.prometheus import exposition
from api.schemas import (
    ConnectionsOut,
    MemoryOut,
    MetricsBody,
    PerformanceOut,
    QueueMetrics,
    RedisMetricsOut,
)
from api.state import ApiState, Snapshot

MB: Final = 1024 * 1024
PROMETHEUS_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"


def _mb(value: object) -> float:
    return round(int(str(value or 0)) / MB, 2)


def _hit_ratio(snapshot: Snapshot) -> float | None:
    total = snapshot.cache_hits + snapshot.cache_misses
    return round(snapshot.cache_hits / total, 4) if total else None


def redis_metrics(snapshot: Snapshot) -> RedisMetricsOut:
    info = snapshot.info
    return RedisMetricsOut(
        status="healthy",
        metrics=MetricsBody(
            memory=MemoryOut(
                used_mb=_mb(info.get("used_memory")),
                peak_mb=_mb(info.get("used_memory_peak")),
                max_mb=_mb(info.get("maxmemory")) or None,
            ),
            connections=ConnectionsOut(
                connected_clients=int(info.get("connected_clients", 0)),
                blocked_clients=int(info.get("blocked_clients", 0)),
            ),
            performance=PerformanceOut(
                ops_per_sec=int(info.get("instantaneous_ops_per_sec", 0)),
                cache_hit_ratio=_hit_ratio(snapshot),
            ),
            queues={q.queue: q.depth for q in snapshot.queues},
            queue_details={
                q.queue: QueueMetrics(
                    length=q.length,
                    lag=q.lag,
                    lag_estimated=q.lag_estimated,
                    pending=q.pending,
                    depth=q.depth,
                    oldest_pending_age_s=q.oldest_pending_age_s,
                    time_lag_s=q.time_lag_s,
                    dead_letters=q.dead_letters,
                    consumers=q.consumers,
                    rate_in_per_s=q.rate_in_per_s,
                    rate_out_per_s=q.rate_out_per_s,
                    scheduled=q.scheduled,
                    paused=q.paused,
                )
                for q in snapshot.queues
            },
        ),
    )


class MetricsController(Controller):
    path = "/metrics"
    tags = ("metrics",)

    @get(
        "/redis",
        summary="Redis memory, connections, performance and queue depths (JSON)",
        responses={503: error_response("Redis is down")},
    )
    async def redis_json(self, api: NamedDependency[ApiState]) -> RedisMetricsOut:
        return redis_metrics(await api.snapshot())

    @get(
        "/",
        summary="Prometheus metrics",
        media_type=MediaType.TEXT,
        description="Prometheus text exposition; streams_up is 0 when Redis cannot be reached.",
    )
    async def prometheus(self, api: NamedDependency[ApiState]) -> Response[bytes]:
        try:
            snapshot = await api.snapshot()
        except RedisError:
            return Response(exposition(None), media_type=PROMETHEUS_TYPE)
        return Response(api.exposition(snapshot, exposition), media_type=PROMETHEUS_TYPE)
