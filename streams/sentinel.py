"""Clients for a redis+sentinel:// URL: redis-py's Sentinel finds the primary and follows it.

Only how the client is built differs from a plain URL: the pool is bounded the same way
(streams.pool), with the same timeouts and retries, and every loop uses the client as is. A
connection that meets READONLY (it still talks to a demoted primary) is dropped by redis-py
and asks the Sentinels again on reconnect.
"""

from __future__ import annotations

from typing import Any

import redis as sync_redis
from redis import sentinel as sync_sentinel
from redis.asyncio import Redis
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool

from streams.config import SentinelTarget
from streams.pool import BoundedConnectionPool


class BoundedSentinelPool(SentinelConnectionPool, BoundedConnectionPool):
    """Sentinel's pool (asks for the primary's address on connect) with the bounded checkout."""


class SentinelRedis(Redis):
    """A client for the primary that also closes its connections to the Sentinels."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        pool = self.connection_pool
        if isinstance(pool, SentinelConnectionPool):
            await pool.sentinel_manager.aclose()


class SyncSentinelRedis(sync_redis.Redis):
    """The same for the blocking client (the lease thread)."""

    def close(self) -> None:
        super().close()
        pool = self.connection_pool
        if isinstance(pool, sync_sentinel.SentinelConnectionPool):
            for client in pool.sentinel_manager.sentinels:
                client.close()


def server_options(target: SentinelTarget) -> dict[str, Any]:
    """Connection options for the primary: database, credentials and TLS."""
    options: dict[str, Any] = {"db": target.db, **_tls(target)}
    if target.password is not None:
        options.update(username=target.username, password=target.password)
    return options


def sentinel_options(target: SentinelTarget, socket_options: dict[str, Any]) -> dict[str, Any]:
    """Connection options for the Sentinels: timeouts, TLS, and the password if asked for."""
    options = {**socket_options, **_tls(target)}
    if target.sentinel_auth and target.password is not None:
        options.update(username=target.username, password=target.password)
    return options


def sentinel_redis(target: SentinelTarget, **pool_options: Any) -> Redis:
    """An asyncio client for the primary that target's Sentinels name."""
    sockets = {k: v for k, v in pool_options.items() if k.startswith("socket_")}
    manager = Sentinel(target.sentinels, sentinel_kwargs=sentinel_options(target, sockets))  # type: ignore[no-untyped-call]  # redis-py leaves Sentinel untyped
    client: Redis = manager.master_for(
        target.master,
        redis_class=SentinelRedis,
        connection_pool_class=BoundedSentinelPool,
        **server_options(target),
        **pool_options,
    )
    return client


def sync_sentinel_redis(target: SentinelTarget, **options: Any) -> sync_redis.Redis:
    """A blocking client for the primary (for the lease thread)."""
    sockets = {k: v for k, v in options.items() if k.startswith("socket_")}
    manager = sync_sentinel.Sentinel(  # type: ignore[no-untyped-call]  # untyped in redis-py
        target.sentinels, sentinel_kwargs=sentinel_options(target, sockets)
    )
    client: sync_redis.Redis = manager.master_for(  # type: ignore[no-untyped-call]  # the same
        target.master, redis_class=SyncSentinelRedis, **server_options(target), **options
    )
    return client


def _tls(target: SentinelTarget) -> dict[str, Any]:
    if not target.tls:
        return {}
    options: dict[str, Any] = {"ssl": True, **target.tls_options}
    if "ssl_check_hostname" in options:
        options["ssl_check_hostname"] = options["ssl_check_hostname"].lower() in (
            "true",
            "1",
            "yes",
        )
    return options
