"""`streams status` and `streams dead` as operators run them."""

from __future__ import annotations

import json

from redis.asyncio import Redis

from streams.keys import Keys
from tests.support import cli_env, run_cli

GROUP = "godo"


async def add_dead(redis: Redis, prefix: str, count: int) -> list[str]:
    ids = []
    for i in range(count):
        entry_id = await redis.xadd(
            Keys(prefix).dead("ml"),
            {"type": "t", "data": "{}", "dead_id": f"{i + 1}-0", "dead_error": f"KeyError: k{i}"},
        )
        ids.append(entry_id.decode() if isinstance(entry_id, bytes) else entry_id)
    return ids


async def test_status_json_reports_every_queue(redis: Redis, redis_url: str, prefix: str) -> None:
    stream = Keys(prefix).stream("events")
    for _ in range(4):
        await redis.xadd(stream, {"type": "t", "data": "{}"})
    await redis.xgroup_create(stream, GROUP, id="0")
    await redis.xreadgroup(GROUP, "c", {stream: ">"}, count=1)
    await add_dead(redis, prefix, 1)

    result = run_cli(["status", "--json"], cli_env(redis_url, prefix))

    assert result.returncode == 0, result.stderr
    states = {s["queue"]: s for s in json.loads(result.stdout)}
    assert set(states) == {"default", "events", "notifications", "ml"}
    events = states["events"]
    assert (events["length"], events["lag"], events["pending"], events["consumers"]) == (4, 3, 1, 1)
    assert events["oldest_pending_age_s"] >= 0
    assert states["ml"]["dead_letters"] == 1


async def test_status_table_has_a_row_per_queue(redis_url: str, prefix: str) -> None:
    result = run_cli(["status"], cli_env(redis_url, prefix))

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "queue",
        "length",
        "lag",
        "pending",
        "oldest_pending_s",
        "consumers",
        "dead",
        "scheduled",
        "paused",
    ]
    assert [line.split()[0] for line in lines[1:]] == ["default", "events", "notifications", "ml"]


def test_status_with_redis_down_is_one_line_without_the_password(prefix: str) -> None:
    result = run_cli(["status"], cli_env("redis://:hunter2-pw@127.0.0.1:1/0", prefix))

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "hunter2-pw" not in result.stderr + result.stdout


async def test_dead_list_shows_each_error(redis: Redis, redis_url: str, prefix: str) -> None:
    ids = await add_dead(redis, prefix, 2)

    result = run_cli(["dead", "list", "ml"], cli_env(redis_url, prefix))

    assert result.returncode == 0, result.stderr
    assert ids[0] in result.stdout
    assert "KeyError: k0" in result.stdout
    assert "KeyError: k1" in result.stdout


async def test_dead_replay_with_ids_moves_those_back(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    ids = await add_dead(redis, prefix, 3)

    result = run_cli(["dead", "replay", "ml", "--id", ids[0]], cli_env(redis_url, prefix))

    assert result.stdout.strip() == "replayed 1"
    assert await redis.xlen(Keys(prefix).dead("ml")) == 2
    assert await redis.xlen(Keys(prefix).stream("ml")) == 1


async def test_dead_purge_deletes_all_or_the_given_ids(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    ids = await add_dead(redis, prefix, 3)
    env = cli_env(redis_url, prefix)

    one = run_cli(["dead", "purge", "ml", "--id", ids[1]], env)
    rest = run_cli(["dead", "purge", "ml"], env)

    assert one.stdout.strip() == "purged 1"
    assert rest.stdout.strip() == "purged 2"
    assert await redis.xlen(Keys(prefix).dead("ml")) == 0


def test_dead_with_an_unknown_queue_or_bad_id_exits_2(redis_url: str, prefix: str) -> None:
    env = cli_env(redis_url, prefix)

    unknown = run_cli(["dead", "list", "nope"], env)
    bad_id = run_cli(["dead", "replay", "ml", "--id", "not-an-id"], env)

    assert unknown.returncode == 2
    assert "unknown queue 'nope'" in unknown.stderr
    assert bad_id.returncode == 2
    assert "not-an-id" in bad_id.stderr
    assert "Traceback" not in unknown.stderr + bad_id.stderr


def test_dead_with_an_id_ending_in_a_newline_exits_2(redis_url: str, prefix: str) -> None:
    result = run_cli(["dead", "replay", "ml", "--id", "1-1\n"], cli_env(redis_url, prefix))

    assert result.returncode == 2
    assert "is not a stream entry id" in result.stderr
    assert "Traceback" not in result.stderr
