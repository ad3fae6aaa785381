"""Dead-letter replay and purge on a real server."""

from __future__ import annotations

from redis.asyncio import Redis

from streams.deadletter import count_dead, list_dead, purge, replay
from streams.keys import Keys


async def test_replay_skips_dead_letters_whose_original_was_gone(redis: Redis, prefix: str) -> None:
    # Given one complete dead letter and one recorded after its entry had been deleted
    keys = Keys(prefix)
    dead = keys.dead("default")
    await redis.xadd(
        dead,
        {
            "type": "job",
            "data": "{}",
            "dead_id": "1-1",
            "dead_error": "E: x",
            "dead_attempts": 1,
            "dead_at": 1,
        },
    )
    await redis.xadd(
        dead, {"dead_id": "1-2", "dead_error": "E: y", "dead_attempts": 1, "dead_at": 1}
    )
    # When all are replayed
    moved = await replay(redis, keys, "default")
    # Then the complete one is back on the queue without its dead_ fields, the empty one stays
    assert moved == 1
    ((_, fields),) = await redis.xrange(keys.stream("default"))
    assert fields == {b"type": b"job", b"data": b"{}"}
    (left,) = await list_dead(redis, keys, "default")
    assert left.original_id == "1-2"


async def test_replay_by_id_moves_only_those(redis: Redis, prefix: str) -> None:
    keys = Keys(prefix)
    ids = [
        await redis.xadd(keys.dead("default"), {"type": "job", "data": str(n), "dead_id": f"1-{n}"})
        for n in range(3)
    ]
    assert await replay(redis, keys, "default", [ids[1].decode(), "9-9"]) == 1
    assert [d.data for d in await list_dead(redis, keys, "default")] == ["0", "2"]


async def test_purge_reports_how_many_it_deleted(redis: Redis, prefix: str) -> None:
    keys = Keys(prefix)
    for n in range(4):
        await redis.xadd(keys.dead("default"), {"type": "job", "data": str(n)})
    assert await purge(redis, keys, "default") == 4
    assert await count_dead(redis, keys, "default") == 0
