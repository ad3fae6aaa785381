"""The `default` queue: the seed's test task."""

from __future__ import annotations

import logging

import msgspec

from streams import Context, Registry

log = logging.getLogger(__name__)


class Ping(msgspec.Struct, frozen=True, kw_only=True):
    """A liveness probe through the whole pipeline."""

    message: str = "ping"


async def handle_ping(payload: Ping, ctx: Context) -> None:
    log.info("queue=%s id=%s ping: %s", ctx.queue, ctx.id, payload.message)


def register(registry: Registry) -> None:
    registry.message("default", "ping", Ping, handle_ping)
