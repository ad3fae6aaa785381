"""`streams worker` ends with one line, not a traceback, when the worker itself must stop."""

from __future__ import annotations

from redis.asyncio import Redis

from streams.keys import Keys
from tests.support import cli_env, run_cli


async def test_a_stream_key_of_another_type_stops_the_command_with_one_line(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    stream = Keys(prefix).stream("events")
    await redis.set(stream, "left over from something else")

    result = run_cli(["worker", "events"], cli_env(redis_url, prefix), timeout_s=20)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("streams: error:")]
    assert f"key '{stream}' holds a string, not a stream" in line
    assert await redis.get(stream) == b"left over from something else"  # nothing overwritten


def test_a_variable_for_a_queue_that_does_not_exist_is_one_warning_at_start(
    redis_url: str, prefix: str
) -> None:
    env = cli_env(redis_url, prefix, STREAMS_EVENT_MAX_ATTEMPTS="3")

    result = run_cli(["worker", "--stop-when-idle"], env, timeout_s=20)

    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "no such queue" in line]
    assert len(warnings) == 1
    assert "STREAMS_EVENT_MAX_ATTEMPTS is ignored" in warnings[0]
    assert "queues: default, events, notifications, ml" in warnings[0]
