"""`streams pause` and `streams resume` against two busy worker processes."""

from __future__ import annotations

import time

import redis as sync_redis

from streams.keys import Keys
from tests.e2e.conftest import Spawn
from tests.support import cli_env, run_cli, wait_until_sync

APP = "tests.feature_apps:registry"
COUNT = 600


def test_pause_stops_new_work_within_a_second_and_resume_finishes_it(
    redis_url: str, prefix: str, spawn: Spawn
) -> None:
    # Given two workers busy with 600 messages of 20 ms each
    client = sync_redis.Redis.from_url(redis_url)
    keys = Keys(prefix)
    pipe = client.pipeline(transaction=False)
    for n in range(COUNT):
        data = f'{{"n":{n},"sleep_ms":20}}'
        pipe.xadd(keys.stream("default"), {"type": "test.timed", "data": data})
    pipe.execute()
    env = cli_env(redis_url, prefix, STREAMS_APP=APP, STREAMS_CONCURRENCY="4")
    for _ in range(2):
        spawn("worker", "default", env=env)
    wait_until_sync(lambda: client.zcard(keys.data("handled_at")) >= 50, 20)

    # When an operator pauses the queue
    paused = run_cli(["pause", "default"], env)
    paused_ms = time.time() * 1000
    assert paused.returncode == 0, paused.stderr
    time.sleep(2.0)  # an observation window longer than the visibility timeout (1 s)

    # Then no handler started later than a second after, and nothing was lost or re-run
    late = client.zcount(keys.data("handled_at"), paused_ms + 1_000, "+inf")
    started = client.zcard(keys.data("handled_at"))
    assert late == 0
    assert started < COUNT
    assert "yes" in run_cli(["status"], env).stdout.splitlines()[1]

    # When it is resumed, every message is handled exactly once
    assert run_cli(["resume", "default"], env).returncode == 0
    wait_until_sync(lambda: client.zcard(keys.data("handled_at")) == COUNT, 30, 0.1)
    counts = {int(c) for c in client.hgetall(keys.data("handled_count")).values()}
    client.close()
    assert counts == {1}
