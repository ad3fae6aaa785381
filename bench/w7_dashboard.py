"""W7 dashboard: the page's JSON endpoints under 16 concurrent clients while a worker drains.

16 keep-alive connections stand for 16 open dashboard tabs polling as fast as they can; the
target is p99 <= 50 ms for each path. The API and worker are the same as in W5.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any, Final

from bench.config import BenchConfig
from bench.payload import NOOP_TYPE, item
from bench.procs import ROOT, _env, godo_worker
from bench.rig import BenchError, Rig, create_group, drop, group_state, preload, stream_of
from bench.w5_api import TOKEN, _start_api, _wait_healthy
from streams.server import free_port

CONNECTIONS: Final = 16
PATHS: Final = {
    "/dashboard/state": "state",
    "/queues/default/history?window=1h": "history_1h",
    "/queues/default/history?window=24h": "history_24h",
}


async def run(rig: Rig, impl: str, cfg: BenchConfig) -> dict[str, float]:
    """Load the dashboard's JSON for cfg.api_s while a worker drains cfg.api_backlog messages."""
    prefix = rig.new_prefix()
    redis = rig.client()
    try:
        await preload(redis, stream_of(prefix), cfg.api_backlog, item, NOOP_TYPE)
        await create_group(redis, stream_of(prefix))
        worker = godo_worker(rig.url, prefix, rig.scratch_file("w7-worker.log"), **cfg.extra_env)
        port = free_port()
        api = _start_api(rig, prefix, port)
        try:
            await _wait_healthy(port, api, cfg.timeout_s)
            worker.check_alive()
            cpu_s = api.cpu_s()
            result = await _drive(rig, port, cfg)
            cpu_s = api.cpu_s() - cpu_s
            _read, pending, lag = await group_state(redis, stream_of(prefix))
        finally:
            api.stop()
            worker.stop()
        return _metrics(result) | {
            "w7_backlog_left": float(pending + max(lag, 0)),
            "w7_api_cpu_us": cpu_s * 1e6 / max(result["requests"], 1),
        }
    finally:
        await drop(redis, prefix)
        await redis.aclose()


async def _drive(rig: Rig, port: int, cfg: BenchConfig) -> dict[str, Any]:
    argv = [
        sys.executable,
        "-m",
        "bench.http_load",
        f"http://127.0.0.1:{port}",
        "--paths",
        ",".join(PATHS),
        "--connections",
        str(CONNECTIONS),
        "--duration-s",
        str(cfg.api_s),
    ]
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env=_env(rig.url, {"STREAMS_API_TOKEN": TOKEN}),
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), cfg.api_s + cfg.timeout_s)
    except TimeoutError:
        proc.kill()
        raise BenchError("W7: the load driver did not finish in time") from None
    if proc.returncode != 0:
        raise BenchError(f"W7: the load driver failed: {err.decode(errors='replace')[-1000:]}")
    return dict(json.loads(out))


def _metrics(result: dict[str, Any]) -> dict[str, float]:
    metrics = {"w7_rps": float(result["rps"]), "w7_errors": float(result["errors"])}
    for path, name in PATHS.items():
        metrics[f"w7_p99_ms_{name}"] = float(result["paths"][path]["p99_ms"])
    return metrics
