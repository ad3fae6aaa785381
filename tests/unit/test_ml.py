from __future__ import annotations

from datetime import UTC, datetime, timedelta

import fakeredis

from consumers.cache import RECOMMENDATIONS, Cache
from consumers.events import Event, store
from consumers.ml import (
    Recommendations,
    Recommender,
    RefreshActiveUsers,
    now_ms,
    rank,
    refresh,
    score,
)
from streams import Context, Keys
from tests.app_support import make_context


def event(id_: str, title: str, tags: list[str], days: int = 1, city: str | None = None) -> Event:
    return Event(
        id=id_,
        source="s",
        external_id=id_,
        title=title,
        starts_at=datetime.now(UTC) + timedelta(days=days),
        venue=None,
        city=city,
        tags=tags,
    )


def test_tags_weigh_more_than_title_and_city_words() -> None:
    assert score(event("a", "Jazz in the park", ["jazz"]), ["Jazz"]) == 4
    assert score(event("b", "Rock night", ["rock"], city="Berlin"), ["berlin", "jazz"]) == 1
    assert score(event("c", "Quiet", []), ["jazz"]) == 0


def test_rank_keeps_positive_scores_best_first_then_soonest() -> None:
    events = [
        event("late", "Jazz", ["jazz"], days=5),
        event("soon", "Jazz", ["jazz"], days=1),
        event("best", "Jazz", ["jazz", "blues"], days=9),
        event("none", "Opera", ["opera"]),
    ]
    ranked = rank(events, ["jazz", "blues"], top_n=2)
    assert [r.event_id for r in ranked] == ["best", "soon"]


async def test_refresh_caches_results_for_an_hour_and_remembers_interests() -> None:
    redis = fakeredis.FakeAsyncRedis()
    keys = Keys("t")
    cache = Cache(redis, keys)
    await store(redis, keys, event("s:1", "Jazz brunch", ["jazz"]))
    await store(redis, keys, event("s:past", "Jazz", ["jazz"], days=-1))
    _, new = await refresh(redis, keys, cache, "u1", ["jazz"])
    again, new_again = await refresh(redis, keys, cache, "u1", None)
    assert [r.event_id for r in again.items] == ["s:1"]
    assert (new, new_again) == (1, 0)
    assert await redis.ttl(cache.key(RECOMMENDATIONS, "u1")) == 3600
    cached = await cache.get_json(RECOMMENDATIONS, "u1", Recommendations)
    assert cached is not None
    assert cached.items == again.items
    assert await redis.zscore(keys.data("users", "active"), "u1") is not None


async def test_a_scheduled_refresh_does_not_keep_a_user_active() -> None:
    redis = fakeredis.FakeAsyncRedis()
    keys = Keys("t")
    await refresh(redis, keys, Cache(redis, keys), "u1", ["jazz"], touch=False)
    assert await redis.zscore(keys.data("users", "active"), "u1") is None


async def test_the_scheduled_refresh_covers_only_recently_active_users() -> None:
    redis = fakeredis.FakeAsyncRedis()
    keys = Keys("t")
    cache = Cache(redis, keys)
    await store(redis, keys, event("s:1", "Jazz", ["jazz"]))
    for user in ("recent", "gone"):
        await redis.set(keys.data("user", user, "interests"), b'["jazz"]')
    await redis.zadd(keys.data("users", "active"), {"recent": now_ms() - 1_000, "gone": 1})

    async def same_cache(ctx: Context) -> Cache:
        return cache

    ctx = make_context(redis, "t", "ml", "recommendations.refresh_active")
    await Recommender(same_cache).handle_active(RefreshActiveUsers(window_ms=60_000), ctx)
    assert await cache.get_json(RECOMMENDATIONS, "recent", Recommendations) is not None
    assert await redis.exists(cache.key(RECOMMENDATIONS, "gone")) == 0
