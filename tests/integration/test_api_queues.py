"""GET /queues, /queues/{queue} and /workers."""

from __future__ import annotations

from redis.asyncio import Redis

from streams.heartbeat import WorkerInfo, beat
from streams.keys import Keys
from streams.messages import now_ms
from tests.integration.api_support import api_client

GROUP = "godo"


async def test_queues_lists_every_configured_queue(redis_url: str, prefix: str) -> None:
    async with api_client(redis_url, prefix) as client:
        response = await client.get("/queues")

    assert response.status_code == 200
    names = [q["queue"] for q in response.json()["queues"]]
    assert names == ["default", "events", "notifications", "ml"]


async def test_one_queue_shows_groups_and_consumers_with_idle_times(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    stream = Keys(prefix).stream("ml")
    for _ in range(3):
        await redis.xadd(stream, {"type": "t", "data": "{}"})
    await redis.xgroup_create(stream, GROUP, id="0")
    await redis.xreadgroup(GROUP, "worker-a", {stream: ">"}, count=1)

    async with api_client(redis_url, prefix) as client:
        body = (await client.get("/queues/ml")).json()

    assert (body["length"], body["lag"], body["pending"], body["depth"]) == (3, 2, 1, 3)
    assert body["lag_estimated"] is False
    [group] = body["groups"]
    assert group["name"] == GROUP
    [consumer] = group["consumers"]
    assert consumer["name"] == "worker-a"
    assert consumer["pending"] == 1
    assert consumer["idle_ms"] >= 0


async def test_lag_after_a_deletion_is_computed_and_flagged(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    stream = Keys(prefix).stream("ml")
    ids = [await redis.xadd(stream, {"type": "t", "data": "{}"}) for _ in range(4)]
    await redis.xgroup_create(stream, GROUP, id="0")
    await redis.xreadgroup(GROUP, "c", {stream: ">"}, count=1)
    await redis.xdel(stream, ids[2])

    async with api_client(redis_url, prefix) as client:
        body = (await client.get("/queues/ml")).json()

    assert body["lag"] == 2
    assert body["lag_estimated"] is True


async def test_unknown_queue_is_404(redis_url: str, prefix: str) -> None:
    async with api_client(redis_url, prefix) as client:
        response = await client.get("/queues/nope")

    assert response.status_code == 404
    assert "configured queues" in response.json()["detail"]


async def test_workers_lists_live_heartbeats(redis: Redis, redis_url: str, prefix: str) -> None:
    info = WorkerInfo(
        name="w1", host="box", pid=42, queues=["default"], started_ms=now_ms(), processed=7
    )
    await beat(redis, Keys(prefix), info, ttl_ms=60_000)

    async with api_client(redis_url, prefix) as client:
        body = (await client.get("/workers")).json()

    assert body["count"] == 1
    [worker] = body["workers"]
    assert (worker["name"], worker["pid"], worker["processed"]) == ("w1", 42, 7)
    assert worker["queues"] == ["default"]
