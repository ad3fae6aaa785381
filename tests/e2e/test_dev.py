"""`streams dev` with REDIS_URL unset: one command runs everything and stops cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
from redis import Redis

from streams import Keys
from streams.server import free_port
from tests.e2e.conftest import Spawn
from tests.support import cli_env, wait_until_sync

PREFIX = "devtest"


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def start_dev(spawn: Spawn, cwd: Path, *extra: str) -> tuple[subprocess.Popen[bytes], int]:
    env = cli_env("unused", PREFIX)
    del env["REDIS_URL"]
    port = free_port()
    dev = spawn("dev", "--port", str(port), *extra, env=env, cwd=cwd)
    assert wait_until_sync(lambda: healthy(port), timeout_s=30)
    return dev, port


def stop_dev(dev: subprocess.Popen[bytes], logs: Callable[[], str]) -> None:
    children = children_of(dev.pid)
    assert len(children) == 4  # server, api, worker, scheduler
    dev.send_signal(signal.SIGINT)
    assert dev.wait(timeout=30) == 0, logs()
    assert not [pid for pid in children if alive(pid)]


def events_length(logs: str) -> int:
    url = re.findall(r"redis\s+(redis://\S+)", logs)[-1]
    with Redis.from_url(url) as client:
        return int(client.xlen(Keys(PREFIX).stream("events")))


def test_dev_runs_everything_keeps_the_queues_and_stops_cleanly_on_sigint(
    tmp_path: Path, spawn: Spawn, process_logs: Callable[[], str]
) -> None:
    work = tmp_path / "project"
    work.mkdir()
    dev, _ = start_dev(spawn, work)
    stop_dev(dev, process_logs)
    assert (work / ".streams-dev" / "appendonlydir").is_dir()

    dev, _ = start_dev(spawn, work, "--demo", "--demo-rate", "40")
    assert wait_until_sync(lambda: events_length(process_logs()) >= 3, timeout_s=15)
    published = events_length(process_logs())
    stop_dev(dev, process_logs)

    dev, _ = start_dev(spawn, work)
    assert events_length(process_logs()) >= published  # kept across the restart
    stop_dev(dev, process_logs)


def test_dev_cluster_runs_everything_on_a_local_cluster_with_3_partitions(
    tmp_path: Path, spawn: Spawn, process_logs: Callable[[], str]
) -> None:
    # Given `streams dev --cluster --demo`
    dev, port = start_dev(spawn, tmp_path, "--cluster", "--demo", "--demo-rate", "40")

    # When the demo has published for a moment
    def partitions() -> list[str]:
        queue = httpx.get(f"http://127.0.0.1:{port}/queues/events", timeout=5).json()
        return [p["partition"] for p in queue["partitions"] if p["length"]]

    # Then the queue is spread over 3 partitions and /health shows the cluster
    assert wait_until_sync(lambda: len(partitions()) == 3, timeout_s=20)
    health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).json()
    assert health["services"]["redis"]["cluster"]["state"] == "ok"
    children = children_of(dev.pid)
    assert len(children) == 6  # 3 cluster nodes, api, worker, scheduler
    dev.send_signal(signal.SIGINT)
    assert dev.wait(timeout=30) == 0, process_logs()
    assert not [pid for pid in children if alive(pid)]
