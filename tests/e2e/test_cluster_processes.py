"""Partitioned queues on a real 3-master Redis Cluster, through `streams` worker processes.

Messages are published with the library's Producer (3,000 CLI processes would take minutes);
workers, `streams status` and `streams dead` run as real processes.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import msgspec
import pytest
import redis as sync_redis

from streams import Producer
from streams.client import create_redis
from streams.cluster import LocalCluster, migrate_slot
from streams.config import Settings
from streams.keys import Keys
from streams.producer import Outgoing
from tests.apps import Work, registry
from tests.integration.conftest import cluster_url, prefix, redis_cluster
from tests.support import (
    FAST_QUEUE,
    ROOT,
    cli_env,
    make_settings,
    run_cli,
    streams_cmd,
    wait_until_sync,
)

__all__ = ["cluster_url", "prefix", "redis_cluster"]

APP = "tests.apps:registry"
StartWorker = Callable[..., subprocess.Popen[bytes]]
PARTITIONS = 4


def settings_for(url: str, prefix: str, partitions: int = PARTITIONS) -> Settings:
    queue = msgspec.structs.replace(FAST_QUEUE, partitions=partitions)
    return make_settings(url, prefix, default=queue)


@pytest.fixture
async def producer(cluster_url: str, prefix: str) -> AsyncIterator[Producer]:
    settings = settings_for(cluster_url, prefix)
    redis = create_redis(settings)
    yield Producer(redis, settings, registry)
    await redis.aclose()


@pytest.fixture
def client(redis_cluster: LocalCluster) -> Iterator[sync_redis.RedisCluster]:
    c = sync_redis.RedisCluster.from_url(redis_cluster.url)
    yield c
    c.close()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[StartWorker]:
    started: list[subprocess.Popen[bytes]] = []

    def start(url: str, prefix: str, **env: str) -> subprocess.Popen[bytes]:
        with (tmp_path / f"worker-{len(started)}.log").open("ab") as out:
            env.setdefault("STREAMS_PARTITIONS", str(PARTITIONS))
            process = subprocess.Popen(
                streams_cmd("worker", "default"),
                env=cli_env(url, prefix, STREAMS_APP=APP, **env),
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def handled(client: sync_redis.RedisCluster, prefix: str) -> set[int]:
    keys = Keys(prefix, cluster=True)
    return {int(n) for n in client.smembers(keys.data("handled"))}


def attempts(client: sync_redis.RedisCluster, prefix: str) -> dict[int, int]:
    keys = Keys(prefix, cluster=True)
    return {int(k): int(v) for k, v in client.hgetall(keys.data("attempts")).items()}


def status(url: str, prefix: str) -> dict[str, object]:
    result = run_cli(["status", "--json"], cli_env(url, prefix, STREAMS_APP=APP))
    assert result.returncode == 0, result.stderr
    return next(q for q in json.loads(result.stdout) if q["queue"] == "default")


def idle(url: str, prefix: str) -> bool:
    state = status(url, prefix)
    return state["pending"] == 0 and state["lag"] == 0


async def publish(producer: Producer, ns: range, **work: int) -> None:
    messages = [Outgoing(type="test.work", data=Work(n=n, **work), key=f"k{n % 97}") for n in ns]
    for start in range(0, len(messages), 500):
        await producer.publish_many("default", messages[start : start + 500])


async def test_3000_keyed_messages_over_4_partitions_drained_by_two_worker_processes(
    cluster_url: str,
    prefix: str,
    producer: Producer,
    client: sync_redis.RedisCluster,
    workers: StartWorker,
) -> None:
    # Given 3,000 keyed messages over 4 partitions
    await publish(producer, range(3000))
    # When two worker processes drain them
    for _ in range(2):
        workers(cluster_url, prefix, STREAMS_BATCH_SIZE="200")
    wait_until_sync(lambda: len(handled(client, prefix)) == 3000, timeout_s=30, interval_s=0.2)
    # Then each was handled once, nothing is pending or dead, and status shows the partitions
    assert set(attempts(client, prefix).values()) == {1}
    wait_until_sync(lambda: idle(cluster_url, prefix), timeout_s=10, interval_s=0.2)
    state = status(cluster_url, prefix)
    assert state["dead_letters"] == 0
    parts = {p["partition"]: p for p in state["partitions"]}  # type: ignore[attr-defined]
    assert set(parts) >= {"0", "1", "2", "3"}
    assert sum(p["length"] for p in parts.values()) == state["length"] == 3000


async def test_kill_9_with_entries_in_flight_then_all_are_handled_after_the_timeout(
    cluster_url: str,
    prefix: str,
    producer: Producer,
    client: sync_redis.RedisCluster,
    workers: StartWorker,
) -> None:
    # Given a worker holding slow messages of every partition
    await publish(producer, range(200), sleep_ms=200)
    first = workers(cluster_url, prefix, STREAMS_CONCURRENCY="20", STREAMS_BATCH_SIZE="50")
    wait_until_sync(lambda: len(attempts(client, prefix)) >= 20, timeout_s=20)
    # When it is killed with SIGKILL and another worker starts
    first.kill()
    first.wait()
    workers(cluster_url, prefix, STREAMS_CONCURRENCY="50", STREAMS_BATCH_SIZE="50")
    # Then every message is handled after the visibility timeout, none dead-lettered
    wait_until_sync(lambda: handled(client, prefix) == set(range(200)), timeout_s=30)
    wait_until_sync(lambda: idle(cluster_url, prefix), timeout_s=10, interval_s=0.2)
    assert status(cluster_url, prefix)["dead_letters"] == 0
    assert max(attempts(client, prefix).values()) >= 2  # the killed worker's entries ran again


async def test_sigterm_drain_then_poison_dead_letter_is_replayed_to_its_partition_and_purged(
    cluster_url: str,
    prefix: str,
    producer: Producer,
    client: sync_redis.RedisCluster,
    workers: StartWorker,
) -> None:
    env = cli_env(cluster_url, prefix, STREAMS_APP=APP, STREAMS_PARTITIONS=str(PARTITIONS))
    # Given 40 messages, one of which always fails
    await publish(producer, range(39), sleep_ms=20)
    await publish(producer, range(39, 40), fail_times=99)
    worker = workers(cluster_url, prefix)
    # When the poison message exhausts its attempts
    wait_until_sync(lambda: status(cluster_url, prefix)["dead_letters"] == 1, timeout_s=20)
    listed = run_cli(["dead", "list", "default", "--json"], env)
    (letter,) = json.loads(listed.stdout)
    # Then it sits in the dead letters of the partition its key maps to
    partition = letter["partition"]
    assert partition == str(_partition_of("k39"))
    # And SIGTERM drains the rest and exits 0
    wait_until_sync(lambda: len(handled(client, prefix)) == 39, timeout_s=20)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=20) == 0
    # When it is replayed, it goes back to the same partition, fails again, and is purged
    stream = Keys(prefix, cluster=True).of(int(partition)).stream("default")
    length = client.xlen(stream)
    assert run_cli(["dead", "replay", "default"], env).stdout.strip() == "replayed 1"
    assert client.xlen(stream) == length + 1
    workers(cluster_url, prefix)
    wait_until_sync(lambda: status(cluster_url, prefix)["dead_letters"] == 1, timeout_s=20)
    purged = run_cli(["dead", "purge", "default"], env)
    assert purged.stdout.strip() == "purged 1", purged.stderr
    assert status(cluster_url, prefix)["dead_letters"] == 0


async def test_resharding_a_partitions_slot_while_a_worker_drains_loses_nothing(
    redis_cluster: LocalCluster,
    cluster_url: str,
    prefix: str,
    producer: Producer,
    client: sync_redis.RedisCluster,
    workers: StartWorker,
) -> None:
    # Given a worker draining 400 slow-ish messages over 4 partitions
    await publish(producer, range(400), sleep_ms=10)
    workers(cluster_url, prefix, STREAMS_CONCURRENCY="4", STREAMS_BATCH_SIZE="20")
    wait_until_sync(lambda: len(handled(client, prefix)) >= 20, timeout_s=20)
    # When partition 0's slot moves to another master mid-drain, and more is published
    slot = client.keyslot(Keys(prefix).of(0).stream("default"))
    source = redis_cluster.master_of(slot)
    target = next(n for n in redis_cluster.nodes if n is not source)
    moved = migrate_slot(source, target, slot)
    await publish(producer, range(400, 500), sleep_ms=10)
    # Then every message is handled and nothing is left pending
    wait_until_sync(
        lambda: handled(client, prefix) == set(range(500)), timeout_s=30, interval_s=0.2
    )
    wait_until_sync(lambda: idle(cluster_url, prefix), timeout_s=10, interval_s=0.2)
    assert moved >= 1
    assert redis_cluster.master_of(slot) is target


def _partition_of(key: str) -> int:
    from streams.partitions import partition_of

    return partition_of(key, PARTITIONS)
