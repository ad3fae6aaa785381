"""The HTTP API on a real 3-master Redis Cluster: publish, queue state, health, metrics."""

from __future__ import annotations

from collections import Counter

import msgspec

from streams.partitions import partition_of
from tests.integration.api_support import AUTH, api_client
from tests.support import make_settings


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
    # (degraded only for the test servers' persistence being off, not for the cluster)
    assert health.json()["services"]["redis"]["cluster"]["state"] == "ok", health.text
    assert not [r for r in health.json()["reasons"] if "cluster" in r], health.text
    assert metrics.status_code == 200
    assert "streams_up 1" in metrics.text
    assert redis_metrics.status_code == 200, redis_metrics.text
    assert dead.status_code == 200


async def test_a_partitioned_queue_is_summed_and_shown_per_partition(
    cluster_url: str, prefix: str
) -> None:
    settings = make_settings(cluster_url, prefix)
    queues = dict(settings.queues)
    queues["notifications"] = msgspec.structs.replace(queues["notifications"], partitions=3)
    async with api_client(cluster_url, prefix, queues=queues) as client:
        # Given six keyed messages published through the API over 3 partitions
        for n in range(6):
            published = await client.post(
                "/queues/notifications/messages",
                json={
                    "type": "notification.requested",
                    "key": f"user-{n}",
                    "data": {"user_id": f"user-{n}", "channel": "log", "template": "hi"},
                },
                headers=AUTH,
            )
            assert published.status_code == 202, published.text

        # When operators look at the queue, the metrics and the health
        queue = (await client.get("/queues/notifications")).json()
        metrics = (await client.get("/metrics")).text
        health = (await client.get("/health")).json()

    # Then the queue is the sum of its partitions, each partition also shown
    parts = {p["partition"]: p["length"] for p in queue["partitions"]}
    expected = Counter(str(partition_of(f"user-{n}", 3)) for n in range(6))
    assert parts == {str(p): expected.get(str(p), 0) for p in range(3)}
    assert queue["length"] == 6
    assert 'streams_stream_length{queue="notifications"} 6.0' in metrics
    assert 'streams_partition_stream_length{partition="0",queue="notifications"}' in metrics
    cluster = health["services"]["redis"]["cluster"]
    assert (cluster["state"], cluster["masters"], cluster["failing_nodes"]) == ("ok", 3, [])
