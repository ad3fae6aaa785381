"""A small time-to-live cache so a storm of scrapes costs Redis one round of commands."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import anyio

T = TypeVar("T")


class TtlCache(Generic[T]):
    """Keep each computed value for ttl_s; concurrent callers share one computation.

    Failures are not cached, so the next call tries again.
    """

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._values: dict[str, tuple[float, T]] = {}
        self._locks: dict[str, anyio.Lock] = {}

    async def get(self, key: str, compute: Callable[[], Awaitable[T]]) -> T:
        lock = self._locks.setdefault(key, anyio.Lock())
        async with lock:
            cached = self._values.get(key)
            if cached is not None and self.clock() - cached[0] < self.ttl_s:
                return cached[1]
            value = await compute()
            self._values[key] = (self.clock(), value)
            return value
