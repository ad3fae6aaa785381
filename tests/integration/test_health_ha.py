"""GET /health on replicated and unpersisted servers: role, replicas, persistence, reasons."""

from __future__ import annotations

from typing import Any

from streams.server import LocalServer
from tests.ha_support import client, replica_set, replicate
from tests.integration.api_support import api_client


async def health(server: LocalServer, prefix: str, **overrides: Any) -> tuple[int, dict[str, Any]]:
    async with api_client(server.url, prefix, **overrides) as api:
        answer = await api.get("/health")
    return answer.status_code, answer.json()


async def test_the_primary_shows_its_replicas_and_their_lag(prefix: str) -> None:
    with replica_set(1) as (primary, replica):
        await replicate(replica, primary)
        async with client(primary) as redis:
            await redis.config_set("appendonly", "yes")

        status, body = await health(primary, prefix, publish_min_replicas=1)

    details = body["services"]["redis"]["details"]
    assert status == 200
    assert details["replication"]["role"] == "master"
    assert details["replication"]["connected_replicas"] == 1
    [link] = details["replication"]["replicas"]
    assert link["address"] == f"127.0.0.1:{replica.port}"
    assert link["state"] == "online"
    assert link["lag_bytes"] >= 0
    assert details["persistence"]["aof_enabled"] is True
    assert body["reasons"] == []


async def test_more_required_replicas_than_connected_is_degraded(prefix: str) -> None:
    with replica_set(0) as (primary,):
        async with client(primary) as redis:
            await redis.config_set("save", "3600 1")

        status, body = await health(primary, prefix, publish_min_replicas=2)

    assert status == 200
    assert body["status"] == "degraded"
    assert any("STREAMS_PUBLISH_MIN_REPLICAS is 2 but 0 replicas" in r for r in body["reasons"])


async def test_a_server_without_aof_or_snapshots_is_degraded(prefix: str) -> None:
    with replica_set(0) as (primary,):  # started with --save "" and appendonly no
        status, body = await health(primary, prefix)

    persistence = body["services"]["redis"]["details"]["persistence"]
    assert status == 200
    assert persistence == {
        "aof_enabled": False,
        "rdb_snapshots": False,
        "last_save_status": "ok",
        "aof_last_write_status": "ok",
    }
    assert any("a restart loses every queued message" in r for r in body["reasons"])


async def test_reaching_a_replica_is_unhealthy_503(prefix: str) -> None:
    with replica_set(1) as (primary, replica):
        await replicate(replica, primary)

        status, body = await health(replica, prefix)

    assert status == 503
    assert body["status"] == "unhealthy"
    assert "is a read-only slave" in body["reasons"][0]
    assert body["services"]["redis"]["details"]["replication"]["primary_link"] == "up"
