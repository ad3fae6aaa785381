"""Partitioned queues (STREAMS_PARTITIONS > 1) on a real 3-master Redis Cluster."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import AsyncIterator

import anyio
import msgspec
import pytest
from redis.asyncio import Redis

from streams import Context, Producer, Registry
from streams.client import create_redis, make_keys
from streams.config import Settings
from streams.inspect import inspect_queue
from streams.partitions import in_use, partition_of
from streams.producer import Outgoing
from streams.worker import Worker
from tests.support import FAST_QUEUE, make_settings, wait_until


class Job(msgspec.Struct, frozen=True):
    key: str
    n: int


def settings_with(url: str, prefix: str, partitions: int) -> Settings:
    queue = msgspec.structs.replace(FAST_QUEUE, partitions=partitions, batch_size=100)
    return make_settings(url, prefix, default=queue)


@pytest.fixture(params=["cluster", "server"])
def url(request: pytest.FixtureRequest) -> str:
    """The same tests on a 3-master cluster and on one server."""
    name = "cluster_url" if request.param == "cluster" else "redis_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
async def client(url: str, prefix: str) -> AsyncIterator[Redis]:
    redis = create_redis(settings_with(url, prefix, 1))
    yield redis
    await redis.aclose()


def test_a_key_always_maps_to_the_same_partition_as_cluster_keyslot_mod_n() -> None:
    # CLUSTER KEYSLOT user-42 is 15343 on any Redis Cluster; 15343 mod 4 = 3
    assert partition_of("user-42", 4) == 15343 % 4
    assert partition_of("{user-42}.a", 4) == partition_of("user-42", 4)


async def test_keyed_messages_over_four_partitions_are_each_handled_once_by_two_workers(
    url: str, prefix: str, client: Redis
) -> None:
    # Given 3,000 keyed messages published over 4 partitions
    settings = settings_with(url, prefix, 4)
    handled: Counter[tuple[str, int]] = Counter()

    async def handle(job: Job, ctx: Context) -> None:
        handled[(job.key, job.n)] += 1

    registry = Registry()
    registry.message("default", "job", Job, handle)
    producer = Producer(client, settings, registry)
    messages = [
        Outgoing(type="job", data=Job(f"k{i % 50}", i), key=f"k{i % 50}") for i in range(3000)
    ]
    for start in range(0, len(messages), 500):
        await producer.publish_many("default", messages[start : start + 500])

    # When two workers drain the queue
    workers = [Worker(client, settings, registry, ["default"], name=f"w{i}") for i in range(2)]
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            for worker in workers:
                await tg.start(worker.run)
            await wait_until(lambda: _count(handled, 3000), timeout_s=25)
            for worker in workers:
                worker.request_stop()

    # Then each message was handled once, every partition holds its keys in publish order,
    # and nothing is pending
    assert set(handled.values()) == {1}
    keys = make_keys(settings)
    assert await in_use(client, keys, "default") == [None, 0, 1, 2, 3]
    by_key: dict[str, list[int]] = defaultdict(list)
    for partition in range(4):
        stream = keys.of(partition).stream("default")
        for _, fields in await client.xrange(stream):
            job = msgspec.json.decode(fields[b"data"], type=Job)
            assert partition_of(job.key, 4) == partition
            by_key[job.key].append(job.n)
        assert (await client.xpending(stream, settings.group))["pending"] == 0
    assert all(ns == sorted(ns) for ns in by_key.values())
    assert sum(len(ns) for ns in by_key.values()) == 3000


async def _count(handled: Counter[tuple[str, int]], total: int) -> bool:
    return len(handled) >= total


async def test_changing_the_partition_count_4_2_6_strands_nothing(
    url: str, prefix: str, client: Redis
) -> None:
    # Given a worker configured with 2 partitions and handlers that count messages
    handled: Counter[tuple[str, int]] = Counter()

    async def handle(job: Job, ctx: Context) -> None:
        handled[(job.key, job.n)] += 1

    registry = Registry()
    registry.message("default", "job", Job, handle)
    worker = Worker(client, settings_with(url, prefix, 2), registry, ["default"], name="w")

    # When producers publish with 4, then 2, then 6 partitions while it runs
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            await tg.start(worker.run)
            n = 0
            for count in (4, 2, 6):
                producer = Producer(client, settings_with(url, prefix, count), registry)
                batch = [Outgoing(type="job", data=Job("", n + i)) for i in range(300)]
                await producer.publish_many("default", batch)
                n += 300
            await wait_until(lambda: _count(handled, 900), timeout_s=25)
            worker.request_stop()

    # Then every message was handled once, from all six partitions
    assert len(handled) == 900
    assert set(handled.values()) == {1}
    assert {c.partition for c in worker.consumers} == {None, 0, 1, 2, 3, 4, 5}


async def test_delayed_messages_and_pause_work_per_partition(
    url: str, prefix: str, client: Redis
) -> None:
    from streams.pause import pause, resume

    # Given a worker on a queue of 3 partitions, paused
    settings = settings_with(url, prefix, 3)
    handled: Counter[tuple[str, int]] = Counter()

    async def handle(job: Job, ctx: Context) -> None:
        handled[(job.key, job.n)] += 1

    registry = Registry()
    registry.message("default", "job", Job, handle)
    producer = Producer(client, settings, registry)
    keys = make_keys(settings)
    await producer.publish("default", "job", Job("k", -1), key="warm-up")
    await pause(client, keys, "default")
    worker = Worker(client, settings, registry, ["default"], name="w")

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            await tg.start(worker.run)
            # When 30 keyed messages are published with a delay, and the queue is resumed
            for n in range(30):
                await producer.publish("default", "job", Job(f"k{n}", n), key=f"k{n}", delay_ms=300)

            async def all_due() -> bool:
                lengths = [await client.xlen(keys.of(p).stream("default")) for p in range(3)]
                return sum(lengths) == 31

            await wait_until(all_due, timeout_s=10)  # moved into their partitions while paused
            paused = [await client.exists(keys.of(p).paused("default")) for p in (None, 0, 1, 2)]
            assert paused == [1, 1, 1, 1]  # every partition's worker tick sees the flag
            assert (await inspect_queue(client, keys, settings.group, "default")).paused
            await resume(client, keys, "default")
            await wait_until(lambda: _count(handled, 31), timeout_s=20)
            worker.request_stop()

    # Then each delayed message was moved into its partition and handled once
    assert set(handled.values()) == {1}
    lengths = [await client.xlen(keys.of(p).stream("default")) for p in range(3)]
    assert sum(lengths) == 31
    assert all(lengths)


async def test_scheduled_messages_are_listed_and_cancelled_across_partitions(
    url: str, prefix: str, client: Redis
) -> None:
    from streams import delayed

    # Given 9 keyed messages scheduled an hour ahead on a queue of 3 partitions
    settings = settings_with(url, prefix, 3)
    registry = Registry()
    registry.message("default", "job", Job, _noop)
    producer = Producer(client, settings, registry)
    ids = [
        await producer.publish("default", "job", Job(f"k{n}", n), key=f"k{n}", delay_ms=3_600_000)
        for n in range(9)
    ]
    keys = make_keys(settings)

    # When operators list, count and cancel them through the queue
    listed = await delayed.list_scheduled(client, keys, "default", limit=100)
    counted = await delayed.count_scheduled(client, keys, "default")
    cancelled = await delayed.cancel(client, keys, "default", ids[4])

    # Then every partition's scheduled messages are seen, and one is cancelled where it lives
    assert sorted(m.id for m in listed) == sorted(ids)
    assert counted == 9
    assert cancelled
    assert await delayed.count_scheduled(client, keys, "default") == 8


async def _noop(job: Job, ctx: Context) -> None:
    return None
