"""Periodic jobs with one active scheduler, however many run (the Celery-beat replacement).

Leadership is a lease in Redis: SET NX PX to take it, a compare-and-renew script to keep
it, a compare-and-delete script to hand it over at shutdown. A dead leader's lease expires
and another scheduler takes over within the lease time.

Time is cut into slots per job (slot = now_ms // every_ms, so hourly jobs fire at the top
of the hour). "now" is Redis's clock (TIME), read once per step, so schedulers on hosts whose
clocks disagree still agree on the slot. A tick is claimed with SET NX on the (job, slot) key
and published in the same Lua script, which also checks the lease and the start of the last
slot the job fired for; so a tick is published at most once even when two schedulers briefly
both believe they lead, and never again for an earlier slot if a clock goes back.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Final, Protocol

import anyio
from anyio.abc import TaskStatus
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from streams import history, partitions
from streams.client import make_keys
from streams.config import Settings
from streams.errors import ConfigError, StreamsError
from streams.inspect import inspect_queues
from streams.keys import Keys
from streams.loading import call_factory, import_object
from streams.messages import to_fields
from streams.outage import AUTH_ERRORS, MAYBE_OUTAGE, Outage, is_outage
from streams.router import Registry

log = logging.getLogger(__name__)

DEFAULT_SCHEDULE: Final = "consumers.schedules:jobs"
JOB_HEADER: Final = "scheduler-job"
SLOT_HEADER: Final = "scheduler-slot"
DEFAULT_LEASE_MS: Final = 15_000
DEFAULT_CHECK_MS: Final = 1_000
# Lease and tick keys expire after these (PX); Redis refuses expiry times beyond int64.
MAX_LEASE_MS: Final = 3_600_000
MAX_EVERY_MS: Final = 366 * 24 * 3_600_000
# How long a job's last-slot mark outlives its slot: a clock (or a takeover) this far behind
# still cannot repeat a slot. A day is far beyond any clock skew worth surviving.
LAST_SLOT_GUARD_MS: Final = 24 * 3_600_000


def _script(name: str) -> str:
    return resources.files("streams").joinpath(f"lua/{name}.lua").read_text()


class Clock(Protocol):
    """Wall-clock time for slots, and sleeping; tests inject a fake one."""

    async def now_ms(self) -> int: ...

    async def sleep(self, seconds: float) -> None: ...


class RedisClock:
    """Redis's clock (TIME): one clock for every scheduler, whatever their hosts' clocks say."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def now_ms(self) -> int:
        seconds, micros = await self.redis.time()
        return seconds * 1_000 + micros // 1_000

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


