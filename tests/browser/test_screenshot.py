"""A screenshot of the dashboard with live data: a test artefact, and docs/dashboard.png on demand.

Regenerate the README's picture with `make screenshot`
(STREAMS_DASHBOARD_SCREENSHOT=docs/dashboard.png pytest tests/browser/test_screenshot.py).
The last minutes are live (a worker, a scheduler and failing messages); the hour before is
seeded into the history buckets so the charts show a shape.
"""

from __future__ import annotations

import math
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
from redis.asyncio import Redis

from streams import heartbeat, history
from streams.heartbeat import WorkerInfo
from streams.keys import Keys
from streams.messages import now_ms
from tests.browser.conftest import Stack
from tests.browser.test_dashboard import add_dead, enter_token, expect, opened
from tests.support import ROOT, wait_until_sync

MINUTE = history.MINUTE_MS


def _curve(queue_index: int, minute: int) -> dict[str, int]:
    wave = 1 + math.sin((minute + 9 * queue_index) / 7)
    arrivals = int(40 + 35 * wave) // (queue_index + 1)
    return {
        "in": arrivals,
        "out": max(arrivals - (3 if minute % 11 == 0 else 0), 0),
        "failed": 2 if minute % 9 == 0 else 0,
        "retried": 2 if minute % 9 == 0 else 0,
        "dead": 1 if minute % 23 == 0 else 0,
        "depth": int(8 * wave) + (30 if 20 < minute < 26 else 0),
        "lag": int(5 * wave),
        "oldest_s": int(3 * wave),
    }


async def _seed(url: str, keys: Keys, queues: list[str]) -> None:
    """Write the hour before now into the buckets (not the totals), as sampled traffic would."""
    redis = Redis.from_url(url)
    now = now_ms()
    async with redis.pipeline(transaction=False) as pipe:
        for index, queue in enumerate(queues):
            for back in range(3, 60):
                minute = now // MINUTE - back
                for metric, value in _curve(index, minute).items():
                    bucket = keys.history(queue, metric, minute // 60)
                    pipe.hset(bucket, str(minute % 60), value)
                    pipe.pexpire(bucket, history.HISTORY_TTL_MS)
        await pipe.execute()
    info = WorkerInfo(
        name="worker-b7-4121", host="b7", pid=4121, queues=["events"], started_ms=now - 50 * MINUTE
    )
    info.processed, info.failed = 1873, 4
    await heartbeat.beat(redis, keys, info, ttl_ms=100)  # stops beating: shown as gone
    await redis.aclose()


def test_screenshot_with_live_data(browser: Any, stack: Stack, tmp_path: Path) -> None:
    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        queues = ["default", "events", "notifications"]
        pool.submit(anyio.run, _seed, stack.redis_url, stack.keys, queues).result()
    stack.start_worker()
    stack.start_scheduler("tests.browser.schedule:jobs")
    stack.publish({"n": 1, "sleep_ms": 20}, count=60)
    stack.publish({"n": 2, "fail_times": 1}, count=4)
    stack.publish({"n": 3, "fail_times": 9}, count=2)
    add_dead(stack, {"n": 4, "note": "<b>not bold</b>"}, error="TimeoutError: upstream took 30s")
    wait_until_sync(lambda: stack.queues()["default"]["messages"]["dead_lettered"] >= 2, 30)
    with opened(browser, stack) as (page, _):
        enter_token(page)
        expect(page.locator("#dead-list li")).to_have_count(3, timeout=10_000)
        expect(page.locator("#leader")).not_to_contain_text("none", timeout=10_000)
        expect(page.locator('tr[data-worker="worker-b7-4121"]')).to_contain_text("gone")
        expect(page.locator("canvas")).to_have_count(9)
        shot = tmp_path / "dashboard.png"
        page.screenshot(path=str(shot), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(tmp_path / "dashboard-phone.png"), full_page=True)
    with opened(browser, stack, scheme="dark") as (page, _):
        expect(page.locator("canvas")).to_have_count(9)
        page.screenshot(path=str(tmp_path / "dashboard-dark.png"))
    assert shot.stat().st_size > 10_000
    target = os.environ.get("STREAMS_DASHBOARD_SCREENSHOT")
    if target:
        shutil.copyfile(shot, ROOT / target)
