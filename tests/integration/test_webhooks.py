"""Webhooks over real sockets: a name is resolved once and called at the checked address."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from consumers.notifications import NotificationRequested, Notifier
from consumers.settings import AppSettings, parse_hosts
from consumers.webhooks import resolve
from streams import PermanentError
from tests.app_support import FlakyWebhook, make_context


def note(url: str) -> NotificationRequested:
    return NotificationRequested(user_id="u1", channel="webhook", template="t", data={"url": url})


async def test_a_private_entry_reaches_a_name_on_loopback(redis: Redis, prefix: str) -> None:
    if str((await resolve("localhost", 80))[0]) != "127.0.0.1":
        pytest.skip("localhost does not resolve to 127.0.0.1 first here")
    with FlakyWebhook(failures=0) as hook:
        settings = AppSettings(webhook_hosts=parse_hosts(f"private:localhost:{hook.port}"))
        notifier = Notifier(settings)
        url = f"http://localhost:{hook.port}/hook"
        await notifier.handle(note(url), make_context(redis, prefix, "notifications", "t"))
        await notifier.close()
    assert hook.hosts == [f"localhost:{hook.port}"]


async def test_a_plain_entry_for_a_name_on_loopback_is_never_called(
    redis: Redis, prefix: str
) -> None:
    with FlakyWebhook(failures=0) as hook:
        notifier = Notifier(AppSettings(webhook_hosts=parse_hosts(f"localhost:{hook.port}")))
        url = f"http://localhost:{hook.port}/hook"
        with pytest.raises(PermanentError, match="non-public"):
            await notifier.handle(note(url), make_context(redis, prefix, "notifications", "t"))
        await notifier.close()
    assert hook.calls == 0
