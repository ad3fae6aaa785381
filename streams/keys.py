"""Every Redis key godo-streams uses is built here.

All keys of one queue partition share the hash tag ``{prefix:queue}`` (the queue's only
partition, as before partitions existed) or ``{prefix:queue:N}`` (partition N of a queue with
STREAMS_PARTITIONS > 1), so a partition's stream, dead letters and stats stay in one Redis
Cluster slot and Lua scripts may touch them together.

On a cluster (``cluster=True``) the scheduler's keys share the tag ``{prefix:scheduler}`` and
the application's data keys the tag ``{prefix:data}``, so the scheduler's tick script and the
handlers' transactions stay in one slot too. On one server these keys keep their old names.
"""

from __future__ import annotations

from redis.crc import key_slot


class Keys:
    """Key builders for one deployment prefix."""

    __slots__ = ("cluster", "partition", "prefix")

    def __init__(self, prefix: str, *, cluster: bool = False, partition: int | None = None) -> None:
        self.prefix = prefix
        self.cluster = cluster
        self.partition = partition

    def of(self, partition: int | None) -> Keys:
        """The same builders for one partition: stream(), dead() and stats() name its keys."""
        return Keys(self.prefix, cluster=self.cluster, partition=partition)

    def _tag(self, queue: str) -> str:
        if self.partition is None:
            return f"{{{self.prefix}:{queue}}}"
        return f"{{{self.prefix}:{queue}:{self.partition}}}"

    def stream(self, queue: str) -> str:
        return f"{self._tag(queue)}:stream"

    def dead(self, queue: str) -> str:
        return f"{self._tag(queue)}:dead"

    def stats(self, queue: str) -> str:
        """Hash of queue counters that outlive workers (for example entries cut by the hard cap)."""
        return f"{self._tag(queue)}:stats"

    def partitions(self, queue: str) -> str:
        """Set of the partition numbers producers have written to (STREAMS_PARTITIONS > 1)."""
        return f"{{{self.prefix}:{queue}}}:partitions"

    def one_slot(self, *names: str) -> bool:
        """True when one script or transaction may touch all of names (always, on one server)."""
        return not self.cluster or len({key_slot(n.encode()) for n in names}) <= 1

    def history(self, queue: str, metric: str, hour: int) -> str:
        """Hash of one metric's per-minute values for one hour (minutes since the epoch // 60)."""
        return f"{{{self.prefix}:{queue}}}:hist:{metric}:{hour}"

    def scheduled(self, queue: str) -> str:
        """Sorted set of scheduled message ids scored by their due time (ms)."""
        return f"{self._tag(queue)}:scheduled"

    def scheduled_messages(self, queue: str) -> str:
        """Hash of scheduled message id -> the entry's fields (a JSON array of name, value...)."""
        return f"{self._tag(queue)}:scheduled:messages"

    def dedupe(self, queue: str, key: str) -> str:
        """The id first published with this message key, kept for the dedupe window."""
        return f"{self._tag(queue)}:dedupe:{key}"

    def paused(self, queue: str) -> str:
        return f"{self._tag(queue)}:paused"

    def rate_limit(self, queue: str) -> str:
        """The rate limiter's theoretical arrival time (GCRA), in microseconds."""
        return f"{self._tag(queue)}:ratelimit"

    def workers(self) -> str:
        """Sorted set of worker names scored by their last heartbeat (ms)."""
        return f"{self.prefix}:workers"

    def workers_last(self) -> str:
        """Hash of each worker's last heartbeat, kept after its key expires (shown as gone)."""
        return f"{self.prefix}:workers:last"

    def worker(self, name: str) -> str:
        return f"{self.prefix}:worker:{name}"

    def _scheduler(self) -> str:
        return f"{{{self.prefix}:scheduler}}" if self.cluster else f"{self.prefix}:scheduler"

    def scheduler_leader(self) -> str:
        return f"{self._scheduler()}:leader"

    def scheduler_jobs(self) -> str:
        """Hash of job name -> JSON {every_ms, last_tick_ms}, written by the leader (dashboard)."""
        return f"{self.prefix}:scheduler:jobs"

    def scheduler_tick(self, job: str, slot: int) -> str:
        return f"{self._scheduler()}:tick:{job}:{slot}"

    def scheduler_last(self, job: str) -> str:
        """Start (ms) of the latest slot a job fired for; ticks never go back before it."""
        return f"{self._scheduler()}:last:{job}"

    def cache(self, namespace: str, key: str) -> str:
        return f"{self.prefix}:cache:{namespace}:{key}"

    def cache_stats(self) -> str:
        return f"{self.prefix}:cache:stats"

    def data(self, *parts: str) -> str:
        """Application data written by handlers (events, indexes, recommendations)."""
        data = f"{{{self.prefix}:data}}" if self.cluster else f"{self.prefix}:data"
        return ":".join((data, *parts))
