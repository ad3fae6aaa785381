"""GET /health: Redis reachability and details, queue backlogs versus live workers."""

from __future__ import annotations

import logging
from typing import Any, Final

import anyio
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from redis.exceptions import RedisError

from api.schemas import HealthOut, QueueHealth, RedisDetails, RedisService, Services, WorkersService
from api.state import ApiState, Snapshot
from streams.client import redact
from streams.config import Settings
from streams.outage import AUTH_ERRORS

log = logging.getLogger(__name__)

MEMORY_LIMIT_RATIO: Final = 0.8


def redis_details(info: dict[str, Any]) -> RedisDetails:
    return RedisDetails(
        version=str(info.get("redis_version", "")),
        memory_used=str(info.get("used_memory_human", "")),
        memory_used_bytes=int(info.get("used_memory", 0)),
        maxmemory_bytes=int(info.get("maxmemory", 0)),
        maxmemory_policy=str(info.get("maxmemory_policy", "")),
        connected_clients=int(info.get("connected_clients", 0)),
        uptime_days=int(info.get("uptime_in_days", 0)),
    )


def redis_reasons(details: RedisDetails) -> list[str]:
    reasons = []
    if details.maxmemory_policy.startswith("allkeys-"):
        reasons.append(
            f"maxmemory-policy is {details.maxmemory_policy}: Redis may evict whole streams "
            "(data loss); set it to noeviction"
        )
    limit = details.maxmemory_bytes
    if limit and details.memory_used_bytes > MEMORY_LIMIT_RATIO * limit:
        reasons.append(
            f"memory used is {details.memory_used_bytes / limit:.0%} of maxmemory "
            f"({details.memory_used_bytes} of {limit} bytes)"
        )
    return reasons


def queue_health(
    snapshot: Snapshot, settings: Settings
) -> tuple[dict[str, QueueHealth], list[str]]:
    """Judge each queue: a backlog needs a live worker, and no entry may stay pending too long."""
    queues: dict[str, QueueHealth] = {}
    reasons: list[str] = []
    stale_s = settings.api_stale_pending_ms / 1000
    for state in snapshot.queues:
        live = sum(1 for w in snapshot.workers if state.queue in w.queues)
        problems = []
        if state.depth and not live:
            problems.append(
                f"queue {state.queue!r}: {state.depth} messages waiting and no live worker "
                f"(no workers available); start `streams worker {state.queue}`"
            )
        if state.oldest_pending_age_s > stale_s:
            problems.append(
                f"queue {state.queue!r}: oldest pending entry is {state.oldest_pending_age_s:.0f}s "
                f"old (threshold {stale_s:g}s)"
            )
        reasons += problems
        queues[state.queue] = QueueHealth(
            status="degraded" if problems else "healthy",
            depth=state.depth,
            lag=state.lag,
            pending=state.pending,
            oldest_pending_age_s=state.oldest_pending_age_s,
            consumers=state.consumers,
            live_workers=live,
        )
    return queues, reasons


def assess(snapshot: Snapshot, settings: Settings) -> HealthOut:
    details = redis_details(snapshot.info)
    redis_problems = redis_reasons(details)
    queues, queue_problems = queue_health(snapshot, settings)
    reasons = redis_problems + queue_problems
    return HealthOut(
        status="degraded" if reasons else "healthy",
        services=Services(
            redis=RedisService(status="degraded" if redis_problems else "healthy", details=details),
            workers=WorkersService(
                status="degraded" if queue_problems else "healthy",
                live=len(snapshot.workers),
                queues=queues,
            ),
        ),
        reasons=reasons,
    )


def unhealthy(error: BaseException) -> HealthOut:
    if isinstance(error, AUTH_ERRORS):  # not an outage: REDIS_URL needs fixing
        reason = f"redis refused the credentials in REDIS_URL: {type(error).__name__}"
    else:
        reason = f"redis unavailable: {type(error).__name__}"
    return HealthOut(
        status="unhealthy",
        services=Services(redis=RedisService(status="unhealthy", error=reason)),
        reasons=[reason],
    )


class HealthController(Controller):
    path = "/health"
    tags = ("health",)

    @get(
        "/",
        summary="Health of Redis and the queues",
        description="200 healthy or degraded (with reasons); 503 when Redis is down or hangs.",
        responses={
            503: ResponseSpec(
                data_container=HealthOut, description="Redis is down", generate_examples=False
            )
        },
    )
    async def health(self, api: NamedDependency[ApiState]) -> Response[HealthOut]:
        try:
            with anyio.fail_after(api.health_timeout_s):
                await api.ping()  # uncached: a cached snapshot may outlive Redis
                snapshot = await api.snapshot(health=True)
        except (RedisError, TimeoutError, OSError) as exc:
            log.warning("health: redis unavailable: %s", redact(str(exc)) or type(exc).__name__)
            return Response(unhealthy(exc), status_code=503)
        return Response(assess(snapshot, api.settings), status_code=200)
