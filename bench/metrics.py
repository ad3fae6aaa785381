"""The metrics the table shows: label, unit, which direction is better, and the target."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Metric:
    """One row of the table. A target is a ratio to the baseline or an absolute bound."""

    key: str
    workload: str
    label: str
    unit: str
    higher_is_better: bool
    min_ratio: float | None = None
    max_value: float | None = None

    @property
    def target(self) -> str:
        if self.min_ratio is not None:
            return f">= {self.min_ratio:.2f}x baseline"
        if self.max_value is not None:
            return f"<= {self.max_value:g} {self.unit}" if self.max_value else "0"
        return ""

    def met(self, value: float, baseline: float | None) -> bool | None:
        """Whether value meets the target; None when there is no target or no baseline."""
        if self.min_ratio is not None:
            return None if not baseline else value / baseline >= self.min_ratio
        if self.max_value is not None:
            return value <= self.max_value
        return None


METRICS: Final = (
    Metric(
        "w1_from_start",
        "W1 drain",
        "msg/s, process start to last ack",
        "msg/s",
        True,
        min_ratio=0.60,
    ),
    Metric(
        "w1_from_first",
        "W1 drain",
        "msg/s, first handled to last ack",
        "msg/s",
        True,
        min_ratio=0.60,
    ),
    Metric("w1_cpu_us", "W1 drain", "consumer CPU per message, incl. start-up", "us", False),
    Metric("w2_single", "W2 publish", "msg/s, one call per message", "msg/s", True, min_ratio=0.90),
    Metric("w2_batch", "W2 publish", "msg/s, batches of 500", "msg/s", True, min_ratio=0.70),
    Metric("w2r_p50_us_r0", "W2R durable", "p50 publish, MIN_REPLICAS=0, 1 replica", "us", False),
    Metric("w2r_p99_us_r0", "W2R durable", "p99 publish, MIN_REPLICAS=0, 1 replica", "us", False),
    Metric("w2r_p50_us_r1", "W2R durable", "p50 publish, MIN_REPLICAS=1 (WAIT)", "us", False),
    Metric("w2r_p99_us_r1", "W2R durable", "p99 publish, MIN_REPLICAS=1 (WAIT)", "us", False),
    Metric("w3_p50_ms", "W3 latency", "p50 handled - sent", "ms", False),
    Metric("w3_p99_ms", "W3 latency", "p99 handled - sent", "ms", False, max_value=2.0),
    Metric("w3_max_ms", "W3 latency", "max handled - sent", "ms", False),
    Metric("w4_rss_mb", "W4 memory", "worker peak RSS during W1", "MB", False, max_value=80.0),
    Metric("w5_rps", "W5 API", "requests/s, 64 connections", "req/s", True),
    Metric("w5_p99_ms_health", "W5 API", "p99 /health", "ms", False, max_value=50.0),
    Metric("w5_p99_ms_metrics_redis", "W5 API", "p99 /metrics/redis", "ms", False, max_value=50.0),
    Metric("w5_p99_ms_metrics", "W5 API", "p99 /metrics", "ms", False, max_value=50.0),
    Metric("w5_api_cpu_us", "W5 API", "API CPU per request", "us", False),
    Metric("w5_backlog_left", "W5 API", "backlog not yet drained at the end", "msgs", False),
    Metric("w5_errors", "W5 API", "failed requests", "", False, max_value=0.0),
    Metric("w7_rps", "W7 dashboard", "requests/s, 16 connections", "req/s", True),
    Metric("w7_p99_ms_state", "W7 dashboard", "p99 /dashboard/state", "ms", False, max_value=50.0),
    Metric(
        "w7_p99_ms_history_1h",
        "W7 dashboard",
        "p99 /queues/{q}/history 1h",
        "ms",
        False,
        max_value=50.0,
    ),
    Metric(
        "w7_p99_ms_history_24h",
        "W7 dashboard",
        "p99 /queues/{q}/history 24h",
        "ms",
        False,
        max_value=50.0,
    ),
    Metric("w7_api_cpu_us", "W7 dashboard", "API CPU per request", "us", False),
    Metric("w7_backlog_left", "W7 dashboard", "backlog not yet drained at the end", "msgs", False),
    Metric("w7_errors", "W7 dashboard", "failed requests", "", False, max_value=0.0),
    *(
        metric
        for p in (1, 3, 6)
        for w in (1, 2, 3)
        for metric in (
            Metric(
                f"w6_p{p}_w{w}_rate", "W6 cluster", f"{p} partitions, {w} workers", "msg/s", True
            ),
            Metric(
                f"w6_p{p}_w{w}_cpu_us",
                "W6 cluster",
                f"{p}p/{w}w CPU per message, workers + nodes",
                "us",
                False,
            ),
            Metric(
                f"w6_p{p}_w{w}_cmds",
                "W6 cluster",
                f"{p}p/{w}w Redis commands per message",
                "",
                False,
            ),
        )
    ),
)
