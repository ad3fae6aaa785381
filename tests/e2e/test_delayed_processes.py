"""Delayed messages with three worker processes, a kill -9 and a Redis restart (AOF)."""

from __future__ import annotations

import signal
from pathlib import Path

import anyio
import redis as sync_redis
from redis.asyncio import Redis

from streams.keys import Keys
from streams.producer import Producer
from streams.server import LocalServer
from tests.e2e.conftest import Spawn
from tests.feature_apps import Timed, registry
from tests.support import cli_env, make_settings, wait_until_sync

APP = "tests.feature_apps:registry"
COUNT = 200


async def schedule(url: str, prefix: str) -> dict[int, int]:
    redis = Redis.from_url(url)
    producer = Producer(redis, make_settings(url, prefix), registry)
    due: dict[int, int] = {}
    try:
        for n in range(COUNT):
            published = await producer.publish(
                "default", "test.timed", Timed(n=n), delay_ms=1_500 + 15 * n
            )
            assert published.due_ms is not None
            due[n] = published.due_ms
    finally:
        await redis.aclose()
    return due


def test_three_workers_a_kill_9_and_a_redis_restart_handle_each_once_on_time(
    tmp_path: Path, spawn: Spawn, prefix: str
) -> None:
    with LocalServer(data_dir=tmp_path / "data") as server:
        env = cli_env(server.url, prefix, STREAMS_APP=APP)
        workers = [spawn("worker", "default", env=env) for _ in range(3)]
        client = sync_redis.Redis.from_url(server.url)
        keys = Keys(prefix)
        wait_until_sync(lambda: client.zcard(keys.workers()) == 3, 10)
        # Given 200 messages due 1.5 s to 4.5 s from now
        due = anyio.run(schedule, server.url, prefix)
        # When one worker is killed and Redis restarts while they wait
        workers[0].send_signal(signal.SIGKILL)
        client.close()
        server.stop()
        server.start()
        client = sync_redis.Redis.from_url(server.url)
        # Then every message is handled, after its time, by the two survivors
        wait_until_sync(lambda: client.zcard(keys.data("handled_at")) == COUNT, 20)
        rows: list[tuple[bytes, float]] = client.zrange(
            keys.data("handled_at"), 0, -1, withscores=True
        )  # type: ignore[assignment]  # pairs with withscores
        handled_at = {int(n): int(ms) for n, ms in rows}
        counts = {int(n): int(c) for n, c in client.hgetall(keys.data("handled_count")).items()}
        stream_length = client.xlen(keys.stream("default"))
        client.close()
        early = {n: handled_at[n] - due[n] for n in due if handled_at[n] < due[n]}
        late = {n: handled_at[n] - due[n] for n in due if handled_at[n] - due[n] > 1_000}
        assert not early, early
        assert not late, late
        assert stream_length == COUNT  # each moved into the stream exactly once
        assert set(counts.values()) == {1}
