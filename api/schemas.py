"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from typing import Annotated, Any, Final

import msgspec

from api.replication import Persistence, Replication
from streams.cluster_client import ClusterState
from streams.deadletter import DeadLetter
from streams.delayed import MAX_DELAY_MS, ScheduledMessage
from streams.heartbeat import WorkerInfo
from streams.inspect import PendingEntry, QueueState
from streams.messages import MAX_TYPE_LENGTH

MAX_IDS = 1_000
# `$` here is for the OpenAPI document (ECMA-262, where it means end of input); Python's `$` also
# matches before a final newline, so the handler checks ids again with is_entry_id (`\Z`).
StreamIdText = Annotated[
    str, msgspec.Meta(pattern=r"^[0-9]{1,19}-[0-9]{1,19}$", description="a stream entry id")
]


class RedisDetails(msgspec.Struct, frozen=True, kw_only=True):
    version: str
    memory_used: str
    memory_used_bytes: int
    maxmemory_bytes: int
    maxmemory_policy: str
    connected_clients: int
    uptime_days: int
    replication: Replication | None = None
    persistence: Persistence | None = None


class RedisService(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    status: str
    details: RedisDetails | None = None
    error: str | None = None
    cluster: ClusterState | None = None  # on a Redis Cluster only


class QueueHealth(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    depth: int
    lag: int
    pending: int
    oldest_pending_age_s: float
    consumers: int
    live_workers: int
    paused: bool = False


class WorkersService(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    live: int
    queues: dict[str, QueueHealth]


class Services(msgspec.Struct, frozen=True, kw_only=True):
    redis: RedisService
    workers: WorkersService | None = None


class HealthOut(msgspec.Struct, frozen=True, kw_only=True):
    """healthy (200), degraded (200, with reasons) or unhealthy (503)."""

    status: str
    services: Services
    reasons: list[str] = msgspec.field(default_factory=list)


class MemoryOut(msgspec.Struct, frozen=True, kw_only=True):
    used_mb: float
    peak_mb: float
    max_mb: float | None


class ConnectionsOut(msgspec.Struct, frozen=True, kw_only=True):
    connected_clients: int
    blocked_clients: int


class PerformanceOut(msgspec.Struct, frozen=True, kw_only=True):
    ops_per_sec: int
    cache_hit_ratio: float | None


class QueueMetrics(msgspec.Struct, frozen=True, kw_only=True):
    length: int
    lag: int
    lag_estimated: bool
    pending: int
    depth: int
    oldest_pending_age_s: float
    time_lag_s: float
    dead_letters: int
    consumers: int
    rate_in_per_s: float | None
    rate_out_per_s: float | None
    scheduled: int = 0
    paused: bool = False


class MetricsBody(msgspec.Struct, frozen=True, kw_only=True):
    memory: MemoryOut
    connections: ConnectionsOut
    performance: PerformanceOut
    queues: dict[str, int]
    queue_details: dict[str, QueueMetrics]


class RedisMetricsOut(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    metrics: MetricsBody


class QueuesOut(msgspec.Struct, frozen=True, kw_only=True):
    queues: list[QueueState]


class WorkersOut(msgspec.Struct, frozen=True, kw_only=True):
    count: int
    workers: list[WorkerInfo]


class PendingOut(msgspec.Struct, frozen=True, kw_only=True):
    queue: str
    pending: list[PendingEntry]


class DeadOut(msgspec.Struct, frozen=True, kw_only=True):
    queue: str
    count: int
    dead: list[DeadLetter]


AT_PATTERN: Final = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$"
# What the fields' schemas can't say: dedupe_ms (> 0) needs a key; delay_ms and at exclude
# each other. api/openapi.py adds these to every publish body of the document.
PUBLISH_RULES: Final = [
    {
        "if": {
            "properties": {"dedupe_ms": {"type": "integer", "minimum": 1}},
            "required": ["dedupe_ms"],
        },
        "then": {"properties": {"key": {"type": "string"}}, "required": ["key"]},
    },
    {
        "not": {
            "properties": {"delay_ms": {"type": "integer"}, "at": {"type": "string"}},
            "required": ["delay_ms", "at"],
        }
    },
]


class PublishIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    type: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TYPE_LENGTH)]
    data: Any
    key: Annotated[str, msgspec.Meta(max_length=1_000)] | None = None
    delay_ms: (
        Annotated[
            int, msgspec.Meta(ge=0, le=MAX_DELAY_MS, description="publish this many ms from now")
        ]
        | None
    ) = None
    at: (
        Annotated[
            str,
            msgspec.Meta(
                pattern=AT_PATTERN,
                extra_json_schema={"format": "date-time"},
                description="publish at this time (RFC 3339, with Z or an offset)",
            ),
        ]
        | None
    ) = None
    dedupe_ms: (
        Annotated[
            int,
            msgspec.Meta(
                ge=0, le=MAX_DELAY_MS, description="with key: at most once per this window"
            ),
        ]
        | None
    ) = None


class PublishOut(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """202 {"id"}; scheduled adds due_ms and due_at; a duplicate (200) adds duplicate: true."""

    id: str
    duplicate: bool = False
    scheduled: bool = False
    due_ms: int | None = None
    due_at: str | None = None


class ScheduledOut(msgspec.Struct, frozen=True, kw_only=True):
    queue: str
    count: int
    scheduled: list[ScheduledMessage]


class CancelledOut(msgspec.Struct, frozen=True, kw_only=True):
    cancelled: str


class PausedOut(msgspec.Struct, frozen=True, kw_only=True):
    queue: str
    paused: bool


class ReplayIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    ids: Annotated[list[StreamIdText], msgspec.Meta(max_length=MAX_IDS)] | None = None


class ReplayOut(msgspec.Struct, frozen=True, kw_only=True):
    replayed: int


class PurgeOut(msgspec.Struct, frozen=True, kw_only=True):
    purged: int


class ErrorOut(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    status_code: int
    detail: str
    # Litestar's validation errors add the failing fields: [{"message", "key", "source"}].
    extra: list[dict[str, Any]] | dict[str, Any] | None = None
