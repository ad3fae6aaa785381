"""Pure parts of the API: the cache, the health verdict, the Prometheus text, the token guard."""

from __future__ import annotations

from typing import Any, cast

import anyio
import msgspec
import pytest
from litestar import Litestar, get
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError

from api.auth import token_guard
from api.cache import TtlCache
from api.errors import EXCEPTION_HANDLERS
from api.health import assess
from api.prometheus import exposition
from api.state import ApiState, Snapshot
from streams.config import Secret, Settings
from streams.heartbeat import WorkerInfo
from streams.inspect import QueueState
from streams.keys import Keys
from streams.router import Registry

INFO: dict[str, Any] = {
    "redis_version": "7.2.0",
    "used_memory": 100,
    "used_memory_human": "100B",
    "maxmemory": 0,
    "maxmemory_policy": "noeviction",
    "connected_clients": 1,
    "uptime_in_days": 3,
}


def queue(name: str, **changes: Any) -> QueueState:
    base = QueueState(
        queue=name,
        stream=f"{{p:{name}}}:stream",
        group="godo",
        exists=True,
        group_exists=True,
        length=0,
        lag=0,
        lag_estimated=False,
        lag_source="redis",
        pending=0,
        depth=0,
        oldest_pending_age_s=0.0,
        time_lag_s=0.0,
        consumers=0,
        dead_letters=0,
        entries_added=0,
    )
    return msgspec.structs.replace(base, **changes)


def snapshot(*queues: QueueState, info: dict[str, Any] | None = None, workers: int = 0) -> Snapshot:
    return Snapshot(
        info={**INFO, **(info or {})},
        queues=list(queues),
        workers=[
            WorkerInfo(name=f"w{i}", host="h", pid=i, queues=["default"], started_ms=0, processed=2)
            for i in range(workers)
        ],
        cache_hits=0,
        cache_misses=0,
    )


SETTINGS = Settings(redis_url=Secret("redis://localhost:6379/0"), api_stale_pending_ms=60_000)


async def test_cache_computes_once_within_the_ttl_and_again_after() -> None:
    now = [0.0]
    cache: TtlCache[int] = TtlCache(1.0, clock=lambda: now[0])
    calls = []

    async def compute() -> int:
        calls.append(1)
        return len(calls)

    first, second = await cache.get("k", compute), await cache.get("k", compute)
    now[0] = 2.0  # between 1 and 2 s the old value is served while one is computed
    third = await cache.get("k", compute)

    assert (first, second, third) == (1, 1, 2)


async def test_cache_shares_one_computation_between_concurrent_callers() -> None:
    cache: TtlCache[int] = TtlCache(1.0)
    calls = []
    release = anyio.Event()

    async def compute() -> int:
        calls.append(1)
        await release.wait()
        return 7

    results: list[int] = []

    async def caller() -> None:
        results.append(await cache.get("k", compute))

    async with anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(caller)
        await anyio.wait_all_tasks_blocked()
        release.set()

    assert results == [7] * 10
    assert len(calls) == 1


async def test_cache_does_not_keep_failures() -> None:
    cache: TtlCache[int] = TtlCache(10.0)

    async def fail() -> int:
        raise ConnectionError

    async def succeed() -> int:
        return 1

    with pytest.raises(ConnectionError):
        await cache.get("k", fail)
    assert await cache.get("k", succeed) == 1


class Pings:
    """A health client whose PING replies when told to (or fails)."""

    def __init__(self) -> None:
        self.sent = 0
        self.reply = anyio.Event()
        self.error: Exception | None = None

    async def ping(self) -> bool:
        self.sent += 1
        await self.reply.wait()
        if self.error is not None:
            raise self.error
        return True


async def test_concurrent_health_pings_share_the_ping_in_flight() -> None:
    pings = Pings()
    api = ApiState(SETTINGS, Registry(), Keys("p"), health_redis=cast("Redis", pings))
    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(api.ping)
        await anyio.wait_all_tasks_blocked()
        pings.reply.set()
    await api.ping()  # the PING in flight has landed: a caller now sends its own
    assert pings.sent == 2


