"""Prometheus exposition built from one snapshot, through a fresh CollectorRegistry per scrape.

Names follow the redis and Kafka lag exporters under the ``streams_`` namespace; every
per-queue series is present (0 for an empty or missing stream) so rate() and
predict_linear() alerts keep working.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Final

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from api.state import Snapshot
from streams.inspect import PartitionState, QueueState

NS: Final = "streams"
OUTCOMES: Final = ("processed", "failed", "retried", "dead_lettered")

_QueueValue = Callable[[QueueState], float]

_QUEUE_GAUGES: Final[tuple[tuple[str, str, _QueueValue], ...]] = (
    ("stream_length", "Entries in the queue's stream (XLEN).", lambda q: q.length),
    (
        "group_lag",
        "Entries the workers' group has not read yet; see streams_group_lag_known.",
        lambda q: q.lag,
    ),
    (
        "group_lag_known",
        "1 when streams_group_lag is exact, 0 when it is an estimate.",
        lambda q: 0 if q.lag_source == "interpolated" else 1,
    ),
    (
        "group_lag_seconds",
        "Age of the oldest entry not yet delivered to the group (time lag).",
        lambda q: q.time_lag_s,
    ),
    ("group_pending", "Entries delivered but not acknowledged.", lambda q: q.pending),
    (
        "group_oldest_pending_seconds",
        "Age of the oldest pending entry.",
        lambda q: q.oldest_pending_age_s,
    ),
    ("group_consumers", "Consumers in the workers' group.", lambda q: q.consumers),
    ("queue_depth", "Entries not yet finished: lag plus pending.", lambda q: q.depth),
    ("dead_letters", "Entries in the queue's dead-letter stream.", lambda q: q.dead_letters),
    ("scheduled_messages", "Delayed messages not yet due.", lambda q: q.scheduled),
    (
        "queue_paused",
        "1 when the queue is paused (workers take no new entries).",
        lambda q: q.paused,
    ),
)


class _Static(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


def _queue_families(snapshot: Snapshot) -> Iterator[Metric]:
    for name, doc, value in _QUEUE_GAUGES:
        family = GaugeMetricFamily(f"{NS}_{name}", doc, labels=["queue"])
        for state in snapshot.queues:
            family.add_metric([state.queue], float(value(state)))
        yield family
    added = CounterMetricFamily(
        f"{NS}_stream_entries_added", "Entries ever added to the stream.", labels=["queue"]
    )
    yield from _cap_families(snapshot)
    live = GaugeMetricFamily(
        f"{NS}_workers_live", "Live workers (by heartbeat) serving the queue.", labels=["queue"]
    )
    for state in snapshot.queues:
        added.add_metric([state.queue], float(state.entries_added or 0))
        live.add_metric(
            [state.queue], float(sum(1 for w in snapshot.workers if state.queue in w.queues))
        )
    yield added
    yield live
    yield _message_totals(snapshot)


def _message_totals(snapshot: Snapshot) -> Metric:
    family = CounterMetricFamily(
        f"{NS}_messages",
        "Messages the workers handled, by queue and outcome; kept in Redis, survives worker exits.",
        labels=["queue", "outcome"],
    )
    for state in snapshot.queues:
        for outcome in OUTCOMES:
            family.add_metric([state.queue, outcome], float(getattr(state.messages, outcome)))
    return family


_CAP_COUNTERS: Final[tuple[tuple[str, str, _QueueValue], ...]] = (
    (
        "stream_cut_by_cap",
        "Unfinished entries the stream's hard cap (MAX_LEN) cut.",
        lambda q: q.cut_by_cap,
    ),
    (
        "dead_letters_cut_by_cap",
        "Dead letters the dead-letter cap (DEAD_MAX_LEN) cut.",
        lambda q: q.dead_cut_by_cap,
    ),
)


def _cap_families(snapshot: Snapshot) -> Iterator[Metric]:
    for name, doc, value in _CAP_COUNTERS:
        family = CounterMetricFamily(f"{NS}_{name}", doc, labels=["queue"])
        for state in snapshot.queues:
            family.add_metric([state.queue], float(value(state)))
        yield family


_PARTITION_GAUGES: Final[tuple[tuple[str, str, Callable[[PartitionState], float]], ...]] = (
    ("stream_length", "Entries in the partition's stream.", lambda p: p.length),
    ("group_lag", "Entries of the partition the group has not read yet.", lambda p: p.lag),
    ("group_pending", "Entries of the partition delivered, not acknowledged.", lambda p: p.pending),
    (
        "group_oldest_pending_seconds",
        "Age of the partition's oldest pending entry.",
        lambda p: p.oldest_pending_age_s,
    ),
    ("queue_depth", "Entries of the partition not yet finished.", lambda p: p.depth),
    ("dead_letters", "Entries in the partition's dead-letter stream.", lambda p: p.dead_letters),
)


def _partition_families(snapshot: Snapshot) -> Iterator[Metric]:
    """Per-partition series of partitioned queues, next to the unchanged queue-level ones."""
    for name, doc, value in _PARTITION_GAUGES:
        family = GaugeMetricFamily(f"{NS}_partition_{name}", doc, labels=["queue", "partition"])
        for state in snapshot.queues:
            for part in state.partitions:
                family.add_metric([state.queue, part.partition], float(value(part)))
        yield family


def _worker_families(snapshot: Snapshot) -> Iterator[Metric]:
    messages = CounterMetricFamily(
        f"{NS}_worker_messages",
        "Messages handled by the live workers since they started, by outcome.",
        labels=["outcome"],
    )
    for outcome in OUTCOMES:
        total = sum(int(getattr(w, outcome)) for w in snapshot.workers)
        messages.add_metric([outcome], float(total))
    yield messages
    yield GaugeMetricFamily(
        f"{NS}_worker_in_flight",
        "Messages being handled right now by the live workers.",
        value=float(sum(w.in_flight for w in snapshot.workers)),
    )
    yield GaugeMetricFamily(
        f"{NS}_workers", "Live worker processes.", value=float(len(snapshot.workers))
    )


def _redis_families(snapshot: Snapshot) -> Iterator[Metric]:
    info = snapshot.info
    for name, doc, key in (
        ("redis_memory_used_bytes", "Memory used by Redis.", "used_memory"),
        ("redis_memory_max_bytes", "maxmemory (0: no limit).", "maxmemory"),
        ("redis_connected_clients", "Client connections.", "connected_clients"),
    ):
        yield GaugeMetricFamily(f"{NS}_{name}", doc, value=float(int(info.get(key, 0))))


def exposition(snapshot: Snapshot | None) -> bytes:
    """Render the snapshot (None: Redis unreachable, only streams_up 0) as Prometheus text."""
    up = GaugeMetricFamily(f"{NS}_up", "1 when Redis answered.", value=0 if snapshot is None else 1)
    families: list[Metric] = [up]
    if snapshot is not None:
        families += [
            *_queue_families(snapshot),
            *_partition_families(snapshot),
            *_worker_families(snapshot),
            *_redis_families(snapshot),
        ]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Static(families))
    return generate_latest(registry)
