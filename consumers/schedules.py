"""The Godo periodic jobs, run by `streams scheduler` (the Celery-beat replacement).

Publishing jobs hand the work to workers (with their retries and dead letters); the
stream trim runs in the scheduler itself, since it needs every queue's settings.
"""

from __future__ import annotations

import logging

from consumers.settings import AppSettings, from_env
from streams.retention import trim
from streams.scheduler import Job, JobContext, Publish

log = logging.getLogger(__name__)


async def trim_streams(ctx: JobContext) -> None:
    """Trim finished entries past retention on every configured queue."""
    for queue in ctx.settings.queue_names:
        removed, cut = await trim(ctx.redis, ctx.keys, queue, ctx.settings.queue(queue))
        level = logging.INFO if removed or cut else logging.DEBUG
        log.log(level, "trim queue=%s: removed %d, cut %d by the cap", queue, removed, cut)


def jobs(settings: AppSettings | None = None) -> list[Job]:
    """The schedule; intervals come from GODO_*_EVERY_MS (see consumers.settings)."""
    settings = from_env() if settings is None else settings
    return [
        Job(
            "refresh-recommendations",
            settings.recommendations_every_ms,
            Publish(
                "ml",
                "recommendations.refresh_active",
                {"window_ms": settings.active_window_ms},
            ),
        ),
        Job(
            "drop-past-events",
            settings.drop_past_events_every_ms,
            Publish("events", "events.drop_past"),
        ),
        Job("trim-streams", settings.trim_every_ms, trim_streams),
    ]
