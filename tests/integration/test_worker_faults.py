"""The worker when things go wrong: odd handler exceptions, undecodable payloads, huge
entries, a Redis that is full or refuses writes, keys of the wrong type, and a shutdown
that fails halfway."""

from __future__ import annotations

import asyncio
import logging
import shutil
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pytest
from redis.asyncio import Redis

from streams import Context, PermanentError, Producer, Registry, StreamsError
from streams import heartbeat as heartbeat_module
from streams.client import create_redis
from streams.deadletter import list_dead
from streams.keys import Keys
from streams.lease import LeaseKeeper
from streams.scripts import Scripts
from streams.server import LocalServer, free_port
from streams.worker import Worker
from tests.integration.test_worker import (
    Job,
    pending_count,
    publish_jobs,
    registry_with,
    running,
)
from tests.support import FAST_QUEUE, make_settings, wait_until


async def _noop(job: Job, ctx: Context) -> None:
    return None


def _released(row: dict[str, Any]) -> bool:
    """Handed back at shutdown: already idle for the visibility timeout, claimable at once."""
    return bool(row["time_since_delivered"] >= FAST_QUEUE.visibility_timeout_ms)


def _outage_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The loop named in each 'redis unavailable' warning, one item per warning."""
    return [
        r.getMessage().split(": redis unavailable")[0]
        for r in caplog.records
        if "redis unavailable" in r.getMessage()
    ]


# -- handlers raising BaseException --------------------------------------------------------


async def test_handler_always_raising_cancelled_error_is_dead_lettered(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    settings = make_settings(redis_url, prefix)

    async def handle(job: Job, ctx: Context) -> None:
        raise asyncio.CancelledError("upstream call cancelled")

    registry = registry_with(handle)
    (entry_id,) = await publish_jobs(redis, settings, registry, 1)
    with anyio.fail_after(5):
        await Worker(redis, settings, registry, ["default"]).run(stop_when_idle=True)
    (dead,) = await list_dead(redis, Keys(prefix), "default")
    assert dead.original_id == entry_id
    assert dead.error == "CancelledError: upstream call cancelled"
    assert dead.attempts == FAST_QUEUE.max_attempts


async def test_shutdown_cancelling_a_running_handler_is_not_a_failure(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    # Given a handler that never finishes and a 100 ms shutdown timeout
    settings = msgspec.structs.replace(make_settings(redis_url, prefix), shutdown_timeout_ms=100)
    started = anyio.Event()
    cancelled: list[str] = []

    async def handle(job: Job, ctx: Context) -> None:
        started.set()
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            cancelled.append(ctx.id)
            raise

    registry = registry_with(handle)
    (entry_id,) = await publish_jobs(redis, settings, registry, 1)
    worker = Worker(redis, settings, registry, ["default"], name="leaving")
    # When the worker is stopped while the handler runs
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            await tg.start(worker.run)
            await started.wait()
            worker.request_stop()
    # Then the cancellation reached the handler, and the entry is handed back, not retried
    assert cancelled == [entry_id]
    assert (worker.info.failed, worker.info.retried) == (0, 0)
    assert await list_dead(redis, Keys(prefix), "default") == []
    (row,) = await redis.xpending_range(Keys(prefix).stream("default"), settings.group, "-", "+", 9)
    assert row["times_delivered"] == 1
    assert _released(row)


@pytest.mark.parametrize("error", [KeyboardInterrupt(), SystemExit(3)], ids=repr)
async def test_handler_raising_an_exit_stops_the_worker_and_leaves_the_entry_pending(
    redis: Redis, redis_url: str, prefix: str, error: BaseException
) -> None:
    # Given a handler that raises KeyboardInterrupt or SystemExit
    settings = make_settings(redis_url, prefix)
    calls: list[int] = []

    async def handle(job: Job, ctx: Context) -> None:
        calls.append(ctx.attempt)
        raise error

    registry = registry_with(handle)
    (entry_id,) = await publish_jobs(redis, settings, registry, 1)
    worker = Worker(redis, settings, registry, ["default"], name="exiting")
    # When the worker runs, it stops and raises the exit
    with anyio.fail_after(5), pytest.raises(type(error)) as caught:
        await worker.run()
    assert caught.value is error
    # Then the entry is not counted as a failure: still pending, claimable at once, not dead
    assert calls == [1]
    (row,) = await redis.xpending_range(Keys(prefix).stream("default"), settings.group, "-", "+", 9)
    assert row["message_id"].decode() == entry_id
    assert _released(row)
    assert await list_dead(redis, Keys(prefix), "default") == []
    assert worker.info.failed == 0


# -- payloads the decoder chokes on --------------------------------------------------------


class Picky(msgspec.Struct, frozen=True):
    n: int

    def __post_init__(self) -> None:
        if self.n < 0:
            raise LookupError(f"no item {self.n}")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (
            '{"n": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
            "DecodeError: payload of 'job' is invalid: nested too deeply",
        ),
        ('{"n": -1}', "LookupError: no item -1"),
    ],
    ids=["deep-nesting", "post-init-raises"],
)
async def test_payload_that_crashes_the_decoder_is_dead_lettered_at_once(
    redis: Redis, redis_url: str, prefix: str, data: str, error: str
) -> None:
    # Given an entry whose payload makes decoding raise something other than a DecodeError
    settings = make_settings(redis_url, prefix)
    handled: list[int] = []

    async def handle(job: Picky, ctx: Context) -> None:
        handled.append(job.n)

    registry = Registry()
    registry.message("default", "job", Picky, handle)
    stream = Keys(prefix).stream("default")
    bad_id = await redis.xadd(stream, {"type": "job", "data": data})
    await redis.xadd(stream, {"type": "job", "data": '{"n": 2}'})
    # When a worker drains the queue
    with anyio.fail_after(5):
        await Worker(redis, settings, registry, ["default"]).run(stop_when_idle=True)
    # Then the bad entry is a dead letter after one attempt and the next one was handled
    (dead,) = await list_dead(redis, Keys(prefix), "default")
    assert dead.original_id == bad_id.decode()
    assert dead.error == error
    assert dead.attempts == 1
    assert handled == [2]


# -- entries with more fields than a Lua script can unpack ---------------------------------


def _big_entry(fields: int) -> dict[str, str]:
    extra = {f"field{i}": f"value{i}" for i in range(fields - 2)}
    return {"type": "job", "data": '{"n": 7}', **extra}


async def _dead_fields(redis: Redis, prefix: str) -> list[dict[bytes, bytes]]:
    entries: Any = await redis.xrange(Keys(prefix).dead("default"))
    return [fields for _, fields in entries]


async def test_entry_with_10000_fields_reaches_dead_letters_intact(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    # Given an entry of 10,000 fields whose handler fails permanently
    settings = make_settings(redis_url, prefix)

    async def handle(job: Job, ctx: Context) -> None:
        raise PermanentError("rejected")

    registry = registry_with(handle)
    original = _big_entry(10_000)
    entry_id = await redis.xadd(Keys(prefix).stream("default"), original)  # type: ignore[arg-type]
    # When a worker handles it
    with anyio.fail_after(10):
        await Worker(redis, settings, registry, ["default"]).run(stop_when_idle=True)
    # Then one dead letter holds every original field, plus the reason
    (fields,) = await _dead_fields(redis, prefix)
    copied = {k: v for k, v in fields.items() if not k.startswith(b"dead_")}
    assert copied == {k.encode(): v.encode() for k, v in original.items()}
    (dead,) = await list_dead(redis, Keys(prefix), "default")
    assert (dead.original_id, dead.error, dead.attempts) == (
        entry_id.decode(),
        "PermanentError: rejected",
        1,
    )
    assert await pending_count(redis, settings) == 0


async def test_entry_with_10000_fields_is_retried_then_dead_lettered_once(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    settings = make_settings(redis_url, prefix)
    attempts: list[int] = []

    async def handle(job: Job, ctx: Context) -> None:
        attempts.append(ctx.attempt)
        raise ValueError("still failing")

    registry = registry_with(handle)
    await redis.xadd(Keys(prefix).stream("default"), _big_entry(10_000))  # type: ignore[arg-type]
    with anyio.fail_after(10):
        await Worker(redis, settings, registry, ["default"]).run(stop_when_idle=True)
    assert attempts == [1, 2, 3]
    (fields,) = await _dead_fields(redis, prefix)
    assert len(fields) == 10_000 + 4
    assert fields[b"dead_attempts"] == b"3"
    assert await pending_count(redis, settings) == 0


async def test_entry_with_10000_fields_claimed_by_another_consumer_is_left_to_it(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    # Given a 10,000-field entry read by "me", then claimed by "other"
    settings = make_settings(redis_url, prefix)
    keys = Keys(prefix)
    stream = keys.stream("default")
    await redis.xgroup_create(stream, settings.group, id="0", mkstream=True)
    await redis.xadd(stream, _big_entry(10_000))  # type: ignore[arg-type]
    reply: Any = await redis.xreadgroup(settings.group, "me", {stream: ">"})
    ((entry_id, fields),) = reply[0][1]
    await redis.xclaim(stream, settings.group, "other", 0, [entry_id])
    # When "me" settles its failure as permanent
    outcome = await Scripts(redis, keys, settings.group, "me").settle_failure(
        "default",
        entry_id.decode(),
        max_attempts=3,
        retry_idle_ms=0,
        error="PermanentError: rejected",
        permanent=True,
        fields=fields,
    )
    # Then nothing changed: no dead letter, and the entry is still pending with "other"
    assert outcome == "gone"
    assert await redis.xlen(keys.dead("default")) == 0
    (row,) = await redis.xpending_range(stream, settings.group, "-", "+", 9)
    assert row["consumer"] == b"other"


# -- Redis full, read-only or failing to persist -------------------------------------------


@pytest.fixture
async def own_server(tmp_path: Path) -> AsyncIterator[tuple[LocalServer, Redis]]:
    """A server of the test's own, for tests that change its configuration."""
    with LocalServer(data_dir=tmp_path / "data") as server:
        client = Redis.from_url(server.url)
        try:
            yield server, client
        finally:
            await client.aclose()


