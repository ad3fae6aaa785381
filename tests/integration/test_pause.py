"""Pause and resume under load: no new handler starts within a second, nothing is lost."""

from __future__ import annotations

import time
from collections import Counter

import anyio
import msgspec
from redis.asyncio import Redis

from streams import Context, Producer, Registry
from streams.keys import Keys
from streams.pause import pause, resume
from streams.worker import Worker
from tests.support import make_settings, wait_until


class Slow(msgspec.Struct, frozen=True):
    n: int


async def test_a_paused_queue_starts_nothing_new_keeps_leases_and_resumes(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    # Given two workers busy with 300 jobs of 30 ms each
    settings = make_settings(redis_url, prefix)
    starts: list[tuple[int, float]] = []
    finished: Counter[int] = Counter()

    async def handle(job: Slow, ctx: Context) -> None:
        starts.append((job.n, time.monotonic()))
        await anyio.sleep(0.03)
        finished[job.n] += 1

    registry = Registry()
    registry.message("default", "slow", Slow, handle)
    producer = Producer(redis, settings, registry)
    for n in range(300):
        await producer.publish("default", "slow", Slow(n))
    async with anyio.create_task_group() as tg:
        workers = [Worker(redis, settings, registry, ["default"], name=f"w{i}") for i in range(2)]
        for worker in workers:
            await tg.start(worker.run)

        async def some_done() -> bool:
            return len(finished) >= 30

        await wait_until(some_done)

        # When the queue is paused, and we watch for longer than the visibility timeout
        await pause(redis, Keys(prefix), "default")
        paused_at = time.monotonic()
        await anyio.sleep(2.0)  # an observation window: nothing may start in it after 1 s
        started_late = [n for n, t in starts if t > paused_at + 1.0]
        held = sum(len(w.consumers[0].held) for w in workers)
        done_while_paused = len(finished)

        # Then nothing started after the first second, and entries stay held, not reclaimed
        assert not started_late
        assert held > 0
        assert done_while_paused < 300

        # When resumed, everything is handled, each once
        await resume(redis, Keys(prefix), "default")

        async def all_done() -> bool:
            return len(finished) == 300

        await wait_until(all_done, 10)
        for worker in workers:
            worker.request_stop()

    assert set(finished.values()) == {1}
