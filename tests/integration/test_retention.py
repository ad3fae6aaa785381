"""Trimming never removes what a consumer group still needs."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from redis.asyncio import Redis

from streams import retention
from streams.config import QueueSettings
from streams.keys import Keys

KEEP_NOTHING_OLD = QueueSettings(retention_ms=1)
LATER = 2**50  # a clock far past every entry, so only the groups decide


async def fill(redis: Redis, stream: str, count: int) -> list[bytes]:
    return [await redis.xadd(stream, {"type": "t", "data": str(n)}) for n in range(count)]


async def test_trim_removes_only_entries_every_group_has_acknowledged(
    redis: Redis, prefix: str
) -> None:
    # Given 10 entries: 3 acknowledged, 3 read but pending, 4 never read
    keys = Keys(prefix)
    stream = keys.stream("default")
    await redis.xgroup_create(stream, "g", id="0", mkstream=True)
    ids = await fill(redis, stream, 10)
    await redis.xreadgroup("g", "c", {stream: ">"}, count=6)
    await redis.xack(stream, "g", *ids[:3])
    # When the queue is trimmed with a retention that keeps nothing old
    removed, cut = await retention.trim(redis, keys, "default", KEEP_NOTHING_OLD, now=LATER)
    # Then only the acknowledged entries are gone
    remaining = [entry_id for entry_id, _ in await redis.xrange(stream)]
    assert remaining == ids[3:]
    assert (removed, cut) == (3, 0)


async def test_trim_follows_the_slowest_group(redis: Redis, prefix: str) -> None:
    keys = Keys(prefix)
    stream = keys.stream("default")
    await redis.xgroup_create(stream, "fast", id="0", mkstream=True)
    await redis.xgroup_create(stream, "slow", id="0")
    ids = await fill(redis, stream, 6)
    fast = await redis.xreadgroup("fast", "c", {stream: ">"})
    await redis.xack(stream, "fast", *[i for i, _ in fast[0][1]])
    await redis.xreadgroup("slow", "c", {stream: ">"}, count=2)
    await redis.xack(stream, "slow", ids[0])
    await retention.trim(redis, keys, "default", KEEP_NOTHING_OLD, now=LATER)
    assert [i for i, _ in await redis.xrange(stream)] == ids[1:]


async def test_trim_keeps_everything_while_no_group_exists(redis: Redis, prefix: str) -> None:
    keys = Keys(prefix)
    await fill(redis, keys.stream("default"), 5)
    assert await retention.trim(redis, keys, "default", KEEP_NOTHING_OLD, now=LATER) == (0, 0)
    assert await redis.xlen(keys.stream("default")) == 5


async def test_trim_keeps_finished_entries_younger_than_the_retention(
    redis: Redis, prefix: str
) -> None:
    keys = Keys(prefix)
    stream = keys.stream("default")
    await redis.xgroup_create(stream, "g", id="0", mkstream=True)
    await fill(redis, stream, 4)
    read = await redis.xreadgroup("g", "c", {stream: ">"})
    await redis.xack(stream, "g", *[i for i, _ in read[0][1]])
    assert await retention.trim(redis, keys, "default", QueueSettings(retention_ms=3_600_000)) == (
        0,
        0,
    )
    assert await redis.xlen(stream) == 4


async def test_hard_cap_cuts_unread_entries_and_says_so(
    redis: Redis, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    keys = Keys(prefix)
    stream = keys.stream("default")
    await redis.xgroup_create(stream, "g", id="0", mkstream=True)
    ids = await fill(redis, stream, 10)
    with caplog.at_level(logging.WARNING, logger="streams.retention"):
        removed, cut = await retention.trim(redis, keys, "default", QueueSettings(max_len=4))
    assert (removed, cut) == (0, 6)
    assert [i for i, _ in await redis.xrange(stream)] == ids[6:]
    assert await redis.hget(keys.stats("default"), "cut_by_cap") == b"6"
    assert "hard cap 4 reached, cut 6 entries" in caplog.text


async def test_trim_survives_the_last_pending_entries_being_acknowledged_meanwhile(
    redis: Redis, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 4 entries read by the group, 2 of them still pending when XINFO GROUPS answers
    keys = Keys(prefix)
    stream = keys.stream("default")
    await redis.xgroup_create(stream, "g", id="0", mkstream=True)
    ids = await fill(redis, stream, 4)
    await redis.xreadgroup("g", "c", {stream: ">"})
    await redis.xack(stream, "g", *ids[:2])
    real_xinfo_groups = redis.xinfo_groups

    async def then_ack_the_rest(name: str) -> Any:
        groups = await real_xinfo_groups(name)
        await redis.xack(stream, "g", *ids[2:])  # a worker finishes between the two reads
        return groups

    monkeypatch.setattr(redis, "xinfo_groups", then_ack_the_rest)
    # When the queue is trimmed
    removed, cut = await retention.trim(redis, keys, "default", KEEP_NOTHING_OLD, now=LATER)
    # Then nothing pending means nothing needed: every entry is finished and removed
    assert (removed, cut) == (4, 0)
    assert await redis.xlen(stream) == 0


async def test_hard_cap_cuts_finished_young_entries_without_counting_or_warning(
    redis: Redis, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Given 10 entries the group has read and acknowledged, younger than the retention
    keys = Keys(prefix)
    stream = keys.stream("default")
    await redis.xgroup_create(stream, "g", id="0", mkstream=True)
    ids = await fill(redis, stream, 10)
    await redis.xreadgroup("g", "c", {stream: ">"})
    await redis.xack(stream, "g", *ids)
    # When the hard cap of 4 applies
    with caplog.at_level(logging.WARNING, logger="streams.retention"):
        removed, cut = await retention.trim(redis, keys, "default", QueueSettings(max_len=4))
    # Then the 6 oldest go as finished entries: nothing counted, no warning
    assert (removed, cut) == (6, 0)
    assert [i for i, _ in await redis.xrange(stream)] == ids[6:]
    assert await redis.hget(keys.stats("default"), "cut_by_cap") is None
    assert "hard cap" not in caplog.text


async def test_hard_cap_counts_only_entries_some_group_had_not_finished(
    redis: Redis, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 10 entries: group "slow" acknowledged 0, 1, 2 and 4, holds 3 and 5, never read
    # 6-9; group "fast" finished all but 1
    monkeypatch.setattr(retention, "CAP_PAGE", 3)  # several script calls
    keys = Keys(prefix)
    stream = keys.stream("default")
    await redis.xgroup_create(stream, "slow", id="0", mkstream=True)
    await redis.xgroup_create(stream, "fast", id="0")
    ids = await fill(redis, stream, 10)
    await redis.xreadgroup("slow", "c", {stream: ">"}, count=6)
    await redis.xack(stream, "slow", ids[0], ids[1], ids[2], ids[4])
    await redis.xreadgroup("fast", "c", {stream: ">"})
    await redis.xack(stream, "fast", *[i for i in ids if i != ids[1]])
    # When a hard cap of 2 cuts the 8 oldest
    removed, cut = await retention.trim(redis, keys, "default", QueueSettings(max_len=2))
    # Then 0, 2 and 4 were finished everywhere; 1 (fast), 3 and 5 (pending), 6 and 7 (unread) not
    assert (removed, cut) == (3, 5)
    assert [i for i, _ in await redis.xrange(stream)] == ids[8:]
    assert await redis.hget(keys.stats("default"), "cut_by_cap") == b"5"


async def test_hard_cap_counts_every_entry_while_no_group_exists(redis: Redis, prefix: str) -> None:
    keys = Keys(prefix)
    await fill(redis, keys.stream("default"), 7)
    assert await retention.trim(redis, keys, "default", QueueSettings(max_len=5)) == (0, 2)
    assert await redis.hget(keys.stats("default"), "cut_by_cap") == b"2"


async def test_dead_letters_older_than_their_retention_expire(redis: Redis, prefix: str) -> None:
    # Given dead letters recorded at 1 s, 2 s and 3 s
    keys = Keys(prefix)
    for entry_id in ("1000-0", "2000-0", "3000-0"):
        await redis.xadd(keys.dead("default"), {"type": "t", "data": "{}"}, id=entry_id)
    # When dead letters are trimmed at 3.5 s with a retention of 1 s
    settings = QueueSettings(dead_retention_ms=1_000)
    assert await retention.trim_dead(redis, keys, "default", settings, now=3_500) == (2, 0)
    # Then only the youngest is left, and expiry is not counted as a cut
    assert [i for i, _ in await redis.xrange(keys.dead("default"))] == [b"3000-0"]
    assert await redis.hget(keys.stats("default"), "dead_cut_by_cap") is None


async def test_dead_letter_cap_cuts_the_oldest_counts_and_says_so(
    redis: Redis, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    keys = Keys(prefix)
    ids = await fill(redis, keys.dead("default"), 5)
    with caplog.at_level(logging.WARNING, logger="streams.retention"):
        result = await retention.trim_dead(redis, keys, "default", QueueSettings(dead_max_len=2))
    assert result == (0, 3)
    assert [i for i, _ in await redis.xrange(keys.dead("default"))] == ids[3:]
    assert await redis.hget(keys.stats("default"), "dead_cut_by_cap") == b"3"
    assert "dead-letter cap 2 reached, cut the 3 oldest" in caplog.text


async def test_hard_cap_counts_pending_entries_past_deleted_ones_still_pending(
    redis: Redis, prefix: str
) -> None:
    # Given 6 entries all pending, of which 1, 2 and 3 were deleted (they stay pending)
    keys = Keys(prefix)
    stream = keys.stream("default")
    await redis.xgroup_create(stream, "g", id="0", mkstream=True)
    ids = await fill(redis, stream, 6)
    await redis.xreadgroup("g", "c", {stream: ">"})
    await redis.xdel(stream, *ids[1:4])
    # When a cap of 1 cuts the two oldest left (0 and 4), then both count as unfinished
    assert await retention.trim(redis, keys, "default", QueueSettings(max_len=1)) == (0, 2)