async def _refused(client: Redis, code: str) -> int:
    stats: Any = await client.info("errorstats")
    return int(stats.get(f"errorstat_{code}", {}).get("count", 0))


async def test_worker_starts_and_consumes_while_redis_is_full(
    own_server: tuple[LocalServer, Redis],
    prefix: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a group created by an earlier run, three jobs, then Redis full (noeviction)
    server, redis = own_server
    settings = make_settings(server.url, prefix)
    handled: list[int] = []

    async def handle(job: Job, ctx: Context) -> None:
        handled.append(job.n)

    registry = registry_with(handle)
    await redis.xgroup_create(Keys(prefix).stream("default"), settings.group, id="0", mkstream=True)
    await publish_jobs(redis, settings, registry, 3)
    await redis.config_set("maxmemory", 1)
    beats = 0
    beat = heartbeat_module.beat

    async def counting_beat(*args: Any) -> None:
        nonlocal beats
        beats += 1
        await beat(*args)

    monkeypatch.setattr(heartbeat_module, "beat", counting_beat)
    # When a worker starts: XGROUP CREATE is refused, but the group exists
    worker = Worker(redis, settings, registry, ["default"], name="full")
    with anyio.fail_after(10):
        async with running(worker):

            async def done() -> bool:
                return sorted(handled) == [0, 1, 2] and await pending_count(redis, settings) == 0

            # Then it consumes and acknowledges (reads and acks need no memory)
            await wait_until(done)
            await wait_until(lambda: _true(beats >= 4))
    # And the refused heartbeat was logged once, not on every beat
    assert await _refused(redis, "OOM") >= 4
    assert _outage_lines(caplog) == ["worker full heartbeat"]


async def _true(value: bool) -> bool:
    return value


class Refusal:
    """Puts a server in a state where it refuses writes, and back."""

    def __init__(self, kind: str, server: LocalServer, client: Redis) -> None:
        self.kind = kind
        self.server = server
        self.client = client

    async def start(self) -> None:
        if self.kind == "MISCONF":
            # A snapshot that cannot be written: Redis then refuses every write.
            await self.client.config_set("save", "3600 1")
            assert self.server.data_dir is not None
            shutil.rmtree(self.server.data_dir)
            await self.client.bgsave()

            async def failed() -> bool:
                info: Any = await self.client.info("persistence")
                return info["rdb_last_bgsave_status"] == "err"

            await wait_until(failed)
        elif self.kind == "READONLY":
            # What a failover looks like from a client still connected to the old primary.
            await self.client.replicaof("127.0.0.1", free_port())
        else:
            await self.client.config_set("maxmemory", 1)

    async def stop(self) -> None:
        if self.kind == "MISCONF":
            await self.client.config_set("stop-writes-on-bgsave-error", "no")
            await self.client.config_set("save", "")  # else it won't shut down without a save
        elif self.kind == "READONLY":
            await self.client.replicaof("NO", "ONE")
        else:
            await self.client.config_set("maxmemory", 0)


@pytest.mark.parametrize("kind", ["MISCONF", "READONLY", "OOM"])
async def test_worker_waits_while_redis_refuses_writes_then_resumes(
    own_server: tuple[LocalServer, Redis], prefix: str, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    # Given a worker consuming from a server
    server, redis = own_server
    settings = make_settings(server.url, prefix)
    handled: list[int] = []

    async def handle(job: Job, ctx: Context) -> None:
        handled.append(job.n)

    registry = registry_with(handle)
    producer = Producer(redis, settings, registry)
    refusal = Refusal(kind, server, redis)
    worker = Worker(redis, settings, registry, ["default"], name="patient")
    with anyio.fail_after(20):
        async with running(worker):
            await producer.publish("default", "job", Job(0))
            await wait_until(lambda: _true(handled == [0]))
            # When the server refuses writes for a while (a dozen refused commands)
            await refusal.start()
            await wait_until(lambda: _at_least(_refused(redis, kind), 12))
            await refusal.stop()
            # Then the worker is still there and picks up new work
            await producer.publish("default", "job", Job(1))
            await wait_until(lambda: _true(handled == [0, 1]))
    # And each loop logged the outage once, not once per attempt
    lines = _outage_lines(caplog)
    assert lines
    assert len(lines) == len(set(lines)), lines


async def _at_least(value: Awaitable[int], minimum: int) -> bool:
    return await value >= minimum


async def test_heartbeat_key_of_the_wrong_type_is_logged_once_and_work_goes_on(
    redis: Redis, redis_url: str, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(redis_url, prefix)
    handled: list[int] = []

    async def handle(job: Job, ctx: Context) -> None:
        handled.append(job.n)

    registry = registry_with(handle)
    await redis.set(Keys(prefix).workers(), "not a sorted set")
    await publish_jobs(redis, settings, registry, 2)
    with anyio.fail_after(5):
        await Worker(redis, settings, registry, ["default"], name="w").run(stop_when_idle=True)
    assert sorted(handled) == [0, 1]
    failures = [r for r in caplog.records if r.getMessage().startswith("worker w heartbeat")]
    assert len(failures) == 1
    assert "WRONGTYPE" in failures[0].getMessage()


# -- a queue key holding something else ----------------------------------------------------


async def test_stream_key_of_another_type_stops_the_worker_at_start_with_a_clear_error(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    # Given the stream key of a queue holding a string
    settings = make_settings(redis_url, prefix)
    stream = Keys(prefix).stream("events")
    await redis.set(stream, "left over from something else")
    worker = Worker(redis, settings, registry_with(_noop), ["default", "events"])
    # When a worker starts, then it stops with one line naming the key and the way out
    with anyio.fail_after(5), pytest.raises(StreamsError) as caught:
        await worker.run()
    message = str(caught.value)
    assert "\n" not in message
    assert f"key '{stream}' holds a string, not a stream" in message
    assert "delete or rename it" in message


async def test_stream_key_replaced_while_running_stops_the_worker_with_a_clear_error(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    settings = make_settings(redis_url, prefix)
    stream = Keys(prefix).stream("default")
    worker = Worker(redis, settings, registry_with(_noop), ["default"])
    errors: list[BaseException] = []
    with anyio.fail_after(5):
        try:
            async with anyio.create_task_group() as tg:
                await tg.start(worker.run)
                await wait_until(lambda: redis.exists(stream))
                async with redis.pipeline(transaction=True) as pipe:  # before a reader recreates it
                    pipe.delete(stream)
                    pipe.rpush(stream, "a list now")
                    await pipe.execute()
        except* StreamsError as group:
            errors.extend(group.exceptions)
    (error,) = errors
    assert f"key '{stream}' holds a list, not a stream" in str(error)


# -- shutdown ------------------------------------------------------------------------------


async def _stuck_handler_worker(
    redis: Redis, redis_url: str, prefix: str, queues: list[str]
) -> tuple[Worker, anyio.Event, Callable[[], Awaitable[None]]]:
    """A worker whose handlers never finish, with one entry per queue and a 100 ms shutdown."""
    settings = msgspec.structs.replace(make_settings(redis_url, prefix), shutdown_timeout_ms=100)
    started: set[str] = set()
    all_started = anyio.Event()

    async def handle(job: Job, ctx: Context) -> None:
        started.add(ctx.queue)
        if len(started) == len(queues):
            all_started.set()
        await anyio.sleep_forever()

    registry = Registry()
    for queue in queues:
        registry.message(queue, "job", Job, handle)
    producer = Producer(redis, settings, registry)

    async def publish() -> None:
        for queue in queues:
            await producer.publish(queue, "job", Job(0))

    return Worker(redis, settings, registry, queues, name="stopping"), all_started, publish


async def test_lease_is_stopped_before_unfinished_entries_are_released(
    redis: Redis, redis_url: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps: list[str] = []
    request_stop, release = LeaseKeeper.request_stop, Scripts.release

    def recording_stop(self: LeaseKeeper) -> None:
        request_stop(self)
        steps.append("lease stopping")

    async def recording_release(
        self: Scripts, queue: str, ids: list[str], idle_ms: int, **kwargs: Any
    ) -> int:
        steps.append("release" if not lease_running() else "release while the lease runs")
        return await release(self, queue, ids, idle_ms, **kwargs)

    def lease_running() -> bool:
        return any(t.name == "lease-keeper" for t in threading.enumerate())

    monkeypatch.setattr(LeaseKeeper, "request_stop", recording_stop)
    monkeypatch.setattr(Scripts, "release", recording_release)
    worker, started, publish = await _stuck_handler_worker(redis, redis_url, prefix, ["default"])
    await publish()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            await tg.start(worker.run)
            await started.wait()
            worker.request_stop()
    assert steps == ["lease stopping", "release"]
    (row,) = await redis.xpending_range(Keys(prefix).stream("default"), "godo", "-", "+", 9)
    assert _released(row)


async def test_shutdown_goes_on_after_a_redis_error_in_one_queue(
    redis: Redis,
    redis_url: str,
    prefix: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given unfinished entries in two queues, and the first queue's group gone at shutdown
    release = Scripts.release

    async def release_without_group(
        self: Scripts, queue: str, ids: list[str], idle_ms: int, **kwargs: Any
    ) -> int:
        if queue == "default":
            await redis.xgroup_destroy(Keys(prefix).stream(queue), "godo")
        return await release(self, queue, ids, idle_ms, **kwargs)

    monkeypatch.setattr(Scripts, "release", release_without_group)
    worker, started, publish = await _stuck_handler_worker(
        redis, redis_url, prefix, ["default", "events"]
    )
    await publish()
    # When the worker stops and releasing the first queue's entries fails (NOGROUP)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            await tg.start(worker.run)
            await started.wait()
            worker.request_stop()
    # Then the other queue's entry was still handed back and the heartbeat removed
    (row,) = await redis.xpending_range(Keys(prefix).stream("events"), "godo", "-", "+", 9)
    assert _released(row)
    assert not await redis.exists(Keys(prefix).worker("stopping"))
    assert any("NOGROUP" in r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)


async def test_a_failing_cleanup_does_not_stop_the_others_or_the_shutdown(
    redis: Redis, redis_url: str, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(redis_url, prefix)
    registry = registry_with(_noop)
    closed: list[str] = []

    @registry.on_cleanup
    async def broken() -> None:
        raise RuntimeError("client already closed")

    @registry.on_cleanup
    async def fine() -> None:
        closed.append("fine")

    with anyio.fail_after(5):
        await Worker(redis, settings, registry, ["default"]).run(stop_when_idle=True)
    assert closed == ["fine"]
    assert any("client already closed" in r.getMessage() for r in caplog.records)


# -- leases --------------------------------------------------------------------------------


async def test_lease_keeps_renewing_after_an_unexpected_error(
    redis: Redis, redis_url: str, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Given an entry held by consumer "me", idle for a minute
    settings = make_settings(redis_url, prefix)
    stream = Keys(prefix).stream("default")
    await redis.xgroup_create(stream, settings.group, id="0", mkstream=True)
    (entry_id,) = await publish_jobs(redis, settings, registry_with(_noop), 1)
    await redis.xreadgroup(settings.group, "me", {stream: ">"})
    await redis.xclaim(stream, settings.group, "me", 0, [entry_id], idle=60_000, justid=True)
    rounds = 0

    def held() -> dict[str, list[str]]:
        nonlocal rounds
        rounds += 1
        if rounds == 1:
            raise RuntimeError("dictionary changed size during iteration")
        return {stream: [entry_id]}

    # When the first renewal round fails with something that is not a Redis error
    lease = LeaseKeeper(settings, "me", held, interval_s=0.02)
    lease.start()
    try:

        async def renewed() -> bool:
            (row,) = await redis.xpending_range(stream, settings.group, "-", "+", 1)
            return bool(row["time_since_delivered"] < 10_000)

        # Then the next rounds still renew the entry
        with anyio.fail_after(5):
            await wait_until(renewed)
    finally:
        await anyio.to_thread.run_sync(lease.stop)
    assert rounds >= 2
    (logged,) = [r for r in caplog.records if "lease renewal failed" in r.getMessage()]
    assert "RuntimeError" in logged.getMessage()


async def test_a_lease_round_right_after_a_failure_does_not_delay_the_retry(
    redis: Redis, redis_url: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a handler that fails once (retry after 25-50 ms, visibility timeout 1 s)
    settings = make_settings(redis_url, prefix)
    tried_at: list[float] = []

    async def handle(job: Job, ctx: Context) -> None:
        tried_at.append(time.monotonic())
        if ctx.attempt == 1:
            raise ValueError("first try fails")

    registry = registry_with(handle)
    await publish_jobs(redis, settings, registry, 1)
    worker = Worker(redis, settings, registry, ["default"])
    # ... and a lease round that runs just as the failure has been settled
    lease = LeaseKeeper(settings, worker.name, worker.leased, interval_s=3600)
    renewed: list[int] = []
    settle = Scripts.settle_failure

    async def settle_then_renew(self: Scripts, *args: Any, **kwargs: Any) -> Any:
        outcome = await settle(self, *args, **kwargs)
        renewed.append(await anyio.to_thread.run_sync(lease.renew_once))
        return outcome

    monkeypatch.setattr(Scripts, "settle_failure", settle_then_renew)
    try:
        with anyio.fail_after(5):
            await worker.run(stop_when_idle=True)
    finally:
        lease.stop()
    # Then the lease left the parked entry alone, and the retry came after its backoff
    assert renewed == [0]
    assert len(tried_at) == 2
    assert tried_at[1] - tried_at[0] < FAST_QUEUE.visibility_timeout_ms / 1000 * 0.8


async def test_stop_while_redis_was_never_reachable_does_not_wait_the_shutdown_timeout(
    prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a worker started while nothing answers at its REDIS_URL, with a long shutdown timeout
    settings = msgspec.structs.replace(
        make_settings(f"redis://127.0.0.1:{free_port()}/0", prefix), shutdown_timeout_ms=60_000
    )
    redis = create_redis(settings, retries=0)
    worker = Worker(redis, settings, registry_with(_noop), ["default"])

    async def outage_logged() -> bool:
        return bool(_outage_lines(caplog))

    try:
        # When it is stopped after its first failed attempt to reach Redis
        with anyio.fail_after(30):  # well under the 60 s shutdown timeout
            async with anyio.create_task_group() as tg:
                await tg.start(worker.run)
                await wait_until(outage_logged, timeout_s=10)
                worker.request_stop()
        # Then it returned without waiting for handlers that never started
    finally:
        await redis.aclose()
