"""The `notifications` queue: render a template and deliver it to a log line or a webhook.

A webhook may only call hosts listed in NOTIFICATIONS_WEBHOOK_HOSTS, and a name only at the
public address it was checked at (see consumers/webhooks.py), so a message can never make a
worker call an arbitrary internal address: anything else is a permanent failure. Connection
errors, timeouts and non-2xx answers are transient and retried by the worker.
"""

from __future__ import annotations

import logging
import string
import time
from typing import Annotated, Final, Literal

import anyio
import httpx
import msgspec

from consumers.settings import AppSettings
from consumers.webhooks import Call, Resolver, WebhookError, check_url, pin, pinned_call, resolve
from streams import Context, PermanentError, Registry

log = logging.getLogger(__name__)

HISTORY_LENGTH: Final = 100
TEMPLATES: Final = {
    "welcome": "Welcome to Godo, $name!",
    "event.reminder": "Reminder: $title starts at $starts_at.",
    "recommendations.ready": "We found $count new events for you.",
}


class NotificationRequested(msgspec.Struct, frozen=True, kw_only=True):
    """Deliver a rendered template to a user through a channel."""

    user_id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    channel: Literal["log", "webhook"]
    template: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    data: dict[str, object] = {}


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    """What was delivered: stored per user, newest first."""

    user_id: str
    channel: str
    message: str
    delivered_ms: int
    message_id: str


def render(template: str, data: dict[str, object]) -> str:
    """Render a named template, or the template text itself, with $placeholders from data."""
    text = TEMPLATES.get(template, template)
    return string.Template(text).safe_substitute({k: str(v) for k, v in data.items()})


class Notifier:
    """Delivers notifications; owns its HTTP clients, closed at worker shutdown.

    One client per host name: connections are pooled by address, and a TLS connection set up
    for one name must not carry a request for another name at the same address.
    """

    def __init__(
        self,
        settings: AppSettings,
        client: httpx.AsyncClient | None = None,
        resolver: Resolver = resolve,
    ) -> None:
        self.settings = settings
        self.resolver = resolver
        self._client = client
        self._clients: dict[str, httpx.AsyncClient] = {}

    def client(self, host: str) -> httpx.AsyncClient:
        if self._client is not None:
            return self._client
        if host not in self._clients:
            self._clients[host] = httpx.AsyncClient(
                timeout=self.settings.webhook_timeout_ms / 1000,
                follow_redirects=False,
                trust_env=False,
            )
        return self._clients[host]

    async def close(self) -> None:
        clients = [*self._clients.values(), *([self._client] if self._client else [])]
        self._clients.clear()
        self._client = None
        for client in clients:
            await client.aclose()

    async def handle(self, payload: NotificationRequested, ctx: Context) -> None:
        message = render(payload.template, payload.data)
        if payload.channel == "webhook":
            await self._post(payload, message, ctx)
        else:
            log.info(
                "queue=%s id=%s notify user=%s: %s", ctx.queue, ctx.id, payload.user_id, message
            )
        await _record(payload, message, ctx)

    async def _post(self, payload: NotificationRequested, message: str, ctx: Context) -> None:
        target = check_url(payload.data.get("url"), self.settings.webhook_hosts)
        call: Call | None = None
        with anyio.move_on_after(self.settings.webhook_timeout_ms / 1000):
            call = pinned_call(target, await pin(target, self.resolver))
        if call is None:
            raise WebhookError(f"webhook host {target.host} did not resolve in time")
        body = {"user_id": payload.user_id, "template": payload.template, "message": message}
        headers = {"Idempotency-Key": f"{ctx.queue}:{ctx.id}", **call.headers}
        client = self.client(target.host)
        try:
            response = await client.post(
                call.url, json=body, headers=headers, extensions=call.extensions
            )
        except httpx.InvalidURL:
            raise PermanentError("webhook url is not a valid URL") from None
        except httpx.HTTPError as exc:
            raise WebhookError(f"webhook call failed: {type(exc).__name__}") from None
        if not response.is_success:
            raise WebhookError(f"webhook answered HTTP {response.status_code}")
        log.info("queue=%s id=%s webhook delivered to user=%s", ctx.queue, ctx.id, payload.user_id)


async def _record(payload: NotificationRequested, message: str, ctx: Context) -> None:
    delivery = Delivery(
        user_id=payload.user_id,
        channel=payload.channel,
        message=message,
        delivered_ms=time.time_ns() // 1_000_000,
        message_id=ctx.id,
    )
    key = ctx.keys.data("notifications", payload.user_id)
    async with ctx.redis.pipeline(transaction=True) as pipe:
        pipe.lpush(key, msgspec.json.encode(delivery))
        pipe.ltrim(key, 0, HISTORY_LENGTH - 1)
        await pipe.execute()


def register(registry: Registry, settings: AppSettings) -> None:
    notifier = Notifier(settings)
    registry.message(
        "notifications", "notification.requested", NotificationRequested, notifier.handle
    )
    registry.on_cleanup(notifier.close)
