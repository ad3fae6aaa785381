"""Housekeeping removes consumers left behind by dead workers, and never one holding entries."""

from __future__ import annotations

from typing import Any

import anyio
import msgspec
import pytest
from redis.asyncio import Redis

from streams import Context, Registry, consumer
from streams.config import QueueSettings
from streams.heartbeat import WorkerInfo, beat
from streams.housekeeping import forget_after_ms, forget_idle_consumers
from streams.keys import Keys
from streams.worker import Worker
from tests.support import FAST_QUEUE, make_settings, wait_until

GROUP = "g"
IDLE_MS = 300


async def consumer_idle(redis: Redis, stream: str) -> dict[str, tuple[int, int]]:
    """Consumer name -> (pending, idle ms)."""
    return {
        c["name"].decode(): (int(c["pending"]), int(c["idle"]))
        for c in await redis.xinfo_consumers(stream, GROUP)
    }


async def idle_for(redis: Redis, stream: str, names: set[str], idle_ms: int) -> bool:
    state = await consumer_idle(redis, stream)
    return all(state[name][1] >= idle_ms for name in names)


async def group_with(redis: Redis, prefix: str) -> tuple[str, list[bytes]]:
    """A group where 'dead' read and finished 2 entries and 'holder' still holds 1."""
    stream = Keys(prefix).stream("default")
    await redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
    ids = [await redis.xadd(stream, {"type": "t", "data": str(n)}) for n in range(3)]
    await redis.xreadgroup(GROUP, "dead", {stream: ">"}, count=2)
    await redis.xack(stream, GROUP, *ids[:2])
    await redis.xreadgroup(GROUP, "holder", {stream: ">"}, count=1)
    return stream, ids


async def finish_one(redis: Redis, stream: str, name: str) -> None:
    """name reads a new entry and acknowledges it: active, and holding nothing."""
    await redis.xadd(stream, {"type": "t", "data": "{}"})
    ((_, [(entry_id, _)]),) = await redis.xreadgroup(GROUP, name, {stream: ">"}, count=1)
    await redis.xack(stream, GROUP, entry_id)


async def test_an_idle_consumer_holding_nothing_is_removed_others_stay(
    redis: Redis, prefix: str
) -> None:
    # Given 'dead' (nothing pending) and 'holder' (1 pending) idle past the threshold,
    # and 'fresh', which just read
    stream, ids = await group_with(redis, prefix)
    await wait_until(lambda: idle_for(redis, stream, {"dead", "holder"}, IDLE_MS))
    await finish_one(redis, stream, "fresh")
    # When idle consumers are removed
    forgotten = await forget_idle_consumers(redis, Keys(prefix), "default", GROUP, IDLE_MS)
    # Then only 'dead' is gone, and the held entry is still pending with 'holder'
    assert forgotten == ["dead"]
    assert set(await consumer_idle(redis, stream)) == {"holder", "fresh"}
    (row,) = await redis.xpending_range(stream, GROUP, "-", "+", 10)
    assert (row["message_id"], row["consumer"]) == (ids[2], b"holder")


