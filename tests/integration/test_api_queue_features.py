"""Delayed messages, deduplication and pause/resume through the HTTP API."""

from __future__ import annotations

from redis.asyncio import Redis

from streams.keys import Keys
from tests.integration.api_support import AUTH, api_client

PING = {"type": "ping", "data": {}}


async def test_a_delayed_publish_is_scheduled_listed_counted_and_cancelled(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    async with api_client(redis_url, prefix) as client:
        published = await client.post(
            "/queues/default/messages", json={**PING, "delay_ms": 60_000}, headers=AUTH
        )
        at = await client.post(
            "/queues/default/messages",
            json={**PING, "at": "2099-12-01T20:00:00Z"},
            headers=AUTH,
        )
        listed = await client.get("/queues/default/scheduled", headers=AUTH)
        queue = await client.get("/queues/default")
        metrics = await client.get("/metrics")
        redis_metrics = await client.get("/metrics/redis")
        cancelled = await client.delete(
            f"/queues/default/scheduled/{published.json()['id']}", headers=AUTH
        )
        again = await client.delete(
            f"/queues/default/scheduled/{published.json()['id']}", headers=AUTH
        )

    assert published.status_code == 202
    body = published.json()
    assert body["scheduled"] is True
    assert body["due_at"].endswith("Z")
    assert at.json()["due_at"] == "2099-12-01T20:00:00.000Z"
    assert listed.json()["count"] == 2
    assert [m["id"] for m in listed.json()["scheduled"]] == [body["id"], at.json()["id"]]
    assert queue.json()["scheduled"] == 2
    assert 'streams_scheduled_messages{queue="default"} 2.0' in metrics.text
    assert redis_metrics.json()["metrics"]["queue_details"]["default"]["scheduled"] == 2
    assert cancelled.status_code == 200
    assert again.status_code == 404
    assert await redis.zcard(Keys(prefix).scheduled("default")) == 1
    assert await redis.xlen(Keys(prefix).stream("default")) == 0


async def test_delay_and_at_together_or_a_time_without_zone_is_400(
    redis_url: str, prefix: str
) -> None:
    async with api_client(redis_url, prefix) as client:
        both = await client.post(
            "/queues/default/messages",
            json={**PING, "delay_ms": 10, "at": "2099-12-01T20:00:00Z"},
            headers=AUTH,
        )
        naive = await client.post(
            "/queues/default/messages", json={**PING, "at": "2099-12-01T20:00:00"}, headers=AUTH
        )

    assert both.status_code == 400
    assert "not both" in both.json()["detail"]
    assert naive.status_code == 400


async def test_a_second_publish_with_the_same_key_is_a_200_duplicate(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    body = {**PING, "key": "order-7", "dedupe_ms": 60_000}
    async with api_client(redis_url, prefix) as client:
        first = await client.post("/queues/default/messages", json=body, headers=AUTH)
        second = await client.post("/queues/default/messages", json=body, headers=AUTH)
        other = await client.post(
            "/queues/default/messages", json={**body, "key": "order-8"}, headers=AUTH
        )

    assert first.status_code == 202
    assert "duplicate" not in first.json()
    assert second.status_code == 200
    assert second.json() == {"id": first.json()["id"], "duplicate": True}
    assert other.status_code == 202
    assert await redis.xlen(Keys(prefix).stream("default")) == 2


async def test_pause_shows_in_queues_health_and_metrics_until_resumed(
    redis_url: str, prefix: str
) -> None:
    async with api_client(redis_url, prefix) as client:
        paused = await client.post("/queues/default/pause", headers=AUTH)
        queue = await client.get("/queues/default")
        health = await client.get("/health")
        metrics = await client.get("/metrics")
        board = await client.get("/dashboard/state")
        unauthorised = await client.post("/queues/default/resume")
        resumed = await client.post("/queues/default/resume", headers=AUTH)

    assert paused.json() == {"queue": "default", "paused": True}
    assert queue.json()["paused"] is True
    assert health.status_code == 200
    assert health.json()["status"] == "healthy"
    assert any("'default' is paused" in r for r in health.json()["reasons"])
    assert health.json()["services"]["workers"]["queues"]["default"]["paused"] is True
    assert 'streams_queue_paused{queue="default"} 1.0' in metrics.text
    dashboard_queue = next(q for q in board.json()["queues"] if q["queue"] == "default")
    assert dashboard_queue["paused"] is True  # the dashboard's state column shows it
    assert unauthorised.status_code == 401
    assert resumed.json() == {"queue": "default", "paused": False}


async def test_the_document_states_the_rules_between_publish_fields(
    redis_url: str, prefix: str
) -> None:
    async with api_client(redis_url, prefix) as client:
        document = (await client.get("/schema")).json()

    ping = document["components"]["schemas"]["DefaultPingMessage"]
    assert ping["properties"]["at"]["anyOf"][0]["format"] == "date-time"
    rules = ping["allOf"]
    assert rules[0]["then"]["required"] == ["key"]
    assert rules[1]["not"]["required"] == ["delay_ms", "at"]
