"""The dashboard in a real browser: no foreign request, live figures, escaping, actions, history."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import TOKEN, Stack
from tests.support import wait_until_sync

Page = Any  # playwright.sync_api.Page; Playwright is imported lazily (tests skip without it)


class Watch:
    """What a page did: console errors, uncaught exceptions, dialogs and requested URLs."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.urls: list[str] = []
        self.accept_dialogs = False
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.urls.append(r.url))

        def dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            if self.accept_dialogs:
                d.accept()
            else:
                d.dismiss()

        page.on("dialog", dialog)

    def foreign(self, base: str) -> list[str]:
        host = urlsplit(base).netloc
        return [u for u in self.urls if urlsplit(u).netloc != host]


@contextmanager
def opened(
    browser: Any, stack: Stack, path: str = "/dashboard", scheme: str = "light"
) -> Iterator[tuple[Page, Watch]]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme=scheme)
    page = context.new_page()
    watch = Watch(page)
    page.goto(stack.base + path)
    try:
        yield page, watch
    finally:
        context.close()


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def enter_token(page: Page) -> None:
    page.click("#token-button")
    page.fill("#token-input", TOKEN)
    page.click("#token-save")


def add_dead(stack: Stack, data: dict[str, Any], error: str = "RuntimeError: boom") -> None:
    stack.client().xadd(
        stack.keys.dead("default"),
        {
            "type": "test.work",
            "data": json.dumps(data),
            "dead_id": "1-1",
            "dead_error": error,
            "dead_attempts": 3,
            "dead_at": int(time.time() * 1000),
        },
    )


def test_page_loads_without_errors_or_requests_to_other_hosts(browser: Any, stack: Stack) -> None:
    with opened(browser, stack, "/") as (page, watch):
        expect(page.locator("#queues tbody tr")).to_have_count(3)
        expect(page.locator("#health")).to_have_attribute("data-status", "healthy")
        expect(page.locator('.queue-charts[data-queue="default"] canvas').first).to_be_visible()
        assert page.url == f"{stack.base}/dashboard"
        assert watch.errors == []
        assert watch.foreign(stack.base) == []
    assert any(u.endswith("/static/vendor/uplot/uPlot.iife.min.js") for u in watch.urls)


def test_docs_work_offline_under_the_content_security_policy(browser: Any, stack: Stack) -> None:
    with opened(browser, stack, "/docs") as (page, watch):
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("godo-streams")
        expect(page.locator(".opblock").first).to_be_visible()
        assert watch.foreign(stack.base) == []
        assert watch.errors == []


COLUMNS = ("length", "lag", "pending", "depth", "dead_letters", "consumers")


def test_queue_table_matches_the_api_and_the_out_chart_adds_up(browser: Any, stack: Stack) -> None:
    # Given 12 messages published while no worker runs
    stack.publish({"n": 1}, count=12)
    with opened(browser, stack) as (page, watch):
        row = page.locator('#queues tr[data-queue="default"]')
        expect(row.locator('[data-col="length"]')).to_have_text("12")
        # Then the table shows what GET /queues says
        api = stack.queues()["default"]
        for column in COLUMNS:
            expect(row.locator(f'[data-col="{column}"]')).to_have_text(f"{api[column]:,}")
        # When a worker drains them
        stack.start_worker()
        wait_until_sync(lambda: stack.queues()["default"]["messages"]["processed"] == 12, 20)
        # Then the out chart of the queue adds up to 12, and the table follows
        out = page.locator('.queue-charts[data-queue="default"] [data-total="out"]')
        expect(out).to_have_text("12", timeout=15_000)
        expect(row.locator('[data-col="processed"]')).to_have_text("12")
        expect(row.locator('[data-col="depth"]')).to_have_text("0")
        assert watch.errors == []


PAYLOAD = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def test_dead_letter_markup_is_shown_as_text_and_runs_nothing(browser: Any, stack: Stack) -> None:
    # Given a dead letter whose data and error carry markup
    add_dead(stack, {"n": 1, "note": PAYLOAD}, error=f"ValueError: {PAYLOAD}")
    with opened(browser, stack) as (page, watch):
        # When the operator enters the token and the list loads
        enter_token(page)
        item = page.locator("#dead-list li")
        expect(item).to_have_count(1)
        # Then the markup is text: no element made from it, no script ran, nothing fetched
        expect(item.locator("pre.data")).to_contain_text(PAYLOAD)
        expect(item.locator("pre.error")).to_contain_text(PAYLOAD)
        assert page.locator("#dead-list script, #dead-list img").count() == 0
        assert watch.dialogs == []
        assert not [u for u in watch.urls if urlsplit(u).path == "/x"]
        assert watch.errors == []