async def test_a_failed_shared_ping_fails_every_caller_and_is_not_kept() -> None:
    pings = Pings()
    pings.error = RedisConnectionError("down")
    api = ApiState(SETTINGS, Registry(), Keys("p"), health_redis=cast("Redis", pings))
    failures: list[str] = []

    async def ping() -> None:
        try:
            await api.ping()
        except RedisConnectionError as exc:
            failures.append(str(exc))

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(ping)
        await anyio.wait_all_tasks_blocked()
        pings.reply.set()
    pings.error = None
    await api.ping()
    assert (failures, pings.sent) == (["down"] * 3, 2)


def test_health_is_healthy_without_backlog_or_risk() -> None:
    verdict = assess(snapshot(queue("default")), SETTINGS)

    assert verdict.status == "healthy"
    assert verdict.reasons == []


@pytest.mark.parametrize(
    ("state", "info", "workers", "reason"),
    [
        (queue("default", depth=3, lag=3), {}, 0, "no workers available"),
        (queue("default", oldest_pending_age_s=61.0, pending=1, depth=1), {}, 1, "oldest pending"),
        (queue("default"), {"maxmemory_policy": "allkeys-lfu"}, 0, "allkeys-lfu"),
        (queue("default"), {"maxmemory": 110}, 0, "of maxmemory"),
    ],
)
def test_health_is_degraded_with_the_reason(
    state: QueueState, info: dict[str, Any], workers: int, reason: str
) -> None:
    verdict = assess(snapshot(state, info=info, workers=workers), SETTINGS)

    assert verdict.status == "degraded"
    assert any(reason in r for r in verdict.reasons)


def test_health_with_memory_under_80_percent_is_healthy() -> None:
    assert assess(snapshot(queue("default"), info={"maxmemory": 200}), SETTINGS).status == "healthy"


def test_prometheus_marks_an_interpolated_lag_as_unknown_not_zero() -> None:
    text = exposition(
        snapshot(queue("ml", lag=1234, lag_source="interpolated", lag_estimated=True))
    ).decode()

    values = {
        (s.name, s.labels.get("queue")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert values["streams_group_lag", "ml"] == 1234
    assert values["streams_group_lag_known", "ml"] == 0


def test_prometheus_without_redis_has_only_up_zero() -> None:
    families = list(text_string_to_metric_families(exposition(None).decode()))

    assert [(f.name, f.samples[0].value) for f in families] == [("streams_up", 0.0)]


def guarded_app(token: Secret | None) -> Litestar:
    @get("/secret", guards=[token_guard(token)], sync_to_thread=False)
    def secret() -> str:
        return "ok"

    return Litestar([secret], logging_config=None)


@pytest.mark.parametrize(
    ("token", "header", "status"),
    [
        (Secret("t0k"), "Bearer t0k", 200),
        (Secret("t0k"), "bearer t0k", 200),
        (Secret("t0k"), "Bearer t0kX", 401),
        (Secret("t0k"), "Basic t0k", 401),
        (Secret("t0k"), "", 401),
        (None, "Bearer t0k", 403),
        (None, "", 403),
    ],
)
def test_token_guard(token: Secret | None, header: str, status: int) -> None:
    with TestClient(guarded_app(token)) as client:
        response = client.get("/secret", headers={"Authorization": header} if header else {})

    assert response.status_code == status


@pytest.mark.parametrize(
    ("error", "status", "detail"),
    [
        (
            ResponseError("Invalid stream ID specified as stream command argument"),
            400,
            "invalid stream entry id (Redis refused it)",
        ),
        (ResponseError("NOGROUP No such key"), 503, "redis unavailable: ResponseError"),
        (RedisConnectionError("refused"), 503, "redis unavailable: ConnectionError"),
    ],
)
def test_redis_refusing_an_id_is_the_callers_400_other_errors_503(
    error: RedisError, status: int, detail: str
) -> None:
    @get("/boom", sync_to_thread=False)
    def boom() -> str:
        raise error

    app = Litestar([boom], exception_handlers=EXCEPTION_HANDLERS, logging_config=None)
    with TestClient(app) as client:
        response = client.get("/boom")

    assert (response.status_code, response.json()["detail"]) == (status, detail)
