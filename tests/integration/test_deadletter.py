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


async def test_purge_unlinks_rather_than_deletes(redis: Redis, prefix: str) -> None:
    # UNLINK frees a big stream in the background; DEL would block Redis meanwhile.
    keys = Keys(prefix)
    await redis.xadd(keys.dead("default"), {"type": "job", "data": "{}"})
    before = await redis.info("commandstats")

    assert await purge(redis, keys, "default") == 1

    after = await redis.info("commandstats")
    calls = {
        name: after.get(f"cmdstat_{name}", {}).get("calls", 0)
        - before.get(f"cmdstat_{name}", {}).get("calls", 0)
        for name in ("unlink", "del")
    }
    assert calls == {"unlink": 1, "del": 0}


async def _add_dead(redis: Redis, keys: Keys, data: str, **extra: str) -> bytes:
    fields = {"type": "job", "data": data, "dead_id": "1-1", "dead_error": "E: x", **extra}
    return await redis.xadd(keys.dead("default"), fields)  # type: ignore[arg-type]


async def test_replay_all_goes_past_one_page_and_keeps_the_order(redis: Redis, prefix: str) -> None:
    keys = Keys(prefix)
    for n in range(250):  # two and a half pages
        await _add_dead(redis, keys, str(n))
    assert await replay(redis, keys, "default") == 250
    replayed = await redis.xrange(keys.stream("default"))
    assert [fields[b"data"] for _, fields in replayed] == [str(n).encode() for n in range(250)]
    assert await count_dead(redis, keys, "default") == 0


async def test_replay_copies_a_dead_letter_too_big_for_lua_intact(
    redis: Redis, prefix: str
) -> None:
    # Given a dead letter with 10,000 fields between two ordinary ones
    keys = Keys(prefix)
    big = {f"f{n}": f"v{n}" for n in range(10_000)}
    await _add_dead(redis, keys, "before")
    big_id = await _add_dead(redis, keys, "big", **big)
    await _add_dead(redis, keys, "after")
    # When all are replayed, then all three are back, the big one with every field
    assert await replay(redis, keys, "default") == 3
    replayed = [fields for _, fields in await redis.xrange(keys.stream("default"))]
    assert sorted(fields[b"data"] for fields in replayed) == [b"after", b"before", b"big"]
    (copy,) = [fields for fields in replayed if fields[b"data"] == b"big"]
    assert copy == {b"type": b"job", b"data": b"big"} | {
        k.encode(): v.encode() for k, v in big.items()
    }
    assert await count_dead(redis, keys, "default") == 0
    # and replaying it again by id finds nothing
    assert await replay(redis, keys, "default", [big_id.decode()]) == 0
