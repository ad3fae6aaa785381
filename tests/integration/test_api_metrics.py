"""GET /metrics/redis (JSON) and GET /metrics (Prometheus text)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from streams import retention
from streams.config import QueueSettings
from streams.heartbeat import WorkerInfo, beat
from streams.keys import Keys
from streams.messages import now_ms
from tests.integration.api_support import api_client

GROUP = "godo"
QUEUES = {"default", "events", "notifications", "ml"}


async def fill_events(redis: Redis, prefix: str) -> None:
    """events: 5 entries, 2 read (pending), 3 unread; 1 dead letter."""
    keys = Keys(prefix)
    stream = keys.stream("events")
    for _ in range(5):
        await redis.xadd(stream, {"type": "t", "data": "{}"})
    await redis.xgroup_create(stream, GROUP, id="0")
    await redis.xreadgroup(GROUP, "c1", {stream: ">"}, count=2)
    await redis.xadd(keys.dead("events"), {"type": "t", "data": "{}", "dead_error": "E: boom"})


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_redis_metrics_have_the_seed_shape_and_queue_depths(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    await fill_events(redis, prefix)

    async with api_client(redis_url, prefix) as client:
        response = await client.get("/metrics/redis")

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "healthy"
    metrics = body["metrics"]
    assert metrics["memory"]["used_mb"] > 0
    assert metrics["memory"]["peak_mb"] >= metrics["memory"]["used_mb"]
    assert metrics["connections"]["connected_clients"] >= 1
    assert "blocked_clients" in metrics["connections"]
    assert "ops_per_sec" in metrics["performance"]
    assert metrics["queues"] == {"default": 0, "events": 5, "notifications": 0, "ml": 0}
    events = metrics["queue_details"]["events"]
    assert (events["length"], events["lag"], events["pending"]) == (5, 3, 2)
    assert events["dead_letters"] == 1
    assert events["consumers"] == 1


async def test_cache_hit_ratio_comes_from_the_cache_stats_hash(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    await redis.hset(Keys(prefix).cache_stats(), mapping={"hits": 3, "misses": 1})

    async with api_client(redis_url, prefix) as client:
        body = (await client.get("/metrics/redis")).json()

    assert body["metrics"]["performance"]["cache_hit_ratio"] == 0.75


async def test_prometheus_series_exist_for_every_queue_even_empty(
    redis_url: str, prefix: str
) -> None:
    async with api_client(redis_url, prefix) as client:
        response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)
    assert found["streams_up", ()] == 1
    for name in (
        "streams_stream_length",
        "streams_group_lag",
        "streams_group_lag_seconds",
        "streams_group_pending",
        "streams_group_oldest_pending_seconds",
        "streams_group_consumers",
        "streams_dead_letters",
        "streams_workers_live",
        "streams_queue_depth",
        "streams_stream_cut_by_cap_total",
        "streams_dead_letters_cut_by_cap_total",
    ):
        for queue in QUEUES:
            assert found[name, (("queue", queue),)] == 0, name
    for queue in QUEUES:
        assert found["streams_group_lag_known", (("queue", queue),)] == 1
    for outcome in ("processed", "failed", "retried", "dead_lettered"):
        assert found["streams_worker_messages_total", (("outcome", outcome),)] == 0


async def test_dead_letters_cut_by_their_cap_show_in_queues_and_metrics(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    # Given 5 dead letters of events trimmed by a dead-letter cap of 2
    keys = Keys(prefix)
    for n in range(5):
        await redis.xadd(keys.dead("events"), {"type": "t", "data": str(n)})
    await retention.trim_dead(redis, keys, "events", QueueSettings(dead_max_len=2))

    async with api_client(redis_url, prefix) as client:
        queue = (await client.get("/queues/events")).json()
        found = samples((await client.get("/metrics")).text)

    assert (queue["dead_letters"], queue["dead_cut_by_cap"], queue["cut_by_cap"]) == (2, 3, 0)
    assert found["streams_dead_letters_cut_by_cap_total", (("queue", "events"),)] == 3
    assert found["streams_dead_letters", (("queue", "events"),)] == 2


async def test_prometheus_values_follow_the_queue_and_worker_state(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    await fill_events(redis, prefix)
    keys = Keys(prefix)
    for name, processed in (("w1", 10), ("w2", 5)):
        info = WorkerInfo(
            name=name,
            host="h",
            pid=1,
            queues=["events"],
            started_ms=now_ms(),
            processed=processed,
            retried=1,
        )
        await beat(redis, keys, info, ttl_ms=60_000)

    async with api_client(redis_url, prefix) as client:
        found = samples((await client.get("/metrics")).text)

    events = (("queue", "events"),)
    assert found["streams_stream_length", events] == 5
    assert found["streams_group_lag", events] == 3
    assert found["streams_group_pending", events] == 2
    assert found["streams_dead_letters", events] == 1
    assert found["streams_workers_live", events] == 2
    assert found["streams_stream_entries_added_total", events] == 5
    assert found["streams_worker_messages_total", (("outcome", "processed"),)] == 15
    assert found["streams_worker_messages_total", (("outcome", "retried"),)] == 2
    assert found["streams_workers", ()] == 2


async def test_prometheus_reports_redis_down_as_streams_up_zero(prefix: str) -> None:
    async with api_client("redis://127.0.0.1:1/0", prefix) as client:
        response = await client.get("/metrics")

    assert response.status_code == 200
    assert samples(response.text)["streams_up", ()] == 0


async def test_redis_metrics_answer_503_when_redis_is_down(prefix: str) -> None:
    async with api_client("redis://127.0.0.1:1/0", prefix) as client:
        response = await client.get("/metrics/redis")

    assert response.status_code == 503
    assert "redis unavailable" in response.json()["detail"]


async def commands_processed(redis: Redis) -> int:
    return int((await redis.info("stats"))["total_commands_processed"])


async def test_a_scrape_storm_reads_redis_about_once_per_second(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    async with api_client(redis_url, prefix) as client:
        start = await commands_processed(redis)
        await client.get("/metrics")
        one_scrape = await commands_processed(redis) - start - 1
        before = await commands_processed(redis)
        for _ in range(50):
            await client.get("/metrics")
        storm = await commands_processed(redis) - before - 1

    assert one_scrape > 5
    # Cached: 50 scrapes cost at most one more refresh, not 50 of them.
    assert storm <= one_scrape + 1
