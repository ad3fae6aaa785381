"""Partitioned queues: which partition a message goes to, and which partitions exist.

With STREAMS_[QUEUE_]PARTITIONS=N > 1 a queue is N streams, ``{prefix:queue:0}:stream`` to
``{prefix:queue:N-1}:stream``, each with its own hash tag (so a cluster spreads them over
its nodes) and its own dead letters and stats. With N = 1 the queue is the unnumbered stream
``{prefix:queue}:stream``, as before partitions existed.

A message with a key goes to partition ``HASH_SLOT(key) mod N``, where HASH_SLOT is Redis
Cluster's key hash (CRC16-XMODEM of the key, or of its ``{...}`` hash tag, mod 16384), so
``redis-cli CLUSTER KEYSLOT <key>`` mod N gives it in any language. Messages without a key
are spread round-robin.

Producers record every partition number they write to in the set ``{prefix:queue}:partitions``.
Workers consume the unnumbered stream and every recorded partition, so lowering N (or going
back to 1) leaves the old partitions draining until they are empty; nothing is stranded.
"""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis
from redis.crc import key_slot

from streams.keys import Keys

Partition = int | None  # None: the unnumbered stream


def partition_of(key: str, count: int) -> int:
    """The partition of a message key: Redis Cluster's HASH_SLOT(key) mod count."""
    return key_slot(key.encode()) % count


class Chooser:
    """Picks each message's partition for one producer: by key, else round-robin."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def choose(self, queue: str, count: int, key: str | None) -> Partition:
        if count <= 1:
            return None
        if key is not None:
            return partition_of(key, count)
        n = self._next.get(queue, 0)
        self._next[queue] = n + 1
        return n % count


async def record(redis: Redis, keys: Keys, queue: str, count: int) -> None:
    """Record that partitions 0..count-1 of queue are in use (nothing to record for 1)."""
    if count > 1:
        await redis.sadd(keys.partitions(queue), *range(count))


async def in_use(redis: Redis, keys: Keys, queue: str, configured: int = 1) -> list[Partition]:
    """Every partition of queue that may hold entries: the unnumbered one and those recorded."""
    members = await redis.smembers(keys.partitions(queue))
    numbers = {int(m) for m in members} | (set(range(configured)) if configured > 1 else set())
    return [None, *sorted(numbers)]


def label(partition: Partition) -> str:
    """A partition as operators see it: its number, or "-" for the unnumbered stream."""
    return "-" if partition is None else str(partition)


def views(keys: Keys, partitions: Sequence[Partition]) -> list[Keys]:
    return [keys.of(p) for p in partitions]
