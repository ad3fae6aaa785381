"""Per-queue message totals and per-minute history buckets, kept in Redis.

Workers add what they did (processed, failed, retried, dead-lettered) to two places when
they flush their heartbeat, in the same pipeline, so a message costs no extra round trip:

    {prefix:queue}:stats               totals that only grow (``streams_messages_total``)
    {prefix:queue}:hist:<metric>:<h>   one hash per metric and hour h (minutes since the
                                       epoch // 60), field = minute of the hour (0-59)

One sampler (the scheduler leader, once a minute) adds the gauges ``depth``, ``lag`` and
``oldest_s`` (oldest pending age) and ``in`` (entries added since its last sample, from
XINFO STREAM entries-added). Every key keeps the queue's hash tag, so it stays in the
queue's cluster slot. A bucket expires HISTORY_TTL_MS after its last write.

An hour's hash has at most 60 small fields, so Redis keeps it as a listpack (compact).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Final, Literal

import msgspec
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from streams.inspect import TOTAL_FIELDS, QueueState
from streams.keys import Keys

MINUTE_MS: Final = 60_000
HISTORY_TTL_MS: Final = 8 * 24 * 3_600_000  # at least 7 days, plus a day of margin
COUNTERS: Final = ("in", "out", "failed", "retried", "dead")
GAUGES: Final = ("depth", "lag", "oldest_s")
METRICS: Final = COUNTERS + GAUGES
# Worker outcome -> history metric.
OUTCOME_METRIC: Final = {
    "processed": "out",
    "failed": "failed",
    "retried": "retried",
    "dead_lettered": "dead",
}
SAMPLED_ADDED: Final = "sampled_added"

Window = Literal["1h", "24h", "7d"]
# Window -> (length in minutes, minutes per point).
WINDOWS: Final[dict[str, tuple[int, int]]] = {"1h": (60, 1), "24h": (1440, 1), "7d": (10080, 10)}


@dataclass
class Counts:
    """A consumer's outcomes since the last flush (per queue; the worker flushes them)."""

    processed: int = 0
    failed: int = 0
    retried: int = 0
    dead_lettered: int = 0

    def take(self) -> dict[str, int]:
        """Return the non-zero counts and reset them."""
        taken = {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}
        for name in taken:
            setattr(self, name, 0)
        return taken

    def give_back(self, taken: Mapping[str, int]) -> None:
        """Restore counts taken for a flush that failed, so the next flush carries them."""
        for name, value in taken.items():
            setattr(self, name, getattr(self, name) + value)


def _slot(now_ms: int) -> tuple[int, int]:
    minute = now_ms // MINUTE_MS
    return minute // 60, minute % 60


def add_counts(
    pipe: Pipeline, keys: Keys, queue: str, counts: Mapping[str, int], now_ms: int
) -> None:
    """Queue on pipe the commands adding counts to the queue's totals and this minute's buckets."""
    if not counts:
        return
    hour, minute = _slot(now_ms)
    for outcome, value in counts.items():
        pipe.hincrby(keys.stats(queue), TOTAL_FIELDS[outcome], value)
        bucket = keys.history(queue, OUTCOME_METRIC[outcome], hour)
        pipe.hincrby(bucket, str(minute), value)
        pipe.pexpire(bucket, HISTORY_TTL_MS)


async def sample(redis: Redis, keys: Keys, states: Sequence[QueueState], now_ms: int) -> None:
    """Record depth, lag, oldest pending age and entries added for this minute (two round trips)."""
    async with redis.pipeline(transaction=False) as pipe:
        for state in states:
            pipe.hget(keys.stats(state.queue), SAMPLED_ADDED)
        previous: list[bytes | None] = await pipe.execute()
    hour, minute = _slot(now_ms)
    async with redis.pipeline(transaction=False) as pipe:
        for state, before in zip(states, previous, strict=True):
            gauges = {"depth": state.depth, "lag": state.lag}
            gauges["oldest_s"] = round(state.oldest_pending_age_s)
            for metric, value in gauges.items():
                _write(pipe, keys.history(state.queue, metric, hour), minute, value, add=False)
            added = state.entries_added
            if added is None:
                continue
            if before is not None and added >= int(before):
                bucket = keys.history(state.queue, "in", hour)
                _write(pipe, bucket, minute, added - int(before), add=True)
            pipe.hset(keys.stats(state.queue), SAMPLED_ADDED, added)
        await pipe.execute()


def _write(pipe: Pipeline, bucket: str, minute: int, value: int, *, add: bool) -> None:
    if add:
        pipe.hincrby(bucket, str(minute), value)
    else:
        pipe.hset(bucket, str(minute), value)
    pipe.pexpire(bucket, HISTORY_TTL_MS)


class History(msgspec.Struct, frozen=True, kw_only=True):
    """A queue's history: one point per step_s from start_ms; counters summed, gauges max."""

    queue: str
    window: str
    start_ms: int
    step_s: int
    points: int
    series: dict[str, list[int | None]]


async def read_history(
    redis: Redis, keys: Keys, queue: str, window: Window, now_ms: int
) -> History:
    """Return the last window of history, ending with the current minute."""
    length, per_point = WINDOWS[window]
    last_minute = now_ms // MINUTE_MS
    first_minute = last_minute - length + 1
    hours = range(first_minute // 60, last_minute // 60 + 1)
    async with redis.pipeline(transaction=False) as pipe:
        for metric in METRICS:
            for hour in hours:
                pipe.hgetall(keys.history(queue, metric, hour))
        replies: list[dict[bytes, bytes]] = await pipe.execute()
    points = length // per_point
    series: dict[str, list[int | None]] = {}
    for index, metric in enumerate(METRICS):
        by_minute = _by_minute(hours, replies[index * len(hours) : (index + 1) * len(hours)])
        series[metric] = _points(by_minute, first_minute, points, per_point, metric in COUNTERS)
    return History(
        queue=queue,
        window=window,
        start_ms=first_minute * MINUTE_MS,
        step_s=per_point * 60,
        points=points,
        series=series,
    )


def _by_minute(hours: range, replies: Sequence[Mapping[Any, Any]]) -> dict[int, int]:
    values: dict[int, int] = {}
    for hour, reply in zip(hours, replies, strict=True):
        for field, value in reply.items():
            values[hour * 60 + int(field)] = int(value)
    return values


def _points(
    values: Mapping[int, int], first: int, points: int, per_point: int, counter: bool
) -> list[int | None]:
    out: list[int | None] = []
    for index in range(points):
        start = first + index * per_point
        found = [values[m] for m in range(start, start + per_point) if m in values]
        if counter:
            out.append(sum(found))
        else:
            out.append(max(found) if found else None)
    return out
