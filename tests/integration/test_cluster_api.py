"""The HTTP API on a real 3-master Redis Cluster: publish, queue state, health, metrics."""

from __future__ import annotations

from tests.integration.api_support import AUTH, api_client


async def test_api_publishes_and_reports_on_a_cluster(cluster_url: str, prefix: str) -> None:
    async with api_client(cluster_url, prefix) as client:
        # Given a message published through the API
        published = await client.post(
            "/queues/notifications/messages",
            json={
                "type": "notification.requested",
                "data": {"user_id": "u1", "channel": "log", "template": "hi"},
            },
            headers=AUTH,
        )
        assert published.status_code == 202, published.text

        # When operators look at the queue, the health and the metrics
        queue = await client.get("/queues/notifications")
        health = await client.get("/health")
        metrics = await client.get("/metrics")
        redis_metrics = await client.get("/metrics/redis")
        dead = await client.get("/queues/notifications/dead", headers=AUTH)

    # Then every view answers from the cluster
    assert queue.status_code == 200, queue.text
    assert queue.json()["length"] == 1
    assert health.status_code in (200, 503), health.text
    assert health.json()["services"]["redis"]["status"] == "healthy", health.text
    assert metrics.status_code == 200
    assert "streams_up 1" in metrics.text
    assert redis_metrics.status_code == 200, redis_metrics.text
    assert dead.status_code == 200
