"""The Godo handlers run by a real worker against a real server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import msgspec
from redis.asyncio import Redis

from consumers.cache import RECOMMENDATIONS, Cache
from consumers.ml import Recommendations
from consumers.notifications import Delivery
from consumers.registry import create_registry
from consumers.settings import AppSettings, parse_hosts
from streams import Keys, Producer, Registry, Secret
from streams.deadletter import list_dead
from streams.server import LocalServer
from streams.worker import Worker
from tests.app_support import FlakyWebhook
from tests.support import cli_env, make_settings, run_cli, wait_until

EVENT = {
    "source": "meetup",
    "external_id": "e-1",
    "title": "Python  Meetup",
    "starts_at": "2099-06-01T18:00:00+02:00",
    "city": "Berlin",
    "tags": ["Python", "Tech"],
}


@asynccontextmanager
async def running_worker(
    redis: Redis, url: str, prefix: str, registry: Registry
) -> AsyncIterator[Producer]:
    settings = make_settings(url, prefix)
    worker = Worker(redis, settings, registry, name="w1")
    async with anyio.create_task_group() as tg:
        await tg.start(worker.run)
        yield Producer(redis, settings, registry)
        worker.request_stop()


async def test_events_are_stored_once_and_invalid_ones_dead_lettered(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    keys = Keys(prefix)
    async with running_worker(redis, redis_url, prefix, create_registry(AppSettings())) as producer:
        await producer.publish("events", "event.discovered", EVENT)
        await producer.publish("events", "event.discovered", {**EVENT, "title": "Python Meetup #2"})
        # An invalid entry written by some other producer, bypassing validation.
        await redis.xadd(
            keys.stream("events"), {"type": "event.discovered", "data": b'{"source": "x"}'}
        )
        dead = await wait_until(lambda: list_dead(redis, keys, "events"))
        stored = await wait_until(
            lambda: redis.get(keys.data("event", "meetup:e-1")),
        )
    assert len(dead) == 1
    assert dead[0].attempts == 1
    assert await redis.zcard(keys.data("events", "by_start")) == 1
    assert b"Python Meetup" in stored
    assert await redis.smembers(keys.data("tag", "python")) == {b"meetup:e-1"}


async def test_a_flaky_webhook_is_retried_until_it_succeeds(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    keys = Keys(prefix)
    with FlakyWebhook(failures=2) as hook:
        settings = AppSettings(webhook_hosts=parse_hosts(f"127.0.0.1:{hook.port}"))
        async with running_worker(redis, redis_url, prefix, create_registry(settings)) as producer:
            payload = {
                "user_id": "u1",
                "channel": "webhook",
                "template": "welcome",
                "data": {"url": hook.url, "name": "Ada"},
            }
            await producer.publish("notifications", "notification.requested", payload)
            raw = await wait_until(lambda: redis.lindex(keys.data("notifications", "u1"), 0))
        assert hook.calls == 3
    assert msgspec.json.decode(raw, type=Delivery).message == "Welcome to Godo, Ada!"
    assert await list_dead(redis, keys, "notifications") == []


async def test_a_webhook_outside_the_allowlist_is_dead_lettered_without_a_call(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    keys = Keys(prefix)
    with FlakyWebhook(failures=0) as hook:
        settings = AppSettings(webhook_hosts=parse_hosts("hooks.example.com"))
        async with running_worker(redis, redis_url, prefix, create_registry(settings)) as producer:
            payload = {
                "user_id": "u1",
                "channel": "webhook",
                "template": "t",
                "data": {"url": hook.url},
            }
            await producer.publish("notifications", "notification.requested", payload)
            dead = await wait_until(lambda: list_dead(redis, keys, "notifications"))
        assert hook.calls == 0
    assert dead[0].attempts == 1
    assert "PermanentError" in dead[0].error


async def test_a_refresh_caches_recommendations_from_stored_events(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    keys = Keys(prefix)
    async with running_worker(redis, redis_url, prefix, create_registry(AppSettings())) as producer:
        await producer.publish("events", "event.discovered", EVENT)
        await wait_until(lambda: redis.exists(keys.data("event", "meetup:e-1")))
        refresh = {"user_id": "u9", "interests": ["python"]}
        await producer.publish("ml", "recommendations.refresh", refresh)
        cache = Cache(redis, keys)
        await wait_until(lambda: redis.exists(cache.key(RECOMMENDATIONS, "u9")))
    result = await cache.get_json(RECOMMENDATIONS, "u9", Recommendations)
    assert result is not None
    assert [r.event_id for r in result.items] == ["meetup:e-1"]
    assert 3590 < await redis.ttl(cache.key(RECOMMENDATIONS, "u9")) <= 3600


async def test_with_a_separate_cache_instance_entries_go_there_and_counters_stay(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    keys = Keys(prefix)
    with LocalServer() as cache_server:
        settings = AppSettings(cache_redis_url=Secret(cache_server.url))
        async with running_worker(redis, redis_url, prefix, create_registry(settings)) as producer:
            await producer.publish("ml", "recommendations.refresh", {"user_id": "u1"})
            async with Redis.from_url(cache_server.url) as cache_redis:
                cache = Cache(cache_redis, keys, stats_redis=redis)
                await wait_until(lambda: cache_redis.exists(cache.key(RECOMMENDATIONS, "u1")))
    assert await redis.exists(cache.key(RECOMMENDATIONS, "u1")) == 0
    assert await redis.hget(keys.cache_stats(), "misses") == b"1"


def test_a_bad_application_setting_stops_the_worker_with_one_line(
    redis_url: str, prefix: str
) -> None:
    env = cli_env(redis_url, prefix, NOTIFICATIONS_WEBHOOK_HOSTS="http://hooks.test")
    for command in (["worker"], ["scheduler"]):
        result = run_cli(command, env, timeout_s=20)
        assert result.returncode == 2
        assert result.stderr.strip().count("\n") == 0
        assert "NOTIFICATIONS_WEBHOOK_HOSTS" in result.stderr
