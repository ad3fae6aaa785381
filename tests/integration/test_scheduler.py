from __future__ import annotations

import json
import time
from collections import Counter

import anyio
import pytest
from redis.asyncio import Redis

from consumers.registry import create_registry
from consumers.settings import AppSettings
from streams import Keys, ValidationError
from streams.scheduler import (
    JOB_HEADER,
    SLOT_HEADER,
    Job,
    JobContext,
    Publish,
    Scheduler,
    SchedulerConfig,
    risky_eviction_policy,
)
from streams.server import LocalServer
from tests.support import make_settings, wait_until

EVERY_MS = 1_000
REGISTRY = create_registry(AppSettings())


class FakeClock:
    def __init__(self, now_ms: int = 1_000_000 * EVERY_MS) -> None:
        self.now = now_ms

    async def now_ms(self) -> int:
        return self.now

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)  # only run() sleeps; check_ms is 50 ms here


class SkewedClock(FakeClock):
    """Another host's clock: the reference clock plus a fixed offset."""

    def __init__(self, reference: FakeClock, offset_ms: int) -> None:
        super().__init__()
        self.reference = reference
        self.offset_ms = offset_ms

    async def now_ms(self) -> int:
        return self.reference.now + self.offset_ms


def make_scheduler(
    redis: Redis,
    url: str,
    prefix: str,
    name: str,
    clock: FakeClock | None,
    jobs: list[Job] | None = None,
) -> Scheduler:
    jobs = jobs or [Job("ping", EVERY_MS, Publish("default", "ping", {"message": "tick"}))]
    config = SchedulerConfig(lease_ms=300, check_ms=50)
    return Scheduler(
        redis, make_settings(url, prefix), REGISTRY, jobs, config=config, clock=clock, name=name
    )


async def ticks(redis: Redis, prefix: str) -> Counter[tuple[str, int]]:
    entries = await redis.xrange(Keys(prefix).stream("default"))
    found: Counter[tuple[str, int]] = Counter()
    for _, fields in entries:
        parsed = json.loads(fields[b"headers"])
        found[parsed[JOB_HEADER], int(parsed[SLOT_HEADER])] += 1
    return found


