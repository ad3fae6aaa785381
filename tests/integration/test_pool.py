"""The bounded pool: never more connections than allowed, waiting callers, no leaked slots."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable

import anyio
import anyio.lowlevel
import msgspec
import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from streams.client import create_redis
from streams.pool import BoundedConnectionPool
from tests.support import make_settings, wait_until

pytestmark = pytest.mark.anyio


@pytest.fixture
async def bounded(redis_url: str) -> AsyncIterator[Callable[..., Redis]]:
    clients: list[Redis] = []

    def make(max_connections: int, timeout: float = 5.0, url: str = redis_url) -> Redis:
        pool = BoundedConnectionPool.from_url(
            url, max_connections=max_connections, timeout=timeout, client_name="pool-test"
        )
        clients.append(Redis.from_pool(pool))  # aclose() closes the pool too
        return clients[-1]

    yield make
    for client in clients:
        await client.aclose()


async def _open_connections(admin: Redis, name: str) -> int:
    clients = await admin.client_list()
    return sum(1 for c in clients if c.get("name") == name)


async def test_many_callers_share_the_bounded_connections(
    bounded: Callable[..., Redis], redis: Redis, prefix: str
) -> None:
    client = bounded(3)
    peak = 0
    done = anyio.Event()

    async def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, await _open_connections(redis, "pool-test"))
            await anyio.sleep(0.01)

    async def blocked_read() -> None:
        assert await client.xread({f"{prefix}:none": "$"}, block=100) == []

    async with anyio.create_task_group() as tg:
        tg.start_soon(watch)
        async with anyio.create_task_group() as readers:
            for _ in range(20):
                readers.start_soon(blocked_read)
        done.set()
    assert peak == 3


async def test_a_caller_with_no_free_connection_gets_a_clear_error_after_the_timeout(
    bounded: Callable[..., Redis], prefix: str
) -> None:
    client = bounded(1, timeout=0.2)
    holder_done = anyio.Event()

    async def hold() -> None:
        await client.xread({f"{prefix}:none": "$"}, block=3000)
        holder_done.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(hold)
        await anyio.lowlevel.checkpoint()  # let the holder take the only connection
        with pytest.raises(RedisConnectionError, match="all 1 are in use"):
            await client.ping()
        assert not holder_done.is_set()
        tg.cancel_scope.cancel()


async def test_failed_connects_give_their_slot_back(bounded: Callable[..., Redis]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    client = bounded(1, timeout=0.2, url=f"redis://127.0.0.1:{port}")
    for _ in range(3):
        with pytest.raises(RedisConnectionError) as caught:
            await client.ping()
        assert "in use" not in str(caught.value)


async def test_a_cancelled_waiter_does_not_keep_a_slot(
    bounded: Callable[..., Redis], prefix: str
) -> None:
    client = bounded(1, timeout=2.0)
    async with anyio.create_task_group() as tg:
        tg.start_soon(client.xread, {f"{prefix}:none": "$"}, 300)
        await anyio.lowlevel.checkpoint()
        with anyio.move_on_after(0.05):
            await client.ping()  # waits for the holder, then is cancelled
    assert await client.ping()
    async with anyio.create_task_group() as tg:  # and the one slot still serves callers in turn
        for _ in range(5):
            tg.start_soon(client.ping)


async def test_create_redis_keeps_to_max_connections(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    settings = make_settings(redis_url, prefix)
    client = create_redis(msgspec.structs.replace(settings, max_connections=2))
    before = await _open_connections(redis, "godo-streams")
    peak = 0

    async def blocked_read() -> None:
        nonlocal peak
        await client.xread({f"{prefix}:none": "$"}, block=100)
        peak = max(peak, await _open_connections(redis, "godo-streams") - before)

    try:
        async with anyio.create_task_group() as tg:
            for _ in range(8):
                tg.start_soon(blocked_read)
    finally:
        await client.aclose()
    assert peak == 2

    async def pool_closed() -> bool:  # aclose() closed the pool's connections too
        return await _open_connections(redis, "godo-streams") == before

    await wait_until(pool_closed)
