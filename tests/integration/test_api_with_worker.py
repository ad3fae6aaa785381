"""The API next to a real worker: publish over HTTP, watch it drain, see failures dead-lettered."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from streams.worker import Worker
from tests import apps
from tests.integration.api_support import AUTH, api_client, api_settings
from tests.support import wait_until


@asynccontextmanager
async def worker_running(redis: Redis, url: str, prefix: str) -> AsyncIterator[Worker]:
    worker = Worker(redis, api_settings(url, prefix), apps.registry, ["default"], name="w-test")
    async with anyio.create_task_group() as tg:
        await tg.start(worker.run)
        try:
            yield worker
        finally:
            worker.request_stop()


async def test_published_work_is_drained_and_counted(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    async with (
        api_client(redis_url, prefix, apps.registry) as client,
        worker_running(redis, redis_url, prefix),
    ):
        for n in range(5):
            response = await client.post(
                "/queues/default/messages",
                json={"type": "test.work", "data": {"n": n}},
                headers=AUTH,
            )
            assert response.status_code == 202

        async def drained() -> Any:
            body = (await client.get("/queues/default")).json()
            return body["length"] == 5 and body["depth"] == 0

        async def counted() -> Any:
            text = (await client.get("/metrics")).text
            return any(
                s.labels.get("outcome") == "processed" and s.value == 5
                for f in text_string_to_metric_families(text)
                for s in f.samples
            )

        await wait_until(drained, timeout_s=10)
        await wait_until(counted, timeout_s=10)
        workers = (await client.get("/workers")).json()
        health = (await client.get("/health")).json()

    assert [w["name"] for w in workers["workers"]] == ["w-test"]
    assert health["status"] == "healthy"
    assert health["services"]["workers"]["queues"]["default"]["live_workers"] == 1


async def test_failing_work_shows_in_dead_letters_and_replays(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    async with (
        api_client(redis_url, prefix, apps.registry) as client,
        worker_running(redis, redis_url, prefix),
    ):
        await client.post(
            "/queues/default/messages",
            json={"type": "test.work", "data": {"n": 1, "fail_times": 99}},
            headers=AUTH,
        )

        async def dead() -> Any:
            body = (await client.get("/queues/default/dead", headers=AUTH)).json()
            return body["dead"]

        [letter] = await wait_until(dead, timeout_s=10)
        replayed = await client.post(
            "/queues/default/dead/replay", json={"ids": [letter["id"]]}, headers=AUTH
        )

    assert "planned failure" in letter["error"]
    assert letter["attempts"] == 3
    assert replayed.json() == {"replayed": 1}
