"""The Godo backend end to end: `streams api`, `streams worker` and `streams scheduler` as
real processes on a real server, driven through `streams publish` and checked in Redis and
through the HTTP API."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import msgspec
from redis.asyncio import Redis

from consumers.cache import RECOMMENDATIONS, Cache
from consumers.ml import Recommendations
from consumers.notifications import Delivery
from streams import Keys
from streams.heartbeat import live_workers
from streams.server import free_port
from tests.app_support import FlakyWebhook
from tests.e2e.conftest import Spawn
from tests.support import cli_env, run_cli, wait_until

TOKEN = "e2e-token"  # noqa: S105  # a test-only API token
EVENT = {
    "source": "Meetup",
    "external_id": "py-42",
    "title": "Python   Meetup",
    "starts_at": "2099-06-01T18:00:00+02:00",
    "city": "Berlin",
    "tags": ["Python", "Tech Talks"],
}


def publish(env: dict[str, str], queue: str, type_: str, data: object) -> str:
    result = run_cli(["publish", queue, type_, json.dumps(data)], env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


async def get_json(port: int, path: str) -> Any:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
        response = await client.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
        return response.status_code, response.json()


async def test_the_godo_backend_end_to_end(
    redis: Redis, redis_url: str, prefix: str, spawn: Spawn, process_logs: Callable[[], str]
) -> None:
    keys = Keys(prefix)
    port = free_port()
    with FlakyWebhook(failures=2) as hook:
        env = cli_env(
            redis_url,
            prefix,
            NOTIFICATIONS_WEBHOOK_HOSTS=f"127.0.0.1:{hook.port}",
            STREAMS_API_TOKEN=TOKEN,
        )
        spawn("api", "--host", "127.0.0.1", "--port", str(port), env=env)
        spawn("worker", env=env)
        spawn("scheduler", env=env)

        # Given: an event, its duplicate, and an invalid one from another producer.
        publish(env, "events", "event.discovered", EVENT)
        publish(env, "events", "event.discovered", {**EVENT, "source": "meetup "})
        rejected = run_cli(
            ["publish", "events", "event.discovered", json.dumps({**EVENT, "starts_at": "soon"})],
            env,
        )
        await redis.xadd(keys.stream("events"), {"type": "event.discovered", "data": b"{}"})
        # A webhook that fails twice, then a webhook to a host outside the allowlist.
        webhook = {"url": hook.url, "name": "Ada"}
        publish(env, "notifications", "notification.requested", _note("u1", webhook))
        publish(
            env, "notifications", "notification.requested", _note("u2", {"url": "http://10.0.0.1/"})
        )
        await wait_until(lambda: redis.exists(keys.data("event", "meetup:py-42")), timeout_s=20)
        publish(env, "ml", "recommendations.refresh", {"user_id": "u9", "interests": ["python"]})
        publish(env, "ml", "recommendations.refresh", {"user_id": "u9"})

        # Then: the stored results.
        delivered = await wait_until(
            lambda: redis.lindex(keys.data("notifications", "u1"), 0), timeout_s=15
        )
        assert hook.calls == 3, process_logs()
    assert rejected.returncode == 2
    assert rejected.stderr.count("\n") == 1
    assert msgspec.json.decode(delivered, type=Delivery).message == "Welcome to Godo, Ada!"
    assert await redis.zrange(keys.data("events", "by_start"), 0, -1) == [b"meetup:py-42"]
    assert await redis.smembers(keys.data("tag", "tech-talks")) == {b"meetup:py-42"}
    cache = Cache(redis, keys)
    recommendations = await wait_until(
        lambda: cache.get_json(RECOMMENDATIONS, "u9", Recommendations), timeout_s=10
    )
    assert [r.event_id for r in recommendations.items] == ["meetup:py-42"]
    assert await redis.exists(keys.data("notifications", "u2")) == 0

    # And: the worker counted the retries, and the API reports what happened.
    workers = await wait_until(lambda: _retried(redis, keys, 2), timeout_s=5)
    assert workers
    metrics = await wait_until(lambda: _settled_metrics(port), timeout_s=15)
    details = metrics["metrics"]["queue_details"]
    assert details["events"]["dead_letters"] == 1
    assert details["notifications"]["dead_letters"] == 1
    assert 0 < metrics["metrics"]["performance"]["cache_hit_ratio"] < 1
    status, dead = await get_json(port, "/queues/notifications/dead")
    assert status == 200
    assert dead["count"] == 1
    assert "PermanentError" in dead["dead"][0]["error"]
    assert dead["dead"][0]["attempts"] == 1
    status, health = await get_json(port, "/health")
    assert status == 200, health
    assert health["services"]["workers"]["live"] >= 1


def _note(user: str, data: dict[str, str]) -> dict[str, object]:
    return {"user_id": user, "channel": "webhook", "template": "welcome", "data": data}


async def _retried(redis: Redis, keys: Keys, at_least: int) -> bool:
    return sum(w.retried for w in await live_workers(redis, keys)) >= at_least


async def _settled_metrics(port: int) -> Any:
    """/metrics/redis once every queue is drained (depth 0), else None."""
    try:
        status, body = await get_json(port, "/metrics/redis")
    except httpx.TransportError:
        return None
    if status != 200 or any(body["metrics"]["queues"].values()):
        return None
    return body
