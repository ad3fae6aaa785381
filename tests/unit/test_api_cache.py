"""The snapshot cache: invalidation, and the middleware that invalidates after writes."""

from __future__ import annotations

from typing import cast

import anyio
import pytest
from litestar.types import Message, Receive, ReceiveMessage, Scope, Send

from api.cache import TtlCache, invalidate_after_writes


async def test_an_invalidated_value_is_computed_again_within_the_ttl() -> None:
    cache: TtlCache[int] = TtlCache(60.0)
    calls: list[int] = []

    async def compute() -> int:
        calls.append(1)
        return len(calls)

    first = await cache.get("k", compute)
    cache.invalidate()
    assert (first, await cache.get("k", compute), await cache.get("k", compute)) == (1, 2, 2)


async def test_a_value_computed_across_an_invalidation_is_not_served_after_it() -> None:
    cache: TtlCache[int] = TtlCache(60.0)
    started, release = anyio.Event(), anyio.Event()
    calls: list[int] = []

    async def slow() -> int:
        calls.append(1)
        started.set()
        await release.wait()
        return len(calls)

    results: list[int] = []

    async def read() -> None:
        results.append(await cache.get("k", slow))

    async with anyio.create_task_group() as tg:
        tg.start_soon(read)  # computes with what Redis held before the write
        await started.wait()
        cache.invalidate()  # the write is answered
        tg.start_soon(read)  # the writer reads its write
        release.set()
    assert results == [1, 2]


@pytest.mark.parametrize(
    ("method", "status", "invalidated"),
    [
        ("GET", 200, False),
        ("HEAD", 200, False),
        ("POST", 202, True),
        ("DELETE", 200, True),
        ("POST", 503, True),  # a replay may have moved some entries before Redis failed
        ("POST", 401, False),  # nothing written; no token must not empty the cache
        ("DELETE", 404, False),
    ],
)
async def test_writes_invalidate_before_the_answer_is_sent(
    method: str, status: int, invalidated: bool
) -> None:
    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(cast("Message", {"type": "http.response.start", "status": status}))

    async def send(message: Message) -> None:
        events.append(message["type"])

    async def receive() -> ReceiveMessage:
        raise AssertionError("not read")

    wrapped = invalidate_after_writes(lambda: events.append("invalidated"))(app)
    await wrapped(cast("Scope", {"type": "http", "method": method}), receive, send)
    expected = ["invalidated"] if invalidated else []
    assert events == [*expected, "http.response.start"]
