"""Deduplication: one entry per key and window, even with 50 publishers at once."""

from __future__ import annotations

import anyio
import msgspec
import pytest
from redis.asyncio import Redis

from streams import Outgoing, Producer, PublishError, QueueSettings, Registry
from streams.delayed import cancel
from streams.enqueue import Published
from streams.keys import Keys
from tests.integration.api_support import AUTH, api_client
from tests.support import FAST_QUEUE, make_settings


class Order(msgspec.Struct, frozen=True):
    n: int


def order_registry() -> Registry:
    async def handle(order: Order, ctx: object) -> None:
        return None

    registry = Registry()
    registry.message("default", "order", Order, handle)
    return registry


async def test_fifty_concurrent_publishers_of_one_key_add_one_entry(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    # Given 50 producers, each on its own connection
    settings = make_settings(redis_url, prefix)
    clients = [Redis.from_url(redis_url) for _ in range(50)]
    results: list[Published] = []

    async def publish(client: Redis, n: int) -> None:
        producer = Producer(client, settings, order_registry())
        results.append(
            await producer.publish("default", "order", Order(n), key="order-42", dedupe_ms=60_000)
        )

    # When they publish the same key at once
    async with anyio.create_task_group() as tg:
        for n, client in enumerate(clients):
            tg.start_soon(publish, client, n)
    for client in clients:
        await client.aclose()

    # Then one entry exists and every caller got its id; 49 were told it was a duplicate
    entries: list[tuple[bytes, dict[bytes, bytes]]] = await redis.xrange(
        Keys(prefix).stream("default")
    )  # type: ignore[assignment]  # redis-py types replies loosely
    assert len(entries) == 1
    assert {str(r) for r in results} == {entries[0][0].decode()}
    assert sum(r.duplicate for r in results) == 49


async def test_fifty_concurrent_api_publishes_of_one_key_give_one_202(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    body = {"type": "ping", "data": {}, "key": "k", "dedupe_ms": 60_000}
    statuses: list[int] = []
    async with api_client(redis_url, prefix) as client:

        async def post() -> None:
            response = await client.post("/queues/default/messages", json=body, headers=AUTH)
            statuses.append(response.status_code)

        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(post)

    assert sorted(statuses) == [200] * 49 + [202]
    assert await redis.xlen(Keys(prefix).stream("default")) == 1


async def test_the_queue_setting_applies_and_the_window_expires(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    queue = msgspec.structs.replace(FAST_QUEUE, dedupe_ms=150)
    settings = make_settings(redis_url, prefix, default=queue)
    producer = Producer(redis, settings, order_registry())

    first = await producer.publish("default", "order", Order(1), key="a")
    second = await producer.publish("default", "order", Order(2), key="a")
    unkeyed = [await producer.publish("default", "order", Order(3)) for _ in range(2)]
    await anyio.sleep(0.2)  # the 150 ms window is over
    third = await producer.publish("default", "order", Order(4), key="a")

    assert (second, second.duplicate) == (first, True)
    assert not any(u.duplicate for u in unkeyed)
    assert not third.duplicate
    assert third != first
    assert await redis.xlen(Keys(prefix).stream("default")) == 4


async def test_a_duplicate_of_a_delayed_message_returns_the_scheduled_one(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    producer = Producer(redis, make_settings(redis_url, prefix), order_registry())

    first = await producer.publish(
        "default", "order", Order(1), key="r", dedupe_ms=60_000, delay_ms=30_000
    )
    second = await producer.publish(
        "default", "order", Order(2), key="r", dedupe_ms=60_000, delay_ms=30_000
    )

    assert (second, second.duplicate, second.due_ms) == (first, True, first.due_ms)
    assert await redis.zcard(Keys(prefix).scheduled("default")) == 1


async def test_a_dedupe_window_without_a_key_is_refused(redis_url: str, prefix: str) -> None:
    queue: QueueSettings = FAST_QUEUE
    producer = Producer(
        Redis.from_url(redis_url), make_settings(redis_url, prefix, default=queue), order_registry()
    )

    with pytest.raises(PublishError, match="needs a key"):
        await producer.publish("default", "order", Order(1), dedupe_ms=1_000)
    await producer.redis.aclose()


async def test_cancelling_a_delayed_message_frees_its_key(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    producer = Producer(redis, make_settings(redis_url, prefix), order_registry())
    first = await producer.publish(
        "default", "order", Order(1), key="r", dedupe_ms=60_000, delay_ms=30_000
    )

    assert await cancel(redis, Keys(prefix), "default", first)
    again = await producer.publish(
        "default", "order", Order(2), key="r", dedupe_ms=60_000, delay_ms=30_000
    )

    assert not again.duplicate
    assert again != first


async def test_publish_many_applies_the_queue_window_to_keyed_messages(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    queue = msgspec.structs.replace(FAST_QUEUE, dedupe_ms=60_000)
    producer = Producer(redis, make_settings(redis_url, prefix, default=queue), order_registry())
    first = await producer.publish("default", "order", Order(0), key="a")

    ids = await producer.publish_many(
        "default",
        [
            Outgoing(type="order", data=Order(1), key="a"),  # seen before the batch
            Outgoing(type="order", data=Order(2), key="b"),
            Outgoing(type="order", data=Order(3), key="b"),  # seen earlier in the batch
            Outgoing(type="order", data=Order(4)),
        ],
    )

    assert all(isinstance(i, Published) for i in ids)
    assert [i.duplicate for i in ids if isinstance(i, Published)] == [True, False, True, False]
    assert ids[0] == first
    assert ids[2] == ids[1]
    assert await redis.xlen(Keys(prefix).stream("default")) == 3
