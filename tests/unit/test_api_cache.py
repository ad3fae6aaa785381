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


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Source:
    """A compute function that counts its calls and waits for release once armed."""

    def __init__(self) -> None:
        self.calls = 0
        self.started = anyio.Event()
        self.release: anyio.Event | None = None
        self.fail = False
        self.finished = anyio.Event()

    async def __call__(self) -> int:
        self.calls += 1
        self.started.set()
        try:
            if self.release is not None:
                await self.release.wait()
            if self.fail:
                raise OSError("redis down")
            return self.calls
        finally:
            self.finished.set()

    def arm(self) -> anyio.Event:
        self.started, self.finished, self.release = anyio.Event(), anyio.Event(), anyio.Event()
        return self.release


async def test_a_stale_value_is_served_at_once_while_one_refresh_runs() -> None:
    clock, source = Clock(), Source()
    cache: TtlCache[int] = TtlCache(1.0, clock)
    assert await cache.get("k", source) == 1
    clock.now = 1.5  # past the ttl, within 2 x ttl
    release = source.arm()
    with anyio.fail_after(1):  # the old code waits here for the refresh
        served = [await cache.get("k", source) for _ in range(20)]
    await source.started.wait()
    release.set()
    await source.finished.wait()  # the refresh has landed
    assert (served, await cache.get("k", source), source.calls) == ([1] * 20, 2, 2)


async def test_a_value_older_than_the_bound_waits_for_a_fresh_one() -> None:
    clock, source = Clock(), Source()
    cache: TtlCache[int] = TtlCache(1.0, clock)
    await cache.get("k", source)
    clock.now = 2.0  # 2 x ttl: too stale to serve
    results: list[int] = []

    async def read() -> None:
        results.append(await cache.get("k", source))

    release = source.arm()
    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(read)
        await source.started.wait()
        assert results == []
        release.set()
    assert (results, source.calls) == ([2] * 5, 2)


async def test_a_failed_refresh_drops_the_stale_value() -> None:
    clock, source = Clock(), Source()
    cache: TtlCache[int] = TtlCache(1.0, clock)
    await cache.get("k", source)
    clock.now = 1.5
    source.fail = True
    release = source.arm()
    assert await cache.get("k", source) == 1
    release.set()
    source.release = None
    await source.finished.wait()  # the refresh has failed
    with pytest.raises(OSError, match="redis down"):
        await cache.get("k", source)  # no stale 1: this caller computes, and fails too
    source.fail = False
    assert await cache.get("k", source) == source.calls


async def test_a_stale_value_is_not_served_after_an_invalidation() -> None:
    clock, source = Clock(), Source()
    cache: TtlCache[int] = TtlCache(1.0, clock)
    await cache.get("k", source)
    clock.now = 1.5
    cache.invalidate()
    with anyio.fail_after(1):
        assert await cache.get("k", source) == 2


async def test_a_caller_that_gives_up_leaves_the_computation_to_the_others() -> None:
    source = Source()
    cache: TtlCache[int] = TtlCache(1.0, Clock())
    release = source.arm()
    with anyio.move_on_after(0.01):
        await cache.get("k", source)
    release.set()
    assert (await cache.get("k", source), source.calls) == (1, 1)


async def test_aclose_cancels_the_refresh_in_flight() -> None:
    source = Source()
    cache: TtlCache[int] = TtlCache(1.0, Clock())
    source.arm()
    with anyio.move_on_after(0.01):
        await cache.get("k", source)
    await cache.aclose()
    source.release = None
    assert (await cache.get("k", source), source.calls) == (2, 2)


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
