"""A test application for worker subprocesses (STREAMS_APP=tests.apps:registry).

Handlers record what they did in Redis, so a test can check it from outside the process.
"""

from __future__ import annotations

import anyio
import msgspec

from streams import Context, Registry


class Work(msgspec.Struct, frozen=True, kw_only=True):
    n: int
    sleep_ms: int = 0
    fail_times: int = 0


async def handle_work(payload: Work, ctx: Context) -> None:
    await ctx.redis.hincrby(ctx.keys.data("attempts"), str(payload.n), 1)
    if payload.sleep_ms:
        await anyio.sleep(payload.sleep_ms / 1000)
    if ctx.attempt <= payload.fail_times:
        raise RuntimeError(f"planned failure {ctx.attempt} of {payload.fail_times}")
    await ctx.redis.sadd(ctx.keys.data("handled"), str(payload.n))


registry = Registry()
registry.message("default", "test.work", Work, handle_work)
