"""`streams publish --delay/--at/--dedupe-ms`, `streams scheduled`, `streams pause|resume`."""

from __future__ import annotations

import json

from redis.asyncio import Redis

from streams.keys import Keys
from tests.support import cli_env, run_cli


async def test_publish_with_a_delay_is_listed_counted_and_cancelled(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    env = cli_env(redis_url, prefix)

    published = run_cli(["publish", "default", "ping", "{}", "--delay", "1h", "--key", "k"], env)
    at = run_cli(["publish", "default", "ping", "{}", "--at", "2099-12-01T20:00:00Z"], env)
    listed = run_cli(["scheduled", "list", "default", "--json"], env)
    status = run_cli(["status", "--json"], env)
    scheduled_id = published.stdout.strip()
    cancelled = run_cli(["scheduled", "cancel", "default", scheduled_id], env)
    again = run_cli(["scheduled", "cancel", "default", scheduled_id], env)

    assert published.returncode == 0, published.stderr
    assert "scheduled for " in published.stderr
    assert "scheduled for 2099-12-01T20:00:00.000Z" in at.stderr
    assert [(m["id"], m["key"]) for m in json.loads(listed.stdout)] == [
        (scheduled_id, "k"),
        (at.stdout.strip(), None),
    ]
    default = next(q for q in json.loads(status.stdout) if q["queue"] == "default")
    assert default["scheduled"] == 2
    assert cancelled.stdout.strip() == f"cancelled {scheduled_id}"
    assert again.returncode == 2
    assert again.stderr.count("\n") == 1
    assert "no scheduled message" in again.stderr
    assert await redis.xlen(Keys(prefix).stream("default")) == 0


def test_a_bad_delay_or_time_is_one_line_and_exit_2(redis_url: str, prefix: str) -> None:
    env = cli_env(redis_url, prefix)

    for extra in (["--delay", "soon"], ["--at", "tomorrow"], ["--at", "2099-12-01T20:00:00"]):
        result = run_cli(["publish", "default", "ping", "{}", *extra], env)

        assert result.returncode == 2, result
        assert result.stderr.count("\n") == 1
        assert result.stderr.startswith("streams: error: --")


async def test_publish_twice_with_a_dedupe_window_adds_one_entry_and_says_duplicate(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    env = cli_env(redis_url, prefix, STREAMS_DEFAULT_DEDUPE_MS="60000")

    first = run_cli(["publish", "default", "ping", "{}", "--key", "order-1"], env)
    second = run_cli(["publish", "default", "ping", "{}", "--key", "order-1"], env)

    assert first.returncode == second.returncode == 0
    assert second.stdout == first.stdout
    assert "duplicate" in second.stderr
    assert "duplicate" not in first.stderr
    assert await redis.xlen(Keys(prefix).stream("default")) == 1


async def test_pause_and_resume_show_in_status(redis: Redis, redis_url: str, prefix: str) -> None:
    env = cli_env(redis_url, prefix)

    paused = run_cli(["pause", "default"], env)
    status = run_cli(["status"], env)
    resumed = run_cli(["resume", "default"], env)
    unknown = run_cli(["pause", "nope"], env)

    assert paused.stdout.strip() == "queue default paused"
    row = next(line.split() for line in status.stdout.splitlines() if line.startswith("default"))
    assert row[-1] == "yes"
    assert resumed.stdout.strip() == "queue default resumed"
    assert not await redis.exists(Keys(prefix).paused("default"))
    assert unknown.returncode == 2
    assert "unknown queue 'nope'" in unknown.stderr
