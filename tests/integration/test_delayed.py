"""Delayed messages: scheduled, counted, listed, cancelled, moved exactly once, handled on time."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import anyio
import msgspec
import pytest
from redis.asyncio import Redis

from streams import Context, Producer, Registry, ValidationError
from streams.delayed import DueMover, cancel, count_scheduled, list_scheduled
from streams.errors import PublishError
from streams.inspect import inspect_queue
from streams.keys import Keys
from streams.worker import Worker
from tests.support import make_settings, wait_until


class Job(msgspec.Struct, frozen=True):
    n: int


def registry_with(handled: dict[int, float]) -> Registry:
    async def handle(job: Job, ctx: Context) -> None:
        handled[job.n] = time.time()

    registry = Registry()
    registry.message("default", "job", Job, handle)
    return registry


async def test_a_delayed_message_waits_in_the_schedule_and_is_counted(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    settings = make_settings(redis_url, prefix)
    producer = Producer(redis, settings, registry_with({}))

    published = await producer.publish("default", "job", Job(1), delay_ms=60_000, key="k1")

    assert published.scheduled
    assert published.due_ms is not None
    assert abs(published.due_ms - (time.time() * 1000 + 60_000)) < 2_000
    assert await redis.xlen(Keys(prefix).stream("default")) == 0
    state = await inspect_queue(redis, Keys(prefix), settings.group, "default")
    assert state.scheduled == 1
    (listed,) = await list_scheduled(redis, Keys(prefix), "default")
    assert (listed.id, listed.type, listed.key, listed.due_ms) == (
        published,
        "job",
        "k1",
        published.due_ms,
    )


async def test_the_payload_is_validated_when_scheduled(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    producer = Producer(redis, make_settings(redis_url, prefix), registry_with({}))

    with pytest.raises(ValidationError):
        await producer.publish("default", "job", {"n": "not a number"}, delay_ms=1_000)
    with pytest.raises(PublishError):
        await producer.publish("default", "job", Job(1), delay_ms=1, at=datetime.now(UTC))

    assert await count_scheduled(redis, Keys(prefix), "default") == 0


async def test_a_cancelled_message_is_never_published(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    producer = Producer(redis, make_settings(redis_url, prefix), registry_with({}))
    published = await producer.publish("default", "job", Job(1), delay_ms=50)

    assert await cancel(redis, Keys(prefix), "default", published)
    assert not await cancel(redis, Keys(prefix), "default", published)
    await DueMover(redis, Keys(prefix), "default").tick()
    await anyio.sleep(0.1)  # past the due time: a mover finds nothing to move
    tick = await DueMover(redis, Keys(prefix), "default").tick()

    assert tick.moved == 0
    assert await redis.xlen(Keys(prefix).stream("default")) == 0


async def test_a_time_in_the_past_publishes_at_once(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    producer = Producer(redis, make_settings(redis_url, prefix), registry_with({}))

    published = await producer.publish(
        "default", "job", Job(1), at=datetime.now(UTC) - timedelta(hours=1)
    )

    assert not published.scheduled
    assert await redis.xlen(Keys(prefix).stream("default")) == 1


async def test_many_movers_at_once_land_each_message_exactly_once(
    redis_url: str, prefix: str
) -> None:
    # Given 300 messages due now and 20 clients acting as 20 workers' movers
    clients = [Redis.from_url(redis_url) for _ in range(20)]
    keys = Keys(prefix)
    producer = Producer(clients[0], make_settings(redis_url, prefix), registry_with({}))
    due = datetime.now(UTC) + timedelta(milliseconds=200)
    for n in range(300):
        await producer.publish("default", "job", Job(n), at=due)

    async def all_due() -> bool:
        return time.time() > due.timestamp()

    await wait_until(all_due, 3)

    # When they all move due messages concurrently
    async with anyio.create_task_group() as tg:
        for client in clients:
            for _ in range(3):
                tg.start_soon(DueMover(client, keys, "default").tick)

    # Then the stream has each message once and the schedule is empty
    entries: list[tuple[bytes, dict[bytes, bytes]]] = await clients[0].xrange(
        keys.stream("default")
    )  # type: ignore[assignment]  # redis-py types replies loosely
    ns = sorted(msgspec.json.decode(fields[b"data"], type=Job).n for _, fields in entries)
    assert ns == list(range(300))
    assert await count_scheduled(clients[0], keys, "default") == 0
    for client in clients:
        await client.aclose()


async def test_workers_handle_each_message_after_its_time_and_within_a_second(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    # Given two idle workers
    settings = make_settings(redis_url, prefix)
    handled: dict[int, float] = {}
    registry = registry_with(handled)
    producer = Producer(redis, settings, registry)
    async with anyio.create_task_group() as tg:
        workers = [Worker(redis, settings, registry, ["default"], name=f"w{i}") for i in range(2)]
        for worker in workers:
            await tg.start(worker.run)
        # When 20 messages are scheduled 0.3 s to 1.2 s ahead
        due: dict[int, float] = {}
        for n in range(20):
            published = await producer.publish("default", "job", Job(n), delay_ms=300 + 50 * n)
            assert published.due_ms is not None
            due[n] = published.due_ms / 1000

        async def all_handled() -> bool:
            return len(handled) == 20

        await wait_until(all_handled, 5)
        for worker in workers:
            worker.request_stop()

    # Then each is handled once, no earlier than due and within 1 s after
    late = {n: round(handled[n] - due[n], 3) for n in due}
    assert all(0 <= d < 1.0 for d in late.values()), late
    assert await redis.xlen(Keys(prefix).stream("default")) == 20


class Note(msgspec.Struct, frozen=True):
    text: str


async def test_a_moved_entry_has_exactly_the_fields_it_was_scheduled_with(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    registry = Registry()

    async def ignore(note: Note, ctx: Context) -> None:
        return None

    registry.message("default", "note", Note, ignore)
    producer = Producer(redis, make_settings(redis_url, prefix), registry)
    text = 'é 🎉 / \\ " \n \t \u0001 {"nested": [1, 2]}'
    headers = {"traceparent": "00-abc-def-01", "x/y": "ü"}

    published = await producer.publish(
        "default", "note", Note(text), key="k/ü", headers=headers, delay_ms=50
    )
    await anyio.sleep(0.1)  # past the due time
    await DueMover(redis, Keys(prefix), "default").tick()

    assert published.scheduled
    entries: list[tuple[bytes, dict[bytes, bytes]]] = await redis.xrange(
        Keys(prefix).stream("default")
    )  # type: ignore[assignment]  # redis-py types replies loosely
    ((_, fields),) = entries
    assert msgspec.json.decode(fields[b"data"], type=Note).text == text
    assert fields[b"key"] == "k/ü".encode()
    assert msgspec.json.decode(fields[b"headers"]) == headers
    assert fields[b"type"] == b"note"
