"""The worker's background loops survive what nobody planned for (a bug in a step, a key
replaced under it, a server busy running someone's Lua script: the scheduler waits that out
too), and a worker refuses a server too old for it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.to_thread
import msgspec
import pytest
import redis as sync_redis
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from consumers.registry import create_registry
from consumers.settings import AppSettings
from streams import Context, Producer, StreamsError, retention
from streams import consumer as consumer_module
from streams import scheduler as scheduling
from streams.client import create_redis
from streams.keys import Keys
from streams.server import LocalServer
from streams.version import ServerVersionError
from streams.worker import Worker
from tests.integration.test_worker import Job, pending_count, registry_with, running
from tests.support import FAST_QUEUE, make_settings, wait_until


async def _true(value: bool) -> bool:
    return value


def _messages(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


async def test_a_failing_trim_is_logged_once_and_running_handlers_go_on(
    redis: Redis,
    redis_url: str,
    prefix: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a trim due on every reclaim round, failing with a bug while a handler runs
    monkeypatch.setattr(consumer_module, "TRIM_INTERVAL_S", 0.0)
    settings = make_settings(redis_url, prefix)
    started, finish = anyio.Event(), anyio.Event()
    handled: list[tuple[int, int]] = []
    failures = 0
    trim = retention.trim

    async def trim_with_a_bug(*args: object, **kwargs: object) -> tuple[int, int]:
        nonlocal failures
        if started.is_set() and failures < 3:
            failures += 1
            raise AttributeError("'NoneType' object has no attribute 'decode'")
        return await trim(*args, **kwargs)  # type: ignore[arg-type]  # passed through as given

    async def handle(job: Job, ctx: Context) -> None:
        if job.n == 0:
            started.set()
            await finish.wait()
        handled.append((job.n, ctx.attempt))

    monkeypatch.setattr(retention, "trim", trim_with_a_bug)
    registry = registry_with(handle)
    producer = Producer(redis, settings, registry)
    worker = Worker(redis, settings, registry, ["default"], name="sturdy")
    with anyio.fail_after(10):
        async with running(worker):
            await producer.publish("default", "job", Job(0))
            await started.wait()
            await wait_until(lambda: _true(failures == 3))
            # When more work arrives, then it is handled
            await producer.publish("default", "job", Job(1))
            await wait_until(lambda: _true((1, 1) in handled))
            # And the handler that was running meanwhile was not cancelled
            finish.set()
            await wait_until(lambda: _true((0, 1) in handled))
            await wait_until(lambda: _true(failures == 3 and not worker.stop_requested))
    assert await pending_count(redis, settings) == 0
    # And the failure was logged once, with the queue, the stream and the traceback
    (record,) = [r for r in caplog.records if "trim: failed" in r.getMessage()]
    assert record.levelno == logging.ERROR
    assert f"queue=default stream={Keys(prefix).stream('default')} trim" in record.getMessage()
    assert "AttributeError" in record.getMessage()
    assert record.exc_info is not None


async def test_an_acknowledgement_refused_for_another_reason_says_why_and_stops_the_worker(
    redis: Redis, redis_url: str, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a worker holding as many entries as it may (so its reader waits for room)
    one = msgspec.structs.replace(FAST_QUEUE, concurrency=1, batch_size=1)
    settings = make_settings(redis_url, prefix, default=one)
    stream = Keys(prefix).stream("default")
    started, finish = anyio.Event(), anyio.Event()

    async def handle(job: Job, ctx: Context) -> None:
        started.set()
        await finish.wait()

    registry = registry_with(handle)
    producer = Producer(redis, settings, registry)
    worker = Worker(redis, settings, registry, ["default"], name="acker")
    errors: list[BaseException] = []
    with anyio.fail_after(10):
        try:
            async with running(worker):
                for n in range(3):
                    await producer.publish("default", "job", Job(n))
                await started.wait()
                await wait_until(lambda: _true(len(worker.consumers[0].held) == 3))
                # When the stream key is replaced before the first entry is acknowledged
                async with redis.pipeline(transaction=True) as pipe:
                    pipe.delete(stream)
                    pipe.rpush(stream, "a list now")
                    await pipe.execute()
                finish.set()
                await wait_until(lambda: _true(worker.stop_requested))
        except* StreamsError as group:
            errors.extend(group.exceptions)
    # Then the worker stops with the reason, not an endless "redis unavailable"
    (error,) = errors
    assert f"key '{stream}' holds a list, not a stream" in str(error)
    assert not _messages(caplog, "redis unavailable")


# -- BUSY: another client's long Lua script ---------------------------------------------------


@pytest.fixture
async def busy_server() -> AsyncIterator[LocalServer]:
    """A server of the test's own that answers BUSY after 50 ms of a script."""
    with LocalServer() as server:
        client = Redis.from_url(server.url)
        await client.config_set("busy-reply-threshold", 50)
        await client.aclose()
        yield server


