from __future__ import annotations

import ipaddress

import fakeredis
import httpx
import pytest

from consumers.notifications import NotificationRequested, Notifier
from consumers.settings import AppSettings, parse_hosts
from consumers.webhooks import Address, Resolver, WebhookError, check_url, pin, resolve
from streams import PermanentError
from tests.app_support import make_context

ALLOWED = parse_hosts(
    "hooks.test, localhost:8080, 10.1.2.3:8080, [fd00::7], private:api.railway.internal"
)


def resolver_to(*addresses: str) -> tuple[list[str], Resolver]:
    asked: list[str] = []

    async def fake(host: str, port: int) -> list[Address]:
        asked.append(host)
        return [ipaddress.ip_address(a) for a in addresses]

    return asked, fake


async def test_a_name_resolving_to_loopback_is_refused() -> None:
    target = check_url("http://localhost:8080/x", ALLOWED)
    with pytest.raises(PermanentError, match=r"non-public address 127\.0\.0\.1.*private:localhost"):
        await pin(target, resolve)


@pytest.mark.parametrize(
    "addresses",
    [
        ["10.0.0.5"],
        ["192.168.1.1"],
        ["169.254.169.254"],
        ["100.64.0.1"],
        ["224.0.0.1"],
        ["0.0.0.0"],  # noqa: S104 - an address resolved, not bound
        ["240.0.0.1"],
        ["::1"],
        ["fd12::1"],
        ["fe80::1"],
        ["::ffff:127.0.0.1"],
        ["8.8.8.8", "10.0.0.1"],  # every address counts, not just the first
    ],
)
async def test_a_name_resolving_to_a_non_public_address_is_refused(addresses: list[str]) -> None:
    _, fake = resolver_to(*addresses)
    with pytest.raises(PermanentError, match="non-public"):
        await pin(check_url("https://hooks.test/", ALLOWED), fake)


async def test_an_ip_literal_entry_allows_its_private_address_without_resolving() -> None:
    asked, fake = resolver_to("8.8.8.8")
    target = check_url("http://10.1.2.3:8080/x", ALLOWED)
    assert await pin(target, fake) == ipaddress.ip_address("10.1.2.3")
    assert await pin(check_url("https://[fd00::7]/", ALLOWED), fake) == ipaddress.ip_address(
        "fd00::7"
    )
    assert asked == []


async def test_a_private_entry_may_resolve_to_a_private_address() -> None:
    _, fake = resolver_to("fd12:3456::1")
    target = check_url("https://api.railway.internal/hook", ALLOWED)
    assert await pin(target, fake) == ipaddress.ip_address("fd12:3456::1")


async def test_a_name_that_does_not_resolve_is_transient() -> None:
    async def fail(host: str, port: int) -> list[Address]:
        raise OSError("Name or service not known")

    with pytest.raises(WebhookError, match="did not resolve"):
        await pin(check_url("https://hooks.test/", ALLOWED), fail)


async def test_the_call_goes_to_the_checked_address_with_the_name_as_host_and_sni() -> None:
    answers = iter([["93.184.215.14"], ["127.0.0.1"]])  # a rebinding DNS: public, then loopback
    asked: list[str] = []

    async def rebinding(host: str, port: int) -> list[Address]:
        asked.append(host)
        return [ipaddress.ip_address(a) for a in next(answers)]

    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    notifier = Notifier(AppSettings(webhook_hosts=ALLOWED), client, resolver=rebinding)
    payload = NotificationRequested(
        user_id="u1", channel="webhook", template="t", data={"url": "https://hooks.test/n?a=1"}
    )
    await notifier.handle(payload, make_context(fakeredis.FakeAsyncRedis(), "t", "n", "x"))
    await notifier.close()
    [request] = seen
    assert asked == ["hooks.test"]
    assert str(request.url) == "https://93.184.215.14/n?a=1"
    assert request.headers["Host"] == "hooks.test"
    assert request.extensions["sni_hostname"] == "hooks.test"
