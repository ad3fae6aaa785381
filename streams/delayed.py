"""Delayed messages: scheduled in a per-queue sorted set, moved into the stream when due.

A scheduled message is an id in ``Keys.scheduled(queue)`` scored by its due time (ms) and
its fields in ``Keys.scheduled_messages(queue)``. Every worker runs move_due.lua a few
times a second for each of its queues: the script moves what is due (XADD + HDEL + ZREM in
one step, so each message lands exactly once however many workers run it) and also reports
whether the queue is paused, so one round trip per tick serves both features.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

import anyio
import msgspec
from redis.asyncio import Redis

from streams import partitions
from streams.errors import PublishError
from streams.keys import Keys
from streams.outage import MAYBE_OUTAGE, Outage, describe, is_outage
from streams.scripts import source

log = logging.getLogger(__name__)

MOVE_BATCH: Final = 1_000
TICK_S: Final = 0.25  # a due message is in the stream within this (plus jitter) of its time
MAX_DELAY_MS: Final = 10 * 365 * 24 * 3600 * 1000
_DURATION: Final = re.compile(r"^([0-9]{1,12})(ms|s|m|h|d)$")
_UNIT_MS: Final = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


class ScheduledMessage(msgspec.Struct, frozen=True, kw_only=True):
    """One message waiting for its due time."""

    id: str
    due_ms: int
    due_at: str
    type: str
    key: str | None = None


class Tick(msgspec.Struct, frozen=True):
    moved: int
    next_due_in_ms: int  # -1: nothing scheduled
    paused: bool


def iso(ms: int) -> str:
    """A due time as ISO 8601 UTC with milliseconds, e.g. 2026-12-01T20:00:00.000Z."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_duration(text: str) -> int:
    """'30s', '5m', '1h', '2d' or '250ms' -> milliseconds; PublishError otherwise."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise PublishError(f"--delay: expected a duration like 30s, 5m, 1h or 250ms, got {text!r}")
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


def parse_at(text: str) -> datetime:
    """An ISO 8601 time with a zone ('Z' or +hh:mm); PublishError otherwise."""
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise PublishError(
            f"--at: expected an ISO 8601 time like 2026-12-01T20:00:00Z, got {text!r}"
        ) from None
    if at.tzinfo is None:
        raise PublishError(f"--at: {text!r} has no time zone; add Z for UTC")
    return at


def due_args(delay_ms: int | None, at: datetime | None) -> tuple[str, int] | None:
    """The script's (due ms or '', delay ms) for a publish, or None when it is not delayed."""
    if delay_ms is not None and at is not None:
        raise PublishError("give delay_ms or at, not both")
    if at is not None:
        if at.tzinfo is None:
            raise PublishError("at must be a timezone-aware datetime (for example in UTC)")
        return str(int(at.timestamp() * 1000)), 0
    if delay_ms is None:
        return None
    if not 0 <= delay_ms <= MAX_DELAY_MS:
        raise PublishError(f"delay_ms must be between 0 and {MAX_DELAY_MS} (ten years)")
    return "", delay_ms


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def _parts(redis: Redis, keys: Keys, queue: str) -> list[Keys]:
    """Each partition keeps its own scheduled messages (streams.partitions)."""
    return [keys.of(p) for p in await partitions.in_use(redis, keys, queue)]


async def count_scheduled(redis: Redis, keys: Keys, queue: str) -> int:
    views = await _parts(redis, keys, queue)
    return sum([int(await redis.zcard(v.scheduled(queue))) for v in views])


async def list_scheduled(
    redis: Redis, keys: Keys, queue: str, limit: int = 100
) -> list[ScheduledMessage]:
    """Up to limit scheduled messages of every partition, soonest first."""
    found = [
        m for v in await _parts(redis, keys, queue) for m in await _list_one(redis, v, queue, limit)
    ]
    found.sort(key=lambda m: (m.due_ms, m.id))
    return found[:limit]


async def _list_one(redis: Redis, keys: Keys, queue: str, limit: int) -> list[ScheduledMessage]:
    rows: list[tuple[bytes, float]] = await redis.zrange(  # type: ignore[assignment]  # withscores gives pairs
        keys.scheduled(queue), 0, limit - 1, withscores=True
    )
    if not rows:
        return []
    raw = await redis.hmget(keys.scheduled_messages(queue), [r[0] for r in rows])
    found = []
    for (member, score), fields in zip(rows, raw, strict=True):
        if fields is None:  # moved between the two reads
            continue
        flat: list[str] = msgspec.json.decode(fields)
        named = dict(zip(flat[::2], flat[1::2], strict=True))
        found.append(
            ScheduledMessage(
                id=_text(member),
                due_ms=int(score),
                due_at=iso(int(score)),
                type=named.get("type", ""),
                key=named.get("key"),
            )
        )
    return found


async def cancel(redis: Redis, keys: Keys, queue: str, scheduled_id: str) -> bool:
    """Remove a scheduled message; False when it is unknown or already moved to the stream.

    Its dedupe key, if it still names this message, is freed, so the key can be published again.
    """
    for view in await _parts(redis, keys, queue):
        if await _cancel_one(redis, view, queue, scheduled_id):
            return True
    return False


async def _cancel_one(redis: Redis, keys: Keys, queue: str, scheduled_id: str) -> bool:
    script_keys = [keys.scheduled(queue), keys.scheduled_messages(queue)]
    fields = await redis.hget(keys.scheduled_messages(queue), scheduled_id)
    if fields is not None:
        flat: list[str] = msgspec.json.decode(fields)
        key = dict(zip(flat[::2], flat[1::2], strict=True)).get("key")
        if key is not None:
            script_keys.append(keys.dedupe(queue, key))
    script = redis.register_script(source("cancel_scheduled"))
    return bool(await script(keys=script_keys, args=[scheduled_id]))


class DueMover:
    """The worker's periodic tick for one queue: move due messages, report the pause flag."""

    def __init__(self, redis: Redis, keys: Keys, queue: str) -> None:
        self.queue = queue
        self._keys = [
            keys.scheduled(queue),
            keys.scheduled_messages(queue),
            keys.stream(queue),
            keys.paused(queue),
        ]
        self._script = redis.register_script(source("move_due"))

    async def tick(self) -> Tick:
        moved, wait, paused = await self._script(keys=self._keys, args=[MOVE_BATCH])
        if moved:
            log.debug("queue=%s: moved %d due messages into the stream", self.queue, moved)
        return Tick(int(moved), int(wait), bool(paused))

    async def run(self, on_tick: Callable[[Tick], None], stopping: Callable[[], bool]) -> None:
        """Tick until stopping(); sleep less when a message falls due sooner than the next tick."""
        outage = Outage(log, f"queue={self.queue} delayed")
        while not stopping():
            delay_s = TICK_S * random.uniform(0.8, 1.2)  # noqa: S311  # spreads workers' ticks
            try:
                tick = await self.tick()
                outage.recovered()
            except MAYBE_OUTAGE as exc:
                if not is_outage(exc):
                    log.warning("queue=%s delayed: %s", self.queue, describe(exc))
                else:
                    delay_s = outage.failed(exc)
            else:
                on_tick(tick)
                if tick.moved >= MOVE_BATCH:
                    continue
                if 0 <= tick.next_due_in_ms < delay_s * 1000:
                    delay_s = tick.next_due_in_ms / 1000
            await anyio.sleep(delay_s)
