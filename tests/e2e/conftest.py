from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import BinaryIO

import pytest

from tests.integration.conftest import prefix, redis, redis_server, redis_url
from tests.support import ROOT, streams_cmd

__all__ = ["Spawn", "prefix", "process_logs", "redis", "redis_server", "redis_url", "spawn"]

Spawn = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    """Start `python -m streams ...` processes; stop any still running at the end of the test."""
    started: list[subprocess.Popen[bytes]] = []
    files: list[BinaryIO] = []

    def start(*args: str, env: Mapping[str, str], cwd: Path = ROOT) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"{args[0]}-{len(started)}.log").open("wb")
        files.append(log)
        process = subprocess.Popen(
            streams_cmd(*args), env=dict(env), cwd=cwd, stdout=log, stderr=subprocess.STDOUT
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in started:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for file in files:
        file.close()


def logs(tmp_path: Path) -> str:
    """Everything the test's processes wrote, for assertion messages."""
    return "\n".join(p.read_text(errors="replace") for p in sorted(tmp_path.glob("*.log")))


@pytest.fixture
def process_logs(tmp_path: Path) -> Callable[[], str]:
    return lambda: logs(tmp_path)
