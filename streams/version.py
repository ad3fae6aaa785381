"""The oldest Redis godo-streams works with, checked when a worker starts."""

from __future__ import annotations

import re
from typing import Any, Final

from redis.asyncio import Redis
from redis.exceptions import NoPermissionError

from streams.errors import StreamsError

# Redis 6.2's XCLAIM leaves entries deleted from the stream in the pending list, so the
# reclaimer would claim them forever. Valkey reports redis_version 7.2.x and passes.
MIN_VERSION: Final = (7, 0)
_NUMBER: Final = re.compile(r"\d+")


class ServerVersionError(StreamsError):
    """The Redis server is older than MIN_VERSION."""

    def __init__(self, version: str) -> None:
        self.version = version
        minimum = ".".join(map(str, MIN_VERSION))
        super().__init__(
            f"the Redis server at REDIS_URL is version {version}; godo-streams needs "
            f"Redis {minimum} or newer (older XCLAIM leaves deleted entries pending): "
            "upgrade it or point REDIS_URL at a newer server"
        )


def parse_version(text: str) -> tuple[int, ...] | None:
    """(major, minor, ...) of a version like '7.0.15'; None when it isn't one."""
    parts = []
    for piece in text.strip().split("."):
        match = _NUMBER.match(piece)
        if match is None:
            break
        parts.append(int(match.group()))
    return tuple(parts) or None


def check_version(version: str) -> None:
    """Raise ServerVersionError when version is older than MIN_VERSION; accept what can't be read."""
    parsed = parse_version(version)
    if parsed is not None and (*parsed, 0, 0)[:2] < MIN_VERSION:
        raise ServerVersionError(version)


async def check_server(redis: Redis) -> None:
    """Refuse a server older than MIN_VERSION (INFO server); skip when an ACL forbids INFO."""
    try:
        info: Any = await redis.info("server")
    except NoPermissionError:
        return
    check_version(str(info.get("redis_version", "")))
