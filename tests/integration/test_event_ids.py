"""Event ids are unambiguous, and events stored under the old ambiguous ids stay readable."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest
from redis.asyncio import Redis

from consumers.events import (
    Event,
    EventDiscovered,
    event_id,
    find,
    normalise,
    store,
)
from streams import Keys

STARTS = datetime(2099, 6, 1, 18, tzinfo=UTC)


def event(source: str, external_id: str, title: str = "t", tags: list[str] | None = None) -> Event:
    payload = EventDiscovered(
        source=source, external_id=external_id, title=title, starts_at=STARTS, tags=tags or []
    )
    return normalise(payload)


@pytest.mark.parametrize(
    ("source", "external_id", "expected"),
    [
        ("meetup", "e-1", "meetup:e-1"),  # unchanged: no stored event of a plain source moves
        ("meetup", "a:b", "meetup:a:b"),
        ("a:b", "c", "a%3Ab:c"),
        ("a%3Ab", "c", "a%253Ab:c"),
    ],
)
def test_ids_escape_the_source_only(source: str, external_id: str, expected: str) -> None:
    assert event_id(source, external_id) == expected


async def test_a_colon_in_source_or_external_id_no_longer_collides(
    redis: Redis, prefix: str
) -> None:
    keys = Keys(prefix)
    first, second = event("a:b", "c", "first"), event("a", "b:c", "second")

    assert await store(redis, keys, first)
    assert await store(redis, keys, second)  # new too: it used to overwrite the first

    found = [await find(redis, keys, "a:b", "c"), await find(redis, keys, "a", "b:c")]
    assert [e.title for e in found if e] == ["first", "second"]
    assert await redis.zcard(keys.data("events", "by_start")) == 2


async def _store_legacy(redis: Redis, keys: Keys, stored: Event, legacy_id: str) -> None:
    """Write an event as the previous version did: under `source:external_id`, unescaped."""
    stored = msgspec.structs.replace(stored, id=legacy_id)
    await redis.set(keys.data("event", legacy_id), msgspec.json.encode(stored))
    await redis.zadd(keys.data("events", "by_start"), {legacy_id: stored.starts_ms})
    for tag in stored.tags:
        await redis.sadd(keys.data("tag", tag), legacy_id)
    await redis.sadd(keys.data("day", stored.day), legacy_id)


async def test_an_event_stored_under_its_old_id_is_read_and_moved_on_update(
    redis: Redis, prefix: str
) -> None:
    keys = Keys(prefix)
    await _store_legacy(redis, keys, event("a:b", "c", "old", ["x"]), "a:b:c")

    legacy = await find(redis, keys, "a:b", "c")
    assert legacy is not None
    assert (legacy.id, legacy.title) == ("a:b:c", "old")

    assert not await store(redis, keys, event("a:b", "c", "new", ["y"]))  # an update

    assert await redis.exists(keys.data("event", "a:b:c")) == 0
    moved = await find(redis, keys, "a:b", "c")
    assert moved is not None
    assert (moved.id, moved.title) == ("a%3Ab:c", "new")
    assert await redis.zrange(keys.data("events", "by_start"), 0, -1) == [b"a%3Ab:c"]
    assert await redis.smembers(keys.data("tag", "x")) == set()
    assert await redis.smembers(keys.data("tag", "y")) == {b"a%3Ab:c"}
    assert await redis.smembers(keys.data("day", moved.day)) == {b"a%3Ab:c"}


async def test_an_old_id_holding_the_other_event_of_a_collision_is_left_alone(
    redis: Redis, prefix: str
) -> None:
    keys = Keys(prefix)
    # 'a:b:c' was written last by (a, b:c), whose id it really is.
    await _store_legacy(redis, keys, event("a", "b:c", "other"), "a:b:c")

    assert await store(redis, keys, event("a:b", "c", "mine"))

    other = await find(redis, keys, "a", "b:c")
    mine = await find(redis, keys, "a:b", "c")
    assert other is not None
    assert mine is not None
    assert (other.title, mine.title) == ("other", "mine")
