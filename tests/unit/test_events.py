from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import fakeredis
import msgspec
import pytest

from consumers.events import EventDiscovered, drop_past, handle_discovered, normalise, normalise_tag
from consumers.registry import create_registry
from consumers.settings import AppSettings
from streams import Keys, ValidationError
from tests.app_support import make_context

BERLIN = timezone(timedelta(hours=1))


def discovered(**changes: object) -> EventDiscovered:
    fields: dict[str, object] = {
        "source": "Eventbrite",
        "external_id": " 42 ",
        "title": "  Jazz   Night ",
        "starts_at": datetime(2030, 5, 1, 0, 30, tzinfo=BERLIN),
        "venue": " A-Trane ",
        "city": "Berlin",
        "tags": ["Jazz", "Live  Music!", "jazz", "  "],
    }
    fields.update(changes)
    return msgspec.convert(fields, EventDiscovered, from_attributes=True)


@pytest.mark.parametrize(
    ("raw", "tag"),
    [("Jazz", "jazz"), ("Live  Music!", "live-music"), (" C++ ", "c++"), ("!!!", "")],
)
def test_tags_are_normalised(raw: str, tag: str) -> None:
    assert normalise_tag(raw) == tag


def test_normalise_cleans_text_dedupes_tags_and_converts_to_utc() -> None:
    event = normalise(discovered())
    assert event.id == "eventbrite:42"
    assert event.title == "Jazz Night"
    assert event.venue == "A-Trane"
    assert event.tags == ["jazz", "live-music"]
    assert event.starts_at == datetime(2030, 4, 30, 23, 30, tzinfo=UTC)
    assert event.day == "2030-04-30"


def test_an_event_without_timezone_or_title_is_rejected_at_publish() -> None:
    registry = create_registry(AppSettings())
    bad = [
        {"source": "s", "external_id": "1", "title": "t", "starts_at": "2030-01-01T10:00:00"},
        {"source": "s", "external_id": "1", "title": "", "starts_at": "2030-01-01T10:00:00Z"},
        {"source": "s", "external_id": "1", "title": "t", "starts_at": "tomorrow"},
    ]
    for payload in bad:
        with pytest.raises(ValidationError):
            registry.encode("events", "event.discovered", payload)


async def snapshot(redis: fakeredis.FakeAsyncRedis) -> dict[object, object]:
    state: dict[object, object] = {}
    for key in await redis.keys("*"):
        kind = await redis.type(key)
        if kind == b"set":
            state[key] = await redis.smembers(key)
        elif kind == b"zset":
            state[key] = await redis.zrange(key, 0, -1, withscores=True)
        else:
            state[key] = await redis.get(key)
    return state


async def test_handling_the_same_event_twice_leaves_the_same_state() -> None:
    redis = fakeredis.FakeAsyncRedis()
    ctx = make_context(redis, "t", "events", "event.discovered")
    await handle_discovered(discovered(), ctx)
    first = await snapshot(redis)
    await handle_discovered(discovered(), ctx)
    assert await snapshot(redis) == first
    keys = Keys("t")
    assert await redis.smembers(keys.data("tag", "jazz")) == {b"eventbrite:42"}
    assert await redis.smembers(keys.data("day", "2030-04-30")) == {b"eventbrite:42"}


async def test_an_update_moves_the_event_between_tag_and_day_indexes() -> None:
    redis = fakeredis.FakeAsyncRedis()
    keys = Keys("t")
    ctx = make_context(redis, "t", "events", "event.discovered")
    await handle_discovered(discovered(), ctx)
    later = datetime(2030, 5, 3, 20, 0, tzinfo=UTC)
    await handle_discovered(discovered(tags=["Blues"], starts_at=later, title="Blues"), ctx)
    assert await redis.exists(keys.data("tag", "jazz"), keys.data("day", "2030-04-30")) == 0
    assert await redis.smembers(keys.data("tag", "blues")) == {b"eventbrite:42"}
    assert await redis.smembers(keys.data("day", "2030-05-03")) == {b"eventbrite:42"}
    assert await redis.zcard(keys.data("events", "by_start")) == 1


async def test_drop_past_removes_old_events_and_their_index_entries() -> None:
    redis = fakeredis.FakeAsyncRedis()
    keys = Keys("t")
    ctx = make_context(redis, "t", "events", "event.discovered")
    past = datetime(2020, 1, 1, tzinfo=UTC)
    await handle_discovered(discovered(external_id="old", starts_at=past), ctx)
    await handle_discovered(discovered(external_id="new"), ctx)
    dropped = await drop_past(redis, keys, int(datetime(2025, 1, 1, tzinfo=UTC).timestamp() * 1000))
    assert dropped == 1
    assert await redis.exists(keys.data("event", "eventbrite:old")) == 0
    assert await redis.exists(keys.data("day", "2020-01-01")) == 0
    assert await redis.smembers(keys.data("tag", "jazz")) == {b"eventbrite:new"}
