from __future__ import annotations

import ipaddress

import fakeredis
import httpx
import msgspec
import pytest

from consumers.notifications import Delivery, NotificationRequested, Notifier, render
from consumers.settings import AppSettings, parse_hosts
from consumers.webhooks import Address, WebhookError, check_url
from streams import Keys, PermanentError
from tests.app_support import make_context

ALLOWED = parse_hosts("hooks.test, local.test:8080, [::1]:9000")


def test_named_templates_and_inline_text_are_rendered() -> None:
    assert render("welcome", {"name": "Ada"}) == "Welcome to Godo, Ada!"
    assert render("Hi $who, $missing", {"who": 1}) == "Hi 1, $missing"


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.test/notify",
        "http://hooks.test/notify",
        "https://HOOKS.test./x",
        "http://local.test:8080/x",
        "http://[::1]:9000/x",
    ],
)
def test_allowed_urls_pass(url: str) -> None:
    assert check_url(url, ALLOWED).url == url


@pytest.mark.parametrize(
    "url",
    [
        "http://evil.test/",
        "http://hooks.test:8080/",  # a bare host allows only the scheme's default port
        "http://local.test/",  # host:port allows only that port
        "http://hooks.test@evil.test/",
        "http://user:pw@hooks.test/",
        "ftp://hooks.test/",
        "file:///etc/passwd",
        "http://169.254.169.254/latest/meta-data",
        "http://hooks.test:99999/",
        "hooks.test/x",
        "",
        42,
        None,
    ],
)
def test_urls_outside_the_allowlist_fail_permanently(url: object) -> None:
    with pytest.raises(PermanentError):
        check_url(url, ALLOWED)


def test_an_empty_allowlist_disables_the_channel() -> None:
    with pytest.raises(PermanentError, match="disabled"):
        check_url("https://hooks.test/", frozenset())


async def public(host: str, port: int) -> list[Address]:
    return [ipaddress.ip_address("8.8.8.8")]


def notifier_with(handler: httpx.MockTransport) -> Notifier:
    client = httpx.AsyncClient(transport=handler, follow_redirects=False)
    return Notifier(AppSettings(webhook_hosts=ALLOWED), client, resolver=public)


def webhook(url: str = "https://hooks.test/n") -> NotificationRequested:
    return NotificationRequested(
        user_id="u1", channel="webhook", template="welcome", data={"url": url, "name": "Ada"}
    )


async def test_a_webhook_gets_the_rendered_message_and_the_delivery_is_recorded() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    redis = fakeredis.FakeAsyncRedis()
    notifier = notifier_with(httpx.MockTransport(answer))
    await notifier.handle(webhook(), make_context(redis, "t", "notifications", "x", "7-0"))
    assert msgspec.json.decode(seen[0].content)["message"] == "Welcome to Godo, Ada!"
    assert seen[0].headers["Idempotency-Key"] == "notifications:7-0"
    stored = await redis.lrange(Keys("t").data("notifications", "u1"), 0, -1)
    assert msgspec.json.decode(stored[0], type=Delivery).channel == "webhook"
    await notifier.close()


@pytest.mark.parametrize("status", [500, 429, 302, 404])
async def test_a_non_2xx_answer_is_transient_and_nothing_is_recorded(status: int) -> None:
    redirect = {"Location": "http://169.254.169.254/"} if status == 302 else {}
    transport = httpx.MockTransport(lambda _: httpx.Response(status, headers=redirect))
    redis = fakeredis.FakeAsyncRedis()
    with pytest.raises(WebhookError):
        await notifier_with(transport).handle(webhook(), make_context(redis, "t", "n", "x"))
    assert await redis.exists(Keys("t").data("notifications", "u1")) == 0


async def test_a_connection_error_is_transient() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    redis = fakeredis.FakeAsyncRedis()
    with pytest.raises(WebhookError, match="ConnectError"):
        await notifier_with(httpx.MockTransport(refuse)).handle(
            webhook(), make_context(redis, "t", "n", "x")
        )


async def test_a_disallowed_host_is_never_called() -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise AssertionError("called")

    redis = fakeredis.FakeAsyncRedis()
    with pytest.raises(PermanentError):
        await notifier_with(httpx.MockTransport(fail)).handle(
            webhook("http://10.0.0.1/"), make_context(redis, "t", "n", "x")
        )


async def test_the_log_channel_records_the_delivery() -> None:
    redis = fakeredis.FakeAsyncRedis()
    payload = NotificationRequested(
        user_id="u2", channel="log", template="welcome", data={"name": "Bo"}
    )
    await Notifier(AppSettings()).handle(payload, make_context(redis, "t", "n", "x"))
    stored = await redis.lrange(Keys("t").data("notifications", "u2"), 0, -1)
    assert msgspec.json.decode(stored[0], type=Delivery).message == "Welcome to Godo, Bo!"
