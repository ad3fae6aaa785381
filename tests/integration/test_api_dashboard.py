"""The dashboard's HTTP side: page, JSON, history endpoint, dead-letter search, CSP, switch-off."""

from __future__ import annotations

import json
import re

import anyio
from redis.asyncio import Redis

from streams import history
from streams.heartbeat import WorkerInfo, beat
from streams.keys import Keys
from streams.messages import now_ms
from tests.integration.api_support import AUTH, api_client


async def test_root_redirects_to_the_page_served_with_a_self_only_policy(
    redis_url: str, prefix: str
) -> None:
    async with api_client(redis_url, prefix) as client:
        root = await client.get("/", follow_redirects=False)
        page = await client.get("/dashboard")
        script = await client.get("/static/dashboard.js")
        docs = await client.get("/docs")

    assert root.status_code in (301, 302, 307)
    assert root.headers["location"] == "/dashboard"
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert '<script type="module" src="/static/dashboard.js">' in page.text
    assert "http://" not in page.text
    assert "https://" not in page.text
    assert script.status_code == 200
    assert "textContent" in script.text
    assert "innerHTML =" not in script.text
    assert "cdn" not in docs.text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs.text


async def test_the_dashboard_can_be_turned_off(redis_url: str, prefix: str) -> None:
    async with api_client(redis_url, prefix, api_dashboard=False) as client:
        assert (await client.get("/dashboard")).status_code == 404
        assert (await client.get("/dashboard/state")).status_code == 404
        assert (await client.get("/health")).status_code == 200


async def test_history_endpoint_returns_the_buckets(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        history.add_counts(pipe, Keys(prefix), "events", {"processed": 4, "failed": 1}, now_ms())
        await pipe.execute()

    async with api_client(redis_url, prefix) as client:
        hour = (await client.get("/queues/events/history")).json()
        day = (await client.get("/queues/events/history?window=24h")).json()
        bad = await client.get("/queues/events/history?window=2h")
        unknown = await client.get("/queues/nope/history")

    assert (hour["points"], hour["step_s"], hour["window"]) == (60, 60, "1h")
    assert sum(hour["series"]["out"]) == 4
    assert sum(hour["series"]["failed"]) == 1
    assert day["points"] == 1440
    assert bad.status_code == 400
    assert unknown.status_code == 404


async def test_state_lists_gone_workers_and_the_scheduler_jobs(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    keys = Keys(prefix)
    now = now_ms()
    gone = WorkerInfo(name="old", host="h", pid=1, queues=["events"], started_ms=now)
    await beat(redis, keys, gone, ttl_ms=60_000)
    await redis.delete(keys.worker("old"))  # as if its TTL ran out
    await redis.set(keys.scheduler_leader(), "sched-1")
    await redis.hset(
        keys.scheduler_jobs(), "tick", json.dumps({"every_ms": 60_000, "last_tick_ms": now})
    )

    async with api_client(redis_url, prefix) as client:
        state = (await client.get("/dashboard/state")).json()

    assert state["workers"] == []
    assert [w["name"] for w in state["gone_workers"]] == ["old"]
    assert state["scheduler"]["leader"] == "sched-1"
    [job] = state["scheduler"]["jobs"]
    assert job["every_ms"] == 60_000
    assert job["next_tick_ms"] > now
    assert state["token_configured"] is True
    assert state["health"]["status"] in ("healthy", "degraded")
    assert state["redis"]["role"] == "master"


async def test_dead_search_filters_by_type_and_error_in_either_order(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    dead = Keys(prefix).dead("events")
    for n, (kind, error) in enumerate(
        [("a", "ValueError: x"), ("b", "KeyError: y"), ("a", "Timeout: slow"), ("a", "ValueError")]
    ):
        await redis.xadd(dead, {"type": kind, "data": str(n), "dead_error": error})

    async with api_client(redis_url, prefix) as client:
        newest = (await client.get("/dashboard/dead/events?type=a", headers=AUTH)).json()
        oldest = await client.get(
            "/dashboard/dead/events?order=oldest&error=valueerror", headers=AUTH
        )
        anonymous = await client.get("/dashboard/dead/events")

    assert [d["data"] for d in newest["dead"]] == ["3", "2", "0"]
    assert newest["count"] == 4
    assert [d["data"] for d in oldest.json()["dead"]] == ["0", "3"]
    assert anonymous.status_code == 401


async def test_the_page_weighs_under_300_kb(redis_url: str, prefix: str) -> None:
    async with api_client(redis_url, prefix) as client:
        page = await client.get("/dashboard")
        assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
        sizes = [len((await client.get(path)).content) for path in assets]

    assert len(assets) >= 5  # icon, two stylesheets, uPlot, the module
    assert len(page.content) + sum(sizes) < 300_000


async def _commands(redis: Redis) -> int:
    stats = await redis.info("commandstats")
    setup = ("cmdstat_info", "cmdstat_hello", "cmdstat_client|setinfo", "cmdstat_select")
    return sum(int(v["calls"]) for k, v in stats.items() if k not in setup)


async def _poll(url: str, prefix: str, tabs: int) -> None:
    async with api_client(url, prefix) as client:

        async def tab() -> None:
            assert (await client.get("/dashboard/state")).status_code == 200
            assert (await client.get("/queues/events/history?window=24h")).status_code == 200

        async with anyio.create_task_group() as tg:
            for _ in range(tabs):
                tg.start_soon(tab)


async def test_twenty_tabs_cost_redis_what_one_does(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    before = await _commands(redis)
    await _poll(redis_url, prefix, tabs=1)
    one = await _commands(redis) - before
    before = await _commands(redis)
    await _poll(redis_url, prefix, tabs=20)
    twenty = await _commands(redis) - before
    assert 0 < twenty <= one
