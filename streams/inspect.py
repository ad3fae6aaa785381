"""Queue state for operators: length, lag, pending, ages, consumers, dead letters and rates.

Definitions (one queue, its stream, and the workers' group ``settings.group``):

    length        entries in the stream (XLEN)
    lag           entries the group has not read yet. XINFO GROUPS reports it on Redis >= 7,
                  but it is null after some deletions and trims, and absent on 6.2; then it is
                  counted with XRANGE after the group's last-delivered-id (``lag_source``
                  "counted"), or interpolated from entry ids past COUNT_LIMIT entries
                  ("interpolated"). ``lag_estimated`` is true whenever Redis did not report it.
                  Without a group (no worker has started yet) every entry is unread.
    pending       entries read but not acknowledged (XPENDING)
    depth         lag + pending: everything not yet finished
    oldest_pending_age_s  age of the oldest pending entry, from its id's timestamp
    time_lag_s    age of the oldest entry not yet delivered (0 when there is none)
    cut_by_cap    unfinished entries the stream's hard cap cut, ever (stats hash)
    dead_cut_by_cap  dead letters the dead-letter cap cut, ever (stats hash)
    messages      what workers did with the queue's messages, totals that only grow (kept in
                  the queue's stats hash by streams.history when workers flush heartbeats)
    scheduled     delayed messages not yet due (streams/delayed.py)
    paused        the queue is paused: workers take no new entries (streams/pause.py)
    rates         rate_in_per_s from the change of XINFO STREAM entries-added between two
                  samples, rate_out_per_s from the change of the group's entries-read; both
                  null until a RateTracker has seen two samples (or on Redis 6.2).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

import msgspec
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from streams import partitions
from streams.keys import Keys
from streams.messages import now_ms
from streams.partitions import Partition
from streams.retention import StreamId, parse_id

COUNT_LIMIT: Final = 10_000
_PAGE: Final = 1_000
# Worker outcome -> its total's field in the queue's stats hash.
TOTAL_FIELDS: Final = {
    "processed": "messages_processed",
    "failed": "messages_failed",
    "retried": "messages_retried",
    "dead_lettered": "messages_dead_lettered",
}

Clock = Callable[[], int]


class ConsumerState(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    pending: int
    idle_ms: int


class GroupState(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    pending: int
    last_delivered_id: str
    entries_read: int | None
    lag: int
    lag_source: str
    consumers: list[ConsumerState]


class MessageTotals(msgspec.Struct, frozen=True, kw_only=True):
    """Messages the workers handled since the queue's first, by outcome; they only grow."""

    processed: int = 0
    failed: int = 0
    retried: int = 0
    dead_lettered: int = 0


class QueueState(msgspec.Struct, frozen=True, kw_only=True):
    """What operators see of one queue; see the module docstring for each figure."""

    queue: str
    stream: str
    group: str
    exists: bool
    group_exists: bool
    length: int
    lag: int
    lag_estimated: bool
    lag_source: str
    pending: int
    depth: int
    oldest_pending_age_s: float
    time_lag_s: float
    consumers: int
    dead_letters: int
    entries_added: int | None
    rate_in_per_s: float | None = None
    rate_out_per_s: float | None = None
    cut_by_cap: int = 0
    dead_cut_by_cap: int = 0
    messages: MessageTotals = msgspec.field(default_factory=MessageTotals)
    scheduled: int = 0
    paused: bool = False
    groups: list[GroupState] = msgspec.field(default_factory=list)
    # A partitioned queue (streams.partitions): the figures above are sums (ages: the
    # oldest), and each partition's own figures are here; empty for an unpartitioned queue.
    partitions: list[PartitionState] = msgspec.field(default_factory=list)


class PartitionState(msgspec.Struct, frozen=True, kw_only=True):
    """One partition of a partitioned queue ("-": the unnumbered stream)."""

    partition: str
    stream: str
    length: int
    lag: int
    pending: int
    depth: int
    oldest_pending_age_s: float
    time_lag_s: float
    consumers: int
    dead_letters: int


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _age_s(sid: StreamId, now: int) -> float:
    return max(now - sid[0], 0) / 1000


async def _stream_info(redis: Redis, stream: str) -> dict[str, Any] | None:
    try:
        info: dict[str, Any] = await redis.xinfo_stream(stream)
    except ResponseError:
        return None  # no such key
    return info


async def _ids_after(redis: Redis, stream: str, after: StreamId, count: int) -> list[StreamId]:
    entries: list[tuple[bytes, dict[bytes, bytes]]] = await redis.xrange(
        stream, min=f"({after[0]}-{after[1]}", count=count
    )  # type: ignore[assignment]  # redis-py types replies loosely
    return [parse_id(entry_id) for entry_id, _ in entries]


