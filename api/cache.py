"""A small time-to-live cache so a storm of scrapes costs Redis one round of commands.

Writes through this API process invalidate it (invalidate_after_writes), so a client reads
its own writes at once; other processes' writes show within the time to live.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

T = TypeVar("T")
READ_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class _Entry(Generic[T]):
    at: float
    generation: int
    value: T


@dataclass(frozen=True)
class _Flight(Generic[T]):
    generation: int
    task: asyncio.Task[T]


class TtlCache(Generic[T]):
    """Keep each computed value for ttl_s; concurrent callers share one computation.

    A fresh value is returned without yielding to the event loop. A value older than ttl_s
    but younger than max_stale_s (2 x ttl_s unless given) is still returned at once while a
    single background task computes its successor (stale-while-revalidate), so a request
    never queues behind the Redis round trips of a refresh. Callers with no usable value wait
    for the one computation in flight. Failures are not cached: a failed refresh drops the
    value, so the next caller computes again and sees the error. invalidate() makes every
    caller that arrives afterwards wait for a value computed afterwards.
    """

    def __init__(
        self,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
        max_stale_s: float | None = None,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_stale_s = 2 * ttl_s if max_stale_s is None else max_stale_s
        self.clock = clock
        self._generation = 0
        self._values: dict[str, _Entry[T]] = {}
        self._flights: dict[str, _Flight[T]] = {}

    def invalidate(self) -> None:
        """Forget every value, and any computation already under way."""
        self._generation += 1

    async def get(self, key: str, compute: Callable[[], Awaitable[T]]) -> T:
        cached = self._values.get(key)
        if cached is not None and cached.generation == self._generation:
            age = self.clock() - cached.at
            if age < self.ttl_s:
                return cached.value
            if age < self.max_stale_s:
                self._flight(key, compute)  # refresh in the background; serve this one
                return cached.value
        # shield: a caller that times out or goes away leaves the computation to the others
        return await asyncio.shield(self._flight(key, compute).task)

    async def aclose(self) -> None:
        """Cancel the computations in flight (before the clients they use are closed)."""
        flights = [f.task for f in self._flights.values()]
        for task in flights:
            task.cancel()
        await asyncio.gather(*flights, return_exceptions=True)

    def _flight(self, key: str, compute: Callable[[], Awaitable[T]]) -> _Flight[T]:
        """The computation of key in flight since the last invalidation, started if none."""
        flight = self._flights.get(key)
        if flight is None or flight.generation < self._generation:
            # A write from now on is not seen by this value.
            generation = self._generation
            task = asyncio.create_task(self._compute(key, generation, compute))
            task.add_done_callback(consume_outcome)
            flight = self._flights[key] = _Flight(generation, task)
        return flight

    async def _compute(self, key: str, generation: int, compute: Callable[[], Awaitable[T]]) -> T:
        try:
            value = await compute()
        except BaseException:
            cached = self._values.get(key)
            if cached is not None and cached.generation <= generation:
                del self._values[key]  # not served stale after a failure
            raise
        else:
            cached = self._values.get(key)
            if cached is None or cached.generation <= generation:
                self._values[key] = _Entry(self.clock(), generation, value)
            return value
        finally:
            flight = self._flights.get(key)
            if flight is not None and flight.generation == generation:
                del self._flights[key]


def consume_outcome(task: asyncio.Task[T]) -> None:
    """Mark a shared task's failure as seen: its callers may all have gone."""
    if not task.cancelled():
        task.exception()


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
