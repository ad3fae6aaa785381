"""Handing entries back at shutdown is not a delivery attempt: redeploys with a backlog must
neither raise ctx.attempt nor dead-letter entries that never ran."""

from __future__ import annotations

import anyio
import msgspec
from redis.asyncio import Redis

from streams import Context, Producer
from streams.deadletter import list_dead
from streams.keys import Keys
from streams.worker import Worker
from tests.integration.test_worker import Job, pending_count, registry_with
from tests.support import FAST_QUEUE, make_settings, wait_until

ROUNDS = 6


async def _true(value: bool) -> bool:
    return value


async def test_redeploys_with_a_backlog_do_not_count_handed_back_entries_as_attempts(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    # Given a backlog, one handler per worker and batches of 4 (so a worker holds 8 at once)
    queue = msgspec.structs.replace(FAST_QUEUE, concurrency=1, batch_size=4, max_attempts=3)
    settings = make_settings(redis_url, prefix, default=queue)
    handled: list[tuple[int, int]] = []
    gate: anyio.Event | None = None
    started = anyio.Event()

    async def handle(job: Job, ctx: Context) -> None:
        if gate is not None:
            started.set()
            await gate.wait()  # the first entry of a round runs until the worker is told to stop
        handled.append((job.n, ctx.attempt))

    registry = registry_with(handle)
    producer = Producer(redis, settings, registry)
    for n in range(ROUNDS + 8):
        await producer.publish("default", "job", Job(n))
    # When six workers in turn start, run one entry, and are stopped (SIGTERM) while holding more
    for round_ in range(ROUNDS):
        gate, started = anyio.Event(), anyio.Event()
        worker = Worker(redis, settings, registry, ["default"], name=f"deploy-{round_}")
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                await tg.start(worker.run)
                await started.wait()
                await wait_until(lambda w=worker: _true(len(w.consumers[0].held) > 4))
                gate, release = None, gate
                worker.request_stop()
                release.set()
        assert len(handled) == round_ + 1
    # And a last worker drains the queue
    with anyio.fail_after(10):
        await Worker(redis, settings, registry, ["default"], name="last").run(stop_when_idle=True)
    # Then every entry ran once, as its first attempt, and nothing was dead-lettered
    assert sorted(handled) == [(n, 1) for n in range(ROUNDS + 8)]
    assert await list_dead(redis, Keys(prefix), "default") == []
    assert await pending_count(redis, settings) == 0
