"""Durable publish (STREAMS_PUBLISH_MIN_REPLICAS): confirmed by replicas, or a clear error.

Failover test 4: with no replica connected, every interface says the publish is not durable,
the entry stays in the stream, and godo-streams itself appends it only once.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from consumers.registry import create_registry
from consumers.settings import AppSettings
from streams import Keys, NotDurableError, Outgoing, Producer
from streams.client import create_redis
from streams.config import Settings
from streams.errors import ConfigError
from streams.server import LocalServer
from tests.ha_support import replica_set, replicate, server_binary
from tests.integration.api_support import AUTH, api_client
from tests.support import cli_env, make_settings, run_cli

REGISTRY = create_registry(AppSettings())
PING = {"message": "hi"}


def durable(
    url: str, prefix: str, replicas: int = 1, timeout_ms: int = 100, **more: object
) -> Settings:
    """Durable-publish settings; a short timeout where a shortfall is the point of the test."""
    return msgspec.structs.replace(
        make_settings(url, prefix),
        publish_min_replicas=replicas,
        publish_replica_timeout_ms=timeout_ms,
        **more,
    )


async def stream_length(redis: Redis, prefix: str, queue: str = "default") -> int:
    return int(await redis.xlen(Keys(prefix).stream(queue)))


async def test_producer_without_a_replica_raises_and_the_entry_stays_once(
    redis_url: str, redis: Redis, prefix: str
) -> None:
    settings = durable(redis_url, prefix)
    async with create_redis(settings) as client:
        with pytest.raises(NotDurableError) as caught:
            await Producer(client, settings, REGISTRY).publish("default", "ping", PING)

    assert "0 of 1 required replicas acknowledged it within 100 ms" in str(caught.value)
    assert "publishing it again may run it twice" in str(caught.value)
    assert await stream_length(redis, prefix) == 1
    assert caught.value.ids == [(await redis.xrange(Keys(prefix).stream("default")))[0][0].decode()]


async def test_a_batch_without_a_replica_names_every_id_and_stays_whole(
    redis_url: str, redis: Redis, prefix: str
) -> None:
    settings = durable(redis_url, prefix)
    batch = [Outgoing(type="ping", data={"message": str(i)}) for i in range(3)]
    async with create_redis(settings) as client:
        with pytest.raises(NotDurableError) as caught:
            await Producer(client, settings, REGISTRY).publish_many("default", batch)

    assert len(caught.value.ids) == 3
    assert await stream_length(redis, prefix) == 3


async def test_the_api_answers_503_naming_the_shortfall(
    redis_url: str, redis: Redis, prefix: str
) -> None:
    async with api_client(
        redis_url, prefix, publish_min_replicas=2, publish_replica_timeout_ms=100
    ) as client:
        answer = await client.post(
            "/queues/default/messages", json={"type": "ping", "data": PING}, headers=AUTH
        )

    assert answer.status_code == 503
    assert "0 of 2 required replicas" in answer.json()["detail"]
    assert await stream_length(redis, prefix) == 1


def test_streams_publish_exits_1_with_one_line(redis_url: str, prefix: str) -> None:
    env = cli_env(
        redis_url,
        prefix,
        STREAMS_PUBLISH_MIN_REPLICAS="1",
        STREAMS_PUBLISH_REPLICA_TIMEOUT_MS="100",
    )

    result = run_cli(["publish", "default", "ping", '{"message": "hi"}'], env)
    with SyncRedis.from_url(redis_url) as redis:
        length = redis.xlen(Keys(prefix).stream("default"))

    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("streams: error: queue 'default': entry ")
    assert "0 of 1 required replicas" in result.stderr
    assert length == 1


async def test_with_a_replica_in_sync_publishes_are_confirmed(prefix: str) -> None:
    with replica_set(1) as (primary, replica):
        await replicate(replica, primary)
        # The maximum timeout: a replica that is in sync answers at once, a loaded machine
        # may still take more than 100 ms to schedule it.
        settings = durable(primary.url, prefix, timeout_ms=2_000)
        async with create_redis(settings) as client:
            producer = Producer(client, settings, REGISTRY)
            one = await producer.publish("default", "ping", PING)
            many = await producer.publish_many(
                "default", [Outgoing(type="ping", data=PING) for _ in range(5)]
            )
            async with Redis(port=replica.port) as on_replica:
                held = await on_replica.xrange(Keys(prefix).stream("default"))

    assert [entry_id.decode() for entry_id, _ in held] == [one, *many]


async def test_fsync_with_aof_off_is_refused_before_anything_is_written(
    redis_url: str, redis: Redis, prefix: str
) -> None:
    settings = durable(redis_url, prefix, replicas=0, publish_fsync=True)
    async with create_redis(settings) as client:
        with pytest.raises(ConfigError, match=r"^STREAMS_PUBLISH_FSYNC: the server has appendonly"):
            await Producer(client, settings, REGISTRY).publish("default", "ping", PING)

    assert await stream_length(redis, prefix) == 0


async def test_the_api_answers_503_when_fsync_is_asked_of_a_server_without_aof(
    redis_url: str, redis: Redis, prefix: str
) -> None:
    async with api_client(redis_url, prefix, publish_fsync=True) as client:
        answer = await client.post(
            "/queues/default/messages", json={"type": "ping", "data": PING}, headers=AUTH
        )

    assert answer.status_code == 503
    assert answer.json()["detail"].startswith("STREAMS_PUBLISH_FSYNC: the server has appendonly")
    assert await stream_length(redis, prefix) == 0


async def test_fsync_with_aof_on_waits_for_the_local_fsync(tmp_path: Path, prefix: str) -> None:
    with LocalServer(binary=server_binary(), data_dir=tmp_path) as server:
        # appendfsync everysec: the fsync that WAITAOF waits for comes within about a second.
        settings = durable(server.url, prefix, replicas=0, timeout_ms=2_000, publish_fsync=True)
        async with create_redis(settings) as client:
            entry_id = await Producer(client, settings, REGISTRY).publish("default", "ping", PING)
            assert await client.xlen(Keys(prefix).stream("default")) == 1

    assert entry_id


async def test_a_delayed_or_deduplicated_publish_is_confirmed_too(
    redis_url: str, redis: Redis, prefix: str
) -> None:
    # Without a replica: the scheduling and the keyed batch happen once, and say so
    settings = msgspec.structs.replace(
        durable(redis_url, prefix),
        queues={
            **make_settings(redis_url, prefix).queues,
            "default": msgspec.structs.replace(
                make_settings(redis_url, prefix).queues["default"], dedupe_ms=60_000
            ),
        },
    )
    async with create_redis(settings) as client:
        producer = Producer(client, settings, REGISTRY)
        with pytest.raises(NotDurableError) as delayed:
            await producer.publish("default", "ping", PING, delay_ms=60_000)
        with pytest.raises(NotDurableError) as batch:
            await producer.publish_many(
                "default", [Outgoing(type="ping", data=PING, key="k") for _ in range(2)]
            )

    (scheduled_id,) = delayed.value.ids
    assert await redis.zscore(Keys(prefix).scheduled("default"), scheduled_id) is not None
    assert len(set(batch.value.ids)) == 1  # the second is a duplicate of the first
    assert await stream_length(redis, prefix) == 1


async def test_with_a_replica_a_delayed_publish_is_confirmed(prefix: str) -> None:
    with replica_set(1) as (primary, replica):
        await replicate(replica, primary)
        # Two seconds, not 100 ms: a loaded machine must not turn a slow ack into a failure.
        settings = durable(primary.url, prefix, timeout_ms=2_000)
        async with create_redis(settings) as client:
            published = await Producer(client, settings, REGISTRY).publish(
                "default", "ping", PING, delay_ms=60_000, key="k", dedupe_ms=60_000
            )
            async with Redis(port=replica.port) as on_replica:
                due = await on_replica.zscore(Keys(prefix).scheduled("default"), published)

    assert published.scheduled
    assert due == published.due_ms
