"""The worker against a real server: acknowledgement, retries, dead letters, reclaim, leases."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
import anyio.lowlevel
import msgspec
import pytest
import redis as sync_redis
from redis.asyncio import Redis

from streams import Context, PermanentError, Producer, Registry
from streams.config import QueueSettings, Settings
from streams.deadletter import list_dead, replay
from streams.keys import Keys
from streams.worker import Worker
from tests.support import FAST_QUEUE, make_settings, wait_until


class Job(msgspec.Struct, frozen=True):
    n: int


Handler = Callable[[Job, Context], Awaitable[None]]


def registry_with(handler: Handler) -> Registry:
    registry = Registry()
    registry.message("default", "job", Job, handler)
    return registry


async def pending_count(redis: Redis, settings: Settings, queue: str = "default") -> int:
    summary = await redis.xpending(Keys(settings.prefix).stream(queue), settings.group)
    return int(summary["pending"])


@asynccontextmanager
async def running(worker: Worker) -> AsyncIterator[Worker]:
    async with anyio.create_task_group() as tg:
        await tg.start(worker.run)
        try:
            yield worker
        finally:
            worker.request_stop()


async def publish_jobs(
    redis: Redis, settings: Settings, registry: Registry, count: int
) -> list[str]:
    producer = Producer(redis, settings, registry)
    return [await producer.publish("default", "job", Job(n)) for n in range(count)]


async def test_every_message_is_handled_once_and_acknowledged(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    # Given 300 published jobs
    settings = make_settings(redis_url, prefix)
    seen: list[int] = []

    async def handle(job: Job, ctx: Context) -> None:
        seen.append(job.n)

    registry = registry_with(handle)
    await publish_jobs(redis, settings, registry, 300)
    # When a worker drains the queue
    with anyio.fail_after(10):
        await Worker(redis, settings, registry, ["default"]).run(stop_when_idle=True)
    # Then each job ran exactly once and nothing is left pending
    assert sorted(seen) == list(range(300))
    assert await pending_count(redis, settings) == 0


async def test_two_workers_in_one_group_split_the_work(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    settings = make_settings(redis_url, prefix)
    seen: dict[str, list[int]] = {"a": [], "b": []}

    def handler_for(name: str) -> Handler:
        async def handle(job: Job, ctx: Context) -> None:
            seen[name].append(job.n)
            await anyio.lowlevel.checkpoint()

        return handle

    await publish_jobs(redis, settings, registry_with(handler_for("a")), 1000)
    with anyio.fail_after(15):
        async with anyio.create_task_group() as tg:
            for name in seen:
                worker = Worker(
                    redis, settings, registry_with(handler_for(name)), ["default"], name=name
                )
                tg.start_soon(lambda w=worker: w.run(stop_when_idle=True))
    assert sorted(seen["a"] + seen["b"]) == list(range(1000))


async def test_failing_handler_retries_with_growing_gaps_then_dead_letters(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    # Given a handler that always fails and 4 attempts with 100-400 ms backoff
    queue = QueueSettings(
        max_attempts=4, backoff_base_ms=100, backoff_cap_ms=400, visibility_timeout_ms=1_000
    )
    settings = make_settings(redis_url, prefix, default=queue)
    attempts: list[tuple[int, float]] = []

    async def handle(job: Job, ctx: Context) -> None:
        attempts.append((ctx.attempt, time.monotonic()))
        raise ValueError(f"cannot handle job {job.n}")

    registry = registry_with(handle)
    (entry_id,) = await publish_jobs(redis, settings, registry, 1)
    # When the worker runs until the queue is drained
    with anyio.fail_after(10):
        await Worker(redis, settings, registry, ["default"]).run(stop_when_idle=True)
    # Then it was tried 4 times, each gap at least as long as the one before
    assert [a for a, _ in attempts] == [1, 2, 3, 4]
    gaps = [b - a for (_, a), (_, b) in itertools.pairwise(attempts)]
    # (equal jitter: the n-th gap is at least half of min(cap, base * 2**n))
    assert [round(g, 2) >= floor for g, floor in zip(gaps, (0.05, 0.1, 0.2), strict=True)] == [
        True
    ] * 3
    assert gaps[2] > gaps[0]
    # And it sits in dead letters with the error, the attempts and the original entry
    (dead,) = await list_dead(redis, Keys(prefix), "default")
    assert dead.original_id == entry_id
    assert dead.error == "ValueError: cannot handle job 0"
    assert dead.attempts == 4
    assert dead.type == "job"
    assert dead.data == '{"n":0}'
    assert await pending_count(redis, settings) == 0


class Abort(BaseException):
    """A BaseException a library might raise that is neither a cancellation nor an exit."""


# Any exception is a transient failure, a BaseException raised of the handler's own accord
# (a call inside it cancelled by its own timeout, say) included.
@pytest.mark.parametrize("error", [ConnectionResetError, asyncio.CancelledError, Abort])
async def test_transient_failure_then_success_is_acknowledged(
    redis: Redis, redis_url: str, prefix: str, error: type[BaseException]
) -> None:
    settings = make_settings(redis_url, prefix)
    attempts: list[int] = []

    async def handle(job: Job, ctx: Context) -> None:
        attempts.append(ctx.attempt)
        if ctx.attempt < 3:
            raise error("upstream hiccup")

    registry = registry_with(handle)
    await publish_jobs(redis, settings, registry, 1)
    with anyio.fail_after(10):
        await Worker(redis, settings, registry, ["default"]).run(stop_when_idle=True)
    assert attempts == [1, 2, 3]
    assert await list_dead(redis, Keys(prefix), "default") == []
    assert await pending_count(redis, settings) == 0


async def test_permanent_error_dead_letters_without_retry(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    settings = make_settings(redis_url, prefix)
    attempts: list[int] = []

    async def handle(job: Job, ctx: Context) -> None:
        attempts.append(ctx.attempt)
        raise PermanentError("the event was cancelled upstream")

    registry = registry_with(handle)
    await publish_jobs(redis, settings, registry, 1)
    with anyio.fail_after(10):
        await Worker(redis, settings, registry, ["default"]).run(stop_when_idle=True)
    assert attempts == [1]
    (dead,) = await list_dead(redis, Keys(prefix), "default")
    assert dead.error == "PermanentError: the event was cancelled upstream"
    assert dead.attempts == 1


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"type": "job", "data": "not json"}, "payload of 'job' is invalid"),
        ({"type": "job", "data": '{"n": "seven"}'}, "Expected `int`, got `str` - at `$.n`"),
        ({"type": "no.such.type", "data": "{}"}, "unknown message type 'no.such.type'"),
        ({"garbage": "1"}, "entry has no type or data field"),
    ],
)
async def test_poison_entries_go_to_dead_letters_at_once(
    redis: Redis, redis_url: str, prefix: str, fields: dict[str, str], reason: str
) -> None:
    settings = make_settings(redis_url, prefix)
    calls: list[int] = []

    async def handle(job: Job, ctx: Context) -> None:
        calls.append(job.n)

    registry = registry_with(handle)
    await redis.xadd(Keys(prefix).stream("default"), fields)  # type: ignore[arg-type]
    with anyio.fail_after(10):
        await Worker(redis, settings, registry, ["default"]).run(stop_when_idle=True)
    (dead,) = await list_dead(redis, Keys(prefix), "default")
    assert reason in dead.error
    assert dead.attempts == 1
    assert calls == []


async def test_replayed_dead_letter_is_handled_again(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    settings = make_settings(redis_url, prefix)
    broken = True
    handled: list[int] = []

    async def handle(job: Job, ctx: Context) -> None:
        if broken:
            raise PermanentError("downstream rejects it")
        handled.append(job.n)

    registry = registry_with(handle)
    await publish_jobs(redis, settings, registry, 2)
    with anyio.fail_after(10):
        await Worker(redis, settings, registry, ["default"]).run(stop_when_idle=True)
    # When the bug is fixed and the dead letters are replayed
    broken = False
    assert await replay(redis, Keys(prefix), "default") == 2
    with anyio.fail_after(10):
        await Worker(redis, settings, registry, ["default"]).run(stop_when_idle=True)
    assert sorted(handled) == [0, 1]
    assert await list_dead(redis, Keys(prefix), "default") == []


async def test_entries_of_a_dead_consumer_are_reclaimed_after_the_visibility_timeout(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    # Given entries read by a consumer that then died without acknowledging them
    settings = make_settings(redis_url, prefix)
    handled: list[tuple[int, int]] = []

    async def handle(job: Job, ctx: Context) -> None:
        handled.append((job.n, ctx.attempt))

    registry = registry_with(handle)
    stream = Keys(prefix).stream("default")
    await redis.xgroup_create(stream, settings.group, id="0", mkstream=True)
    await publish_jobs(redis, settings, registry, 5)
    await redis.xreadgroup(settings.group, "crashed-consumer", {stream: ">"}, count=5)
    # ... one of which was deleted from the stream meanwhile
    (first, _), *_ = await redis.xrange(stream, count=1)
    await redis.xdel(stream, first)
    started = time.monotonic()
    # When a live worker runs
    with anyio.fail_after(10):
        await Worker(redis, settings, registry, ["default"]).run(stop_when_idle=True)
    # Then it claimed the rest after the visibility timeout (second delivery) and cleaned the deleted one
    assert sorted(handled) == [(n, 2) for n in range(1, 5)]
    assert time.monotonic() - started >= FAST_QUEUE.visibility_timeout_ms / 1000 * 0.9
    assert await pending_count(redis, settings) == 0


async def test_entry_that_keeps_killing_workers_is_dead_lettered(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    # Given an entry already delivered max_attempts times to consumers that all died
    settings = make_settings(redis_url, prefix)
    registry = registry_with(lambda job, ctx: anyio.lowlevel.checkpoint())
    stream = Keys(prefix).stream("default")
    await redis.xgroup_create(stream, settings.group, id="0", mkstream=True)
    (entry_id,) = await publish_jobs(redis, settings, registry, 1)
    await redis.xreadgroup(settings.group, "victim-1", {stream: ">"})
    for victim in range(2, FAST_QUEUE.max_attempts + 1):
        await redis.xclaim(stream, settings.group, f"victim-{victim}", 0, [entry_id])
    # When a worker reclaims it
    with anyio.fail_after(10):
        await Worker(redis, settings, registry, ["default"]).run(stop_when_idle=True)
    # Then it is not run again but dead-lettered with the reason
    (dead,) = await list_dead(redis, Keys(prefix), "default")
    assert dead.original_id == entry_id
    assert "delivered 3 times without finishing" in dead.error


async def test_long_blocking_handler_keeps_its_lease(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    # Given a 300 ms visibility timeout and a handler that blocks the event loop for 1.2 s
    queue = QueueSettings(visibility_timeout_ms=300, backoff_base_ms=50, backoff_cap_ms=200)
    settings = make_settings(redis_url, prefix, default=queue)
    runs: list[int] = []

    async def handle(job: Job, ctx: Context) -> None:
        runs.append(ctx.attempt)
        time.sleep(1.2)  # noqa: ASYNC251  # CPU-bound or blocking work that starves the event loop

    registry = registry_with(handle)
    stream = Keys(prefix).stream("default")
    await publish_jobs(redis, settings, registry, 1)
    stolen: list[object] = []
    done = threading.Event()

    def thief() -> None:
        # Another consumer tries to claim anything idle past the timeout, from another thread.
        client = sync_redis.Redis.from_url(redis_url)
        while not done.wait(0.05):
            pending = client.xpending_range(
                stream, settings.group, "-", "+", 10, idle=queue.visibility_timeout_ms
            )
            stolen.extend(pending)
        client.close()

    thread = threading.Thread(target=thief)
    thread.start()
    try:
        with anyio.fail_after(10):
            await Worker(redis, settings, registry, ["default"]).run(stop_when_idle=True)
    finally:
        done.set()
        thread.join()
    # Then the entry never looked abandoned and ran once
    assert stolen == []
    assert runs == [1]
    assert await pending_count(redis, settings) == 0


async def test_shutdown_waits_for_running_handlers_and_acknowledges_them(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    settings = make_settings(redis_url, prefix)
    started = anyio.Event()
    release = anyio.Event()
    finished: list[int] = []

    async def handle(job: Job, ctx: Context) -> None:
        started.set()
        await release.wait()
        finished.append(job.n)

    registry = registry_with(handle)
    await publish_jobs(redis, settings, registry, 1)
    worker = Worker(redis, settings, registry, ["default"])
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            await tg.start(worker.run)
            await started.wait()
            worker.request_stop()  # while the handler is busy
            await anyio.lowlevel.checkpoint()
            release.set()
    assert finished == [0]
    assert await pending_count(redis, settings) == 0


async def test_shutdown_timeout_leaves_unfinished_entries_claimable_at_once(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    # Given a handler that never finishes and a 200 ms shutdown timeout
    settings = msgspec.structs.replace(make_settings(redis_url, prefix), shutdown_timeout_ms=200)
    started = anyio.Event()

    async def handle(job: Job, ctx: Context) -> None:
        started.set()
        await anyio.sleep_forever()

    registry = registry_with(handle)
    await publish_jobs(redis, settings, registry, 1)
    worker = Worker(redis, settings, registry, ["default"], name="leaving")
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            await tg.start(worker.run)
            await started.wait()
            worker.request_stop()
    # Then the entry is still pending, already idle enough for any other consumer to claim
    stream = Keys(prefix).stream("default")
    (row,) = await redis.xpending_range(stream, settings.group, "-", "+", 10)
    assert row["consumer"] == b"leaving"
    assert row["time_since_delivered"] >= FAST_QUEUE.visibility_timeout_ms
    # And the consumer was kept in the group, since deleting it would orphan the entry
    consumers = await redis.xinfo_consumers(stream, settings.group)
    assert [c["name"] for c in consumers] == [b"leaving"]


async def test_clean_shutdown_removes_the_consumer_and_heartbeat(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    settings = make_settings(redis_url, prefix)
    registry = registry_with(lambda job, ctx: anyio.lowlevel.checkpoint())
    worker = Worker(redis, settings, registry, ["default"], name="tidy")
    with anyio.fail_after(10):
        async with running(worker):
            await wait_until(lambda: redis.exists(Keys(prefix).worker("tidy")))
    assert await redis.xinfo_consumers(Keys(prefix).stream("default"), settings.group) == []
    assert not await redis.exists(Keys(prefix).worker("tidy"))


async def test_heartbeat_reports_counters(redis: Redis, redis_url: str, prefix: str) -> None:
    from streams.heartbeat import live_workers

    settings = make_settings(redis_url, prefix)

    async def handle(job: Job, ctx: Context) -> None:
        if job.n == 0:
            raise PermanentError("no")

    registry = registry_with(handle)
    await publish_jobs(redis, settings, registry, 3)
    worker = Worker(redis, settings, registry, ["default"], name="counting")
    with anyio.fail_after(10):
        async with running(worker):

            async def counted() -> bool:
                live = await live_workers(redis, Keys(prefix))
                return bool(live) and live[0].processed == 2 and live[0].dead_lettered == 1

            await wait_until(counted)
    info = worker.info
    assert (info.processed, info.failed, info.dead_lettered, info.retried) == (2, 1, 1, 0)


async def test_missing_group_is_recreated_while_running(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    settings = make_settings(redis_url, prefix)
    handled: list[int] = []

    async def handle(job: Job, ctx: Context) -> None:
        handled.append(job.n)

    registry = registry_with(handle)
    stream = Keys(prefix).stream("default")
    worker = Worker(redis, settings, registry, ["default"])
    with anyio.fail_after(10):
        async with running(worker):
            await wait_until(lambda: redis.exists(stream))
            await redis.delete(stream)  # what a server restart without persistence looks like
            await wait_until(lambda: _has_group(redis, stream, settings.group))
            await publish_jobs(redis, settings, registry, 3)
            await wait_until(lambda: _true(len(handled) == 3))
    assert sorted(handled) == [0, 1, 2]


async def _has_group(redis: Redis, stream: str, group: str) -> bool:
    try:
        return any(g["name"] == group.encode() for g in await redis.xinfo_groups(stream))
    except sync_redis.ResponseError:
        return False


async def _true(value: bool) -> bool:
    return value


async def test_handlers_run_concurrently_up_to_the_queue_concurrency(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    # Given concurrency 8 and 20 jobs that each wait until 8 are running at once
    settings = make_settings(redis_url, prefix, default=QueueSettings(concurrency=8, batch_size=5))
    running_now = 0
    peak = 0
    all_in = anyio.Event()

    async def handle(job: Job, ctx: Context) -> None:
        nonlocal running_now, peak
        running_now += 1
        peak = max(peak, running_now)
        if running_now == 8:
            all_in.set()
        with anyio.move_on_after(0.5):
            await all_in.wait()
        running_now -= 1

    registry = registry_with(handle)
    await publish_jobs(redis, settings, registry, 20)
    with anyio.fail_after(10):
        await Worker(redis, settings, registry, ["default"]).run(stop_when_idle=True)
    # Then 8 ran at the same time, never more
    assert peak == 8


async def test_reclaiming_its_own_lapsed_entry_does_not_run_it_twice(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    # Given a handler still running when its lease lapses (as after a long Redis outage)
    settings = make_settings(redis_url, prefix)
    stream = Keys(prefix).stream("default")
    started = anyio.Event()
    release = anyio.Event()
    runs: list[int] = []

    async def handle(job: Job, ctx: Context) -> None:
        runs.append(ctx.attempt)
        started.set()
        await release.wait()

    registry = registry_with(handle)
    await publish_jobs(redis, settings, registry, 1)
    worker = Worker(redis, settings, registry, ["default"], name="me")
    with anyio.fail_after(10):
        async with running(worker):
            await started.wait()
            (row,) = await redis.xpending_range(stream, settings.group, "-", "+", 1)
            lapsed_idle_ms = FAST_QUEUE.visibility_timeout_ms * 2
            await redis.xclaim(
                stream,
                settings.group,
                "me",
                0,
                [row["message_id"]],
                idle=lapsed_idle_ms,
                justid=True,
            )

            async def reclaimed_by_me() -> bool:
                (r,) = await redis.xpending_range(stream, settings.group, "-", "+", 1)
                return bool(r["times_delivered"] == 2)

            # When the worker's own reclaimer takes it back
            await wait_until(reclaimed_by_me)
            release.set()

            async def acknowledged() -> bool:
                return await pending_count(redis, settings) == 0

            await wait_until(acknowledged)
    # Then the handler ran once
    assert runs == [1]
