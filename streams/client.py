"""The one place that turns settings into a redis-py asyncio client."""

from __future__ import annotations

import re
from typing import Final

import redis as sync_redis
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry as SyncRetry

from streams.cluster_client import cluster_mode, create_cluster, create_sync_cluster
from streams.config import SOCKET_TIMEOUT_MS, Settings
from streams.keys import Keys
from streams.pool import BoundedConnectionPool

CONNECT_TIMEOUT_S: Final = 5.0
SOCKET_TIMEOUT_S: Final = SOCKET_TIMEOUT_MS / 1000
HEALTH_CHECK_INTERVAL_S: Final = 30
# Greedy up to the last '@' before a space or quote: redis-py (urlsplit) takes everything up to
# the last '@' as user info and accepts the scheme in any case; a stray '/' is hidden too.
_USERINFO: Final = re.compile(r"(rediss?://)[^\s'\"]*@", re.IGNORECASE)


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

    Blocking reads must be shorter than socket_timeout_s; Settings caps block_ms (MAX_BLOCK_MS).
    On a Redis Cluster (STREAMS_CLUSTER) it is a RedisCluster with the same bounds per node.
    """
    if cluster_mode(settings):
        return create_cluster(
            settings,
            socket_timeout_s=socket_timeout_s,
            connect_timeout_s=connect_timeout_s,
            retries=retries,
            max_connections=max_connections or settings.max_connections,
        )
    pool = BoundedConnectionPool.from_url(
        settings.redis_url.reveal(),
        max_connections=max_connections or settings.max_connections,
        timeout=connect_timeout_s + socket_timeout_s,
        socket_connect_timeout=connect_timeout_s,
        socket_timeout=socket_timeout_s,
        socket_keepalive=True,
        health_check_interval=HEALTH_CHECK_INTERVAL_S,
        retry=Retry(ExponentialWithJitterBackoff(base=0.1, cap=2.0), retries),
        # READONLY: the connection reached a replica (after a failover): reconnecting may reach
        # the new primary, so it is retried like a dropped connection.
        retry_on_error=[RedisConnectionError, RedisTimeoutError, ReadOnlyError],
        client_name="godo-streams",
    )
    return Redis.from_pool(pool)  # aclose() closes the pool too


def create_sync_redis(settings: Settings, *, timeout_s: float, name: str) -> sync_redis.Redis:
    """A blocking client without retries (the lease thread's): one server or a cluster."""
    if cluster_mode(settings):
        return create_sync_cluster(settings, timeout_s=timeout_s, name=name)
    return sync_redis.Redis.from_url(
        settings.redis_url.reveal(),
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        # No retries inside a round: the next round is the retry.
        retry=SyncRetry(NoBackoff(), 0),
        client_name=name,
    )


def make_keys(settings: Settings) -> Keys:
    """The key builders of a deployment: on a cluster, every multi-key step stays in one slot."""
    return Keys(settings.prefix, cluster=cluster_mode(settings))