async def test_two_schedulers_publish_each_tick_exactly_once(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    clock = FakeClock()
    first = make_scheduler(redis, redis_url, prefix, "a", clock)
    second = make_scheduler(redis, redis_url, prefix, "b", clock)
    start = clock.now // EVERY_MS
    for _ in range(5):
        await first.step()
        await second.step()
        await second.step()
        clock.now += EVERY_MS
    assert [first.is_leader, second.is_leader].count(True) == 1
    assert await ticks(redis, prefix) == Counter({("ping", start + i): 1 for i in range(5)})


async def test_the_other_scheduler_takes_over_within_the_lease_when_the_leader_dies(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    clock = FakeClock()
    leader = make_scheduler(redis, redis_url, prefix, "leader", clock)
    standby = make_scheduler(redis, redis_url, prefix, "standby", clock)
    await leader.step()
    assert await standby.step() == []
    # The leader dies without releasing: it just stops renewing.
    with anyio.fail_after(2):  # lease is 300 ms
        while not standby.is_leader:
            await standby.step()
            await anyio.sleep(0.02)
    assert await redis.get(Keys(prefix).scheduler_leader()) == b"standby"
    clock.now += EVERY_MS
    await standby.step()
    found = await ticks(redis, prefix)
    assert sorted(found.values()) == [1, 1]  # the leader's slot was not published again


async def test_a_stale_leader_cannot_publish(redis: Redis, redis_url: str, prefix: str) -> None:
    clock = FakeClock()
    stale = make_scheduler(redis, redis_url, prefix, "stale", clock)
    await stale.step()
    # The stale leader paused past its lease and someone else took over.
    await redis.set(Keys(prefix).scheduler_leader(), "other", px=5_000)
    clock.now += EVERY_MS
    assert await stale.step() == []
    assert not stale.is_leader
    assert sum((await ticks(redis, prefix)).values()) == 1


async def test_a_function_job_runs_once_per_slot(redis: Redis, redis_url: str, prefix: str) -> None:
    runs: list[tuple[str, int]] = []

    async def job(ctx: JobContext) -> None:
        runs.append((ctx.job, ctx.slot))

    clock = FakeClock()
    jobs = [Job("fn", EVERY_MS, job)]
    first = make_scheduler(redis, redis_url, prefix, "a", clock, jobs)
    second = make_scheduler(redis, redis_url, prefix, "b", clock, jobs)
    for _ in range(3):
        for scheduler in (first, second, first):
            await scheduler.step()
        clock.now += EVERY_MS
    assert len(runs) == len(set(runs)) == 3


async def test_a_stopped_scheduler_hands_the_lease_over_at_once(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    clock = FakeClock()
    leader = make_scheduler(redis, redis_url, prefix, "leader", clock)
    async with anyio.create_task_group() as tg:
        await tg.start(leader.run)
        await wait_until(lambda: redis.exists(Keys(prefix).scheduler_leader()))
        tg.cancel_scope.cancel()
    assert await redis.exists(Keys(prefix).scheduler_leader()) == 0


def test_a_job_for_an_unknown_type_is_refused_at_start(redis_url: str, prefix: str) -> None:
    with pytest.raises(ValidationError):
        make_scheduler(
            Redis.from_url(redis_url),
            redis_url,
            prefix,
            "x",
            FakeClock(),
            [Job("bad", EVERY_MS, Publish("default", "nope"))],
        )


async def test_an_eviction_policy_that_may_evict_streams_is_reported() -> None:
    with LocalServer() as server:
        async with Redis.from_url(server.url) as client:
            assert await risky_eviction_policy(client) is None  # noeviction by default
            await client.config_set("maxmemory-policy", "volatile-lru")
            assert await risky_eviction_policy(client) is None
            await client.config_set("maxmemory-policy", "allkeys-lru")
            assert await risky_eviction_policy(client) == "allkeys-lru"


async def test_a_leader_that_stepped_down_after_an_error_gets_its_lease_back_at_once(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    clock = FakeClock()
    leader = make_scheduler(redis, redis_url, prefix, "leader", clock)
    standby = make_scheduler(redis, redis_url, prefix, "standby", clock)
    assert await leader.elect()
    leader.is_leader = False  # as after a Redis error in run()
    assert not await standby.elect()
    assert await leader.elect()


async def test_a_scheduler_whose_clock_is_behind_never_repeats_a_slot_after_taking_over(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    every_ms = 200  # tick keys live every + lease = 500 ms
    jobs = [Job("ping", every_ms, Publish("default", "ping", {"message": "tick"}))]
    ahead = FakeClock(1_000_000 * every_ms + 50)
    behind = SkewedClock(ahead, -1_500)
    leader = make_scheduler(redis, redis_url, prefix, "ahead", ahead, jobs)
    standby = make_scheduler(redis, redis_url, prefix, "behind", behind, jobs)
    fired = await leader.step()
    # The leader dies without releasing; the standby takes over once the 300 ms lease is gone.
    with anyio.fail_after(2):
        while not standby.is_leader:
            await standby.step()
            await anyio.sleep(0.02)
    await wait_until(lambda: _gone(redis, Keys(prefix).scheduler_tick("ping", fired[0][1])))
    for _ in range(10):  # the standby's clock catches up with the slot the leader fired
        ahead.now += every_ms
        await standby.step()
    found = await ticks(redis, prefix)
    assert found[fired[0]] == 1
    assert set(found.values()) == {1}


async def _gone(redis: Redis, key: str) -> bool:
    return await redis.exists(key) == 0


async def test_slots_come_from_redis_time_not_the_local_clock(
    redis: Redis, redis_url: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    hour_ms = 3_600_000
    jobs = [Job("ping", hour_ms, Publish("default", "ping", {"message": "tick"}))]
    scheduler = make_scheduler(redis, redis_url, prefix, "local", None, jobs)
    real_time_ns = time.time_ns
    monkeypatch.setattr(time, "time_ns", lambda: real_time_ns() + 5 * hour_ms * 1_000_000)
    monkeypatch.setattr(time, "time", lambda: real_time_ns() / 1e9 + 5 * 3_600)
    before = await redis_slot(redis, hour_ms)
    [(_, slot)] = await scheduler.step()
    assert before <= slot <= await redis_slot(redis, hour_ms)


async def redis_slot(redis: Redis, every_ms: int) -> int:
    seconds, micros = await redis.time()
    return (seconds * 1_000 + micros // 1_000) // every_ms
