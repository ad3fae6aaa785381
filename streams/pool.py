"""A bounded connection pool whose checkout costs nothing while a connection is free.

redis-py's BlockingConnectionPool bounds the connections too, but every checkout enters a
condition variable and arms a timeout: about 15 % of a loopback round trip, paid by every
single-message publish. Here a semaphore counts the free slots; only a caller that finds none
waits, with a timeout.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import ConnectionPool
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError


class BoundedConnectionPool(ConnectionPool):
    """At most max_connections connections; a caller waits up to `timeout` s for a free one."""

    def __init__(self, *, timeout: float = 20.0, **kwargs: Any) -> None:
        self._wait_s = timeout
        super().__init__(**kwargs)
        self._free = asyncio.Semaphore(self.max_connections)

    def reset(self) -> None:
        # After a fork, connections checked out before it are forgotten: so are their slots.
        super().reset()  # type: ignore[no-untyped-call]
        self._free = asyncio.Semaphore(self.max_connections)

    async def get_connection(
        self, command_name: object = None, *keys: object, **options: object
    ) -> AbstractConnection:
        await self._take_slot()
        try:
            async with self._lock:
                connection: AbstractConnection = self.get_available_connection()  # type: ignore[no-untyped-call]
        except BaseException:
            self._free.release()
            raise
        try:
            await self.ensure_connection(connection)
        except BaseException:
            await self.release(connection)  # gives the slot back
            raise
        return connection

    async def release(self, connection: AbstractConnection) -> None:
        checked_out = connection in self._in_use_connections
        try:
            await super().release(connection)
        finally:
            if checked_out:
                self._free.release()

    async def _take_slot(self) -> None:
        await take_slot(self._free, self._wait_s, self.max_connections)


async def take_slot(free: asyncio.Semaphore, wait_s: float, bound: int) -> None:
    """Take one of bound connection slots, waiting up to wait_s for one to be released."""
    if not free.locked():
        await free.acquire()  # returns at once: a slot is free
        return
    try:
        async with asyncio.timeout(wait_s):
            await free.acquire()
    except TimeoutError:
        raise RedisConnectionError(
            f"no Redis connection free after {wait_s:g} s: all "
            f"{bound} are in use (raise STREAMS_MAX_CONNECTIONS?)"
        ) from None
