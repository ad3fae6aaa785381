"""A small time-to-live cache so a storm of scrapes costs Redis one round of commands.

Writes through this API process invalidate it (invalidate_after_writes), so a client reads
its own writes at once; other processes' writes show within the time to live.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Final, Generic, TypeVar

import anyio
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

T = TypeVar("T")
READ_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


class TtlCache(Generic[T]):
    """Keep each computed value for ttl_s; concurrent callers share one computation.

    Failures are not cached, so the next call tries again. invalidate() makes every caller
    that arrives afterwards wait for a value computed afterwards.
    """

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._generation = 0
        self._values: dict[str, tuple[float, int, T]] = {}
        self._locks: dict[str, anyio.Lock] = {}

    def invalidate(self) -> None:
        """Forget every value, and any computation already under way."""
        self._generation += 1

    async def get(self, key: str, compute: Callable[[], Awaitable[T]]) -> T:
        wanted = self._generation
        lock = self._locks.setdefault(key, anyio.Lock())
        async with lock:
            cached = self._values.get(key)
            if cached is not None and cached[1] >= wanted and self.clock() - cached[0] < self.ttl_s:
                return cached[2]
            generation = self._generation  # a write from now on is not seen by this value
            value = await compute()
            self._values[key] = (self.clock(), generation, value)
            return value


def invalidate_after_writes(invalidate: Callable[[], None]) -> Callable[[ASGIApp], ASGIApp]:
    """ASGI middleware: call invalidate once a write request is answered, before the answer.

    Any method but GET/HEAD/OPTIONS counts as a write, unless refused with a 4xx (nothing was
    written, and a client without a token must not be able to empty the cache). A 5xx counts:
    a replay may have moved some entries before Redis failed.
    """

    def middleware(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP or scope["method"] in READ_METHODS:
                await app(scope, receive, send)
                return

            async def send_after_write(message: Message) -> None:
                if message["type"] == "http.response.start" and not 400 <= message["status"] < 500:
                    invalidate()
                await send(message)

            await app(scope, receive, send_after_write)

        return wrapped

    return middleware
