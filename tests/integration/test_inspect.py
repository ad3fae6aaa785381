"""Queue state as operators see it, against a real Redis server."""

from __future__ import annotations

from redis.asyncio import Redis

from streams.inspect import RateTracker, inspect_queue, inspect_queues, list_pending
from streams.keys import Keys

GROUP = "godo"


async def add(redis: Redis, stream: str, *ids: str) -> None:
    for entry_id in ids:
        await redis.xadd(stream, {"type": "ping", "data": "{}"}, id=entry_id)


async def test_missing_stream_reports_zeros(redis: Redis, prefix: str) -> None:
    state = await inspect_queue(redis, Keys(prefix), GROUP, "default")

    assert not state.exists
    assert (state.length, state.lag, state.pending, state.depth, state.consumers) == (0, 0, 0, 0, 0)
    assert state.dead_letters == 0
    assert not state.lag_estimated


async def test_stream_without_group_counts_every_entry_as_lag(redis: Redis, prefix: str) -> None:
    keys = Keys(prefix)
    await add(redis, keys.stream("events"), "1000-0", "2000-0", "3000-0")

    state = await inspect_queue(redis, keys, GROUP, "events", clock=lambda: 5_000)

    assert state.exists
    assert not state.group_exists
    assert (state.length, state.lag, state.depth) == (3, 3, 3)
    assert state.time_lag_s == 4.0
    assert not state.lag_estimated


async def test_group_reports_lag_pending_ages_and_consumers(redis: Redis, prefix: str) -> None:
    keys = Keys(prefix)
    stream = keys.stream("default")
    await add(redis, stream, "1000-0", "2000-0", "3000-0", "4000-0")
    await redis.xgroup_create(stream, GROUP, id="0")
    await redis.xreadgroup(GROUP, "worker-1", {stream: ">"}, count=2)
    await redis.xadd(keys.dead("default"), {"type": "ping", "data": "{}", "dead_error": "E: x"})

    state = await inspect_queue(redis, keys, GROUP, "default", clock=lambda: 10_000)

    assert (state.length, state.lag, state.pending, state.depth) == (4, 2, 2, 4)
    assert state.lag_source == "redis"
    assert not state.lag_estimated
    assert state.oldest_pending_age_s == 9.0
    assert state.time_lag_s == 7.0
    assert state.consumers == 1
    assert state.groups[0].consumers[0].name == "worker-1"
    assert state.groups[0].consumers[0].pending == 2
    assert state.dead_letters == 1


async def test_lag_after_deleting_an_unread_entry_is_counted(redis: Redis, prefix: str) -> None:
    keys = Keys(prefix)
    stream = keys.stream("default")
    await add(redis, stream, "1000-0", "2000-0", "3000-0", "4000-0", "5000-0")
    await redis.xgroup_create(stream, GROUP, id="0")
    await redis.xreadgroup(GROUP, "w", {stream: ">"}, count=2)
    await redis.xdel(stream, "4000-0")

    state = await inspect_queue(redis, keys, GROUP, "default")

    assert state.lag == 2  # 3000-0 and 5000-0
    assert state.lag_estimated
    assert state.lag_source == "counted"
    assert state.depth == 4


async def test_lag_after_trimming_unread_entries_is_correct(redis: Redis, prefix: str) -> None:
    keys = Keys(prefix)
    stream = keys.stream("default")
    await add(redis, stream, *(f"{i}-0" for i in range(1, 11)))
    await redis.xgroup_create(stream, GROUP, id="0")
    await redis.xreadgroup(GROUP, "w", {stream: ">"}, count=3)
    await redis.xtrim(stream, maxlen=5, approximate=False)

    state = await inspect_queue(redis, keys, GROUP, "default")

    assert state.length == 5
    assert state.lag == 5  # 6..10 are left and all unread


async def test_lag_after_trimming_finished_entries_is_correct(redis: Redis, prefix: str) -> None:
    keys = Keys(prefix)
    stream = keys.stream("default")
    await add(redis, stream, *(f"{i}-0" for i in range(1, 11)))
    await redis.xgroup_create(stream, GROUP, id="0")
    await redis.xreadgroup(GROUP, "w", {stream: ">"}, count=4)
    await redis.xtrim(stream, minid="3-0", approximate=False)

    state = await inspect_queue(redis, keys, GROUP, "default")

    assert state.length == 8
    assert state.lag == 6


async def test_lag_beyond_the_count_limit_is_interpolated(redis: Redis, prefix: str) -> None:
    keys = Keys(prefix)
    stream = keys.stream("default")
    await add(redis, stream, *(f"{i}-0" for i in range(1, 3001)))
    await redis.xgroup_create(stream, GROUP, id="0")
    await redis.xreadgroup(GROUP, "w", {stream: ">"}, count=10)
    await redis.xdel(stream, "20-0")

    state = await inspect_queue(redis, keys, GROUP, "default", count_limit=1_000)

    assert state.lag_source == "interpolated"
    assert state.lag_estimated
    assert abs(state.lag - 2989) <= 30


async def test_inspect_queues_keeps_the_order(redis: Redis, prefix: str) -> None:
    states = await inspect_queues(redis, Keys(prefix), GROUP, ["ml", "default"])

    assert [s.queue for s in states] == ["ml", "default"]


async def test_rates_come_from_counter_deltas(redis: Redis, prefix: str) -> None:
    keys = Keys(prefix)
    stream = keys.stream("default")
    now = [0]
    tracker = RateTracker(clock=lambda: now[0])
    await redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
    first = tracker.apply([await inspect_queue(redis, keys, GROUP, "default")])
    await add(redis, stream, *(f"{i}-0" for i in range(1, 21)))
    await redis.xreadgroup(GROUP, "w", {stream: ">"}, count=10)
    now[0] = 2_000

    second = tracker.apply([await inspect_queue(redis, keys, GROUP, "default")])

    assert first[0].rate_in_per_s is None
    assert second[0].rate_in_per_s == 10.0
    assert second[0].rate_out_per_s == 5.0


async def test_pending_lists_consumer_idle_and_deliveries(redis: Redis, prefix: str) -> None:
    keys = Keys(prefix)
    stream = keys.stream("default")
    await add(redis, stream, "1-0", "2-0", "3-0")
    await redis.xgroup_create(stream, GROUP, id="0")
    await redis.xreadgroup(GROUP, "w1", {stream: ">"}, count=2)

    pending = await list_pending(redis, keys, GROUP, "default", limit=1)

    assert [(p.id, p.consumer, p.deliveries) for p in pending] == [("1-0", "w1", 1)]
    assert pending[0].idle_ms >= 0


async def test_pending_of_a_missing_group_is_empty(redis: Redis, prefix: str) -> None:
    assert await list_pending(redis, Keys(prefix), GROUP, "default") == []