def test_without_a_token_replay_and_purge_are_disabled(browser: Any, stack: Stack) -> None:
    add_dead(stack, {"n": 1})
    with opened(browser, stack) as (page, _):
        for button in ("#replay-shown", "#purge"):
            expect(page.locator(button)).to_be_disabled()
        expect(page.locator("#action-reason")).to_contain_text("Enter the API token")
        expect(page.locator("#dead-list li")).to_have_count(0)


def test_with_the_token_replay_moves_entries_back_and_purge_empties(
    browser: Any, stack: Stack
) -> None:
    # Given a worker, a dead letter of a message that now succeeds, and the token entered
    stack.start_worker()
    add_dead(stack, {"n": 7})
    redis = stack.client()
    handled = stack.keys.data("handled")
    with opened(browser, stack) as (page, watch):
        enter_token(page)
        expect(page.locator("#replay-shown")).to_be_enabled()
        # When one entry is replayed
        page.locator("#dead-list li .replay-one").click()
        # Then it left the dead letters and the worker handled it
        wait_until_sync(lambda: redis.sismember(handled, "7"), timeout_s=15)
        assert redis.xlen(stack.keys.dead("default")) == 0
        expect(page.locator("#dead-list li")).to_have_count(0)
        # When two more are replayed with "Replay all shown"
        add_dead(stack, {"n": 10})
        add_dead(stack, {"n": 11})
        expect(page.locator("#dead-list li")).to_have_count(2, timeout=10_000)
        page.click("#replay-shown")
        wait_until_sync(lambda: redis.smismember(handled, ["10", "11"]) == [1, 1], timeout_s=15)
        expect(page.locator("#dead-list li")).to_have_count(0)
        # When two more are purged (after confirming)
        add_dead(stack, {"n": 8})
        add_dead(stack, {"n": 9})
        expect(page.locator("#dead-list li")).to_have_count(2, timeout=10_000)
        watch.accept_dialogs = True
        page.click("#purge")
        # Then the list is empty
        expect(page.locator("#dead-list li")).to_have_count(0)
        assert redis.xlen(stack.keys.dead("default")) == 0
        assert TOKEN not in " ".join(watch.urls)


@pytest.fixture
def tokenless(stack: Stack) -> Stack:
    stack.token = None
    stack.restart_api()
    return stack


def test_without_a_token_on_the_server_the_buttons_say_so(browser: Any, tokenless: Stack) -> None:
    with opened(browser, tokenless) as (page, _):
        expect(page.locator("#purge")).to_be_disabled()
        expect(page.locator("#action-reason")).to_contain_text("STREAMS_API_TOKEN is not set")
        expect(page.locator("#token-button")).to_be_disabled()


def test_history_survives_an_api_restart(browser: Any, stack: Stack) -> None:
    # Given 5 messages drained and shown in the out chart
    stack.publish({"n": 2}, count=5)
    stack.start_worker()
    wait_until_sync(lambda: stack.queues()["default"]["messages"]["processed"] == 5, 20)
    out = '.queue-charts[data-queue="default"] [data-total="out"]'
    with opened(browser, stack) as (page, _):
        expect(page.locator(out)).to_have_text("5", timeout=15_000)
    # When the API restarts
    stack.restart_api()
    # Then a fresh page shows the same history
    with opened(browser, stack) as (page, watch):
        expect(page.locator(out)).to_have_text("5", timeout=15_000)
        assert watch.errors == []


def test_a_paused_queue_shows_paused_in_the_state_column(browser: Any, stack: Stack) -> None:
    # Given the default queue paused (as `streams pause default` does)
    stack.client().set(stack.keys.paused("default"), "1")
    with opened(browser, stack) as (page, watch):
        # Then its row says paused and the others running
        paused = page.locator('#queues tr[data-queue="default"] [data-col="state"]')
        expect(paused).to_have_text("paused")
        other = page.locator('#queues tr[data-queue="events"] [data-col="state"]')
        expect(other).to_have_text("running")
        assert watch.errors == []
