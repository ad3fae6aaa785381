"""Per-queue totals that outlive workers, per-minute history buckets, the sampler, gone workers."""

from __future__ import annotations

import json

import anyio
import msgspec
from redis.asyncio import Redis
from redis.cluster import key_slot

from streams import Context, PermanentError, Producer, Registry, heartbeat, history
from streams.heartbeat import WorkerInfo
from streams.inspect import inspect_queue, inspect_queues
from streams.keys import Keys
from streams.messages import now_ms
from streams.worker import Worker
from tests.integration.api_support import api_client
from tests.integration.test_api_metrics import samples
from tests.integration.test_scheduler import FakeClock, make_scheduler
from tests.support import make_settings, wait_until

MINUTE = history.MINUTE_MS


class Job(msgspec.Struct, frozen=True):
    n: int


def _registry() -> Registry:
    async def handle(job: Job, ctx: Context) -> None:
        if job.n < 0:
            raise PermanentError("negative")

    registry = Registry()
    registry.message("default", "job", Job, handle)
    return registry


async def _drain(redis: Redis, prefix: str, url: str, values: list[int]) -> None:
    settings = make_settings(url, prefix)
    registry = _registry()
    producer = Producer(redis, settings, registry)
    for n in values:
        await producer.publish("default", "job", Job(n))
    with anyio.fail_after(10):
        await Worker(redis, settings, registry, ["default"]).run(stop_when_idle=True)