async def test_a_consumer_that_took_entries_after_the_check_is_kept(
    redis: Redis, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given XINFO CONSUMERS answers from before 'holder' read an entry and 'dead' became active
    stream, _ = await group_with(redis, prefix)
    await wait_until(lambda: idle_for(redis, stream, {"dead", "holder"}, IDLE_MS))
    stale = [
        {"name": b"holder", "pending": 0, "idle": 10 * IDLE_MS},
        {"name": b"dead", "pending": 0, "idle": 10 * IDLE_MS},
    ]
    await finish_one(redis, stream, "dead")

    async def stale_xinfo_consumers(*args: Any) -> Any:
        return stale

    monkeypatch.setattr(redis, "xinfo_consumers", stale_xinfo_consumers)
    # When idle consumers are removed
    forgotten = await forget_idle_consumers(redis, Keys(prefix), "default", GROUP, IDLE_MS)
    # Then the script's own check keeps both: one holds an entry, the other is active again
    assert forgotten == []
    monkeypatch.undo()
    assert set(await consumer_idle(redis, stream)) == {"dead", "holder"}
    assert (await redis.xpending(stream, GROUP))["pending"] == 1


async def test_a_consumer_with_a_live_worker_heartbeat_is_kept(redis: Redis, prefix: str) -> None:
    # Given 'dead' idle and holding nothing, but a worker of that name still beats
    # (before Redis 7.2 a consumer reading nothing on a quiet queue looks idle)
    stream, _ = await group_with(redis, prefix)
    await wait_until(lambda: idle_for(redis, stream, {"dead"}, IDLE_MS))
    info = WorkerInfo(name="dead", host="h", pid=1, queues=["default"], started_ms=0)
    await beat(redis, Keys(prefix), info, ttl_ms=60_000)
    # When idle consumers are removed, then it stays
    assert await forget_idle_consumers(redis, Keys(prefix), "default", GROUP, IDLE_MS) == []
    assert "dead" in await consumer_idle(redis, stream)


async def test_a_missing_stream_or_group_has_no_consumers_to_remove(
    redis: Redis, prefix: str
) -> None:
    keys = Keys(prefix)
    assert await forget_idle_consumers(redis, keys, "default", GROUP, IDLE_MS) == []
    await redis.xadd(keys.stream("default"), {"type": "t", "data": "{}"})
    assert await forget_idle_consumers(redis, keys, "default", GROUP, IDLE_MS) == []


@pytest.mark.parametrize(
    ("idle_ms", "visibility_ms", "expected"),
    [(600_000, 30_000, 600_000), (1_000, 30_000, 300_000), (1_000, 100, 1_000)],
)
def test_the_threshold_is_the_setting_or_ten_visibility_timeouts(
    idle_ms: int, visibility_ms: int, expected: int
) -> None:
    settings = QueueSettings(
        consumer_idle_ms=idle_ms, visibility_timeout_ms=visibility_ms, backoff_cap_ms=100
    )
    assert forget_after_ms(settings) == expected


class Job(msgspec.Struct, frozen=True):
    n: int


async def test_a_worker_removes_consumers_killed_workers_left_and_trims_dead_letters(
    redis: Redis, redis_url: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a group with the consumer of a worker killed with kill -9 (it holds nothing)
    monkeypatch.setattr(consumer, "TRIM_INTERVAL_S", 0.05)
    queue = msgspec.structs.replace(
        FAST_QUEUE,
        consumer_idle_ms=1_000,
        visibility_timeout_ms=100,
        backoff_cap_ms=100,
        dead_max_len=1,
    )
    settings = make_settings(redis_url, prefix, default=queue)
    stream = Keys(prefix).stream("default")
    await redis.xgroup_create(stream, settings.group, id="0", mkstream=True)
    await redis.xadd(stream, {"type": "job", "data": '{"n": 0}'})
    ((_, [(entry_id, _)]),) = await redis.xreadgroup(
        settings.group, "killed-1", {stream: ">"}, count=1
    )
    await redis.xack(stream, settings.group, entry_id)
    await redis.xadd(stream, {"type": "job", "data": '{"n": 1}'})  # for the live worker
    for n in range(3):  # and more dead letters than the dead-letter cap allows
        await redis.xadd(Keys(prefix).dead("default"), {"type": "job", "data": str(n)})

    async def handle(job: Job, ctx: Context) -> None:
        pass

    registry = Registry()
    registry.message("default", "job", Job, handle)
    worker = Worker(redis, settings, registry, ["default"], name="alive")

    async def consumers() -> set[str]:
        return {c["name"].decode() for c in await redis.xinfo_consumers(stream, settings.group)}

    # When a worker runs for a while
    async with anyio.create_task_group() as tg:
        await tg.start(worker.run)
        try:
            # Then its housekeeping removes the dead consumer and keeps its own
            assert await wait_until(lambda: _only(consumers, {"alive"}), timeout_s=10)
            # and trims the dead letters to their cap
            assert await redis.xlen(Keys(prefix).dead("default")) == 1
        finally:
            worker.request_stop()


async def _only(consumers: Any, expected: set[str]) -> bool:
    return bool(await consumers() == expected)