def _behind_first_entry(last: StreamId, info: dict[str, Any]) -> bool:
    first = info.get("first-entry")
    return first is not None and last < parse_id(first[0])


async def _count_after(
    redis: Redis, stream: str, after: StreamId, info: dict[str, Any], limit: int
) -> tuple[int, str]:
    """Count entries with an id above after; past limit entries, interpolate from ids."""
    length = int(info["length"])
    first, last = info.get("first-entry"), info.get("last-entry")
    if not length or first is None or last is None:
        return 0, "counted"
    first_id, last_id = parse_id(first[0]), parse_id(last[0])
    if after < first_id:
        return length, "counted"
    if after >= last_id:
        return 0, "counted"
    counted, start = 0, after
    while counted < limit:
        page = await _ids_after(redis, stream, start, _PAGE)
        counted += len(page)
        if len(page) < _PAGE:
            return counted, "counted"
        start = page[-1]
    span = max(last_id[0] - first_id[0], 1)
    rest = round(length * max(last_id[0] - start[0], 0) / span)
    return min(counted + rest, length), "interpolated"


async def _first_after_age_s(redis: Redis, stream: str, after: StreamId, now: int) -> float:
    page = await _ids_after(redis, stream, after, 1)
    return _age_s(page[0], now) if page else 0.0


async def _group_state(
    redis: Redis, stream: str, raw: dict[str, Any], info: dict[str, Any], limit: int
) -> GroupState:
    name = _text(raw["name"])
    last = _text(raw["last-delivered-id"])
    lag, source = raw.get("lag"), "redis"
    if lag is None or _behind_first_entry(parse_id(last), info):
        # Redis 7.0 counts entries trimmed before they were read as still lagging.
        lag, source = await _count_after(redis, stream, parse_id(last), info, limit)
    consumers = await redis.xinfo_consumers(stream, name)
    read = raw.get("entries-read")
    if read is None and last == "0-0":
        read = 0  # a group created at 0 that has read nothing reports null
    return GroupState(
        name=name,
        pending=int(raw["pending"]),
        last_delivered_id=last,
        entries_read=None if read is None else int(read),
        lag=int(lag),
        lag_source=source,
        consumers=[
            ConsumerState(name=_text(c["name"]), pending=int(c["pending"]), idle_ms=int(c["idle"]))
            for c in consumers
        ],
    )


_STATS_FIELDS: Final = ("cut_by_cap", "dead_cut_by_cap", *TOTAL_FIELDS.values())


