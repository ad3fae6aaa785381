"""Runs every workload for the baseline and for godo-streams, alternating, and collects samples."""

from __future__ import annotations

import importlib.util
import os
import tempfile
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

from bench import w1_drain, w2_publish, w2_replicated, w3_latency, w5_api, w6_cluster, w7_dashboard
from bench.config import BenchConfig
from bench.procs import compile_sources
from bench.rig import BenchError, Rig
from streams.server import LocalServer

Workload = Callable[[Rig, str, BenchConfig], Awaitable[dict[str, float]]]
WORKLOADS: Final[dict[str, Workload]] = {
    "w1": w1_drain.run,
    "w2": w2_publish.run,
    "w2r": w2_replicated.run,
    "w3": w3_latency.run,
    "w5": w5_api.run,
    "w6": w6_cluster.run,
    "w7": w7_dashboard.run,
}
Log = Callable[[str], None]


def skipped_reason(workload: str, impl: str) -> str | None:
    """Why a (workload, implementation) pair can't run on this checkout, or None."""
    if (
        impl == "godo"
        and workload in ("w1", "w3", "w5", "w7")
        and not _has("streams.commands.worker")
    ):
        return "skipped: the worker (streams/commands/worker.py) is not on this branch yet"
    if workload in ("w5", "w7") and impl == "baseline":
        return f"skipped: {workload.upper()} has no baseline (the API is godo-streams only)"
    if workload == "w6" and impl == "baseline":
        return "skipped: W6 has no baseline (W1's baseline on one server is the reference)"
    if workload in ("w5", "w7") and not w5_api.available():
        return "skipped: the API (godo/commands/api.py) is not on this branch yet"
    return None


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _order(repeat: int) -> tuple[str, str]:
    return ("baseline", "godo") if repeat % 2 == 0 else ("godo", "baseline")


class Results:
    """Samples per implementation and metric, plus one record per run (load, errors)."""

    def __init__(self) -> None:
        self.samples: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        self.runs: list[dict[str, Any]] = []
        self.skipped: dict[str, str] = {}


async def run_all(cfg: BenchConfig, log: Log) -> tuple[Results, str]:
    """Start a private server, run every selected workload cfg.repeats times; return results."""
    results = Results()
    compile_sources()
    with LocalServer() as server, tempfile.TemporaryDirectory(prefix="godo-bench-") as tmp:
        version = _server_version(server)
        rig = Rig(server.url, Path(tmp))
        for repeat in range(cfg.repeats):
            for name in cfg.workloads:
                for impl in _order(repeat):
                    await _one(rig, name, impl, repeat, cfg, results, log)
    return results, version


async def _one(
    rig: Rig, name: str, impl: str, repeat: int, cfg: BenchConfig, results: Results, log: Log
) -> None:
    reason = skipped_reason(name, impl)
    if reason is not None:
        if f"{name}/{impl}" not in results.skipped:
            results.skipped[f"{name}/{impl}"] = reason
            log(f"{name.upper()} {impl}: {reason}")
        return
    load1 = os.getloadavg()[0]
    record: dict[str, Any] = {"workload": name, "impl": impl, "repeat": repeat + 1, "load1": load1}
    try:
        metrics = await WORKLOADS[name](rig, impl, cfg)
    except BenchError as exc:
        record["error"] = str(exc)
        log(f"{name.upper()} run {repeat + 1}/{cfg.repeats} {impl}: FAILED: {exc}")
    else:
        record["metrics"] = metrics
        for key, value in metrics.items():
            results.samples[impl][key].append(value)
        shown = ", ".join(f"{k}={v:,.2f}" for k, v in metrics.items())
        log(f"{name.upper()} run {repeat + 1}/{cfg.repeats} {impl} (load {load1:.2f}): {shown}")
    results.runs.append(record)


def _server_version(server: LocalServer) -> str:
    import subprocess

    out = subprocess.run(
        [str(server.binary), "--version"], capture_output=True, text=True, timeout=10
    )
    return out.stdout.strip().split(" sha=")[0]
