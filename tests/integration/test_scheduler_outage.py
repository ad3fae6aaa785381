"""The scheduler through a Redis outage: one log line per outage, and back to leading after."""

from __future__ import annotations

import logging

import anyio
import pytest
from redis.asyncio import Redis

from consumers.registry import create_registry
from consumers.settings import AppSettings
from streams.scheduler import Job, Publish, Scheduler, SchedulerConfig
from streams.server import LocalServer, free_port
from tests.support import make_settings, wait_until


class CountingScheduler(Scheduler):
    """Counts the steps that failed, so the test knows the outage spanned many ticks."""

    failed_steps = 0

    async def step(self) -> list[tuple[str, int]]:
        try:
            return await super().step()
        except Exception:
            self.failed_steps += 1
            raise


def scheduler_on(url: str, prefix: str) -> CountingScheduler:
    client = Redis.from_url(url)
    return CountingScheduler(
        client,
        make_settings(url, prefix),
        create_registry(AppSettings()),
        [Job("ping", 1_000, Publish("default", "ping"))],
        config=SchedulerConfig(lease_ms=300, check_ms=50),
        name="s1",
    )


def outage_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "streams.scheduler"]


async def test_an_outage_is_logged_once_and_the_scheduler_leads_again_after_it(
    caplog: pytest.LogCaptureFixture, prefix: str
) -> None:
    caplog.set_level(logging.INFO, logger="streams.scheduler")
    port = free_port()
    server = LocalServer(port=port).start()
    scheduler = scheduler_on(server.url, prefix)
    try:
        async with anyio.create_task_group() as tg:
            await tg.start(scheduler.run)
            await wait_until(lambda: _leads(scheduler))

            server.stop()
            await wait_until(lambda: _failed_at_least(scheduler, 4), timeout_s=10)
            server = LocalServer(port=port).start()
            await wait_until(lambda: _logged(caplog, "redis is back"), timeout_s=15)
            await wait_until(lambda: _leads(scheduler))
            tg.cancel_scope.cancel()
    finally:
        server.stop()
        await scheduler.redis.aclose()

    lines = outage_lines(caplog)
    assert len([line for line in lines if "redis unavailable" in line]) == 1, lines
    assert len([line for line in lines if "redis is back" in line]) == 1, lines
    assert not [line for line in lines if "redis error" in line], lines


async def test_at_start_it_waits_for_redis_logging_once(
    caplog: pytest.LogCaptureFixture, prefix: str
) -> None:
    caplog.set_level(logging.INFO, logger="streams.scheduler")
    port = free_port()
    scheduler = scheduler_on(f"redis://127.0.0.1:{port}/0", prefix)
    server: LocalServer | None = None
    try:
        with anyio.fail_after(15):
            async with anyio.create_task_group() as tg:
                tg.start_soon(scheduler.wait_for_redis)
                await wait_until(lambda: _logged(caplog, "waiting at start: redis unavailable"))
                server = LocalServer(port=port).start()
        assert await scheduler.redis.ping()
    finally:
        if server is not None:
            server.stop()
        await scheduler.redis.aclose()

    lines = outage_lines(caplog)
    assert len([line for line in lines if "redis unavailable" in line]) == 1, lines


async def _leads(scheduler: Scheduler) -> bool:
    return scheduler.is_leader


async def _failed_at_least(scheduler: CountingScheduler, count: int) -> bool:
    return scheduler.failed_steps >= count


async def _logged(caplog: pytest.LogCaptureFixture, fragment: str) -> bool:
    return any(fragment in line for line in outage_lines(caplog))
