"""A test application that records when each message was handled (STREAMS_APP=tests.feature_apps:registry).

Handled times go to the sorted set ``data("handled_at")`` (member n, score ms), one
``data("handled_count")`` hash counts deliveries, so tests check timing and duplicates from
outside the worker processes.
"""

from __future__ import annotations

import time

import anyio
import msgspec

from streams import Context, Registry


class Timed(msgspec.Struct, frozen=True, kw_only=True):
    n: int
    due_ms: int = 0
    sleep_ms: int = 0


async def handle_timed(payload: Timed, ctx: Context) -> None:
    started_ms = time.time_ns() // 1_000_000
    await ctx.redis.hincrby(ctx.keys.data("handled_count"), str(payload.n), 1)
    await ctx.redis.zadd(ctx.keys.data("handled_at"), {str(payload.n): started_ms})
    if payload.sleep_ms:
        await anyio.sleep(payload.sleep_ms / 1000)


registry = Registry()
registry.message("default", "test.timed", Timed, handle_timed)
