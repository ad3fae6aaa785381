"""The worker, producer, scheduler and operator views on a real 3-master Redis Cluster."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import msgspec
import pytest
from redis.asyncio import Redis

from streams import Context, PermanentError, Producer, Registry
from streams.client import create_redis, make_keys
from streams.cluster import LocalCluster
from streams.config import Settings
from streams.deadletter import list_dead, replay
from streams.heartbeat import live_workers
from streams.inspect import inspect_queue
from streams.worker import Worker
from tests.support import make_settings, wait_until


class Job(msgspec.Struct, frozen=True):
    n: int


@pytest.fixture
def settings(cluster_url: str, prefix: str) -> Settings:
    return make_settings(cluster_url, prefix)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[Redis]:
    redis = create_redis(settings)
    yield redis
    await redis.aclose()


def test_the_fixture_serves_every_slot(redis_cluster: LocalCluster) -> None:
    assert redis_cluster.healthy()
    masters = {redis_cluster.master_of(slot).port for slot in (0, 8000, 16383)}
    assert len(masters) == 3


async def test_auto_detection_gives_a_cluster_client(settings: Settings, client: Redis) -> None:
    assert type(client).__name__ == "_Cluster"
    assert make_keys(settings).cluster


async def test_worker_handles_retries_and_dead_letters_on_every_queue(
    settings: Settings, client: Redis
) -> None:
    # Given handlers on all four queues, one of which fails once and one always
    seen: dict[str, set[int]] = {q: set() for q in settings.queue_names}
    failed_once: set[int] = set()

    async def handle(job: Job, ctx: Context) -> None:
        if ctx.queue == "ml" and job.n == 0:
            raise PermanentError("poison")
        if ctx.queue == "events" and job.n not in failed_once:
            failed_once.add(job.n)
            raise RuntimeError("flaky")
        seen[ctx.queue].add(job.n)

    registry = Registry()
    for queue in settings.queue_names:
        registry.message(queue, "job", Job, handle)
    producer = Producer(client, settings, registry)
    for queue in settings.queue_names:
        await producer.publish_many(queue, [_job(n) for n in range(20)])
    worker = Worker(client, settings, registry, name="w1")

    # When the worker runs until every queue is drained
    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            await tg.start(worker.run)
            await wait_until(lambda: _all_seen(seen), timeout_s=15)
            assert [w.name for w in await live_workers(client, make_keys(settings))] == ["w1"]
            worker.request_stop()

    # Then every message was handled, the poison one is a dead letter, nothing is pending
    keys = make_keys(settings)
    dead = await list_dead(client, keys, "ml")
    assert [d.error for d in dead] == ["PermanentError: poison"]
    state = await inspect_queue(client, keys, settings.group, "events")
    assert (state.length, state.pending, state.lag) == (20, 0, 0)
    assert await replay(client, keys, "ml") == 1


def _job(n: int) -> object:
    from streams.producer import Outgoing

    return Outgoing(type="job", data=Job(n))


async def _all_seen(seen: dict[str, set[int]]) -> bool:
    expected = set(range(20))
    return all(s == expected for q, s in seen.items() if q != "ml") and seen["ml"] == expected - {0}


async def test_reads_cost_no_command_getkeys_round_trip(
    redis_cluster: LocalCluster, settings: Settings, client: Redis
) -> None:
    # Given a stream with a group
    stream = make_keys(settings).stream("default")
    await client.xgroup_create(stream, settings.group, id="0", mkstream=True)
    before = _getkeys_calls(redis_cluster)

    # When the worker's read runs many times
    for _ in range(20):
        await client.xreadgroup(settings.group, "c", {stream: ">"}, count=10, block=1)

    # Then no node was asked for the keys of XREADGROUP
    assert _getkeys_calls(redis_cluster) == before


def _getkeys_calls(cluster: LocalCluster) -> int:
    import redis as sync_redis

    total = 0
    for port in cluster.ports:
        with sync_redis.Redis(port=port) as node:
            stats = node.info("commandstats")
            total += int(stats.get("cmdstat_command|getkeys", {}).get("calls", 0))
    return total


async def test_events_transactions_stay_in_one_slot(settings: Settings, client: Redis) -> None:
    from datetime import UTC, datetime, timedelta

    from consumers import events

    # Given an event with tags, stored, then moved to another day with other tags
    keys = make_keys(settings)
    start = datetime.now(UTC) - timedelta(days=2)
    first = events.normalise(
        events.EventDiscovered(
            source="s", external_id="e1", title="t", starts_at=start, tags=["a", "b"]
        )
    )
    moved = msgspec.structs.replace(first, starts_at=start + timedelta(days=1), tags=["c"])

    # When the handlers' transactions run on the cluster
    assert await events.store(client, keys, first)
    assert not await events.store(client, keys, moved)
    dropped = await events.drop_past(client, keys, before_ms=2**62)

    # Then each ran (one slot each) and the indexes followed
    assert dropped == 1
    assert await events.find(client, keys, "s", "e1") is None
    assert not await client.smembers(keys.data("tag", "a"))


async def test_scheduler_ticks_are_claimed_once_and_published_on_a_cluster(
    settings: Settings, client: Redis
) -> None:
    from streams.scheduler import Job as ScheduledJob
    from streams.scheduler import Publish, Scheduler

    # Given two schedulers with a job publishing to a queue of 3 partitions (other slots)
    queue = msgspec.structs.replace(settings.queue("default"), partitions=3)
    settings = msgspec.structs.replace(settings, queues={**settings.queues, "default": queue})
    registry = Registry()
    registry.message("default", "job", Job, _ignore)
    jobs = [ScheduledJob("tick", 3_600_000, Publish("default", "job", {"n": 1}))]
    first, second = (Scheduler(client, settings, registry, jobs, name=n) for n in ("a", "b"))

    # When both step through the same slot
    fired = [await first.step(), await second.step()]

    # Then the leader published the tick once, to a partition, and the other did nothing
    assert [len(f) for f in fired] == [1, 0]
    keys = make_keys(settings)
    lengths = [await client.xlen(keys.of(p).stream("default")) for p in (None, 0, 1, 2)]
    assert sum(lengths) == 1
    assert lengths[0] == 0


async def _ignore(job: Job, ctx: Context) -> None:
    return None


async def test_commands_wait_for_a_free_connection_instead_of_failing(
    cluster_url: str, prefix: str
) -> None:
    # Given a cluster client allowed 2 connections
    redis = create_redis(make_settings(cluster_url, prefix), max_connections=2)
    stream = make_keys(make_settings(cluster_url, prefix)).stream("default")
    try:
        # When 20 commands run at once, two of them blocking reads
        async def read() -> None:
            await redis.xread({stream: "$"}, block=200)

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                for _ in range(2):
                    tg.start_soon(read)
                for n in range(18):
                    tg.start_soon(redis.set, f"{{{prefix}}}:k{n}", n)
        # Then every command ran (none raised MaxConnectionsError)
        assert await redis.get(f"{{{prefix}}}:k17") == b"17"
    finally:
        await redis.aclose()


async def test_the_cache_helper_works_on_a_cluster(settings: Settings, client: Redis) -> None:
    from consumers.cache import SESSIONS, Cache

    # Given the cache helper on the cluster client
    cache = Cache(client, make_keys(settings))

    # When a miss, a set and a hit happen
    assert await cache.get_json(SESSIONS, "u1", dict) is None
    await cache.set_json(SESSIONS, "u1", {"a": 1})

    # Then the value comes back and both are counted
    assert await cache.get_json(SESSIONS, "u1", dict) == {"a": 1}
    assert await cache.stats() == (1, 1)
