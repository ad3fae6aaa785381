"""Browser tests: Debian's chromium driven by Playwright, against a real API, worker and Redis.

No browser is downloaded: chromium comes from apt (`.ci/run` installs it when missing).
Under CI=true a missing chromium or Playwright fails the run; elsewhere these tests skip.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
import redis as sync_redis

from streams.keys import Keys
from tests.integration.conftest import prefix, redis_server, redis_url
from tests.integration.test_api_command import free_port
from tests.support import ROOT, cli_env, streams_cmd, wait_until_sync

__all__ = ["Stack", "browser", "chromium_path", "prefix", "redis_server", "redis_url", "stack"]

TOKEN: Final = "browser-test-token"  # noqa: S105  # a test token
QUEUES: Final = "default,events,notifications"
CHROMIUM: Final = os.environ.get("STREAMS_TEST_CHROMIUM", "/usr/bin/chromium")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run; .ci/run installs chromium)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        _unavailable(f"no chromium at {CHROMIUM}: apt-get install chromium")
    return CHROMIUM


# Per module, not per session: Playwright's sync API keeps an event loop running in this
# thread while it is started, and the async tests of the other tiers need it stopped.
@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed: pip install -e '.[dev]'")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, args=["--no-sandbox"])
        yield launched
        launched.close()


@dataclass
class Stack:
    """A running API (and, when started, a worker) on the test's Redis and prefix."""

    redis_url: str
    prefix: str
    logs: Path
    port: int = field(default_factory=free_port)
    token: str | None = TOKEN
    api: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    scheduler: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def keys(self) -> Keys:
        return Keys(self.prefix)

    def env(self) -> dict[str, str]:
        extra = {"STREAMS_APP": "tests.apps:registry", "STREAMS_QUEUES": QUEUES}
        if self.token:
            extra["STREAMS_API_TOKEN"] = self.token
        env = cli_env(self.redis_url, self.prefix, **extra)
        env.pop("CI", None)
        return env

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        try:
            return subprocess.Popen(
                streams_cmd(*args), env=self.env(), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )
        finally:
            log.close()

    def start_api(self) -> None:
        self.api = self._spawn("api", "api", "--host", "127.0.0.1", "--port", str(self.port))
        wait_until_sync(self._up, timeout_s=20)

    def _up(self) -> bool:
        try:
            return httpx.get(f"{self.base}/health", timeout=1).status_code in (200, 503)
        except httpx.TransportError:
            return False

    def start_worker(self) -> None:
        self.worker = self._spawn("worker", "worker", "default")

    def start_scheduler(self, schedule: str) -> None:
        self.scheduler = self._spawn("scheduler", "scheduler", "--schedule", schedule)

    def restart_api(self) -> None:
        _stop(self.api)
        self.start_api()

    def stop(self) -> None:
        _stop(self.scheduler)
        _stop(self.worker)
        _stop(self.api)

    def client(self) -> sync_redis.Redis:
        return sync_redis.Redis.from_url(self.redis_url)

    def publish(self, data: dict[str, Any], count: int = 1) -> None:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        for _ in range(count):
            response = httpx.post(
                f"{self.base}/queues/default/messages",
                json={"type": "test.work", "data": data},
                headers=headers,
                timeout=5,
            )
            response.raise_for_status()

    def queues(self) -> dict[str, dict[str, Any]]:
        body = httpx.get(f"{self.base}/queues", timeout=5).json()
        return {q["queue"]: q for q in body["queues"]}


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def stack(redis_url: str, prefix: str, tmp_path: Path, browser: Any) -> Iterator[Stack]:
    running = Stack(redis_url=redis_url, prefix=prefix, logs=tmp_path)
    running.start_api()
    try:
        yield running
    finally:
        running.stop()
