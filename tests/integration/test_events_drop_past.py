"""`events.drop_past` against an event rescheduled between its read and its delete."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from redis.asyncio import Redis

from consumers import events
from consumers.events import Event, EventDiscovered, drop_past, normalise, store
from streams import Keys

CUTOFF_MS = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp() * 1000)


def event(starts_at: datetime, tags: list[str]) -> Event:
    return normalise(
        EventDiscovered(
            source="meetup", external_id="moving", title="Moving", starts_at=starts_at, tags=tags
        )
    )


def reschedule_after_first_read(
    monkeypatch: pytest.MonkeyPatch, other: Redis, keys: Keys, update: Event
) -> None:
    """Store update from another connection right after the first MGET (the read of events)."""
    original: Callable[..., Awaitable[Any]] = events._mget
    raced = False

    async def mget_then_reschedule(*args: Any, **kwargs: Any) -> Any:
        nonlocal raced
        result = await original(*args, **kwargs)
        if not raced:
            raced = True
            await store(other, keys, update)
        return result

    monkeypatch.setattr(events, "_mget", mget_then_reschedule)


async def test_an_event_rescheduled_while_past_events_are_dropped_is_kept(
    redis: Redis, redis_url: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = Keys(prefix)
    past = event(datetime(2020, 3, 1, 20, 0, tzinfo=UTC), ["jazz"])
    future = event(datetime(2030, 3, 1, 20, 0, tzinfo=UTC), ["blues"])
    await store(redis, keys, past)
    async with Redis.from_url(redis_url) as other:
        reschedule_after_first_read(monkeypatch, other, keys, future)

        dropped = await drop_past(redis, keys, CUTOFF_MS)

    assert dropped == 0
    assert await redis.get(keys.data("event", future.id)) is not None
    assert await redis.zscore(keys.data("events", "by_start"), future.id) == future.starts_ms
    assert await redis.smembers(keys.data("tag", "blues")) == {future.id.encode()}
    assert await redis.smembers(keys.data("day", "2030-03-01")) == {future.id.encode()}
    assert await redis.exists(keys.data("tag", "jazz"), keys.data("day", "2020-03-01")) == 0


async def test_past_events_beyond_one_batch_are_all_dropped(redis: Redis, prefix: str) -> None:
    keys = Keys(prefix)
    for n in range(450):
        await store(
            redis,
            keys,
            normalise(
                EventDiscovered(
                    source="s",
                    external_id=str(n),
                    title="t",
                    starts_at=datetime(2020, 1, 1, tzinfo=UTC),
                    tags=["x"],
                )
            ),
        )

    assert await drop_past(redis, keys, CUTOFF_MS) == 450
    assert await redis.zcard(keys.data("events", "by_start")) == 0
    assert await redis.exists(keys.data("tag", "x"), keys.data("day", "2020-01-01")) == 0
