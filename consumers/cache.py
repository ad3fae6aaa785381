"""The seed's cache strategy as a small typed helper.

Every entry gets the TTL of its class, so a shared instance may run `volatile-lru` and evict
only cache entries, never streams. Hits and misses are counted (HINCRBY) in the stats hash
that the API reads for `cache_hit_ratio`; that hash lives on the queue Redis, while entries
live on the cache Redis when CACHE_REDIS_URL names a separate instance.
"""

from __future__ import annotations

from typing import Final, TypeVar

import msgspec
from redis.asyncio import Redis

from consumers.values import as_bytes
from streams import Context, Keys, Secret

T = TypeVar("T")


class CacheClass(msgspec.Struct, frozen=True):
    """A kind of cached data: its key namespace and time to live."""

    namespace: str
    ttl_s: int


SESSIONS: Final = CacheClass("session", 30 * 60)
API_RESPONSES: Final = CacheClass("api", 5 * 60)
RECOMMENDATIONS: Final = CacheClass("recommendations", 60 * 60)
STATIC: Final = CacheClass("static", 24 * 60 * 60)

_encoder: Final = msgspec.json.Encoder()


class Cache:
    """Get and set cache entries of one deployment prefix, counting hits and misses.

    Args:
        redis: where entries are stored (the cache instance, or the queue instance).
        keys: key builders of the deployment prefix.
        stats_redis: where the hit/miss hash lives; defaults to redis. Pass the queue
            instance when entries live on a separate cache instance.
    """

    def __init__(self, redis: Redis, keys: Keys, stats_redis: Redis | None = None) -> None:
        self.redis = redis
        self.keys = keys
        self.stats_redis = stats_redis or redis

    def key(self, cls: CacheClass, name: str) -> str:
        return self.keys.cache(cls.namespace, name)

    async def get(self, cls: CacheClass, name: str) -> bytes | None:
        """Return the cached bytes or None, counting a hit or a miss."""
        value = await self.redis.get(self.key(cls, name))
        field = "misses" if value is None else "hits"
        await self.stats_redis.hincrby(self.keys.cache_stats(), field, 1)
        return None if value is None else as_bytes(value)

    async def set(self, cls: CacheClass, name: str, value: bytes) -> None:
        """Store value with the TTL of its class."""
        await self.redis.set(self.key(cls, name), value, ex=cls.ttl_s)

    async def delete(self, cls: CacheClass, name: str) -> None:
        await self.redis.delete(self.key(cls, name))

    async def get_json(self, cls: CacheClass, name: str, type_: type[T]) -> T | None:
        """Return the cached value decoded as type_, or None; an undecodable entry is a miss."""
        raw = await self.get(cls, name)
        if raw is None:
            return None
        try:
            return msgspec.json.decode(raw, type=type_)
        except msgspec.DecodeError:
            await self.delete(cls, name)
            return None

    async def set_json(self, cls: CacheClass, name: str, value: object) -> None:
        await self.set(cls, name, _encoder.encode(value))

    async def stats(self) -> tuple[int, int]:
        """Return (hits, misses) counted so far."""
        hits, misses = await self.stats_redis.hmget(self.keys.cache_stats(), ["hits", "misses"])
        return int(hits or 0), int(misses or 0)


class CacheProvider:
    """Gives handlers a Cache: on CACHE_REDIS_URL when set, else on the worker's own client.

    The separate client is created on first use and closed by close() (a registry cleanup).
    """

    def __init__(self, cache_url: Secret | None) -> None:
        self.cache_url = cache_url
        self._client: Redis | None = None

    async def for_context(self, ctx: Context) -> Cache:
        if self.cache_url is None:
            return Cache(ctx.redis, ctx.keys)
        if self._client is None:
            self._client = Redis.from_url(self.cache_url.reveal())
        return Cache(self._client, ctx.keys, stats_redis=ctx.redis)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
