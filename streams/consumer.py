"""The consumer-group loop of one queue, and the Worker that runs several of them.

Per queue: one reader (XREADGROUP in batches), one reclaimer (entries of silent consumers
and due retries), a fixed set of handler tasks fed from an in-memory deque, and one acker
that acknowledges finished entries in batches. An entry is acknowledged only after its
handler succeeded; failures are settled by a Lua script (retry later, or dead-letter and
acknowledge in one step).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Callable
from typing import Any

import anyio
import anyio.lowlevel
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from streams import retry, tracing
from streams.client import make_keys
from streams.config import QueueSettings, Settings
from streams.deadletter import describe_error
from streams.delayed import DueMover
from streams.errors import DecodeError, PermanentError, StreamsError
from streams.groups import ensure_group, wrong_type
from streams.heartbeat import WorkerInfo
from streams.history import Counts
from streams.housekeeping import housekeep
from streams.messages import from_fields
from streams.outage import (
    AUTH_ERRORS,
    MAYBE_OUTAGE,
    TRANSIENT,
    Outage,
    describe,
    error_code,
    is_outage,
)
from streams.partitions import Partition
from streams.pause import PauseGate
from streams.ratelimit import RateLimiter, parse_rate
from streams.reclaimer import Entry, reclaim
from streams.router import Context, Registry
from streams.scripts import Scripts
from streams.version import check_server

log = logging.getLogger(__name__)

TRIM_INTERVAL_S = 60.0

OnFatal = Callable[[BaseException], None]


def _cancel_requested() -> bool:
    """True when this task is being cancelled (shutdown), not merely handed a CancelledError."""
    if anyio.current_effective_deadline() == -math.inf:
        return True
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _is_exit(exc: BaseException) -> bool:
    if isinstance(exc, BaseExceptionGroup):
        return exc.subgroup((KeyboardInterrupt, SystemExit)) is not None
    return isinstance(exc, KeyboardInterrupt | SystemExit)


class QueueConsumer:
    """Consumes one queue's stream through the consumer group on behalf of one worker."""

    def __init__(
        self,
        redis: Redis,
        settings: Settings,
        registry: Registry,
        queue: str,
        consumer: str,
        info: WorkerInfo,
        *,
        concurrency: int | None = None,
        on_fatal: OnFatal | None = None,
        partition: Partition = None,
    ) -> None:
        self.redis = redis
        self.queue = queue
        self.qs: QueueSettings = settings.queue(queue)
        self.registry = registry
        self.partition = partition
        self.keys = make_keys(settings).of(partition)
        self.stream = self.keys.stream(queue)
        # Set by the Worker when the queue has several partitions: their handlers share it.
        self.shared_capacity: anyio.CapacityLimiter | None = None
        self.group = settings.group
        self.consumer = consumer
        self.block_ms = settings.block_ms
        self.info = info
        self.counts = Counts()  # this queue's share, flushed to Redis with the heartbeat
        self.concurrency = concurrency or self.qs.concurrency
        # Room for one batch being handled or acknowledged while the next one is read.
        self.capacity = self.concurrency + 2 * self.qs.batch_size
        self._min_read = self.qs.batch_size
        self.scripts = Scripts(redis, self.keys, self.group, consumer)
        self.held: dict[str, None] = {}  # read and not yet settled, in arrival order
        # Held and not yet handled: what the lease renews. A failed entry leaves it before its
        # failure is settled, so a renewal can't undo the idle time that schedules its retry.
        self.leased: dict[str, None] = {}
        self._on_fatal = on_fatal
        self.idle = False  # last read found nothing and nothing is held
        self._work: deque[Entry] = deque()
        self._work_ready = anyio.Event()
        self._acks: list[str] = []
        self._acks_ready = anyio.Event()
        self._room = anyio.Event()
        self._stopping = False
        self._active = 0
        self._reader_done = anyio.Event()
        self._quiet = anyio.Event()
        self._settle_outage = Outage(
            log, f"queue={queue} settle"
        )  # shared: one log line per outage
        self._reclaim_s = min(max(self.qs.backoff_base_ms / 2000, 0.02), 1.0)
        self.gate = PauseGate(f"queue={queue} consumer={consumer}")
        self._mover = DueMover(redis, self.keys, queue)
        rate = parse_rate(self.qs.rate_limit)
        # One rate for the queue, whichever partition an entry comes from.
        queue_keys = make_keys(settings)
        self._limiter = None if rate is None else RateLimiter(redis, queue_keys, queue, rate)
        self._tracing = tracing.for_settings(settings)

    # -- lifecycle ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Run until stop() and cancellation; the Worker owns the shutdown sequence."""
        try:
            started = await self._ensure_group_with_retry()
        except (StreamsError, *AUTH_ERRORS) as exc:
            self._reader_done.set()  # never started
            self._fail_worker(exc)
            return
        if not started:  # stopped while Redis was unreachable: nothing was read
            self._reader_done.set()
            return
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._read_loop)
            tg.start_soon(self._reclaim_loop)
            tg.start_soon(self._ack_loop)
            tg.start_soon(self._mover.run, self.gate.follow, lambda: self._stopping)
            for _ in range(self.concurrency):
                tg.start_soon(self._handle_loop)

    @property
    def stopping(self) -> bool:
        return self._stopping

    def stop(self) -> None:
        """Stop reading and taking new work; running handlers go on."""
        self._stopping = True
        self._work_ready.set()
        self._room.set()
        self.gate.release()

    def _fail_worker(self, exc: BaseException) -> None:
        """Stop this consumer and ask the worker to stop and then raise exc."""
        self.stop()
        if self._on_fatal is not None:
            self._on_fatal(exc)

    async def wait_quiet(self) -> None:
        """Wait until the reader has returned and no handler is running."""
        await self._reader_done.wait()
        if self._active:
            self._quiet = anyio.Event()
            await self._quiet.wait()

    async def finish(self) -> None:
        """After cancellation: acknowledge what finished, release the rest, leave the group if empty.

        A step that fails with a Redis error is logged and the next one runs; when Redis is
        unreachable the rest is skipped, and unfinished entries are claimed after the
        visibility timeout.
        """
        for step in (self._flush_acks, self._release_unfinished, self._leave_group):
            try:
                await step()
            except TRANSIENT as exc:
                log.warning(
                    "queue=%s: redis unavailable at shutdown, entries stay pending: %s",
                    self.queue,
                    describe(exc),
                )
                return
            except RedisError as exc:
                log.error(
                    "queue=%s: shutdown step %s failed, going on: %s",
                    self.queue,
                    step.__name__.strip("_"),
                    describe(exc),
                )

    async def _release_unfinished(self) -> None:
        unfinished = list(self.held)
        if unfinished:
            # Never started: handing them back must not cost them a delivery attempt.
            waiting = {entry[0]: None for entry in self._work if entry[0] in self.held}
            started = [i for i in unfinished if i not in waiting]
            await self.scripts.release(
                self.queue, started, self.qs.visibility_timeout_ms, unstarted=list(waiting)
            )
            log.info(
                "queue=%s consumer=%s: released %d unfinished entries",
                self.queue,
                self.consumer,
                len(unfinished),
            )

    async def _leave_group(self) -> None:
        await self.scripts.forget_consumer(self.queue)

    # -- reading -----------------------------------------------------------------------------

    async def _ensure_group_with_retry(self) -> bool:
        """Check the server and create the group, waiting out an outage.

        False when stopped before Redis answered.
        """
        outage = Outage(log, f"queue={self.queue} create group")
        while not self._stopping:
            try:
                await check_server(self.redis)
                await ensure_group(self.redis, self.stream, self.group)
                outage.recovered()
                return True
            except MAYBE_OUTAGE as exc:
                if not is_outage(exc):
                    raise
                await anyio.sleep(outage.failed(exc))
        return False

    async def _read_loop(self) -> None:
        outage = Outage(log, f"queue={self.queue} read")
        try:
            while not self._stopping:
                if self.gate.paused:
                    await self.gate.wait()
                    continue
                free = self.capacity - len(self.held)
                if free < self._min_read and self.held:
                    # Wait for a whole batch: a read of a few entries costs a full round trip.
                    if self._room.is_set():  # never replace an event others may be waiting on
                        self._room = anyio.Event()
                    await self._room.wait()
                    continue
                try:
                    entries = await self._read_batch(min(free, self.qs.batch_size))
                    outage.recovered()
                except Exception as exc:  # noqa: BLE001  # logged by _pause_after
                    if not await self._pause_after(outage, exc):
                        return
                    continue
                self.idle = not entries and not self.held
                self._enqueue(entries)
                if 0 < len(entries) < self.concurrency:
                    # A trickle: let the handlers start these before the next read is sent.
                    await anyio.lowlevel.checkpoint()
        finally:
            self._reader_done.set()

    async def _read_batch(self, count: int) -> list[Entry]:
        try:
            reply: Any = await self.redis.xreadgroup(
                self.group, self.consumer, {self.stream: ">"}, count=count, block=self.block_ms
            )
        except ResponseError as exc:
            # NOGROUP: the group is gone; UNBLOCKED: the stream was deleted while we waited.
            code = error_code(exc)
            if code == "WRONGTYPE":
                raise await wrong_type(self.redis, self.stream) from None
            if code not in ("NOGROUP", "UNBLOCKED"):
                raise
            why = (
                "is missing (server restarted?)"
                if code == "NOGROUP"
                else "read was interrupted by the server (stream deleted, or a failover)"
            )
            log.warning("queue=%s: consumer group %s %s, recreating", self.queue, self.group, why)
            await ensure_group(self.redis, self.stream, self.group)
            return []
        if not reply:
            return []
        return [(i.decode(), fields, 1) for i, fields in reply[0][1]]

    async def _pause_after(self, outage: Outage, exc: Exception) -> bool:
        """Wait out an outage or an unexpected error; False when the worker must stop instead.

        A queue key holding another type (StreamsError) and refused credentials stop it.
        """
        if isinstance(exc, (StreamsError, *AUTH_ERRORS)):
            self._fail_worker(exc)
            return False
        await anyio.sleep(outage.pause(exc))
        return True

    def _enqueue(self, entries: list[Entry]) -> None:
        if not entries:
            return
        ids = dict.fromkeys([entry[0] for entry in entries])
        self.held.update(ids)
        self.leased.update(ids)
        self._work.extend(entries)
        self._work_ready.set()

    async def _reclaim_loop(self) -> None:
        outage = Outage(log, f"queue={self.queue} reclaim")
        trim_trouble = Outage(log, f"queue={self.queue} stream={self.stream} trim")
        next_trim = anyio.current_time() + TRIM_INTERVAL_S
        while not self._stopping:
            full = False
            try:
                full = not self.gate.paused and await self._reclaim_once()
                outage.recovered()
            except Exception as exc:  # noqa: BLE001  # e.g. NOGROUP (the reader recreates it)
                if not await self._pause_after(outage, exc):
                    return
            if anyio.current_time() >= next_trim:
                next_trim = anyio.current_time() + TRIM_INTERVAL_S
                await self._trim(trim_trouble)
            if not full:
                await anyio.sleep(self._reclaim_s)

    async def _trim(self, trouble: Outage) -> None:
        """Housekeeping (trims, idle consumers); a failure is logged once, the next round retries."""
        try:
            await housekeep(self.redis, self.keys, self.queue, self.group, self.qs)
            trouble.recovered()
        except Exception as exc:  # noqa: BLE001  # logged once by the Outage
            if isinstance(exc, AUTH_ERRORS):
                self._fail_worker(exc)
            else:
                trouble.pause(exc)

    async def _reclaim_once(self) -> bool:
        """Claim eligible entries up to free capacity; True when more may be waiting."""
        free = self.capacity - len(self.held)
        if free <= 0:
            return False
        entries = await reclaim(
            self.redis,
            self.stream,
            self.group,
            self.consumer,
            min_idle_ms=self.qs.visibility_timeout_ms,
            count=free,
        )
        # Our own lease can lapse in a long outage; what we already hold is queued or running.
        fresh = [e for e in entries if e[0] not in self.held]
        crashed = [e for e in fresh if e[2] > self.qs.max_attempts]
        runnable = [e for e in fresh if e[2] <= self.qs.max_attempts]
        self._enqueue(runnable)
        for entry in crashed:
            # Delivered max_attempts times without ever being settled: it keeps killing workers.
            self.held[entry[0]] = None
            error = f"Abandoned: delivered {entry[2] - 1} times without finishing (worker crashed or stalled)"
            await self._settle(entry, error, permanent=True)
        return len(entries) >= free

    # -- handling ----------------------------------------------------------------------------

    async def _handle_loop(self) -> None:
        # Per message, so what never changes after __init__ is looked up once here.
        work, gate, limiter, tracing, process = (
            self._work,
            self.gate,
            self._limiter,
            self._tracing,
            self._process,
        )
        handled = 0
        while not self._stopping:
            if not work or gate.paused:
                await (gate.wait() if work else self._wait_for_work())
                continue
            entry = work.popleft()
            if limiter is not None and not await limiter.acquire(
                len(work) + 1, lambda: self._stopping
            ):
                work.appendleft(entry)  # stopping: released with the rest at shutdown
                return
            self._active += 1
            try:
                shared = self.shared_capacity
                if shared is None and tracing is None:
                    await process(entry)  # the plain path: no coroutine in between
                elif shared is None:
                    await self._handle(entry)
                else:
                    async with shared:
                        await self._handle(entry)
            except Exception as exc:  # noqa: BLE001  # logged below
                self._lost(entry, exc)
            finally:
                self._active -= 1
                if not self._active and self.stopping:
                    self._quiet.set()
            handled += 1
            if handled % 64 == 0:
                await anyio.lowlevel.checkpoint()  # let the reader and acker run between long runs

    async def _wait_for_work(self) -> None:
        if self._work_ready.is_set():  # never replace an event others may be waiting on
            self._work_ready = anyio.Event()
        await self._work_ready.wait()

    async def _handle(self, entry: Entry) -> None:
        if self._tracing is None:
            await self._process(entry)
        else:
            await self._tracing.process(self.stream, self.group, entry, self._process)

    def _lost(self, entry: Entry, exc: Exception) -> None:
        """A bug outside the handler: let go of the entry, claimed again after the timeout."""
        log.error(
            "queue=%s id=%s: processing failed unexpectedly; the entry is claimed again after "
            "the visibility timeout: %s",
            self.queue,
            entry[0],
            describe(exc),
            exc_info=exc,
        )
        self._release_slot(entry[0])

    async def _process(self, entry: Entry) -> None:
        entry_id, fields, attempt = entry
        try:
            envelope = from_fields(fields)
            route = self.registry.route(self.queue, envelope.type)
            if route is None or route.handler is None:
                raise DecodeError(f"unknown message type {envelope.type!r} on queue {self.queue!r}")
            payload = route.decode(envelope.data)
        except Exception as exc:  # noqa: BLE001  # any decoding error: the entry can never succeed
            self.leased.pop(entry_id, None)
            await self._fail(entry, exc, permanent=True)
            return
        ctx = Context(
            self.queue,
            entry_id,
            envelope.type,
            attempt,
            envelope.key,
            envelope.headers,
            envelope.ts_ms,
            self.redis,
            self.keys,
        )
        try:
            await route.handler(payload, ctx)
        except BaseException as exc:
            self.leased.pop(entry_id, None)
            if isinstance(exc, anyio.get_cancelled_exc_class()) and _cancel_requested():
                raise  # the worker is shutting down; the entry is released
            await self._handler_failed(entry, exc)
        else:
            self.leased.pop(entry_id, None)
            self._acks.append(entry_id)
            self._acks_ready.set()

    async def _handler_failed(self, entry: Entry, exc: BaseException) -> None:
        """Any exception is a failure of this delivery, except an exit, which stops the worker."""
        if _is_exit(exc):
            log.error(
                "queue=%s id=%s: handler raised %s; stopping the worker, the entry stays pending",
                self.queue,
                entry[0],
                type(exc).__name__,
            )
            self._fail_worker(exc)
            return
        await self._fail(entry, exc, permanent=isinstance(exc, PermanentError))

    async def _fail(self, entry: Entry, exc: BaseException, *, permanent: bool) -> None:
        self.info.failed += 1
        self.counts.failed += 1
        if self._tracing is not None:
            self._tracing.failed(exc)
        error = describe_error(exc)
        log.warning(
            "queue=%s id=%s attempt=%d failed%s: %s",
            self.queue,
            entry[0],
            entry[2],
            " permanently" if permanent else "",
            error,
        )
        await self._settle(entry, error, permanent=permanent)

    async def _settle(self, entry: Entry, error: str, *, permanent: bool) -> None:
        entry_id, fields, attempt = entry
        delay_ms = retry.backoff_ms(attempt, self.qs.backoff_base_ms, self.qs.backoff_cap_ms)
        outage = self._settle_outage
        outcome = None
        while outcome is None:
            try:
                outcome = await self.scripts.settle_failure(
                    self.queue,
                    entry_id,
                    max_attempts=self.qs.max_attempts,
                    retry_idle_ms=self.qs.visibility_timeout_ms - delay_ms,
                    error=error,
                    permanent=permanent,
                    fields=fields,
                    attempt=attempt,
                )
                outage.recovered()
            except (OSError, RedisError) as exc:
                if is_outage(exc):
                    await anyio.sleep(outage.failed(exc))
                    continue
                # Not expected; the entry stays pending and is retried after the visibility timeout.
                log.error(
                    "queue=%s id=%s: could not settle the failure: %s",
                    self.queue,
                    entry_id,
                    describe(exc),
                )
                break
        if self._tracing is not None and outcome is not None:
            self._tracing.settled(outcome)
        if outcome == "retry":
            self.info.retried += 1
            self.counts.retried += 1
        elif outcome == "dead":
            self.info.dead_lettered += 1
            self.counts.dead_lettered += 1
            log.error(
                "queue=%s id=%s moved to dead letters after %d attempt(s): %s",
                self.queue,
                entry_id,
                attempt,
                error,
            )
        self._release_slot(entry_id)

    def _release_slot(self, entry_id: str) -> None:
        self.held.pop(entry_id, None)
        self.leased.pop(entry_id, None)
        self._room.set()

    # -- acknowledging -----------------------------------------------------------------------

    async def _ack_loop(self) -> None:
        outage = Outage(log, f"queue={self.queue} ack")
        while True:
            if not self._acks:
                if self._acks_ready.is_set():  # never replace an event others may be waiting on
                    self._acks_ready = anyio.Event()
                await self._acks_ready.wait()
            try:
                await self._ack_once()
                outage.recovered()
            except Exception as exc:  # noqa: BLE001  # logged by _pause_after
                if not await self._pause_after(outage, exc):
                    return

    async def _ack_once(self) -> None:
        """Acknowledge what finished; a queue key holding another type now stops the worker.

        (XACK answers 0, not NOGROUP, when the group is gone: the reader recreates it.)
        """
        try:
            await self._flush_acks()
        except ResponseError as exc:
            if error_code(exc) == "WRONGTYPE":
                raise await wrong_type(self.redis, self.stream) from None
            raise

    async def _flush_acks(self) -> None:
        if not self._acks:
            return
        ids, self._acks = self._acks, []
        try:
            # Encoded here: redis-py's per-argument encoder is slower for str than for bytes.
            await self.redis.xack(self.stream, self.group, *[i.encode() for i in ids])
        except BaseException:
            self._acks[:0] = ids  # keep them for the next flush
            raise
        self.info.processed += len(ids)
        self.counts.processed += len(ids)
        for entry_id in ids:
            self.held.pop(entry_id, None)
        self._room.set()
