"""A primary fails over under load: workers, producers, API and scheduler ride through.

Tests 1 and 2 put a TCP forwarder (Railway's HAProxy) in front of a primary and a replica,
promote the replica and repoint the forwarder; test 3 lets three Sentinels fail over after
kill -9 of the primary. Each test records what users need to know as figures (duplicates,
acknowledged publishes lost) with record_property and a log line.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import msgspec
from anyio.abc import TaskGroup
from redis.asyncio import Redis
from redis.exceptions import RedisError

from streams import Keys, NotDurableError, Producer, Registry
from streams.client import create_redis
from streams.config import Settings
from streams.router import Context
from streams.scheduler import Job, Publish, Scheduler, SchedulerConfig
from streams.server import LocalServer
from streams.worker import Worker
from tests.ha_support import Sentinels, client, forwarding, promote, replica_set, replicate
from tests.integration.api_support import api_client
from tests.support import make_settings, wait_until

log = logging.getLogger(__name__)

RecordProperty = Callable[[str, object], None]  # pytest's record_property fixture
PUBLISH_EVERY_S = 0.005
TICK_MS = 200


class Load(msgspec.Struct):
    n: int


@dataclass
class Figures:
    """What the producer was told and what the worker ran."""

    acked: list[int] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)
    handled: Counter[int] = field(default_factory=Counter)
    ticks_handled_at: list[float] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        return sum(count - 1 for count in self.handled.values())

    def never_handled(self) -> list[int]:
        return [n for n in self.acked if n not in self.handled]


def load_registry(figures: Figures) -> Registry:
    registry = Registry()

    async def handle(payload: Load, ctx: Context) -> None:
        if payload.n < 0:
            figures.ticks_handled_at.append(time.monotonic())
        else:
            figures.handled[payload.n] += 1

    registry.message("default", "load", Load, handle)
    return registry


async def publish_forever(producer: Producer, figures: Figures) -> None:
    """One publish every few ms; only a publish that returned counts as acknowledged."""
    n = 0
    while True:
        try:
            await producer.publish("default", "load", Load(n))
            figures.acked.append(n)
        except (NotDurableError, RedisError) as exc:
            figures.refused[type(exc).__name__] += 1
        n += 1
        await anyio.sleep(PUBLISH_EVERY_S)


async def drained(redis: Redis, keys: Keys, group: str) -> bool:
    groups = await redis.xinfo_groups(keys.stream("default"))
    mine = next(g for g in groups if g["name"] == group)
    return bool(mine["pending"] == 0 and mine["lag"] == 0)


@asynccontextmanager
async def running_system(
    settings: Settings, figures: Figures
) -> AsyncIterator[tuple[TaskGroup, anyio.CancelScope]]:
    """A worker, a scheduler and a publishing producer on settings' URL, all in-process."""
    registry = load_registry(figures)
    tick = Job("tick", TICK_MS, Publish("default", "load", {"n": -1}))
    async with create_redis(settings) as redis, anyio.create_task_group() as tg:
        worker = Worker(redis, settings, registry, ["default"], name="failover-worker")
        scheduler = Scheduler(
            redis, settings, registry, [tick], config=SchedulerConfig(lease_ms=600, check_ms=50)
        )
        await tg.start(worker.run)
        await tg.start(scheduler.run)
        producer_scope = anyio.CancelScope()

        async def produce() -> None:
            with producer_scope:
                await publish_forever(Producer(redis, settings, registry), figures)

        tg.start_soon(produce)
        yield tg, producer_scope
        worker.request_stop()
        tg.cancel_scope.cancel()


async def wait_acked(figures: Figures, more: int, timeout_s: float = 10) -> None:
    target = len(figures.acked) + more

    async def reached() -> bool:
        return len(figures.acked) >= target

    await wait_until(reached, timeout_s=timeout_s)


async def wait_tick_after(figures: Figures, moment: float) -> None:
    async def ticked() -> bool:
        return any(at > moment for at in figures.ticks_handled_at)

    await wait_until(ticked, timeout_s=10)


async def health_status(url: str, prefix: str) -> int:
    async with api_client(url, prefix) as api:
        return int((await api.get("/health")).status_code)


def report(record: RecordProperty, name: str, figures: Figures, **more: object) -> None:
    values = {
        "acked": len(figures.acked),
        "refused": dict(figures.refused),
        "duplicates": figures.duplicates,
        "acked_never_handled": len(figures.never_handled()),
        **more,
    }
    for key, value in values.items():
        record(key, value)
    log.warning("%s: %s", name, values)


