"""`streams worker` as a real process: kill -9, SIGTERM drain, second signal, Redis restart."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as sync_redis

from streams.keys import Keys
from streams.server import LocalServer
from tests.support import ROOT, cli_env, streams_cmd, wait_until_sync

APP = "tests.apps:registry"


def publish_work(client: sync_redis.Redis, prefix: str, count: int, *, sleep_ms: int = 0) -> None:
    pipe = client.pipeline(transaction=False)
    for n in range(count):
        pipe.xadd(
            Keys(prefix).stream("default"),
            {"type": "test.work", "data": f'{{"n":{n},"sleep_ms":{sleep_ms}}}'},
        )
    pipe.execute()


def start_worker(url: str, prefix: str, log: Path, **env: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            streams_cmd("worker", "default"),
            env=cli_env(url, prefix, STREAMS_APP=APP, **env),
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def pending(client: sync_redis.Redis, prefix: str) -> int:
    try:
        return int(client.xpending(Keys(prefix).stream("default"), "godo")["pending"])
    except sync_redis.ResponseError:  # the worker has not created the group yet
        return 0


def handled(client: sync_redis.Redis, prefix: str) -> set[int]:
    return {int(n) for n in client.smembers(Keys(prefix).data("handled"))}


def lag(client: sync_redis.Redis, prefix: str) -> int:
    (group,) = client.xinfo_groups(Keys(prefix).stream("default"))
    return int(group["lag"] or 0)


def drained(client: sync_redis.Redis, prefix: str) -> bool:
    return pending(client, prefix) == 0 and lag(client, prefix) == 0


@pytest.fixture
def client(redis_url: str) -> Iterator[sync_redis.Redis]:
    c = sync_redis.Redis.from_url(redis_url)
    yield c
    c.close()


@pytest.fixture
def stop_all() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_kill_9_with_2000_in_flight_then_a_second_worker_finishes_everything(
    client: sync_redis.Redis,
    redis_url: str,
    prefix: str,
    tmp_path: Path,
    stop_all: list[subprocess.Popen[bytes]],
) -> None:
    # Given 2,000 slow messages all held by one worker
    publish_work(client, prefix, 2000, sleep_ms=2000)
    big = {"STREAMS_CONCURRENCY": "1000", "STREAMS_BATCH_SIZE": "1000"}
    first = start_worker(redis_url, prefix, tmp_path / "first.log", **big)
    stop_all.append(first)
    wait_until_sync(lambda: pending(client, prefix) == 2000, timeout_s=20)
    # When it is killed with SIGKILL and another worker starts
    first.kill()
    first.wait()
    killed_at = time.monotonic()
    second = start_worker(redis_url, prefix, tmp_path / "second.log", **big)
    stop_all.append(second)
    wait_until_sync(
        lambda: drained(client, prefix) and len(handled(client, prefix)) == 2000,
        timeout_s=60,
        interval_s=0.1,
    )
    recovery_s = time.monotonic() - killed_at
    # Then every message was handled and acknowledged, none dead-lettered
    assert handled(client, prefix) == set(range(2000))
    assert client.xlen(Keys(prefix).dead("default")) == 0
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=20) == 0
    print(f"kill -9 recovery: all 2000 handled {recovery_s:.2f}s after the kill")  # noqa: T201


def test_sigterm_finishes_in_flight_work_and_exits_0(
    client: sync_redis.Redis,
    redis_url: str,
    prefix: str,
    tmp_path: Path,
    stop_all: list[subprocess.Popen[bytes]],
) -> None:
    # Given a worker busy with 10 half-second messages and 40 more waiting
    publish_work(client, prefix, 50, sleep_ms=500)
    worker = start_worker(
        redis_url, prefix, tmp_path / "w.log", STREAMS_CONCURRENCY="10", STREAMS_BATCH_SIZE="10"
    )
    stop_all.append(worker)
    attempts = Keys(prefix).data("attempts")
    wait_until_sync(lambda: client.hlen(attempts) >= 10, timeout_s=20)
    # When it gets SIGTERM
    worker.send_signal(signal.SIGTERM)
    # Then it exits 0 after finishing what it started
    assert worker.wait(timeout=20) == 0
    started = {int(n) for n in client.hkeys(attempts)}
    done = handled(client, prefix)
    assert started <= done, "a handler that started was not allowed to finish"
    # And what it never started is left pending or unread, not lost: a new worker finishes it
    second = start_worker(redis_url, prefix, tmp_path / "w2.log")
    stop_all.append(second)
    wait_until_sync(
        lambda: handled(client, prefix) == set(range(50)) and drained(client, prefix), timeout_s=30
    )
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=20) == 0
    assert "finishing in-flight" in (tmp_path / "w.log").read_text()


def test_second_signal_exits_at_once(
    client: sync_redis.Redis,
    redis_url: str,
    prefix: str,
    tmp_path: Path,
    stop_all: list[subprocess.Popen[bytes]],
) -> None:
    publish_work(client, prefix, 5, sleep_ms=60_000)
    worker = start_worker(
        redis_url, prefix, tmp_path / "w.log", STREAMS_SHUTDOWN_TIMEOUT_MS="60000"
    )
    stop_all.append(worker)
    wait_until_sync(lambda: client.hlen(Keys(prefix).data("attempts")) == 5, timeout_s=20)
    worker.send_signal(signal.SIGTERM)
    wait_until_sync(lambda: "finishing in-flight" in (tmp_path / "w.log").read_text(), timeout_s=10)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=5) != 0
    assert pending(client, prefix) == 5  # left for other workers, not acknowledged


def test_worker_survives_a_redis_restart_and_logs_the_outage_once(
    tmp_path: Path, prefix: str, stop_all: list[subprocess.Popen[bytes]]
) -> None:
    # Given a password-protected, persistent server and a worker consuming from it
    password = "pw-" + prefix
    server = LocalServer(data_dir=tmp_path / "data", password=password).start()
    try:
        client = sync_redis.Redis.from_url(server.url)
        publish_work(client, prefix, 200, sleep_ms=20)
        log = tmp_path / "w.log"
        worker = start_worker(server.url, prefix, log)
        stop_all.append(worker)
        wait_until_sync(lambda: len(handled(client, prefix)) >= 20, timeout_s=20)
        # When the server goes down for a while and comes back on the same port
        server.stop()
        wait_until_sync(lambda: "redis unavailable" in log.read_text(), timeout_s=20)
        server = LocalServer(
            port=server.port, data_dir=tmp_path / "data", password=password
        ).start()
        client = sync_redis.Redis.from_url(server.url)
        publish_work(client, prefix, 0)
        # Then the worker reconnects and finishes everything
        wait_until_sync(
            lambda: len(handled(client, prefix)) == 200 and drained(client, prefix),
            timeout_s=60,
            interval_s=0.1,
        )
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0
        text = log.read_text()
        # And each loop logged the outage once, not once per retry, and never the password
        outage_lines = [
            line.split(": redis unavailable")[0].split(" ", 3)[-1]
            for line in text.splitlines()
            if "redis unavailable" in line
        ]
        assert outage_lines
        assert len(outage_lines) == len(set(outage_lines)), outage_lines
        assert password not in text
        assert "Traceback" not in text
    finally:
        server.stop()
