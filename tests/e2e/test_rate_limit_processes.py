"""A queue's rate limit holds across three worker processes, measured from handler timestamps."""

from __future__ import annotations

import bisect

import redis as sync_redis

from streams.keys import Keys
from streams.ratelimit import parse_rate
from tests.e2e.conftest import Spawn
from tests.support import cli_env, wait_until_sync

APP = "tests.feature_apps:registry"
LIMIT = "50/s"
COUNT = 250
# The documented bound: at most the limit plus its burst (a tenth) in any window of its period.
# Handler timestamps trail the token grants by a few ms, hence one message of scheduling slack.
SLACK = 1


def busiest_window(times_ms: list[int], window_ms: int) -> int:
    """The most timestamps in any window [t, t + window_ms) that starts at a timestamp."""
    times_ms = sorted(times_ms)
    return max(bisect.bisect_left(times_ms, t + window_ms) - i for i, t in enumerate(times_ms))


def test_three_workers_together_stay_within_50_per_second(
    redis_url: str, prefix: str, spawn: Spawn
) -> None:
    # Given 250 messages waiting
    client = sync_redis.Redis.from_url(redis_url)
    keys = Keys(prefix)
    pipe = client.pipeline(transaction=False)
    for n in range(COUNT):
        pipe.xadd(keys.stream("default"), {"type": "test.timed", "data": f'{{"n":{n}}}'})
    pipe.execute()

    # When three workers share a 50/s limit
    env = cli_env(redis_url, prefix, STREAMS_APP=APP, STREAMS_DEFAULT_RATE_LIMIT=LIMIT)
    for _ in range(3):
        spawn("worker", "default", env=env)
    wait_until_sync(lambda: client.zcard(keys.data("handled_at")) == COUNT, 30, 0.1)

    # Then no 1-second window handled more than 50 + the burst, and the rate stayed near 50/s
    rows: list[tuple[bytes, float]] = client.zrange(keys.data("handled_at"), 0, -1, withscores=True)  # type: ignore[assignment]  # pairs with withscores
    times = [int(ms) for _, ms in rows]
    rate = parse_rate(LIMIT)
    assert rate is not None
    busiest = busiest_window(times, 1_000)
    assert busiest <= rate.count + rate.burst + SLACK, busiest
    elapsed_s = (max(times) - min(times)) / 1000
    assert COUNT / elapsed_s > 0.8 * rate.count, elapsed_s
    handlers = {int(c) for c in client.hgetall(keys.data("handled_count")).values()}
    assert handlers == {1}
    workers_used = client.zcard(keys.workers())
    client.close()
    assert workers_used == 3
