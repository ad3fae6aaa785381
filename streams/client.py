"""The one place that turns settings into a redis-py asyncio client."""

from __future__ import annotations

import re
from typing import Any, Final

from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry as SyncRetry

from streams.cluster_client import cluster_mode, create_cluster, create_sync_cluster
from streams.config import SOCKET_TIMEOUT_MS, Settings, is_sentinel_url, parse_sentinel_url
from streams.keys import Keys
from streams.pool import BoundedConnectionPool
from streams.sentinel import sentinel_redis, sync_sentinel_redis

CONNECT_TIMEOUT_S: Final = 5.0
SOCKET_TIMEOUT_S: Final = SOCKET_TIMEOUT_MS / 1000
HEALTH_CHECK_INTERVAL_S: Final = 30
# Greedy up to the last '@' before a space or quote: redis-py (urlsplit) takes everything up to
# the last '@' as user info and accepts the scheme in any case; a stray '/' is hidden too.
_USERINFO: Final = re.compile(r"(rediss?(?:\+sentinel)?://)[^\s'\"]*@", re.IGNORECASE)


def redact(text: str) -> str:
    """Replace the user-info part of any redis URL in text with ***."""
    return _USERINFO.sub(r"\1***@", text)


def create_redis(
    settings: Settings,
    *,
    socket_timeout_s: float = SOCKET_TIMEOUT_S,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
    retries: int = 3,
    max_connections: int | None = None,
) -> Redis:
    """Create a pooled client: bounded pool, timeouts, retries with exponential backoff.

    A redis+sentinel:// URL gives the same client for the primary its Sentinels name.

    Blocking reads must be shorter than socket_timeout_s; Settings caps block_ms (MAX_BLOCK_MS).
    On a Redis Cluster (STREAMS_CLUSTER) it is a RedisCluster with the same bounds per node.
    """
    options: dict[str, Any] = {
        "max_connections": max_connections or settings.max_connections,
        "timeout": connect_timeout_s + socket_timeout_s,
        "socket_connect_timeout": connect_timeout_s,
        "socket_timeout": socket_timeout_s,
        "socket_keepalive": True,
        "health_check_interval": HEALTH_CHECK_INTERVAL_S,
        "retry": Retry(ExponentialWithJitterBackoff(base=0.1, cap=2.0), retries),
        # READONLY: the connection reached a replica (after a failover): reconnecting may reach
        # the new primary, so it is retried like a dropped connection.
        "retry_on_error": [RedisConnectionError, RedisTimeoutError, ReadOnlyError],
        "client_name": "godo-streams",
    }
    url = settings.redis_url.reveal()
    if is_sentinel_url(url):
        return sentinel_redis(parse_sentinel_url(url), **options)
    if cluster_mode(settings):
        return create_cluster(
            settings,
            socket_timeout_s=socket_timeout_s,
            connect_timeout_s=connect_timeout_s,
            retries=retries,
            max_connections=options["max_connections"],
        )
    return Redis.from_pool(BoundedConnectionPool.from_url(url, **options))  # aclose() closes it


def create_sync_redis(
    settings: Settings, *, socket_timeout_s: float, client_name: str
) -> SyncRedis:
    """A blocking client without retries, for a thread of its own (the lease keeper)."""
    options: dict[str, Any] = {
        "socket_timeout": socket_timeout_s,
        "socket_connect_timeout": socket_timeout_s,
        # No retries inside a call: the caller's next round is the retry.
        "retry": SyncRetry(NoBackoff(), 0),
        "client_name": client_name,
    }
    url = settings.redis_url.reveal()
    if is_sentinel_url(url):
        return sync_sentinel_redis(parse_sentinel_url(url), **options)
    if cluster_mode(settings):
        return create_sync_cluster(settings, timeout_s=socket_timeout_s, name=client_name)
    return SyncRedis.from_url(url, **options)


def make_keys(settings: Settings) -> Keys:
    """The key builders of a deployment: on a cluster, every multi-key step stays in one slot."""
    return Keys(settings.prefix, cluster=cluster_mode(settings))
