"""A master with a replica dies while a worker drains and a producer publishes (kill -9)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import msgspec
import pytest
import redis as sync_redis
from redis.exceptions import RedisError

from streams import Producer
from streams.client import create_redis
from streams.cluster import LocalCluster
from streams.keys import Keys
from tests.apps import Work, registry
from tests.e2e.test_cluster_processes import StartWorker, attempts, handled, workers
from tests.integration.api_support import api_client
from tests.integration.conftest import prefix
from tests.support import FAST_QUEUE, make_settings, wait_until_sync

__all__ = ["prefix", "workers"]


@pytest.fixture(scope="module")
def replicated() -> Iterator[LocalCluster]:
    with LocalCluster(masters=3, replicas=1) as cluster:
        yield cluster


async def test_a_master_failover_is_ridden_through(
    replicated: LocalCluster, prefix: str, workers: StartWorker, tmp_path: Path
) -> None:
    url = replicated.url
    settings = make_settings(url, prefix, default=msgspec.structs.replace(FAST_QUEUE, partitions=4))
    client = sync_redis.RedisCluster.from_url(url)
    redis = create_redis(settings)
    producer = Producer(redis, settings, registry)
    acknowledged: list[int] = []
    refused = 0

    async def publish(ns: range) -> None:
        nonlocal refused
        for n in ns:
            try:
                await producer.publish("default", "test.work", Work(n=n), key=f"k{n}")
                acknowledged.append(n)
            except (RedisError, OSError):
                refused += 1
            await anyio.sleep(0.005)

    try:
        # Given a worker draining a queue of 4 partitions while a producer publishes
        workers(url, prefix)
        await publish(range(300))
        wait_until_sync(lambda: len(handled(client, prefix)) >= 100, timeout_s=20)
        # When the master of partition 0 is killed with SIGKILL mid-stream
        slot = client.keyslot(Keys(prefix).of(0).stream("default"))
        victim = replicated.master_of(slot)
        victim.kill()
        killed = time.monotonic()
        await publish(range(300, 600))
        # Then its replica takes over and work resumes within 15 s
        wait_until_sync(lambda: _served_by_other(replicated, slot, victim.port), timeout_s=15)
        promoted_s = time.monotonic() - killed
        await publish(range(600, 700))
        wait_until_sync(lambda: set(range(600, 700)) <= handled(client, prefix), timeout_s=15)
        resumed_s = time.monotonic() - killed
        # Entries of the dead master's consumers come back after the visibility timeout; a loaded
        # machine needs more than 15 s for that (the 15 s promise above is checked by resumed_s).
        wait_until_sync(
            lambda: _settled(client, prefix, acknowledged), timeout_s=30, interval_s=0.2
        )
        done = handled(client, prefix)
        lost = sorted(set(acknowledged) - _in_streams(client, prefix))
        unrecorded = sorted(set(acknowledged) - done)
        redelivered = sum(1 for count in attempts(client, prefix).values() if count > 1)
        print(  # noqa: T201  # the figures the issue asks to report
            f"failover: replica serving after {promoted_s:.1f}s, new work handled after "
            f"{resumed_s:.1f}s; published {len(acknowledged)} acknowledged, {refused} refused; "
            f"redelivered {redelivered}; acknowledged but gone from the streams {len(lost)}; "
            f"not in the handled set {len(unrecorded)} (a handler's write to a dead master can be "
            "lost the same way)"
        )
    finally:  # a failed wait must not leave sockets for a later test's warnings
        await redis.aclose()
        client.close()
    assert resumed_s < 15
    # And /health names the dead node (asked through a live one: a new client needs one)
    alive = next(n for n in replicated.running() if n is not victim)
    async with api_client(alive.url, prefix) as api:
        health = (await api.get("/health")).json()
    assert health["services"]["redis"]["status"] == "degraded", health
    assert any("nodes failing" in reason for reason in health["reasons"]), health
    # Asynchronous replication may lose what the dead master acknowledged last (no WAIT).
    assert len(lost) <= 5, lost


def _served_by_other(cluster: LocalCluster, slot: int, dead_port: int) -> bool:
    try:
        return cluster.master_of(slot).port != dead_port
    except (RedisError, OSError, StopIteration):
        return False


def _in_streams(client: sync_redis.RedisCluster, prefix: str) -> set[int]:
    """Every message number still in one of the queue's partition streams."""
    found: set[int] = set()
    for partition in (None, 0, 1, 2, 3):
        for _, fields in client.xrange(Keys(prefix).of(partition).stream("default")):
            found.add(msgspec.json.decode(fields[b"data"], type=Work).n)
    return found


def _settled(client: sync_redis.RedisCluster, prefix: str, acknowledged: list[int]) -> bool:
    """Every acknowledged message handled, or at least nothing more arriving (lost ones)."""
    done = handled(client, prefix)
    missing = set(acknowledged) - done
    return len(missing) <= 5
