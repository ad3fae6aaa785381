"""What one benchmark run does: sizes, durations, repeats and which workloads."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

# W4 (worker RSS) is measured during W1; W2R is W2's single publish with a replica attached;
# W6 (local cluster) is only run when asked for.
WORKLOADS: Final = ("w1", "w2", "w2r", "w3", "w5", "w6", "w7")
DEFAULT_WORKLOADS: Final = ("w1", "w2", "w2r", "w3", "w5", "w7")
IMPLS: Final = ("baseline", "godo")


@dataclass(frozen=True)
class BenchConfig:
    """Sizes and durations; every loop in the benchmark is bounded by these."""

    messages: int = 50_000
    repeats: int = 3
    batch: int = 500
    latency_rate: int = 500
    latency_s: float = 10.0
    api_s: float = 10.0
    api_connections: int = 64
    api_backlog: int = 300_000
    workloads: tuple[str, ...] = DEFAULT_WORKLOADS
    results_dir: Path = Path(__file__).resolve().parent / "results"
    timeout_s: float = 120.0
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def drain_timeout_s(self) -> float:
        """Bound on waiting for a backlog to drain: generous, never unbounded."""
        return self.timeout_s + self.messages / 1_000