def _run_busy_script(url: str) -> None:
    client = sync_redis.Redis.from_url(url)
    try:
        client.eval("while true do end", 0)
    except ResponseError:
        pass  # killed by SCRIPT KILL, as planned
    finally:
        client.close()


def _is_busy(client: sync_redis.Redis) -> bool:
    try:
        client.ping()
    except ResponseError as exc:
        return str(exc).startswith("BUSY")
    return False


@asynccontextmanager
async def busy(server: LocalServer) -> AsyncIterator[Callable[[], None]]:
    """Another client runs an endless script; yields what kills it (SCRIPT KILL)."""
    killer = sync_redis.Redis.from_url(server.url)
    killed = False

    def kill() -> None:
        nonlocal killed
        if not killed:
            killer.script_kill()
            killed = True

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(anyio.to_thread.run_sync, _run_busy_script, server.url)
            await wait_until(lambda: anyio.to_thread.run_sync(_is_busy, killer))
            try:
                yield kill
            finally:
                kill()
    finally:
        killer.close()


async def test_worker_waits_while_another_client_runs_a_long_script(
    busy_server: LocalServer, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(busy_server.url, prefix)
    handled: list[int] = []

    async def handle(job: Job, ctx: Context) -> None:
        handled.append(job.n)

    registry = registry_with(handle)
    redis = create_redis(settings)
    try:
        # Given a server busy with another client's endless script
        with anyio.fail_after(15):
            async with busy(busy_server) as kill:
                # When a worker starts
                worker = Worker(redis, settings, registry, ["default"], name="patient")
                async with running(worker):
                    # Then it waits (logged once) rather than failing
                    await wait_until(lambda: _true(bool(_messages(caplog, "BUSY"))))
                    assert not worker.stop_requested
                    # And once the script is killed it works
                    kill()
                    await Producer(redis, settings, registry).publish("default", "job", Job(7))
                    await wait_until(lambda: _true(handled == [7]))
    finally:
        await redis.aclose()
    lines = _messages(caplog, "redis unavailable")
    assert len(lines) == len(set(lines)), lines


async def test_scheduler_waits_at_start_while_another_client_runs_a_long_script(
    busy_server: LocalServer, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(busy_server.url, prefix)
    redis = create_redis(settings)
    job = scheduling.Job("ping", 1_000, scheduling.Publish("default", "ping"))
    config = scheduling.SchedulerConfig(lease_ms=300, check_ms=50)
    registry = create_registry(AppSettings())
    scheduler = scheduling.Scheduler(redis, settings, registry, [job], config=config)
    try:
        # Given a server busy with another client's endless script
        with anyio.fail_after(15):
            async with busy(busy_server) as kill, anyio.create_task_group() as tg:
                # When a scheduler starts, then it waits (logged once) rather than failing
                tg.start_soon(scheduler.wait_for_redis)
                await wait_until(lambda: _true(bool(_messages(caplog, "BUSY"))))
                kill()
            # And once the script is killed it leads
            assert await scheduler.elect()
    finally:
        await redis.aclose()


# -- the server's version ---------------------------------------------------------------------


async def test_worker_refuses_a_server_older_than_redis_7_with_one_line(
    redis: Redis, redis_url: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a server that says it is Redis 6.2
    settings = make_settings(redis_url, prefix)
    info = redis.info

    async def info_of_redis_6(section: str | None = None, *args: Any, **kwargs: Any) -> Any:
        if section == "server":
            return {"redis_version": "6.2.14", "redis_mode": "standalone"}
        return await info(section, *args, **kwargs)

    monkeypatch.setattr(redis, "info", info_of_redis_6)

    async def handle(job: Job, ctx: Context) -> None:
        raise AssertionError("nothing may run on a server that is too old")

    worker = Worker(redis, settings, registry_with(handle), ["default"])
    # When a worker starts, then it stops with one line, before creating anything
    with anyio.fail_after(5), pytest.raises(ServerVersionError) as caught:
        await worker.run()
    assert "\n" not in str(caught.value)
    assert "version 6.2.14; godo-streams needs Redis 7.0 or newer" in str(caught.value)
    assert not await redis.exists(Keys(prefix).stream("default"))
