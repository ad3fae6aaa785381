"""`streams scheduler` started before Redis is reachable waits for it instead of exiting."""

from __future__ import annotations

import signal
from collections.abc import Callable

from redis.asyncio import Redis

from streams import Keys
from streams.server import LocalServer, free_port
from tests.e2e.conftest import Spawn
from tests.support import cli_env, wait_until


async def test_a_scheduler_started_before_redis_waits_then_leads(
    prefix: str, spawn: Spawn, process_logs: Callable[[], str]
) -> None:
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    scheduler = spawn("scheduler", "--name", "early", env=cli_env(url, prefix))
    await wait_until(lambda: _logged(process_logs, "redis unavailable"), timeout_s=15)
    assert scheduler.poll() is None, process_logs()

    with LocalServer(port=port) as server:
        async with Redis.from_url(server.url) as redis:
            leader = Keys(prefix).scheduler_leader()
            assert await wait_until(lambda: redis.get(leader), timeout_s=20) == b"early"
        scheduler.send_signal(signal.SIGTERM)
        assert scheduler.wait(timeout=15) == 0, process_logs()

    assert process_logs().count("redis unavailable") == 1, process_logs()
    assert "Traceback" not in process_logs()


async def _logged(logs: Callable[[], str], fragment: str) -> bool:
    return fragment in logs()