@dataclass(frozen=True, slots=True)
class Publish:
    """A job action: publish one message (validated against the registry) per tick."""

    queue: str
    type: str
    data: object = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a function job gets: the connection, settings and the tick it runs for."""

    redis: Redis
    settings: Settings
    keys: Keys
    job: str
    slot: int


JobFunction = Callable[[JobContext], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Job:
    """A periodic job: every every_ms, publish a message or run a function (at most once)."""

    name: str
    every_ms: int
    action: Publish | JobFunction

    def __post_init__(self) -> None:
        if not self.name or ":" in self.name:
            raise ValueError(f"job name {self.name!r} must be non-empty and without ':'")
        if not 1 <= self.every_ms <= MAX_EVERY_MS:
            raise ValueError(f"job {self.name!r}: every_ms must be between 1 and {MAX_EVERY_MS}")


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    """Lease length and how often the lease is renewed and due jobs are checked."""

    lease_ms: int = DEFAULT_LEASE_MS
    check_ms: int = DEFAULT_CHECK_MS

    def __post_init__(self) -> None:
        if not 100 <= self.lease_ms <= MAX_LEASE_MS:
            raise ConfigError(
                "STREAMS_SCHEDULER_LEASE_MS", f"must be between 100 and {MAX_LEASE_MS}"
            )
        if not 10 <= self.check_ms <= self.lease_ms // 3:
            raise ConfigError(
                "STREAMS_SCHEDULER_CHECK_MS", "must be between 10 and a third of the lease"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SchedulerConfig:
        lease = _ms(env, "STREAMS_SCHEDULER_LEASE_MS", DEFAULT_LEASE_MS)
        default_check = min(DEFAULT_CHECK_MS, lease // 3)
        return cls(lease, _ms(env, "STREAMS_SCHEDULER_CHECK_MS", default_check))


def _ms(env: Mapping[str, str], variable: str, default: int) -> int:
    raw = env.get(variable, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise ConfigError(variable, f"must be a whole number of milliseconds, got {raw!r}")
    return int(raw)


def load_jobs(spec: str | None = None) -> list[Job]:
    """Import the jobs from 'module:attribute' (--schedule, STREAMS_SCHEDULE or the default).

    The attribute is a sequence of Job, or a function returning one.
    """
    source = "--schedule" if spec else "STREAMS_SCHEDULE"
    spec = spec or os.environ.get("STREAMS_SCHEDULE", "").strip() or DEFAULT_SCHEDULE
    found = import_object(spec, source, DEFAULT_SCHEDULE)
    jobs = call_factory(found, spec, source) if callable(found) else found
    if not isinstance(jobs, Sequence) or not all(isinstance(j, Job) for j in jobs):
        raise StreamsError(f"{source}: {spec!r} is not a sequence of streams Jobs")
    return list(jobs)


async def risky_eviction_policy(redis: Redis) -> str | None:
    """Return the server's maxmemory-policy if it may evict streams (allkeys-*), else None.

    None too when CONFIG is disabled, as on some managed services.
    """
    try:
        reply = await redis.config_get("maxmemory-policy")
    except ResponseError:
        return None
    policy = next(iter(reply.values()), b"")
    text = policy.decode() if isinstance(policy, bytes) else str(policy)
    return text if text.startswith("allkeys-") else None


class Scheduler:
    """Runs due jobs while it holds the lease; one instance per process."""

    def __init__(
        self,
        redis: Redis,
        settings: Settings,
        registry: Registry,
        jobs: Sequence[Job],
        *,
        config: SchedulerConfig | None = None,
        clock: Clock | None = None,
        name: str | None = None,
    ) -> None:
        names = [job.name for job in jobs]
        if len(set(names)) != len(names):
            raise ValueError("job names must be unique")
        for job in jobs:
            if isinstance(job.action, Publish):
                settings.queue(job.action.queue)
                registry.encode(job.action.queue, job.action.type, job.action.data)
        self.redis = redis
        self.settings = settings
        self.registry = registry
        self.jobs = list(jobs)
        self.config = config or SchedulerConfig()
        self.clock = clock or RedisClock(redis)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.keys = make_keys(settings)
        self.is_leader = False
        self._chooser = partitions.Chooser()
        self._last_slot: dict[str, int] = {}
        self._sampled_minute = -1
        self._tick = redis.register_script(_script("scheduler_tick"))
        self._renew = redis.register_script(_script("scheduler_renew"))
        self._release = redis.register_script(_script("scheduler_release"))

    async def elect(self) -> bool:
        """Renew the lease if this one holds it, else try to take it; return whether it leads.

        Renewing first also recovers a lease still held after a Redis error made this
        scheduler step down locally.
        """
        lease = self.config.lease_ms
        leader_key = self.keys.scheduler_leader()
        was_leader = self.is_leader
        leads = bool(await self._renew(keys=[leader_key], args=[self.name, lease]))
        if not leads:
            leads = bool(await self.redis.set(leader_key, self.name, nx=True, px=lease))
            if leads:
                log.info("scheduler %s took the lease (%d ms)", self.name, lease)
            elif was_leader:
                log.warning("scheduler %s lost the lease", self.name)
        self.is_leader = leads
        return leads

    async def step(self) -> list[tuple[str, int]]:
        """Elect, then fire every job whose current slot has not been tried; return the ticks taken."""
        if not await self.elect():
            self._last_slot.clear()
            return []
        fired: list[tuple[str, int]] = []
        now = await self.clock.now_ms()
        for job in self.jobs:
            slot = now // job.every_ms
            if self._last_slot.get(job.name, -1) >= slot:
                continue
            taken = await self._fire(job, slot, now)
            if not self.is_leader:
                break
            self._last_slot[job.name] = slot
            if taken:
                fired.append((job.name, slot))
        if self.is_leader:
            await self._sample(now)
        return fired

    async def _sample(self, now: int) -> None:
        """Once a minute, the leader records the queues' depth, lag and arrivals (history)."""
        minute = now // history.MINUTE_MS
        if minute == self._sampled_minute:
            return
        self._sampled_minute = minute  # a failed sample waits for the next minute
        states = await inspect_queues(
            self.redis, self.keys, self.settings.group, self.settings.queue_names
        )
        await history.sample(self.redis, self.keys, states, now)

    async def _fire(self, job: Job, slot: int, now: int) -> bool:
        keys = [
            self.keys.scheduler_leader(),
            self.keys.scheduler_tick(job.name, slot),
            self.keys.scheduler_last(job.name),
        ]
        tick_ttl = job.every_ms + self.config.lease_ms
        args: list[str | bytes | int] = [
            self.name,
            tick_ttl,
            slot * job.every_ms,
            tick_ttl + LAST_SLOT_GUARD_MS,
        ]
        action = job.action
        fields: dict[str, str | bytes] = {}
        stream = ""
        if isinstance(action, Publish):
            stream = await self._stream(action.queue)
            payload = self.registry.encode(action.queue, action.type, action.data)
            headers = {JOB_HEADER: job.name, SLOT_HEADER: str(slot)}
            fields = to_fields(action.type, payload, headers=headers, ts_ms=now)
        # On a cluster the stream is in another slot: claim the tick, then publish it.
        atomic = bool(fields) and self.keys.one_slot(keys[0], stream)
        if atomic:
            keys.append(stream)
            for name, value in fields.items():
                args += [name, value]
        taken = int(await self._tick(keys=keys, args=args))
        if taken == -1:
            self.is_leader = False
            return False
        if taken == 1:
            log.info("scheduler %s: job %s tick %d", self.name, job.name, slot)
            if fields and not atomic:
                await self._publish_claimed(job, stream, fields, slot)
            record = {"every_ms": job.every_ms, "last_tick_ms": slot * job.every_ms}
            await self.redis.hset(self.keys.scheduler_jobs(), job.name, json.dumps(record))
            if not isinstance(action, Publish):
                await self._run(job, action, slot)
        return taken == 1

    async def _stream(self, queue: str) -> str:
        """The stream of the partition a tick goes to: spread like unkeyed messages."""
        count = self.settings.queue(queue).partitions
        await partitions.record(self.redis, self.keys, queue, count)
        return self.keys.of(self._chooser.choose(queue, count, None)).stream(queue)

    async def _publish_claimed(
        self, job: Job, stream: str, fields: dict[str, str | bytes], slot: int
    ) -> None:
        """Publish a tick claimed apart from its stream; a failure here loses that one tick."""
        try:
            await self.redis.xadd(stream, fields)  # type: ignore[arg-type]  # FieldT is invariant
        except (OSError, RedisError):
            log.exception(
                "scheduler %s: job %s tick %d claimed but not published", self.name, job.name, slot
            )

    async def _run(self, job: Job, fn: JobFunction, slot: int) -> None:
        ctx = JobContext(self.redis, self.settings, self.keys, job.name, slot)
        # Bounded so a slow job cannot outlive the lease it runs under.
        with anyio.move_on_after(self.config.lease_ms / 2000) as scope:
            try:
                await fn(ctx)
            except Exception:
                log.exception("scheduler %s: job %s tick %d failed", self.name, job.name, slot)
        if scope.cancelled_caught:
            log.warning("scheduler %s: job %s tick %d timed out", self.name, job.name, slot)

    async def release(self) -> None:
        """Hand the lease over at once (at shutdown) instead of letting it expire."""
        if self.is_leader:
            await self._release(keys=[self.keys.scheduler_leader()], args=[self.name])
            self.is_leader = False
            log.info("scheduler %s released the lease", self.name)

    async def wait_for_redis(self) -> None:
        """Return once Redis answers; until then log once and retry with capped backoff."""
        outage = Outage(log, f"scheduler {self.name}: waiting at start")
        while True:
            try:
                await self.redis.ping()
            except MAYBE_OUTAGE as exc:  # BUSY, LOADING, down...
                if not is_outage(exc):
                    raise
                await self.clock.sleep(outage.failed(exc))
            else:
                outage.recovered()
                return

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Step forever every check_ms; release the lease when cancelled.

        Redis down: one log line per outage, capped backoff, and no lease held meanwhile.
        """
        task_status.started()
        outage = Outage(log, f"scheduler {self.name}")
        try:
            while True:
                delay_s = self.config.check_ms / 1000
                try:
                    await self.step()
                    outage.recovered()
                except AUTH_ERRORS:
                    raise  # a configuration mistake: the command says so and exits 1
                except (OSError, RedisError) as exc:
                    self.is_leader = False
                    if is_outage(exc):  # BUSY, LOADING, OOM, down...
                        delay_s = max(delay_s, outage.failed(exc))
                    else:
                        log.warning("scheduler %s: redis error, will retry: %s", self.name, exc)
                await self.clock.sleep(delay_s)
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(2):
                try:
                    await self.release()
                except RedisError as exc:
                    log.warning("scheduler %s: could not release the lease: %s", self.name, exc)
