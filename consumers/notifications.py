"""The `notifications` queue: render a template and deliver it to a log line or a webhook.

A webhook may only call hosts listed in NOTIFICATIONS_WEBHOOK_HOSTS, so a message can never
make a worker call an arbitrary internal address: anything else is a permanent failure.
Connection errors, timeouts and non-2xx answers are transient and retried by the worker.
"""

from __future__ import annotations

import logging
import string
import time
from typing import Annotated, Final, Literal
from urllib.parse import urlsplit

import httpx
import msgspec

from consumers.settings import AppSettings, HostRule
from streams import Context, PermanentError, Registry

log = logging.getLogger(__name__)

DEFAULT_PORTS: Final = {"http": 80, "https": 443}
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


def check_url(url: object, allowed: frozenset[HostRule]) -> str:
    """Return url if it may be called, else raise PermanentError saying why."""
    if not allowed:
        raise PermanentError("webhook channel is disabled: NOTIFICATIONS_WEBHOOK_HOSTS is empty")
    if not isinstance(url, str) or not url:
        raise PermanentError("webhook notification needs data.url as a string")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise PermanentError("webhook url is not a valid URL") from None
    if parts.scheme not in DEFAULT_PORTS:
        raise PermanentError(f"webhook url scheme {parts.scheme!r} is not http or https")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise PermanentError("webhook url must not contain user info")
    host = (parts.hostname or "").rstrip(".")
    effective = port if port is not None else DEFAULT_PORTS[parts.scheme]
    for rule in allowed:
        wanted = rule.port if rule.port is not None else DEFAULT_PORTS[parts.scheme]
        if rule.host == host and wanted == effective:
            return url
    raise PermanentError(f"webhook host {host}:{effective} is not in NOTIFICATIONS_WEBHOOK_HOSTS")


class Notifier:
    """Delivers notifications; owns one HTTP client, closed at worker shutdown."""

    def __init__(self, settings: AppSettings, client: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self._client = client

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.settings.webhook_timeout_ms / 1000,
                follow_redirects=False,
                trust_env=False,
            )
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

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
        url = check_url(payload.data.get("url"), self.settings.webhook_hosts)
        body = {"user_id": payload.user_id, "template": payload.template, "message": message}
        headers = {"Idempotency-Key": f"{ctx.queue}:{ctx.id}"}
        try:
            response = await self.client.post(url, json=body, headers=headers)
        except httpx.InvalidURL:
            raise PermanentError("webhook url is not a valid URL") from None
        except httpx.HTTPError as exc:
            raise WebhookError(f"webhook call failed: {type(exc).__name__}") from None
        if not response.is_success:
            raise WebhookError(f"webhook answered HTTP {response.status_code}")
        log.info("queue=%s id=%s webhook delivered to user=%s", ctx.queue, ctx.id, payload.user_id)


class WebhookError(Exception):
    """A transient webhook failure: the worker retries it with backoff."""


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
