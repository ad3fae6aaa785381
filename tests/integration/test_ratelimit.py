"""The shared rate limiter: three limiters on one key stay within the limit plus its burst."""

from __future__ import annotations

import bisect
import time

import anyio
from redis.asyncio import Redis

from streams.keys import Keys
from streams.ratelimit import Rate, RateLimiter


def busiest(times_s: list[float], window_s: float) -> int:
    times_s = sorted(times_s)
    return max(bisect.bisect_left(times_s, t + window_s) - i for i, t in enumerate(times_s))


async def test_three_limiters_share_one_limit(redis_url: str, prefix: str) -> None:
    # Given three workers' limiters for 100/s, each with 8 eager handler tasks
    rate = Rate(100, 1_000)
    clients = [Redis.from_url(redis_url) for _ in range(3)]
    limiters = [RateLimiter(c, Keys(prefix), "default", rate) for c in clients]
    granted: list[float] = []
    deadline = time.monotonic() + 2.0

    async def take(limiter: RateLimiter) -> None:
        while time.monotonic() < deadline:
            if await limiter.acquire(8, lambda: time.monotonic() >= deadline):
                granted.append(time.monotonic())

    # When they take tokens for two seconds
    async with anyio.create_task_group() as tg:
        for limiter in limiters:
            for _ in range(8):
                tg.start_soon(take, limiter)
    for client in clients:
        await client.aclose()

    # Then no second saw more than 100 + the burst, and the rate was close to the limit
    # (+2: the times are taken when the reply arrives, a few ms after Redis granted them)
    assert busiest(granted, 1.0) <= rate.count + rate.burst + 2
    assert len(granted) >= 0.9 * 2 * rate.count
