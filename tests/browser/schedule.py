"""A schedule for the screenshot's scheduler process (STREAMS_SCHEDULE=tests.browser.schedule:jobs)."""

from __future__ import annotations

from streams.scheduler import Job, JobContext, Publish


async def compact(ctx: JobContext) -> None:
    """Stands in for a maintenance job that runs in the scheduler itself."""


jobs = [
    Job("work-every-5s", 5_000, Publish("default", "test.work", {"n": 0})),
    Job("compact-hourly", 3_600_000, compact),
]
