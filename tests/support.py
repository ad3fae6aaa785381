"""Helpers shared by the integration and end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import anyio

from streams.config import QueueSettings, Secret, Settings

ROOT = Path(__file__).resolve().parent.parent

FAST_QUEUE = QueueSettings(
    concurrency=8,
    batch_size=50,
    max_attempts=3,
    backoff_base_ms=50,
    backoff_cap_ms=200,
    visibility_timeout_ms=1_000,
)


def make_settings(url: str, prefix: str, **queues: QueueSettings) -> Settings:
    """Settings with short timeouts so failure paths run in milliseconds."""
    all_queues = dict.fromkeys(("default", "events", "notifications", "ml"), FAST_QUEUE)
    all_queues.update(queues)
    return Settings(
        redis_url=Secret(url),
        prefix=prefix,
        queues=all_queues,
        block_ms=200,
        heartbeat_interval_ms=200,
        shutdown_timeout_ms=5_000,
    )


def cli_env(url: str, prefix: str, **extra: str) -> dict[str, str]:
    """Environment for a `streams` subprocess: the test's server, prefix and fast timeouts."""
    env = dict(os.environ)
    env.update(
        {
            "REDIS_URL": url,
            "STREAMS_PREFIX": prefix,
            "STREAMS_BLOCK_MS": "200",
            "STREAMS_HEARTBEAT_INTERVAL_MS": "200",
            "STREAMS_MAX_ATTEMPTS": "3",
            "STREAMS_BACKOFF_BASE_MS": "50",
            "STREAMS_BACKOFF_CAP_MS": "200",
            "STREAMS_VISIBILITY_TIMEOUT_MS": "1000",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def streams_cmd(*args: str) -> list[str]:
    """The `streams` command run from this checkout (works without an editable install)."""
    return [sys.executable, "-m", "godo", *args]


def run_cli(
    args: list[str], env: Mapping[str, str], stdin: str | None = None, timeout_s: float = 30
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        streams_cmd(*args),
        env=dict(env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        cwd=ROOT,
    )


async def wait_until(
    predicate: Callable[[], Awaitable[Any]], timeout_s: float = 5.0, interval_s: float = 0.02
) -> Any:
    """Poll an async predicate until it returns something truthy; fail after timeout_s."""
    with anyio.fail_after(timeout_s):
        while True:
            result = await predicate()
            if result:
                return result
            await anyio.sleep(interval_s)


def wait_until_sync(
    predicate: Callable[[], Any], timeout_s: float = 5.0, interval_s: float = 0.02
) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout_s}s")
        time.sleep(interval_s)
