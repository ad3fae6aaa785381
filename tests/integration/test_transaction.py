"""The bounded optimistic-transaction helper on a real server."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from streams.errors import StreamsError, TransactionConflictError
from streams.transaction import transaction


async def test_the_writes_are_applied_and_write_returns_the_result(
    redis: Redis, prefix: str
) -> None:
    key = f"{prefix}counter"
    await redis.set(key, 41)

    async def read(pipe: Pipeline) -> int:
        return int(await pipe.get(key) or 0)

    def write(pipe: Pipeline, seen: int) -> int:
        pipe.set(key, seen + 1)
        return seen + 1

    assert await transaction(redis, [key], read, write, what="counting") == 42
    assert await redis.get(key) == b"42"


async def test_a_change_between_read_and_exec_runs_it_again_from_the_read(
    redis: Redis, prefix: str
) -> None:
    key = f"{prefix}counter"
    await redis.set(key, 1)
    reads: list[int] = []

    async def read(pipe: Pipeline) -> int:
        seen = int(await pipe.get(key) or 0)
        reads.append(seen)
        if len(reads) == 1:
            await redis.set(key, 10)  # another writer, on another connection
        return seen

    def write(pipe: Pipeline, seen: int) -> None:
        pipe.set(key, seen + 1)

    await transaction(redis, [key], read, write, what="counting")
    assert reads == [1, 10]
    assert await redis.get(key) == b"11"  # the other writer's update was not lost


async def test_keys_that_keep_changing_end_in_a_clear_error_after_the_bound(
    redis: Redis, prefix: str
) -> None:
    key = f"{prefix}hot"
    tries: list[int] = []

    async def read(pipe: Pipeline) -> None:
        await pipe.get(key)
        tries.append(1)
        await redis.incr(key)

    def write(pipe: Pipeline, _: None) -> None:
        pipe.set(f"{prefix}written", 1)

    with pytest.raises(TransactionConflictError) as info:
        await transaction(redis, [key], read, write, what="updating hot", attempts=3)
    assert isinstance(info.value, StreamsError)
    assert (
        str(info.value) == "updating hot: the data kept changing, gave up after 3 tries; try again"
    )
    assert len(tries) == 3
    assert await redis.exists(f"{prefix}written") == 0
