"""GET /health: healthy, each degraded reason, and unhealthy within 2 s when Redis is gone."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis

from streams.heartbeat import WorkerInfo, beat
from streams.keys import Keys
from streams.messages import now_ms
from streams.server import LocalServer
from tests.integration.api_support import api_client

GROUP = "godo"


@pytest.fixture(scope="module")
def own_server() -> Iterator[LocalServer]:
    """A server of this module's own, whose configuration the tests may change."""
    with LocalServer() as server:
        yield server


@pytest.fixture
async def own_redis(own_server: LocalServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(own_server.url)
    yield client
    await client.config_set("maxmemory-policy", "noeviction")
    await client.config_set("maxmemory", 0)
    await client.aclose()


async def live_worker(redis: Redis, prefix: str, *queues: str) -> None:
    info = WorkerInfo(name="w1", host="h", pid=1, queues=list(queues), started_ms=now_ms())
    await beat(redis, Keys(prefix), info, ttl_ms=60_000)


async def test_empty_system_is_healthy(redis_url: str, prefix: str) -> None:
    async with api_client(redis_url, prefix) as client:
        response = await client.get("/health")

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "healthy"
    assert body["reasons"] == []
    details = body["services"]["redis"]["details"]
    assert details["version"]
    assert details["connected_clients"] >= 1
    assert set(body["services"]["workers"]["queues"]) == {
        "default",
        "events",
        "notifications",
        "ml",
    }


async def test_backlog_without_a_live_worker_is_degraded(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    await redis.xadd(Keys(prefix).stream("events"), {"type": "t", "data": "{}"})

    async with api_client(redis_url, prefix) as client:
        response = await client.get("/health")

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert any("no workers available" in r and "events" in r for r in body["reasons"])
    assert body["services"]["workers"]["queues"]["events"]["status"] == "degraded"


async def test_backlog_with_a_live_worker_is_healthy(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    await redis.xadd(Keys(prefix).stream("events"), {"type": "t", "data": "{}"})
    await live_worker(redis, prefix, "events")

    async with api_client(redis_url, prefix) as client:
        body = (await client.get("/health")).json()

    assert body["status"] == "healthy"
    assert body["services"]["workers"]["queues"]["events"]["live_workers"] == 1


async def test_stale_pending_entry_is_degraded(redis: Redis, redis_url: str, prefix: str) -> None:
    stream = Keys(prefix).stream("default")
    await redis.xadd(stream, {"type": "t", "data": "{}"}, id=f"{now_ms() - 10_000}-0")
    await redis.xgroup_create(stream, GROUP, id="0")
    await redis.xreadgroup(GROUP, "c", {stream: ">"})
    await live_worker(redis, prefix, "default")

    async with api_client(redis_url, prefix, api_stale_pending_ms=5_000) as client:
        body = (await client.get("/health")).json()

    assert body["status"] == "degraded"
    assert [r for r in body["reasons"] if "oldest pending entry" in r]
    assert body["services"]["workers"]["queues"]["default"]["pending"] == 1


async def test_allkeys_eviction_policy_is_degraded(
    own_server: LocalServer, own_redis: Redis, prefix: str
) -> None:
    await own_redis.config_set("maxmemory-policy", "allkeys-lru")

    async with api_client(own_server.url, prefix) as client:
        body = (await client.get("/health")).json()

    assert body["status"] == "degraded"
    assert any("allkeys-lru" in r for r in body["reasons"])
    assert body["services"]["redis"]["status"] == "degraded"


async def test_memory_above_80_percent_of_maxmemory_is_degraded(
    own_server: LocalServer, own_redis: Redis, prefix: str
) -> None:
    used = int((await own_redis.info("memory"))["used_memory"])
    await own_redis.config_set("maxmemory", int(used * 1.1))

    async with api_client(own_server.url, prefix) as client:
        body = (await client.get("/health")).json()

    assert body["status"] == "degraded"
    assert any("of maxmemory" in r for r in body["reasons"])


async def test_redis_stopped_is_unhealthy_within_two_seconds(prefix: str) -> None:
    server = LocalServer().start()
    try:
        async with api_client(server.url, prefix) as client:
            assert (await client.get("/health")).status_code == 200
            server.stop()
            started = time.monotonic()
            response = await client.get("/health")
            elapsed = time.monotonic() - started
    finally:
        server.stop()

    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"
    assert response.json()["services"]["redis"]["status"] == "unhealthy"
    assert elapsed < 2.0


async def test_redis_that_hangs_is_unhealthy_within_two_seconds(prefix: str) -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        async with api_client(url, prefix) as client:
            started = time.monotonic()
            response = await client.get("/health")
            elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert elapsed < 2.0


async def test_health_is_healthy_again_right_after_a_redis_restart(prefix: str) -> None:
    first = LocalServer().start()
    second = LocalServer(port=first.port)
    try:
        async with api_client(first.url, prefix) as client:
            assert (await client.get("/health")).status_code == 200
            first.stop()
            second.start()  # the same address, a fresh process
            response = await client.get("/health")
    finally:
        first.stop()
        second.stop()

    assert response.status_code == 200
