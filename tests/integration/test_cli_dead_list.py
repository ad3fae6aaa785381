"""`streams dead list`: any --limit, and --json that is always one JSON document."""

from __future__ import annotations

import json

from redis.asyncio import Redis

from tests.integration.test_cli_status_dead import add_dead
from tests.support import cli_env, run_cli


async def test_a_limit_beyond_what_redis_accepts_lists_everything(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    ids = await add_dead(redis, prefix, 3)

    result = run_cli(["dead", "list", "ml", "--limit", str(10**30)], cli_env(redis_url, prefix))

    assert result.returncode == 0, result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()] == ids


async def test_json_is_an_array_of_the_dead_letters(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    ids = await add_dead(redis, prefix, 2)

    result = run_cli(["dead", "list", "ml", "--json"], cli_env(redis_url, prefix))

    assert result.returncode == 0, result.stderr
    letters = json.loads(result.stdout)
    assert [letter["id"] for letter in letters] == ids
    assert letters[1]["error"] == "KeyError: k1"


def test_json_on_an_empty_dead_letter_stream_is_an_empty_array(redis_url: str, prefix: str) -> None:
    result = run_cli(["dead", "list", "ml", "--json"], cli_env(redis_url, prefix))

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
