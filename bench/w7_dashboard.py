"""W7 dashboard: the page's JSON endpoints under 16 concurrent clients while a worker drains.

16 keep-alive connections stand for 16 open dashboard tabs polling as fast as they can; the
target is p99 <= 50 ms for each path. The API and worker are the same as in W5.
"""

from __future__ import annotations

from typing import Any, Final

from bench.config import BenchConfig
from bench.rig import Rig
from bench.w5_api import load_while_draining

CONNECTIONS: Final = 16
PATHS: Final = {
    "/dashboard/state": "state",
    "/queues/default/history?window=1h": "history_1h",
    "/queues/default/history?window=24h": "history_24h",
}


async def run(rig: Rig, impl: str, cfg: BenchConfig) -> dict[str, float]:
    """Load the dashboard's JSON for cfg.api_s while a worker drains cfg.api_backlog messages."""
    result, figures = await load_while_draining(rig, cfg, "w7", list(PATHS), CONNECTIONS)
    return _metrics(result) | figures


def _metrics(result: dict[str, Any]) -> dict[str, float]:
    metrics = {"w7_rps": float(result["rps"]), "w7_errors": float(result["errors"])}
    for path, name in PATHS.items():
        metrics[f"w7_p99_ms_{name}"] = float(result["paths"][path]["p99_ms"])
    return metrics