async def _dead_and_stats(
    redis: Redis, keys: Keys, queue: str
) -> tuple[int, dict[str, int], int, bool]:
    """Dead letters, the stats hash, scheduled messages and the pause flag, in one round trip."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.xlen(keys.dead(queue))
        pipe.hmget(keys.stats(queue), list(_STATS_FIELDS))
        pipe.zcard(keys.scheduled(queue))
        pipe.exists(keys.paused(queue))
        dead, values, scheduled, paused = await pipe.execute()
    stats = {f: int(v or 0) for f, v in zip(_STATS_FIELDS, values, strict=True)}
    return int(dead), stats, int(scheduled), bool(paused)


def _missing(queue: str, stream: str, group: str, dead: int) -> QueueState:
    return QueueState(
        queue=queue,
        stream=stream,
        group=group,
        exists=False,
        group_exists=False,
        length=0,
        lag=0,
        lag_estimated=False,
        lag_source="no-stream",
        pending=0,
        depth=0,
        oldest_pending_age_s=0.0,
        time_lag_s=0.0,
        consumers=0,
        dead_letters=dead,
        entries_added=None,
    )


async def inspect_queue(
    redis: Redis,
    keys: Keys,
    group: str,
    queue: str,
    *,
    clock: Clock = now_ms,
    count_limit: int = COUNT_LIMIT,
) -> QueueState:
    """Return the state of one queue as seen by the workers' group; never fails on absence.

    A partitioned queue is reported as the sum of its partitions, each also listed.
    """
    parts = await partitions.in_use(redis, keys, queue)
    states = [
        await _inspect_one(redis, keys.of(p), group, queue, clock=clock, count_limit=count_limit)
        for p in parts
    ]
    return states[0] if len(states) == 1 else combine(list(zip(parts, states, strict=True)))


async def _inspect_one(
    redis: Redis,
    keys: Keys,
    group: str,
    queue: str,
    *,
    clock: Clock,
    count_limit: int,
) -> QueueState:
    """Return the state of one partition (the unnumbered stream for keys without one).

    A missing stream reports zeros; a missing group reports every entry as unread.
    """
    stream = keys.stream(queue)
    dead, stats, scheduled, paused = await _dead_and_stats(redis, keys, queue)
    info = await _stream_info(redis, stream)
    now = clock()
    missing = msgspec.structs.replace(
        _missing(queue, stream, group, dead),
        cut_by_cap=stats["cut_by_cap"],
        dead_cut_by_cap=stats["dead_cut_by_cap"],
        messages=MessageTotals(**{name: stats[field] for name, field in TOTAL_FIELDS.items()}),
        scheduled=scheduled,
        paused=paused,
    )
    if info is None:
        return missing
    groups = [
        await _group_state(redis, stream, raw, info, count_limit)
        for raw in await redis.xinfo_groups(stream)
    ]
    ours = next((g for g in groups if g.name == group), None)
    base = msgspec.structs.replace(
        missing,
        exists=True,
        length=int(info["length"]),
        entries_added=None if info.get("entries-added") is None else int(info["entries-added"]),
        groups=groups,
    )
    if ours is None:
        return _without_group(base, info, now)
    return await _with_group(redis, base, ours, now)


def _without_group(base: QueueState, info: dict[str, Any], now: int) -> QueueState:
    # The worker creates the group at id 0, so until then every entry is waiting.
    first = info.get("first-entry")
    return msgspec.structs.replace(
        base,
        lag=base.length,
        lag_source="no-group",
        depth=base.length,
        time_lag_s=_age_s(parse_id(first[0]), now) if first else 0.0,
    )


async def _with_group(redis: Redis, base: QueueState, ours: GroupState, now: int) -> QueueState:
    last = parse_id(ours.last_delivered_id)
    return msgspec.structs.replace(
        base,
        group_exists=True,
        lag=ours.lag,
        lag_estimated=ours.lag_source != "redis",
        lag_source=ours.lag_source,
        pending=ours.pending,
        depth=ours.lag + ours.pending,
        oldest_pending_age_s=await _oldest_pending_age_s(redis, base.stream, ours, now),
        time_lag_s=await _first_after_age_s(redis, base.stream, last, now) if ours.lag else 0.0,
        consumers=len(ours.consumers),
    )


async def _oldest_pending_age_s(redis: Redis, stream: str, group: GroupState, now: int) -> float:
    if not group.pending:
        return 0.0
    summary = await redis.xpending(stream, group.name)
    oldest = summary.get("min")
    return _age_s(parse_id(oldest), now) if oldest else 0.0


async def inspect_queues(
    redis: Redis,
    keys: Keys,
    group: str,
    queues: Sequence[str],
    *,
    clock: Clock = now_ms,
    count_limit: int = COUNT_LIMIT,
) -> list[QueueState]:
    """Return the state of every queue, in the given order."""
    return [
        await inspect_queue(redis, keys, group, q, clock=clock, count_limit=count_limit)
        for q in queues
    ]


def combine(parts: list[tuple[Partition, QueueState]]) -> QueueState:
    """A partitioned queue's state: sums of its partitions' figures, the oldest ages."""
    states = [state for _, state in parts]
    first = states[0]
    groups = _combine_groups([g for state in states for g in state.groups])
    ours = next((g for g in groups if g.name == first.group), None)
    added = [s.entries_added for s in states if s.entries_added is not None]
    sources = [s.lag_source for s in states if s.lag_source not in ("redis", "no-stream")]
    return msgspec.structs.replace(
        first,
        exists=any(s.exists for s in states),
        group_exists=any(s.group_exists for s in states),
        length=sum(s.length for s in states),
        lag=sum(s.lag for s in states),
        lag_estimated=any(s.lag_estimated for s in states),
        lag_source=sources[0] if sources else first.lag_source,
        pending=sum(s.pending for s in states),
        depth=sum(s.depth for s in states),
        oldest_pending_age_s=max(s.oldest_pending_age_s for s in states),
        time_lag_s=max(s.time_lag_s for s in states),
        consumers=0 if ours is None else len(ours.consumers),
        dead_letters=sum(s.dead_letters for s in states),
        entries_added=sum(added) if added else None,
        cut_by_cap=sum(s.cut_by_cap for s in states),
        dead_cut_by_cap=sum(s.dead_cut_by_cap for s in states),
        scheduled=sum(s.scheduled for s in states),
        paused=any(s.paused for s in states),
        groups=groups,
        partitions=[_partition_state(p, s) for p, s in parts if s.exists or p is not None],
    )


def _partition_state(partition: Partition, state: QueueState) -> PartitionState:
    return PartitionState(
        partition=partitions.label(partition),
        stream=state.stream,
        length=state.length,
        lag=state.lag,
        pending=state.pending,
        depth=state.depth,
        oldest_pending_age_s=state.oldest_pending_age_s,
        time_lag_s=state.time_lag_s,
        consumers=state.consumers,
        dead_letters=state.dead_letters,
    )


def _combine_groups(groups: list[GroupState]) -> list[GroupState]:
    """One GroupState per group name over all partitions: sums, and consumers merged by name."""
    merged: dict[str, GroupState] = {}
    for g in groups:
        old = merged.get(g.name)
        if old is None:
            merged[g.name] = msgspec.structs.replace(g, last_delivered_id="")
            continue
        consumers = {c.name: c for c in old.consumers}
        for c in g.consumers:
            seen = consumers.get(c.name)
            consumers[c.name] = (
                c
                if seen is None
                else ConsumerState(
                    name=c.name,
                    pending=seen.pending + c.pending,
                    idle_ms=min(seen.idle_ms, c.idle_ms),
                )
            )
        read = (
            None
            if old.entries_read is None or g.entries_read is None
            else old.entries_read + g.entries_read
        )
        merged[g.name] = msgspec.structs.replace(
            old,
            pending=old.pending + g.pending,
            entries_read=read,
            lag=old.lag + g.lag,
            lag_source=old.lag_source if old.lag_source != "redis" else g.lag_source,
            consumers=list(consumers.values()),
        )
    return list(merged.values())


class _Sample(msgspec.Struct, frozen=True):
    at_ms: int
    added: int | None
    read: int | None


def _rate(new: int | None, old: int | None, elapsed_ms: int) -> float | None:
    if new is None or old is None or elapsed_ms <= 0:
        return None
    return round(max(new - old, 0) * 1000 / elapsed_ms, 3)


class RateTracker:
    """Turn successive samples of the Redis counters into per-second rates.

    A sample replaces the previous one only once min_interval_ms have passed, so frequent
    calls still measure over a meaningful window.
    """

    def __init__(self, clock: Clock = now_ms, min_interval_ms: int = 1_000) -> None:
        self.clock = clock
        self.min_interval_ms = min_interval_ms
        self._previous: dict[str, _Sample] = {}
        self._rates: dict[str, tuple[float | None, float | None]] = {}

    def apply(self, states: Sequence[QueueState]) -> list[QueueState]:
        """Return states with rate_in_per_s and rate_out_per_s filled in where known."""
        now = self.clock()
        return [self._apply_one(state, now) for state in states]

    def _apply_one(self, state: QueueState, now: int) -> QueueState:
        ours = next((g for g in state.groups if g.name == state.group), None)
        sample = _Sample(now, state.entries_added, None if ours is None else ours.entries_read)
        previous = self._previous.get(state.queue)
        if previous is None:
            self._previous[state.queue] = sample
        elif now - previous.at_ms >= self.min_interval_ms:
            elapsed = now - previous.at_ms
            self._rates[state.queue] = (
                _rate(sample.added, previous.added, elapsed),
                _rate(sample.read, previous.read, elapsed),
            )
            self._previous[state.queue] = sample
        rate_in, rate_out = self._rates.get(state.queue, (None, None))
        return msgspec.structs.replace(state, rate_in_per_s=rate_in, rate_out_per_s=rate_out)


class PendingEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One entry read by the group but not acknowledged yet."""

    id: str
    consumer: str
    idle_ms: int
    deliveries: int
    partition: str | None = None  # of a partitioned queue; else null


async def list_pending(
    redis: Redis, keys: Keys, group: str, queue: str, limit: int = 100
) -> list[PendingEntry]:
    """Return up to limit pending entries, oldest first; none when the stream or group is missing."""
    parts = await partitions.in_use(redis, keys, queue)
    found: list[PendingEntry] = []
    for partition in parts:
        try:
            rows = await redis.xpending_range(
                keys.of(partition).stream(queue), group, "-", "+", limit
            )
        except ResponseError:
            continue  # NOGROUP: no stream or no group yet
        label = None if len(parts) == 1 else partitions.label(partition)
        found += [
            PendingEntry(
                id=_text(row["message_id"]),
                consumer=_text(row["consumer"]),
                idle_ms=int(row["time_since_delivered"]),
                deliveries=int(row["times_delivered"]),
                partition=label,
            )
            for row in rows
        ]
    found.sort(key=lambda e: parse_id(e.id))
    return found[:limit]
