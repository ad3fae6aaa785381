"""The one place that turns settings into a redis-py asyncio client."""

from __future__ import annotations

import re
from typing import Final

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

from streams.config import SOCKET_TIMEOUT_MS, Settings
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
    """
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
