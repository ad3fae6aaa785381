"""The `events` queue: discovered events are normalised, deduplicated, stored and indexed.

Storage (all under Keys.data):
    event:<id>          the normalised event as JSON; id is `<source>:<external_id>` with
                        '%' and ':' in the source escaped (see event_id)
    events:by_start     sorted set of ids scored by start time (ms)
    tag:<tag>           set of ids carrying the tag
    day:<YYYY-MM-DD>    set of ids starting on that UTC day
"""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime
from typing import Annotated, Final

import msgspec
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from consumers.values import as_bytes, as_text
from streams import Context, Keys, Registry
from streams.transaction import transaction

log = logging.getLogger(__name__)

DROP_BATCH: Final = 200  # events read, checked and deleted per transaction
_SPACES: Final = re.compile(r"\s+")
_TAG_JUNK: Final = re.compile(r"[^a-z0-9+#&-]+")
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class EventDiscovered(msgspec.Struct, frozen=True, kw_only=True):
    """An event found by a crawler or a partner feed."""

    source: Name
    external_id: Name
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    starts_at: Annotated[datetime, msgspec.Meta(tz=True)]
    venue: Annotated[str, msgspec.Meta(max_length=300)] | None = None
    city: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    tags: Annotated[list[str], msgspec.Meta(max_length=50)] = []


class DropPastEvents(msgspec.Struct, frozen=True, kw_only=True):
    """Scheduled clean-up: delete events that started more than grace_ms ago."""

    grace_ms: Annotated[int, msgspec.Meta(ge=0)] = 0


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """A stored, normalised event."""

    id: str
    source: str
    external_id: str
    title: str
    starts_at: datetime
    venue: str | None
    city: str | None
    tags: list[str]

    @property
    def day(self) -> str:
        return self.starts_at.date().isoformat()

    @property
    def starts_ms(self) -> int:
        return int(self.starts_at.timestamp() * 1000)


_encoder: Final = msgspec.json.Encoder()
_event_decoder: Final = msgspec.json.Decoder(Event)


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    cleaned = _SPACES.sub(" ", text).strip()
    return cleaned or None


def normalise_tag(tag: str) -> str:
    """Lower-case, hyphenate spaces, drop punctuation: 'Live  Music!' -> 'live-music'."""
    hyphenated = _SPACES.sub("-", tag.strip().lower())
    return _TAG_JUNK.sub("", hyphenated).strip("-")


def event_id(source: str, external_id: str) -> str:
    """Return `<source>:<external_id>`, with '%' and ':' of source escaped as %25 and %3A.

    The first ':' then always ends the source, so no two events share an id (unescaped,
    source 'a:b' with id 'c' and source 'a' with id 'b:c' did). A source without '%' or ':'
    keeps the id it had before the escaping, so most stored events keep theirs.
    """
    return f"{source.replace('%', '%25').replace(':', '%3A')}:{external_id}"


def legacy_event_id(source: str, external_id: str) -> str:
    """The id events were stored under before event_id escaped the source (ambiguous)."""
    return f"{source}:{external_id}"


def normalise(payload: EventDiscovered) -> Event:
    """Turn a discovered event into its stored form; equal inputs give equal events."""
    source = payload.source.strip().lower()
    external_id = payload.external_id.strip()
    tags = sorted({t for t in (normalise_tag(tag) for tag in payload.tags) if t})
    return Event(
        id=event_id(source, external_id),
        source=source,
        external_id=external_id,
        title=_clean(payload.title) or payload.title.strip() or "untitled",
        starts_at=payload.starts_at.astimezone(UTC),
        venue=_clean(payload.venue),
        city=_clean(payload.city),
        tags=tags,
    )


def decode_event(raw: bytes) -> Event:
    return _event_decoder.decode(raw)


async def _mget(pipe: Pipeline, names: list[str]) -> list[object]:
    """MGET under WATCH. A cluster pipeline refuses pipe.mget() even for keys of one slot
    (all data keys share one on a cluster, see Keys.data), but runs the raw command."""
    values = await pipe.execute_command("MGET", *names)
    return list(values)  # type: ignore[arg-type]  # in immediate mode (under WATCH) a list


