"""The `ml` queue: score upcoming events against a user's interests, cache the top results.

Storage (under Keys.data): `user:<id>:interests` (JSON list) and `users:active` (sorted set of
user ids scored by their last refresh, ms). Results go to the cache for one hour.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated, Final

import msgspec
from redis.asyncio import Redis

from consumers.cache import RECOMMENDATIONS, Cache
from consumers.events import Event, load, normalise_tag
from consumers.values import as_text
from streams import Context, Keys, Registry

log = logging.getLogger(__name__)

TOP_N: Final = 20
CANDIDATES: Final = 2_000
_WORDS: Final = re.compile(r"[a-z0-9]+")
Interest = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class RefreshRecommendations(msgspec.Struct, frozen=True, kw_only=True):
    """Recompute one user's recommendations; interests replace the stored ones when given."""

    user_id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    interests: Annotated[list[Interest], msgspec.Meta(max_length=100)] | None = None


class RefreshActiveUsers(msgspec.Struct, frozen=True, kw_only=True):
    """Scheduled: refresh every user active within window_ms."""

    window_ms: Annotated[int, msgspec.Meta(ge=1)] = 24 * 3_600_000


class Recommendation(msgspec.Struct, frozen=True, kw_only=True):
    event_id: str
    title: str
    starts_at: str
    score: int


class Recommendations(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    generated_ms: int
    items: list[Recommendation]


def score(event: Event, interests: Iterable[str]) -> int:
    """Score an event: 3 per interest among its tags, 1 per interest in its title or city."""
    words = set(_WORDS.findall(event.title.lower()))
    city = (event.city or "").lower()
    total = 0
    for interest in interests:
        tag = normalise_tag(interest)
        if tag in event.tags:
            total += 3
        if interest.lower() in words or (city and interest.lower() == city):
            total += 1
    return total


def rank(events: Iterable[Event], interests: list[str], top_n: int = TOP_N) -> list[Recommendation]:
    """Return the top_n events with a positive score, best first, sooner first on ties."""
    scored = [(score(e, interests), e) for e in events]
    best = sorted((s for s in scored if s[0] > 0), key=lambda s: (-s[0], s[1].starts_ms, s[1].id))
    return [
        Recommendation(event_id=e.id, title=e.title, starts_at=e.starts_at.isoformat(), score=s)
        for s, e in best[:top_n]
    ]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


async def upcoming(redis: Redis, keys: Keys, after_ms: int) -> list[Event]:
    ids = await redis.zrangebyscore(
        keys.data("events", "by_start"), after_ms, "+inf", start=0, num=CANDIDATES
    )
    return await load(redis, keys, [as_text(i) for i in ids])


async def cached(cache: Cache, user_id: str) -> Recommendations | None:
    """Return a user's cached recommendations (counted as a cache hit or miss)."""
    return await cache.get_json(RECOMMENDATIONS, user_id, Recommendations)


async def refresh(
    redis: Redis,
    keys: Keys,
    cache: Cache,
    user_id: str,
    interests: list[str] | None,
    *,
    touch: bool = True,
    events: list[Event] | None = None,
) -> tuple[Recommendations, int]:
    """Rank upcoming events for a user and cache the result for an hour.

    Interests, when given, replace the stored ones. With touch, the user counts as active
    (scheduled refreshes don't touch, so inactive users age out). events, when given, are
    the upcoming events to rank (loaded once for many users). Returns the result and
    how many of its events were not in the previous cached result.
    """
    interests_key = keys.data("user", user_id, "interests")
    if interests is None:
        raw = await redis.get(interests_key)
        interests = msgspec.json.decode(raw, type=list[str]) if raw else []
    else:
        await redis.set(interests_key, msgspec.json.encode(interests))
    now = now_ms()
    result = Recommendations(
        user_id=user_id,
        generated_ms=now,
        items=rank(await upcoming(redis, keys, now) if events is None else events, interests),
    )
    previous = await cached(cache, user_id)
    await cache.set_json(RECOMMENDATIONS, user_id, result)
    if touch:
        await redis.zadd(keys.data("users", "active"), {user_id: now})
    seen = {item.event_id for item in previous.items} if previous else set()
    return result, len({item.event_id for item in result.items} - seen)


CacheFactory = Callable[[Context], Awaitable[Cache]]


class Recommender:
    """The ml handlers; get_cache gives the Cache for a handler's context."""

    def __init__(self, get_cache: CacheFactory) -> None:
        self.get_cache = get_cache

    async def handle_refresh(self, payload: RefreshRecommendations, ctx: Context) -> None:
        result, new = await refresh(
            ctx.redis, ctx.keys, await self.get_cache(ctx), payload.user_id, payload.interests
        )
        log.info(
            "queue=%s id=%s user=%s: %d recommendations, %d new",
            ctx.queue,
            ctx.id,
            payload.user_id,
            len(result.items),
            new,
        )

    async def handle_active(self, payload: RefreshActiveUsers, ctx: Context) -> None:
        since = now_ms() - payload.window_ms
        users = await ctx.redis.zrangebyscore(ctx.keys.data("users", "active"), since, "+inf")
        cache = await self.get_cache(ctx)
        events = await upcoming(ctx.redis, ctx.keys, now_ms())
        for user in users:
            await refresh(
                ctx.redis, ctx.keys, cache, as_text(user), None, touch=False, events=events
            )
        log.info("queue=%s id=%s refreshed %d active users", ctx.queue, ctx.id, len(users))


def register(registry: Registry, get_cache: CacheFactory) -> None:
    recommender = Recommender(get_cache)
    registry.message(
        "ml", "recommendations.refresh", RefreshRecommendations, recommender.handle_refresh
    )
    registry.message(
        "ml", "recommendations.refresh_active", RefreshActiveUsers, recommender.handle_active
    )
