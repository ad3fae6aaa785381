"""Redeploys as Railway does them: `streams worker` processes started and sent SIGTERM in turn
while a backlog waits. Handing entries back must not use up their delivery attempts."""

from __future__ import annotations

import signal
import subprocess
from functools import partial
from pathlib import Path

import redis as sync_redis

from streams.keys import Keys
from tests.e2e.test_worker_process import (
    client,
    drained,
    handled,
    publish_work,
    start_worker,
    stop_all,
)
from tests.support import wait_until_sync

__all__ = ["client", "stop_all"]  # fixtures

ROUNDS = 5  # more than STREAMS_MAX_ATTEMPTS (3 in the tests' environment)
BACKLOG = 400


def _ran_at_least(client: sync_redis.Redis, attempts: str, count: int) -> bool:
    return int(client.hlen(attempts)) >= count


def test_workers_stopped_in_turn_with_a_backlog_run_every_entry_once_and_dead_letter_none(
    client: sync_redis.Redis,
    redis_url: str,
    prefix: str,
    tmp_path: Path,
    stop_all: list[subprocess.Popen[bytes]],
) -> None:
    # Given a backlog of short jobs; each worker holds up to 2 + 2 * 40 of them at once
    publish_work(client, prefix, BACKLOG, sleep_ms=20)
    env = {"STREAMS_CONCURRENCY": "2", "STREAMS_BATCH_SIZE": "40"}
    attempts = Keys(prefix).data("attempts")
    # When five workers in turn start, handle a few entries, and get SIGTERM
    for round_ in range(ROUNDS):
        before = client.hlen(attempts)
        worker = start_worker(redis_url, prefix, tmp_path / f"w{round_}.log", **env)
        stop_all.append(worker)
        wait_until_sync(partial(_ran_at_least, client, attempts, before + 4), timeout_s=20)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0
    # And a last one finishes the backlog
    last = start_worker(redis_url, prefix, tmp_path / "last.log")
    stop_all.append(last)
    wait_until_sync(lambda: drained(client, prefix), timeout_s=30)
    last.send_signal(signal.SIGTERM)
    assert last.wait(timeout=20) == 0
    # Then every entry ran exactly once and none was dead-lettered as abandoned
    runs = {int(n): int(count) for n, count in client.hgetall(attempts).items()}
    assert runs == dict.fromkeys(range(BACKLOG), 1)
    assert client.xlen(Keys(prefix).dead("default")) == 0
    assert handled(client, prefix) == set(range(BACKLOG))
