"""A worker process's consumers: one QueueConsumer per queue, heartbeats, leases, shutdown."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Sequence
from typing import Final

import anyio
from anyio.abc import TaskGroup, TaskStatus
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from streams import heartbeat, history, partitions
from streams.client import CONNECT_TIMEOUT_S, make_keys
from streams.config import Settings
from streams.consumer import QueueConsumer
from streams.heartbeat import PipelineExtra, WorkerInfo
from streams.lease import LeaseKeeper
from streams.messages import now_ms
from streams.outage import AUTH_ERRORS, Outage, describe
from streams.partitions import Partition
from streams.router import Registry

log = logging.getLogger(__name__)

# After the handlers: how long acknowledging, releasing and leaving may take, all queues
# together. Redis answers in milliseconds or not at all; one connect timeout tells which.
FINISH_TIMEOUT_S: Final = CONNECT_TIMEOUT_S


def default_consumer_name() -> str:
    """Unique per process and stable for its lifetime: Railway replica id (or host) plus pid."""
    host = os.environ.get("RAILWAY_REPLICA_ID") or socket.gethostname()
    return f"{host}-{os.getpid()}"


class Worker:
    """Consumes the given queues until request_stop(), then drains and exits cleanly."""

    def __init__(
        self,
        redis: Redis,
        settings: Settings,
        registry: Registry,
        queues: Sequence[str] | None = None,
        *,
        name: str | None = None,
        concurrency: int | None = None,
    ) -> None:
        self.redis = redis
        self.settings = settings
        self.registry = registry
        # One consumer per queue: a queue named twice would share one consumer name and lease.
        self.queues = tuple(dict.fromkeys(queues or settings.queue_names))
        for queue in self.queues:
            settings.queue(queue)  # raises UnknownQueueError naming the configured ones
            if not registry.types(queue):
                log.warning(
                    "queue=%s has no registered message types: every entry will be dead-lettered",
                    queue,
                )
        self.name = name or default_consumer_name()
        self.keys = make_keys(settings)
        self.info = WorkerInfo(
            name=self.name,
            host=socket.gethostname(),
            pid=os.getpid(),
            queues=list(self.queues),
            started_ms=now_ms(),
        )
        self._concurrency = concurrency
        self._limiters: dict[str, anyio.CapacityLimiter] = {}
        self.consumers: list[QueueConsumer] = []
        for queue in self.queues:
            count = settings.queue(queue).partitions
            for partition in [None, *range(count)] if count > 1 else [None]:
                self._add_consumer(queue, partition)
        self._tg: TaskGroup | None = None
        self._stop = anyio.Event()
        self._fatal: BaseException | None = None

    def _add_consumer(self, queue: str, partition: Partition) -> QueueConsumer:
        """One consumer per partition; the partitions of a queue share one handler capacity."""
        consumer = QueueConsumer(
            self.redis,
            self.settings,
            self.registry,
            queue,
            self.name,
            self.info,
            concurrency=self._concurrency,
            on_fatal=self._stop_with,
            partition=partition,
        )
        self.consumers.append(consumer)
        siblings = [c for c in self.consumers if c.queue == queue]
        if len(siblings) > 1:
            limiter = self._limiters.setdefault(queue, anyio.CapacityLimiter(consumer.concurrency))
            for sibling in siblings:
                sibling.shared_capacity = limiter
        return consumer

    async def _discover_partitions(self) -> None:
        """Start consuming partitions producers recorded since (a count raised elsewhere)."""
        for queue in self.queues:
            have = {c.partition for c in self.consumers if c.queue == queue}
            for partition in await partitions.in_use(self.redis, self.keys, queue):
                if partition not in have and self._tg is not None and not self.stop_requested:
                    log.info("worker %s: queue=%s partition %s found", self.name, queue, partition)
                    self._tg.start_soon(self._add_consumer(queue, partition).run)

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def request_stop(self) -> None:
        self._stop.set()

    def _stop_with(self, exc: BaseException) -> None:
        """Stop as on SIGTERM, then raise exc from run(): a handler's exit or a broken queue key."""
        if self._fatal is None:
            self._fatal = exc
        self.request_stop()

    def leased(self) -> dict[str, list[str]]:
        """Entries the lease keeps per stream: held and not yet handled (from the lease thread)."""
        return {c.stream: list(c.leased) for c in self.consumers}

    async def run(
        self,
        *,
        stop_when_idle: bool = False,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Consume until stopped. With stop_when_idle, stop once every queue is drained.

        Raises, once stopped, the KeyboardInterrupt or SystemExit a handler raised, the
        StreamsError of a queue key holding another type of value or of a server older than
        Redis 7.0, or the redis-py error refusing the credentials (AUTH_ERRORS).
        """
        min_visibility_ms = min(self.settings.queue(q).visibility_timeout_ms for q in self.queues)
        lease = LeaseKeeper(
            self.settings, self.name, self.leased, interval_s=min_visibility_ms / 3000
        )
        lease.start()
        log.info("worker %s consuming %s", self.name, ", ".join(self.queues))
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                for consumer in list(self.consumers):
                    tg.start_soon(consumer.run)
                tg.start_soon(self._heartbeat_loop)
                if stop_when_idle:
                    tg.start_soon(self._stop_when_idle)
                task_status.started()
                await self._stop.wait()
                await self._drain()
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self._finish(lease)
        if self._fatal is not None:
            raise self._fatal

    async def _drain(self) -> None:
        grace_s = self.settings.shutdown_timeout_ms / 1000
        log.info(
            "worker %s stopping: finishing in-flight handlers (up to %.1fs)", self.name, grace_s
        )
        for consumer in self.consumers:
            consumer.stop()
        with anyio.move_on_after(grace_s) as scope:
            for consumer in self.consumers:
                await consumer.wait_quiet()
        if scope.cancelled_caught:
            log.warning(
                "worker %s: shutdown timeout reached, unfinished entries stay pending", self.name
            )

    async def _finish(self, lease: LeaseKeeper) -> None:
        with anyio.move_on_after(FINISH_TIMEOUT_S) as scope:
            # First, so that a renewal can't make an entry we hand back unclaimable again.
            await self._stop_lease(lease)
            # Redis refused our credentials: there is nothing we could hand back or remove.
            if not isinstance(self._fatal, AUTH_ERRORS):
                await self._hand_back()
        lease.close()
        if scope.cancelled_caught:
            log.warning(
                "worker %s: redis did not answer within %.1fs at shutdown; unfinished entries "
                "stay pending and are claimed after the visibility timeout",
                self.name,
                FINISH_TIMEOUT_S,
            )
        await self._run_cleanups()
        log.info(
            "worker %s stopped: processed=%d failed=%d retried=%d dead_lettered=%d",
            self.name,
            self.info.processed,
            self.info.failed,
            self.info.retried,
            self.info.dead_lettered,
        )

    async def _hand_back(self) -> None:
        async with anyio.create_task_group() as tg:
            for consumer in self.consumers:
                tg.start_soon(consumer.finish)
        await self._forget_heartbeat()  # after the last acks, so their counts are flushed

    @staticmethod
    async def _stop_lease(lease: LeaseKeeper) -> None:
        lease.request_stop()
        # Polled rather than joined from a worker thread, which would hold up the process's
        # exit when the caller gives up waiting. A round in flight ends within a socket timeout.
        while lease.running:  # noqa: ASYNC110
            await anyio.sleep(0.005)

    async def _forget_heartbeat(self) -> None:
        taken = self._take_counts()
        try:
            await heartbeat.forget(self.redis, self.keys, self.name, self._count_flush(taken))
        except (OSError, RedisError) as exc:  # the heartbeat key expires by itself
            log.warning("worker %s: could not remove the heartbeat: %s", self.name, describe(exc))

    def _take_counts(self) -> list[tuple[QueueConsumer, dict[str, int]]]:
        return [(c, c.counts.take()) for c in self.consumers]

    def _count_flush(self, taken: list[tuple[QueueConsumer, dict[str, int]]]) -> PipelineExtra:
        """Add each queue's counts since the last beat to its totals and history buckets."""
        at_ms = now_ms()

        def extra(pipe: Pipeline) -> None:
            for consumer, counts in taken:
                history.add_counts(pipe, self.keys, consumer.queue, counts, at_ms)

        return extra

    async def _beat(self, ttl_ms: int) -> None:
        taken = self._take_counts()
        try:
            await heartbeat.beat(self.redis, self.keys, self.info, ttl_ms, self._count_flush(taken))
        except BaseException:
            for consumer, counts in taken:  # carried by the next beat
                consumer.counts.give_back(counts)
            raise

    async def _run_cleanups(self) -> None:
        for cleanup in self.registry.cleanups:
            try:
                await cleanup()
            except Exception as exc:  # a broken cleanup must not keep the others from running
                name = getattr(cleanup, "__qualname__", repr(cleanup))
                log.exception("worker %s: cleanup %s failed: %s", self.name, name, exc)

    async def _heartbeat_loop(self) -> None:
        interval_s = self.settings.heartbeat_interval_ms / 1000
        ttl_ms = max(3 * self.settings.heartbeat_interval_ms, 1_000)
        outage = Outage(log, f"worker {self.name} heartbeat")
        while True:
            self.info.in_flight = sum(len(c.held) for c in self.consumers)
            try:
                await self._beat(ttl_ms)
                await self._discover_partitions()
                outage.recovered()
            except AUTH_ERRORS as exc:
                self._stop_with(exc)
                return
            except Exception as exc:  # noqa: BLE001  # e.g. OOM: logged once, work goes on
                outage.pause(exc)
            await anyio.sleep(interval_s)

    async def _stop_when_idle(self) -> None:
        while True:
            await anyio.sleep(self.settings.block_ms / 2000)
            if all(c.idle and not c.held for c in self.consumers) and await self._nothing_pending():
                log.info("worker %s: queues drained, stopping", self.name)
                self.request_stop()
                return

    async def _nothing_pending(self) -> bool:
        try:
            for consumer in self.consumers:
                summary = await self.redis.xpending(consumer.stream, self.settings.group)
                if summary["pending"]:
                    return False
        except Exception as exc:  # noqa: BLE001  # asked again after a pause
            log.debug("worker %s: could not check pending entries: %s", self.name, describe(exc))
            return False
        return True
