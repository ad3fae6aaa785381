"""Helpers for the Godo application's tests."""

from __future__ import annotations

from redis.asyncio import Redis

from streams import Context, Keys


def make_context(redis: Redis, prefix: str, queue: str, type_: str, id_: str = "1-0") -> Context:
    """A handler context as a worker would build it, for calling handlers directly."""
    return Context(
        queue=queue,
        id=id_,
        type=type_,
        attempt=1,
        key=None,
        headers={},
        published_ms=None,
        redis=redis,
        keys=Keys(prefix),
    )
