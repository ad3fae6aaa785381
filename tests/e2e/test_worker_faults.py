"""`streams worker` as a real process when Redis stops answering during shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as sync_redis

from streams.client import CONNECT_TIMEOUT_S
from streams.keys import Keys
from streams.server import LocalServer
from tests.e2e.test_worker_process import publish_work, start_worker
from tests.support import wait_until_sync


@pytest.fixture
def frozen_server() -> Iterator[LocalServer]:
    """A server of the test's own; the test may freeze it with SIGSTOP."""
    server = LocalServer().start()
    try:
        yield server
    finally:
        assert server.process is not None
        server.process.send_signal(signal.SIGCONT)
        server.stop()


def test_sigterm_while_redis_hangs_exits_0_within_the_shutdown_and_one_connect_timeout(
    frozen_server: LocalServer, prefix: str, tmp_path: Path
) -> None:
    # Given a worker busy with three long handlers and a 1 s shutdown timeout
    client = sync_redis.Redis.from_url(frozen_server.url)
    publish_work(client, prefix, 3, sleep_ms=60_000)
    log = tmp_path / "w.log"
    worker = start_worker(frozen_server.url, prefix, log, STREAMS_SHUTDOWN_TIMEOUT_MS="1000")
    try:
        wait_until_sync(lambda: client.hlen(Keys(prefix).data("attempts")) == 3, timeout_s=20)
        client.close()
        # When Redis stops answering (frozen: connections hang rather than being refused)
        assert frozen_server.process is not None
        frozen_server.process.send_signal(signal.SIGSTOP)
        stopping = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        # Then the worker exits 0 within the shutdown timeout plus one connect timeout
        try:
            code = worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"worker still running 30 s after SIGTERM:\n{log.read_text()}")
        elapsed = time.monotonic() - stopping
        assert code == 0, log.read_text()
        assert elapsed < 1.0 + CONNECT_TIMEOUT_S + 2.0, (elapsed, log.read_text())
        assert "Traceback" not in log.read_text()
    finally:
        if worker.poll() is None:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()
