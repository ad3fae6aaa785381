"""A queue's rate limit (STREAMS_[QUEUE_]RATE_LIMIT, e.g. 50/s), shared by every worker.

The state is one key per queue (GCRA in rate_limit.lua, on the server's clock). A worker
takes tokens in batches of up to ``burst`` (a tenth of the limit), only as many as it has
entries waiting, so a round trip serves several messages; tokens left unused for longer
than the batch is worth are dropped, never saved for a later window. Any window of the limit's period
handles at most the limit plus ``burst`` messages. Entries waiting for a token stay held and
leased: they are neither retried nor dead-lettered.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Final

import anyio
import msgspec
from redis.asyncio import Redis

from streams.keys import Keys
from streams.outage import MAYBE_OUTAGE, Outage, describe, is_outage
from streams.scripts import source

log = logging.getLogger(__name__)

_PERIOD_MS: Final = {"s": 1_000, "m": 60_000, "h": 3_600_000}


class Rate(msgspec.Struct, frozen=True):
    count: int
    period_ms: int

    @property
    def burst(self) -> int:
        """Tokens one request may take, and the tolerance over the limit in any period."""
        return max(1, math.ceil(self.count / 10))

    @property
    def interval_us(self) -> float:
        return self.period_ms * 1000 / self.count


def parse_rate(text: str) -> Rate | None:
    """'50/s' -> Rate(50, 1000); '' -> None (config.py has checked the form)."""
    if not text:
        return None
    count, unit = text.split("/")
    return Rate(int(count), _PERIOD_MS[unit])


class RateLimiter:
    """One worker's handle on a queue's shared limit; its handler tasks share a local pool."""

    def __init__(self, redis: Redis, keys: Keys, queue: str, rate: Rate) -> None:
        self.queue = queue
        self.rate = rate
        self._key = keys.rate_limit(queue)
        self._script = redis.register_script(source("rate_limit"))
        self._pool = 0
        self._pool_until = 0.0
        # Tokens are used at once or dropped: one kept for later would add to a later window.
        self._pool_ttl_s = rate.burst * rate.interval_us / 1e6
        self._lock = anyio.Lock()
        self._outage = Outage(log, f"queue={queue} rate limit")

    async def acquire(self, demand: int, stopping: Callable[[], bool]) -> bool:
        """Take one token, waiting as long as needed; False when stopping() became true."""
        if self._pool and anyio.current_time() > self._pool_until:
            self._pool = 0
        while not self._pool:
            if stopping():
                return False
            async with self._lock:
                if not self._pool:
                    await self._refill(demand)
        self._pool -= 1
        return True

    async def _refill(self, demand: int) -> None:
        want = min(self.rate.burst, max(demand, 1))
        args = [self.rate.interval_us, self.rate.burst, want]
        try:
            granted, wait_ms = await self._script(keys=[self._key], args=args)
            self._outage.recovered()
        except MAYBE_OUTAGE as exc:
            delay_s = 1.0
            if is_outage(exc):
                delay_s = self._outage.failed(exc)
            else:
                log.warning("queue=%s rate limit: %s", self.queue, describe(exc))
            await anyio.sleep(delay_s)
            return
        self._pool += int(granted)
        self._pool_until = anyio.current_time() + self._pool_ttl_s
        if not granted:
            await anyio.sleep(int(wait_ms) / 1000)
