"""Durable publish: append, then wait until replicas (and AOF fsyncs) confirm, in one round trip.

``WAIT`` counts the replicas that acknowledged every write made *on the same connection*, so
the XADD and the WAIT travel in one pipeline: a WAIT on another pooled connection, or on a
connection re-opened by a retry, would confirm nothing and report success. When redis-py
retries the pipeline after a dropped connection, it sends both again: the entry may be
appended twice, but the confirmation always covers what was appended.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Final

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from streams.config import Settings
from streams.errors import ConfigError, NotDurableError
from streams.version import parse_version

log = logging.getLogger(__name__)

WAITAOF_SINCE: Final = (7, 2)
# Per client: does the server have WAITAOF and AOF on. Asked once (INFO), not per publish.
_servers: weakref.WeakKeyDictionary[Redis, bool] = weakref.WeakKeyDictionary()


class Durability:
    """STREAMS_PUBLISH_MIN_REPLICAS, _REPLICA_TIMEOUT_MS and _FSYNC, applied to one append."""

    def __init__(self, settings: Settings) -> None:
        self.replicas = settings.publish_min_replicas
        self.timeout_ms = settings.publish_replica_timeout_ms
        self.fsync = settings.publish_fsync

    @property
    def required(self) -> bool:
        return self.replicas > 0 or self.fsync

    async def confirm(
        self,
        redis: Redis,
        queue: str,
        write: Callable[[Pipeline], Awaitable[object]],
        *,
        atomic: bool,
    ) -> list[Any]:
        """Like append(), for any writes write(pipe) queues (e.g. scripts); return their replies."""
        aof = self.fsync and await _waitaof_available(redis)
        async with redis.pipeline(transaction=False) as pipe:
            if atomic:
                pipe.execute_command("MULTI")
            await write(pipe)
            if atomic:
                pipe.execute_command("EXEC")
            if aof:
                pipe.waitaof(1, self.replicas, self.timeout_ms)
            else:
                pipe.wait(self.replicas, self.timeout_ms)
            replies = await pipe.execute()
        written = list(replies[-2] if atomic else replies[:-1])
        shortfall = self._shortfall(replies[-1], aof)
        if shortfall:
            ids = [_entry_id(r[0] if isinstance(r, list) else r) for r in written]
            raise NotDurableError(queue, ids, shortfall)
        return written

    def _shortfall(self, reply: Any, aof: bool) -> str:
        within = f"within {self.timeout_ms} ms"
        if aof:
            local, replicas = int(reply[0]), int(reply[1])
            if not local:
                return f"the primary's AOF fsync was not confirmed {within}"
        else:
            replicas = int(reply)
        if replicas < self.replicas:
            what = "confirmed the AOF fsync" if aof else "acknowledged it"
            return f"{replicas} of {self.replicas} required replicas {what} {within}"
        return ""


def _entry_id(reply: object) -> str:
    if isinstance(reply, Exception):  # an XADD refused inside EXEC
        raise reply
    return reply.decode() if isinstance(reply, bytes) else str(reply)


async def _waitaof_available(redis: Redis) -> bool:
    """True when WAITAOF can be used (7.2+ and AOF on); warn once when the server is older."""
    known = _servers.get(redis)
    if known is not None:
        return known
    info: dict[str, Any] = await redis.info()
    version = str(info.get("redis_version", "0"))
    if not int(info.get("aof_enabled", 0)):
        raise ConfigError(
            "STREAMS_PUBLISH_FSYNC",
            "the server has appendonly off, so no fsync can be confirmed; "
            "turn AOF on (appendonly yes) or unset it",
        )
    available = (parse_version(version) or ()) >= WAITAOF_SINCE
    if not available:
        log.warning(
            "STREAMS_PUBLISH_FSYNC: redis %s has no WAITAOF (7.2+): publishes wait for "
            "STREAMS_PUBLISH_MIN_REPLICAS replicas only",
            version,
        )
    _servers[redis] = available
    return available
