"""A write through the API shows in the next read at once, despite the one-second cache."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from tests.integration.api_support import AUTH, api_client
from tests.integration.test_api_admin import add_dead


async def state(client: AsyncTestClient[Litestar]) -> dict[str, Any]:
    response = await client.get("/queues/default")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_a_purge_shows_at_once(redis: Redis, redis_url: str, prefix: str) -> None:
    await add_dead(redis, prefix, "default", 2)
    async with api_client(redis_url, prefix) as client:
        assert (await state(client))["dead_letters"] == 2  # now cached for a second
        purged = await client.delete("/queues/default/dead", headers=AUTH)
        assert purged.json() == {"purged": 2}
        assert (await state(client))["dead_letters"] == 0


async def test_a_replay_shows_at_once(redis: Redis, redis_url: str, prefix: str) -> None:
    await add_dead(redis, prefix, "default", 2)
    async with api_client(redis_url, prefix) as client:
        before = await state(client)
        replayed = await client.post("/queues/default/dead/replay", json={}, headers=AUTH)
        assert replayed.json() == {"replayed": 2}
        after = await state(client)
    assert (before["dead_letters"], after["dead_letters"]) == (2, 0)
    assert after["length"] == before["length"] + 2


async def test_a_publish_shows_at_once(redis_url: str, prefix: str) -> None:
    async with api_client(redis_url, prefix) as client:
        before = await state(client)
        body = {"type": "ping", "data": {"message": "hi"}}
        published = await client.post("/queues/default/messages", json=body, headers=AUTH)
        assert published.status_code == 202
        assert (await state(client))["length"] == before["length"] + 1
        listed = (await client.get("/queues")).json()["queues"]
    assert next(q for q in listed if q["queue"] == "default")["length"] == before["length"] + 1
