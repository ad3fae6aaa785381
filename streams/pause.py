"""Pausing a queue: a flag key that workers read once per tick (see delayed.DueMover).

A paused queue still accepts publishes. Workers stop reading, reclaiming and starting
handlers within one tick; running handlers finish, and entries already read stay held
(their lease is renewed) until the queue is resumed or the worker stops.
"""

from __future__ import annotations

import logging

import anyio
from redis.asyncio import Redis

from streams import partitions
from streams.delayed import Tick
from streams.keys import Keys

log = logging.getLogger(__name__)


async def pause(redis: Redis, keys: Keys, queue: str) -> None:
    # Every partition has its flag in its own slot, next to what its worker's tick reads.
    for partition in await partitions.in_use(redis, keys, queue):
        await redis.set(keys.of(partition).paused(queue), "1")


async def resume(redis: Redis, keys: Keys, queue: str) -> None:
    for partition in await partitions.in_use(redis, keys, queue):
        await redis.delete(keys.of(partition).paused(queue))


async def is_paused(redis: Redis, keys: Keys, queue: str) -> bool:
    return bool(await redis.exists(keys.paused(queue)))


class PauseGate:
    """A worker's view of one queue's pause flag; the loops wait at it between entries."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.paused = False
        self._released = False
        self._open = anyio.Event()
        self._open.set()

    def set(self, paused: bool) -> None:
        if paused == self.paused or self._released:
            return
        self.paused = paused
        if paused:
            self._open = anyio.Event()
        else:
            self._open.set()

    def follow(self, tick: Tick) -> None:
        """Apply the flag as read by the worker's tick (delayed.DueMover)."""
        if tick.paused != self.paused:
            log.info(
                "%s: %s", self.name, "paused: taking no new entries" if tick.paused else "resumed"
            )
            self.set(tick.paused)

    def release(self) -> None:
        """Let every waiter go for good (shutdown); they check their own stop flag next."""
        self._released = True
        self._open.set()

    async def wait(self) -> None:
        await self._open.wait()