async def store(redis: Redis, keys: Keys, event: Event) -> bool:
    """Store or update event and move its index entries; return True if it was new.

    An event stored under its legacy id (see legacy_event_id) is moved to its id. A
    transaction that keeps conflicting raises TransactionConflictError, which the worker
    retries with backoff like any handler failure.
    """
    key = keys.data("event", event.id)
    legacy = legacy_event_id(event.source, event.external_id)
    watched = [key] if legacy == event.id else [key, keys.data("event", legacy)]

    async def read(pipe: Pipeline) -> list[Event]:
        found = [decode_event(as_bytes(raw)) for raw in await _mget(pipe, watched) if raw]
        # A legacy key may hold another event, whose id it really is: leave that one alone.
        return [e for e in found if (e.source, e.external_id) == (event.source, event.external_id)]

    def write(pipe: Pipeline, olds: list[Event]) -> bool:
        for old in olds:
            if old.id == event.id:
                _unindex(pipe, keys, old, keep=event)
            else:  # stored under its legacy id: move it
                _unindex(pipe, keys, old)
                pipe.zrem(keys.data("events", "by_start"), old.id)
                pipe.delete(keys.data("event", old.id))
        pipe.set(key, _encoder.encode(event))
        pipe.zadd(keys.data("events", "by_start"), {event.id: event.starts_ms})
        for tag in event.tags:
            pipe.sadd(keys.data("tag", tag), event.id)
        pipe.sadd(keys.data("day", event.day), event.id)
        return not olds

    return await transaction(redis, watched, read, write, what=f"storing event {event.id}")


async def find(redis: Redis, keys: Keys, source: str, external_id: str) -> Event | None:
    """Return the stored event of (source, external_id), under its id or its legacy id."""
    ids = [event_id(source, external_id), legacy_event_id(source, external_id)]
    for event in await load(redis, keys, list(dict.fromkeys(ids))):
        if (event.source, event.external_id) == (source, external_id):
            return event
    return None


def _unindex(pipe: Pipeline, keys: Keys, old: Event, keep: Event | None = None) -> None:
    for tag in old.tags:
        if keep is None or tag not in keep.tags:
            pipe.srem(keys.data("tag", tag), old.id)
    if keep is None or keep.day != old.day:
        pipe.srem(keys.data("day", old.day), old.id)


async def load(redis: Redis, keys: Keys, ids: list[str]) -> list[Event]:
    """Return the stored events of ids, skipping ids that are gone."""
    if not ids:
        return []
    raw = await redis.mget([keys.data("event", i) for i in ids])
    return [decode_event(as_bytes(r)) for r in raw if r is not None]


async def drop_past(redis: Redis, keys: Keys, before_ms: int) -> int:
    """Delete events that start before before_ms, with their index entries; return how many."""
    by_start = keys.data("events", "by_start")
    ids = [as_text(i) for i in await redis.zrangebyscore(by_start, "-inf", f"({before_ms}")]
    dropped = 0
    for start in range(0, len(ids), DROP_BATCH):
        dropped += await _drop_batch(redis, keys, ids[start : start + DROP_BATCH], before_ms)
    return dropped


async def _drop_batch(redis: Redis, keys: Keys, ids: list[str], before_ms: int) -> int:
    """Delete those of ids that still start before before_ms, as one transaction.

    The events are watched while read, so an event stored again (rescheduled) between the
    read and the delete aborts the transaction, and the retry reads its new start.
    """
    by_start = keys.data("events", "by_start")
    event_keys = [keys.data("event", i) for i in ids]

    async def read(pipe: Pipeline) -> list[bytes | None]:
        return [None if r is None else as_bytes(r) for r in await _mget(pipe, event_keys)]

    def write(pipe: Pipeline, raw: list[bytes | None]) -> int:
        events = [decode_event(r) for r in raw if r is not None]
        past = [e for e in events if e.starts_ms < before_ms]
        gone = [i for i, r in zip(ids, raw, strict=True) if r is None]
        for event in past:
            _unindex(pipe, keys, event)
            pipe.delete(keys.data("event", event.id))
        if past or gone:
            pipe.zrem(by_start, *[e.id for e in past], *gone)
        return len(past)

    return await transaction(redis, event_keys, read, write, what="dropping past events")


async def handle_discovered(payload: EventDiscovered, ctx: Context) -> None:
    event = normalise(payload)
    new = await store(ctx.redis, ctx.keys, event)
    log.info(
        "queue=%s id=%s event %s %s", ctx.queue, ctx.id, event.id, "stored" if new else "updated"
    )


async def handle_drop_past(payload: DropPastEvents, ctx: Context) -> None:
    dropped = await drop_past(ctx.redis, ctx.keys, time.time_ns() // 1_000_000 - payload.grace_ms)
    log.info("queue=%s id=%s dropped %d past events", ctx.queue, ctx.id, dropped)


def register(registry: Registry) -> None:
    registry.message("events", "event.discovered", EventDiscovered, handle_discovered)
    registry.message("events", "events.drop_past", DropPastEvents, handle_drop_past)