async def test_queue_totals_keep_growing_across_worker_restarts(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    # Given a worker that handled 5 messages (one dead-lettered) and stopped
    await _drain(redis, prefix, redis_url, [1, 2, 3, 4, -1])
    keys = Keys(prefix)
    first = await inspect_queue(redis, keys, "workers", "default")
    assert (first.messages.processed, first.messages.dead_lettered) == (4, 1)
    assert first.messages.failed == 1
    # When another worker handles 3 more
    await _drain(redis, prefix, redis_url, [5, 6, 7])
    # Then the totals add up, though neither worker is alive any more
    second = await inspect_queue(redis, keys, "workers", "default")
    assert second.messages.processed == 7
    assert second.messages.dead_lettered == 1
    assert await heartbeat.live_workers(redis, keys) == []


async def test_the_out_history_adds_up_to_the_messages_drained(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    # Given a worker that drained 12 messages, 2 of them failing permanently
    await _drain(redis, prefix, redis_url, [*range(10), -1, -2])
    # When the last hour of history is read
    got = await history.read_history(redis, Keys(prefix), "default", "1h", now_ms())
    # Then out, failed and dead per minute add up to what happened
    assert sum(v or 0 for v in got.series["out"]) == 10
    assert sum(v or 0 for v in got.series["failed"]) == 2
    assert sum(v or 0 for v in got.series["dead"]) == 2
    assert got.points == 60
    assert len(got.series["depth"]) == 60


async def test_buckets_expire_after_a_week_and_stay_in_the_queue_slot(
    redis: Redis, prefix: str
) -> None:
    keys = Keys(prefix)
    now = now_ms()
    async with redis.pipeline(transaction=False) as pipe:
        history.add_counts(pipe, keys, "events", {"processed": 3, "retried": 1}, now)
        await pipe.execute()
    bucket = keys.history("events", "out", now // MINUTE // 60)
    assert await redis.pttl(bucket) >= 7 * 24 * 3_600_000
    found = [k.decode() async for k in redis.scan_iter(f"{{{prefix}:events}}:*")]
    assert len(found) == 3  # stats, out and retried buckets
    assert {key_slot(k.encode()) for k in found} == {key_slot(keys.stream("events").encode())}


async def test_the_sampler_records_depth_and_arrivals_per_minute(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    # Given a queue sampled once, then 4 more messages published a minute later
    settings = make_settings(redis_url, prefix)
    keys, producer = Keys(prefix), Producer(redis, settings, _registry())
    await producer.publish("default", "job", Job(0))
    start = now_ms() - 5 * MINUTE
    await history.sample(
        redis, keys, await inspect_queues(redis, keys, "workers", ["default"]), start
    )
    for n in range(4):
        await producer.publish("default", "job", Job(n))
    # When the sampler runs again
    states = await inspect_queues(redis, keys, "workers", ["default"])
    await history.sample(redis, keys, states, start + MINUTE)
    # Then that minute holds 4 arrivals and the depth of 5
    got = await history.read_history(redis, keys, "default", "1h", now_ms())
    index = (start + MINUTE) // MINUTE - got.start_ms // MINUTE
    assert got.series["in"][index] == 4
    assert got.series["depth"][index] == 5
    assert got.series["depth"][index + 1] is None  # no sample: unknown, not zero
    assert sum(v or 0 for v in got.series["in"]) == 4


async def test_seven_day_history_has_ten_minute_points(redis: Redis, prefix: str) -> None:
    keys, now = Keys(prefix), now_ms()
    async with redis.pipeline(transaction=False) as pipe:
        history.add_counts(pipe, keys, "default", {"processed": 2}, now - 3 * 24 * 3_600_000)
        history.add_counts(pipe, keys, "default", {"processed": 5}, now)
        await pipe.execute()
    got = await history.read_history(redis, keys, "default", "7d", now)
    assert (got.points, got.step_s) == (1008, 600)
    assert sum(v or 0 for v in got.series["out"]) == 7
    assert got.series["out"][-1] == 5


async def test_a_worker_that_stops_beating_shows_as_gone(redis: Redis, prefix: str) -> None:
    keys = Keys(prefix)
    info = WorkerInfo(name="w1", host="h", pid=1, queues=["default"], started_ms=now_ms())
    await heartbeat.beat(redis, keys, info, ttl_ms=100)
    await wait_until(lambda: _no_live(redis, keys), timeout_s=3)
    gone = await heartbeat.gone_workers(redis, keys, [])
    assert [w.name for w in gone] == ["w1"]
    # A clean exit removes it altogether
    await heartbeat.forget(redis, keys, "w1")
    assert await heartbeat.gone_workers(redis, keys, []) == []


async def _no_live(redis: Redis, keys: Keys) -> bool:
    return not await heartbeat.live_workers(redis, keys)


async def test_prometheus_message_totals_survive_the_worker_exit(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    # Given a worker that handled 3 messages and exited
    await _drain(redis, prefix, redis_url, [1, 2, -1])
    # When Prometheus scrapes, and /queues is read
    async with api_client(redis_url, prefix) as client:
        found = samples((await client.get("/metrics")).text)
        queues = (await client.get("/queues")).json()["queues"]
    # Then the per-queue totals are there, though no worker is alive
    assert found["streams_workers", ()] == 0
    default = (("outcome", "processed"), ("queue", "default"))
    assert found["streams_messages_total", default] == 2
    dead = (("outcome", "dead_lettered"), ("queue", "default"))
    assert found["streams_messages_total", dead] == 1
    assert found["streams_messages_total", (("outcome", "retried"), ("queue", "ml"))] == 0
    by_name = {q["queue"]: q for q in queues}
    assert by_name["default"]["messages"] == {
        "processed": 2,
        "failed": 1,
        "retried": 0,
        "dead_lettered": 1,
    }


async def test_the_scheduler_leader_samples_once_a_minute_and_records_its_jobs(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    # Given a leading scheduler with a one-second job, and 3 messages waiting
    clock = FakeClock(now_ms() // MINUTE * MINUTE)  # two steps in one minute
    scheduler = make_scheduler(redis, redis_url, prefix, "leader", clock)
    keys = Keys(prefix)
    for n in range(3):
        await redis.xadd(keys.stream("events"), {"type": "t", "data": str(n)})
    # When it steps twice within one minute
    await scheduler.step()
    await redis.xadd(keys.stream("events"), {"type": "t", "data": "late"})
    clock.now += 1_000
    await scheduler.step()
    # Then one sample was taken (depth 3, not 4) and the job's last tick is recorded
    got = await history.read_history(redis, keys, "events", "1h", clock.now)
    assert [v for v in got.series["depth"] if v is not None] == [3]
    record = json.loads(await redis.hget(keys.scheduler_jobs(), "ping") or b"{}")
    assert record["every_ms"] == 1_000
    assert record["last_tick_ms"] // 1_000 == clock.now // 1_000
