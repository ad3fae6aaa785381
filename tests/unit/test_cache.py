from __future__ import annotations

import fakeredis
import msgspec
import pytest

from consumers.cache import API_RESPONSES, RECOMMENDATIONS, SESSIONS, STATIC, Cache, CacheClass
from streams import Keys


@pytest.mark.parametrize(
    ("cls", "ttl_s"),
    [(SESSIONS, 1800), (API_RESPONSES, 300), (RECOMMENDATIONS, 3600), (STATIC, 86400)],
)
async def test_every_entry_gets_the_ttl_of_its_class(cls: CacheClass, ttl_s: int) -> None:
    redis = fakeredis.FakeAsyncRedis()
    cache = Cache(redis, Keys("t"))
    await cache.set(cls, "k", b"v")
    assert await redis.ttl(cache.key(cls, "k")) == ttl_s


async def test_hits_and_misses_are_counted_in_the_stats_hash() -> None:
    redis = fakeredis.FakeAsyncRedis()
    keys = Keys("t")
    cache = Cache(redis, keys)
    assert await cache.get(SESSIONS, "u1") is None
    await cache.set(SESSIONS, "u1", b"session")
    assert await cache.get(SESSIONS, "u1") == b"session"
    assert await cache.get(SESSIONS, "u1") == b"session"
    assert await redis.hgetall(keys.cache_stats()) == {b"hits": b"2", b"misses": b"1"}


async def test_stats_go_to_the_queue_instance_when_entries_live_elsewhere() -> None:
    entries, queue = fakeredis.FakeAsyncRedis(), fakeredis.FakeAsyncRedis()
    cache = Cache(entries, Keys("t"), stats_redis=queue)
    await cache.set_json(STATIC, "cities", ["Berlin"])
    assert await cache.get_json(STATIC, "cities", list[str]) == ["Berlin"]
    assert await queue.hget(Keys("t").cache_stats(), "hits") == b"1"
    assert await entries.exists(Keys("t").cache_stats()) == 0


async def test_an_undecodable_entry_is_dropped_and_reads_as_absent() -> None:
    redis = fakeredis.FakeAsyncRedis()
    cache = Cache(redis, Keys("t"))
    await cache.set(STATIC, "k", b"not json")
    assert await cache.get_json(STATIC, "k", dict[str, int]) is None
    assert await redis.exists(cache.key(STATIC, "k")) == 0


async def test_json_round_trip_keeps_the_struct() -> None:
    class Item(msgspec.Struct):
        name: str

    cache = Cache(fakeredis.FakeAsyncRedis(), Keys("t"))
    await cache.set_json(API_RESPONSES, "item", Item("x"))
    assert await cache.get_json(API_RESPONSES, "item", Item) == Item("x")