async def forwarded_failover(
    tmp_path: Path, prefix: str, *, durable: bool, record: RecordProperty
) -> tuple[Figures, int]:
    """Promote the replica while the primary still takes writes, then switch the forwarder.

    Returns the figures and how many acknowledged entries the new primary lacks.
    """
    figures = Figures()
    with replica_set(1) as (primary, replica):
        await replicate(replica, primary)
        with forwarding(primary.port) as forwarder:
            settings = msgspec.structs.replace(
                make_settings(forwarder.url, prefix),
                publish_min_replicas=1 if durable else 0,
                publish_replica_timeout_ms=200,
            )
            with anyio.fail_after(40):
                async with running_system(settings, figures) as (_, producer):
                    await wait_acked(figures, 50)
                    await promote(replica)
                    # The window Railway's proxy needs to notice: the old primary still
                    # answers. Without durable publish it acknowledges writes the new one
                    # never sees; with it, they are refused for want of a replica.
                    if durable:
                        await wait_until(_refusals(figures), timeout_s=10)
                        await _demote(primary, replica)  # READONLY for whoever is still there
                    else:
                        await wait_acked(figures, 20)
                        primary.kill()
                        assert await health_status(forwarder.url, prefix) == 503
                    forwarder.repoint(replica.port)
                    switched = time.monotonic()
                    await wait_acked(figures, 50)
                    await wait_tick_after(figures, switched)
                    producer.cancel()
                    async with client(replica) as redis:
                        in_stream = {
                            msgspec.json.decode(fields["data"], type=Load).n
                            for _, fields in await redis.xrange(Keys(prefix).stream("default"))
                        }
                        expected = {n for n in figures.acked if n in in_stream}
                        await _wait_handled(figures, expected, redis, prefix, settings.group)
                assert await health_status(forwarder.url, prefix) == 200
    missing = len([n for n in figures.acked if n not in in_stream])
    report(record, f"failover durable={durable}", figures, acked_missing_on_new_primary=missing)
    return figures, missing


def _refusals(figures: Figures) -> Callable[[], Awaitable[bool]]:
    async def refused() -> bool:
        return figures.refused["NotDurableError"] > 0

    return refused


async def _demote(primary: LocalServer, new_primary: LocalServer) -> None:
    async with client(primary) as redis:
        await redis.replicaof("127.0.0.1", new_primary.port)


async def _wait_handled(
    figures: Figures, expected: set[int], redis: Redis, prefix: str, group: str
) -> None:
    async def done() -> bool:
        handled = all(n in figures.handled for n in expected)
        return handled and await drained(redis, Keys(prefix), group)

    await wait_until(done, timeout_s=15, interval_s=0.1)


async def test_1_durable_publishes_survive_a_forwarded_failover(
    tmp_path: Path, prefix: str, record_property: RecordProperty
) -> None:
    figures, missing = await forwarded_failover(
        tmp_path, prefix, durable=True, record=record_property
    )

    assert figures.never_handled() == []
    assert missing == 0
    assert figures.refused["NotDurableError"] > 0


async def test_2_without_durable_publish_acknowledged_entries_are_lost(
    tmp_path: Path, prefix: str, record_property: RecordProperty
) -> None:
    _, missing = await forwarded_failover(tmp_path, prefix, durable=False, record=record_property)

    # Every publish the old primary acknowledged after the promotion is gone.
    assert missing >= 20


async def test_3_workers_follow_a_sentinel_failover_after_kill_9(
    tmp_path: Path, prefix: str, record_property: RecordProperty
) -> None:
    figures = Figures()
    with replica_set(2) as (primary, *replicas):
        for replica in replicas:
            await replicate(replica, primary)
        sentinels = Sentinels(tmp_path, primary.port).start()
        try:
            await sentinels.wait_ready(replicas=2)
            settings = msgspec.structs.replace(
                make_settings(sentinels.url, prefix),
                publish_min_replicas=1,
                publish_replica_timeout_ms=200,
            )
            with anyio.fail_after(45):
                async with running_system(settings, figures) as (_, producer):
                    await wait_acked(figures, 50)
                    primary.kill()
                    killed = time.monotonic()
                    await wait_until(_primary_moved(sentinels, primary.port), timeout_s=20)
                    await wait_acked(figures, 50, timeout_s=20)
                    resumed_s = time.monotonic() - killed
                    await wait_tick_after(figures, killed)
                    producer.cancel()
                    port = await sentinels.primary_port_now()
                    new_primary = next(r for r in replicas if r.port == port)
                    async with client(new_primary) as redis:
                        await _wait_handled(
                            figures, set(figures.acked), redis, prefix, settings.group
                        )
                assert await health_status(sentinels.url, prefix) == 200
        finally:
            sentinels.stop()

    report(record_property, "sentinel failover", figures, resumed_after_s=round(resumed_s, 1))
    assert figures.never_handled() == []


def _primary_moved(sentinels: Sentinels, old_port: int) -> Callable[[], Awaitable[bool]]:
    async def moved() -> bool:
        try:
            return await sentinels.primary_port_now() != old_port
        except (OSError, RedisError):
            return False

    return moved
