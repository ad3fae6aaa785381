"""W5 API: /health, /metrics/redis and /metrics under concurrent load while a worker drains."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any, Final

import httpx

from bench.config import BenchConfig
from bench.payload import NOOP_TYPE, item
from bench.procs import ROOT, Consumer, _env, godo_worker
from bench.rig import BenchError, Rig, create_group, drop, group_state, preload, stream_of
from streams.server import free_port

PATHS: Final = ("/health", "/metrics/redis", "/metrics")
TOKEN: Final = "bench-token"  # noqa: S105  # a throwaway token for a loopback-only API


def available() -> bool:
    """W5 runs only where the API command exists (godo/commands/api.py)."""
    return importlib.util.find_spec("godo.commands.api") is not None


async def run(rig: Rig, impl: str, cfg: BenchConfig) -> dict[str, float]:
    """Load the API for cfg.api_s while a worker drains cfg.api_backlog messages."""
    result, figures = await load_while_draining(rig, cfg, "w5", PATHS, cfg.api_connections)
    return _metrics(result) | figures


async def load_while_draining(
    rig: Rig, cfg: BenchConfig, name: str, paths: Sequence[str], connections: int
) -> tuple[dict[str, Any], dict[str, float]]:
    """Drive paths of a fresh API for cfg.api_s while a worker drains cfg.api_backlog messages.

    Returns the load driver's result and `<name>_backlog_left` / `<name>_api_cpu_us`.
    """
    prefix = rig.new_prefix()
    redis = rig.client()
    try:
        await preload(redis, stream_of(prefix), cfg.api_backlog, item, NOOP_TYPE)
        await create_group(redis, stream_of(prefix))
        worker = godo_worker(
            rig.url, prefix, rig.scratch_file(f"{name}-worker.log"), **cfg.extra_env
        )
        port = free_port()
        api = _start_api(rig, prefix, port, name)
        try:
            await _wait_healthy(port, api, cfg.timeout_s)
            worker.check_alive()
            cpu_s = api.cpu_s()
            result = await _drive(rig, port, cfg, name, paths, connections)
            cpu_s = api.cpu_s() - cpu_s
            _read, pending, lag = await group_state(redis, stream_of(prefix))
        finally:
            api.stop()
            worker.stop()
        return result, {
            f"{name}_backlog_left": float(pending + max(lag, 0)),
            f"{name}_api_cpu_us": cpu_s * 1e6 / max(result["requests"], 1),
        }
    finally:
        await drop(redis, prefix)
        await redis.aclose()


def _start_api(rig: Rig, prefix: str, port: int, name: str) -> Consumer:
    argv = [sys.executable, "-m", "godo", "api", "--port", str(port)]
    help_text = subprocess.run(
        [*argv[:4], "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
        env=_env(rig.url, {}),
    ).stdout
    if "--host" in help_text:
        argv += ["--host", "127.0.0.1"]
    env = _env(
        rig.url,
        {"STREAMS_PREFIX": prefix, "STREAMS_APP": "bench.app:registry", "STREAMS_API_TOKEN": TOKEN},
    )
    return Consumer(argv, env, rig.scratch_file(f"{name}-api.log"))


async def _wait_healthy(port: int, api: Consumer, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=1.0) as client:
        while time.monotonic() < deadline:
            api.check_alive()
            try:
                if (await client.get(f"http://127.0.0.1:{port}/health")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
    raise BenchError(f"the API on port {port} did not answer /health within {timeout_s:g}s")


async def _drive(
    rig: Rig, port: int, cfg: BenchConfig, name: str, paths: Sequence[str], connections: int
) -> dict[str, Any]:
    argv = [
        sys.executable,
        "-m",
        "bench.http_load",
        f"http://127.0.0.1:{port}",
        "--paths",
        ",".join(paths),
        "--connections",
        str(connections),
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
        raise BenchError(f"{name.upper()}: the load driver did not finish in time") from None
    if proc.returncode != 0:
        detail = err.decode(errors="replace")[-1000:]
        raise BenchError(f"{name.upper()}: the load driver failed: {detail}")
    return dict(json.loads(out))


def _metrics(result: dict[str, Any]) -> dict[str, float]:
    metrics = {"w5_rps": float(result["rps"]), "w5_errors": float(result["errors"])}
    for path in PATHS:
        metrics[f"w5_p99_ms{path.replace('/', '_')}"] = float(result["paths"][path]["p99_ms"])
    return metrics
