"""GET /health: Redis reachability and details, queue backlogs versus live workers."""

from __future__ import annotations

import logging
from typing import Any, Final

import anyio
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from redis.exceptions import RedisError

from api.replication import ha_reasons, persistence, primary_missing, replication, save_config
from api.schemas import HealthOut, QueueHealth, RedisDetails, RedisService, Services, WorkersService
from api.state import ApiState, Snapshot
from streams.client import redact
from streams.config import Settings
from streams.outage import AUTH_ERRORS

log = logging.getLogger(__name__)

MEMORY_LIMIT_RATIO: Final = 0.8


def redis_details(info: dict[str, Any], save: str | None = None) -> RedisDetails:
    return RedisDetails(
        version=str(info.get("redis_version", "")),
        memory_used=str(info.get("used_memory_human", "")),
        memory_used_bytes=int(info.get("used_memory", 0)),
        maxmemory_bytes=int(info.get("maxmemory", 0)),
        maxmemory_policy=str(info.get("maxmemory_policy", "")),
        connected_clients=int(info.get("connected_clients", 0)),
        uptime_days=int(info.get("uptime_in_days", 0)),
        replication=replication(info),
        persistence=persistence(info, save),
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
            paused=state.paused,
        )
    return queues, reasons


def paused_notes(snapshot: Snapshot) -> list[str]:
    """A paused queue is an operator's choice: a reason to show, not a failure."""
    return [
        f"queue {q.queue!r} is paused: workers take no new entries; `streams resume {q.queue}`"
        for q in snapshot.queues
        if q.paused
    ]


def assess(snapshot: Snapshot, settings: Settings, save: str | None = None) -> HealthOut:
    """The verdict; save is the RDB snapshot schedule (CONFIG GET save), None when unknown."""
    details = redis_details(snapshot.info, save)
    repl = details.replication or replication(snapshot.info)
    redis_problems = redis_reasons(details) + ha_reasons(repl, details.persistence, settings)
    if snapshot.cluster is not None:
        redis_problems += snapshot.cluster.problems
    queues, queue_problems = queue_health(snapshot, settings)
    no_primary = primary_missing(repl)
    reasons = ([no_primary] if no_primary else []) + redis_problems + queue_problems
    redis_status = "degraded" if redis_problems else "healthy"
    return HealthOut(
        status="unhealthy" if no_primary else "degraded" if reasons else "healthy",
        services=Services(
            redis=RedisService(
                status="unhealthy" if no_primary else redis_status,
                details=details,
                cluster=snapshot.cluster,
            ),
            workers=WorkersService(
                status="degraded" if queue_problems else "healthy",
                live=len(snapshot.workers),
                queues=queues,
            ),
        ),
        reasons=reasons + paused_notes(snapshot),
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
        description=(
            "200 healthy or degraded (with reasons); 503 when Redis is down or hangs, or "
            "REDIS_URL reaches a read-only replica (a failover in progress)."
        ),
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
                save = await api.save_config.get("save", lambda: save_config(api.health_client))
        except (RedisError, TimeoutError, OSError) as exc:
            log.warning("health: redis unavailable: %s", redact(str(exc)) or type(exc).__name__)
            return Response(unhealthy(exc), status_code=503)
        verdict = assess(snapshot, api.settings, save)
        return Response(verdict, status_code=503 if verdict.status == "unhealthy" else 200)
