"""Two `streams scheduler` processes: one leads, each tick is published once, and the
standby takes over when the leader is killed with SIGKILL."""

from __future__ import annotations

import json
import signal
from collections import Counter
from collections.abc import Callable

from redis.asyncio import Redis

from streams import Keys
from streams.scheduler import JOB_HEADER, SLOT_HEADER
from tests.e2e.conftest import Spawn
from tests.support import cli_env, wait_until

EVERY_MS = 300
LEASE_MS = 900


async def ticks(redis: Redis, prefix: str) -> Counter[int]:
    """Slots of the refresh job published on the ml stream, with how often each was."""
    found: Counter[int] = Counter()
    for _, fields in await redis.xrange(Keys(prefix).stream("ml")):
        headers = json.loads(fields[b"headers"])
        if headers[JOB_HEADER] == "refresh-recommendations":
            found[int(headers[SLOT_HEADER])] += 1
    return found


async def test_one_scheduler_leads_ticks_once_and_a_killed_leader_is_replaced(
    redis: Redis, redis_url: str, prefix: str, spawn: Spawn, process_logs: Callable[[], str]
) -> None:
    env = cli_env(
        redis_url,
        prefix,
        GODO_RECOMMENDATIONS_EVERY_MS=str(EVERY_MS),
        STREAMS_SCHEDULER_LEASE_MS=str(LEASE_MS),
        STREAMS_SCHEDULER_CHECK_MS="50",
    )
    schedulers = {name: spawn("scheduler", "--name", name, env=env) for name in ("a", "b")}
    leader_key = Keys(prefix).scheduler_leader()
    leader = (await wait_until(lambda: redis.get(leader_key), timeout_s=15)).decode()
    await wait_until(lambda: _at_least(redis, prefix, 5), timeout_s=10)

    schedulers[leader].send_signal(signal.SIGKILL)
    schedulers[leader].wait()
    before = len(await ticks(redis, prefix))
    standby = "b" if leader == "a" else "a"
    with_new_leader = await wait_until(lambda: _leader_is(redis, leader_key, standby), timeout_s=5)
    assert with_new_leader, process_logs()
    await wait_until(lambda: _at_least(redis, prefix, before + 3), timeout_s=5)

    found = await ticks(redis, prefix)
    assert set(found.values()) == {1}, (found, process_logs())
    assert schedulers[standby].poll() is None


async def _at_least(redis: Redis, prefix: str, count: int) -> bool:
    return len(await ticks(redis, prefix)) >= count


async def _leader_is(redis: Redis, key: str, name: str) -> bool:
    return await redis.get(key) == name.encode()
