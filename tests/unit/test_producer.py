"""The producer on fakeredis: ids, wire fields, all-or-nothing batches."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

import fakeredis
import msgspec
import pytest

from streams.errors import UnknownQueueError, ValidationError
from streams.keys import Keys
from streams.messages import from_fields
from streams.producer import Outgoing, Producer
from streams.router import Registry
from tests.support import make_settings

PREFIX = "tunit"
STREAM = Keys(PREFIX).stream("events")


class Discovered(msgspec.Struct, frozen=True, kw_only=True):
    event_id: int
    title: str


async def entries(redis: fakeredis.FakeAsyncRedis) -> list[tuple[str, dict[bytes, bytes]]]:
    """The stream's entries as (id, fields)."""
    raw = cast("list[tuple[bytes, dict[bytes, bytes]]]", await redis.xrange(STREAM))
    return [(entry_id.decode(), fields) for entry_id, fields in raw]


@pytest.fixture
async def redis() -> AsyncIterator[fakeredis.FakeAsyncRedis]:
    client = fakeredis.FakeAsyncRedis()
    yield client
    await client.aclose()


@pytest.fixture
def producer(redis: fakeredis.FakeAsyncRedis) -> Producer:
    registry = Registry()
    registry.message("events", "event.discovered", Discovered)
    return Producer(redis, make_settings("redis://unused:1/0", PREFIX), registry)


async def test_publish_returns_the_entry_id_and_writes_wire_fields(
    producer: Producer, redis: fakeredis.FakeAsyncRedis
) -> None:
    entry_id = await producer.publish(
        "events",
        "event.discovered",
        {"event_id": 7, "title": "Jazz"},
        key="evt-7",
        headers={"trace": "t1"},
    )

    [(stored_id, fields)] = await entries(redis)
    assert stored_id == entry_id
    assert set(fields) == {b"type", b"data", b"ts", b"key", b"headers"}
    envelope = from_fields(fields)
    assert envelope.type == "event.discovered"
    assert msgspec.json.decode(envelope.data) == {"event_id": 7, "title": "Jazz"}
    assert envelope.key == "evt-7"
    assert envelope.headers == {"trace": "t1"}
    assert envelope.ts_ms is not None
    assert envelope.ts_ms > 0


async def test_publish_minimal_message_has_only_required_fields(
    producer: Producer, redis: fakeredis.FakeAsyncRedis
) -> None:
    await producer.publish("events", "event.discovered", Discovered(event_id=1, title="a"))

    [(_, fields)] = await entries(redis)
    assert set(fields) == {b"type", b"data", b"ts"}


async def test_publish_many_returns_ids_in_order(
    producer: Producer, redis: fakeredis.FakeAsyncRedis
) -> None:
    messages = [
        Outgoing(type="event.discovered", data={"event_id": n, "title": "t"}) for n in range(5)
    ]

    ids = await producer.publish_many("events", messages)

    stored = await entries(redis)
    assert ids == [i for i, _ in stored]
    assert [msgspec.json.decode(f[b"data"])["event_id"] for _, f in stored] == list(range(5))


async def test_publish_many_of_nothing_publishes_nothing(
    producer: Producer, redis: fakeredis.FakeAsyncRedis
) -> None:
    assert await producer.publish_many("events", []) == []
    assert await redis.exists(STREAM) == 0


@pytest.mark.parametrize(
    "bad",
    [
        Outgoing(type="event.discovered", data={"event_id": "x", "title": "t"}),
        Outgoing(type="event.unknown", data={}),
        Outgoing(type="event.discovered", data=b"{not json"),
    ],
)
async def test_publish_many_with_one_invalid_message_writes_nothing(
    producer: Producer, redis: fakeredis.FakeAsyncRedis, bad: Outgoing
) -> None:
    good = Outgoing(type="event.discovered", data={"event_id": 1, "title": "t"})

    with pytest.raises(ValidationError):
        await producer.publish_many("events", [good, bad, good])

    assert await redis.exists(STREAM) == 0


async def test_invalid_payload_writes_nothing(
    producer: Producer, redis: fakeredis.FakeAsyncRedis
) -> None:
    with pytest.raises(ValidationError, match=r"\$\.event_id"):
        await producer.publish("events", "event.discovered", {"event_id": "x", "title": "t"})

    assert await redis.exists(STREAM) == 0


async def test_unknown_queue_is_refused(
    producer: Producer, redis: fakeredis.FakeAsyncRedis
) -> None:
    with pytest.raises(UnknownQueueError, match="unknown queue 'nope'"):
        await producer.publish("nope", "x", {})

    assert await redis.keys("*") == []


async def test_unknown_queue_is_refused_for_a_batch(
    producer: Producer, redis: fakeredis.FakeAsyncRedis
) -> None:
    with pytest.raises(UnknownQueueError, match="unknown queue 'nope'"):
        await producer.publish_many("nope", [Outgoing(type="x", data={})])

    assert await redis.keys("*") == []
