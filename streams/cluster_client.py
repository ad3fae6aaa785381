"""Redis Cluster clients: STREAMS_CLUSTER, detection, and the clients client.py hands out.

A RedisCluster offers the commands a Redis does, routed by key slot, so every loop uses it
through the same ``Redis`` type. What differs is only what keys.py guarantees: one call,
script or transaction never touches two slots.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final, cast

import msgspec
import redis as sync_redis
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry as SyncRetry

from streams.config import Settings, is_sentinel_url
from streams.errors import ConfigError
from streams.pool import take_slot

log = logging.getLogger(__name__)

_detected: dict[str, bool] = {}
_READS: Final = frozenset({"XREADGROUP", "XREAD"})
SLOTS: Final = 16_384


def cluster_mode(settings: Settings) -> bool:
    """True when REDIS_URL names a cluster node: STREAMS_CLUSTER, or INFO cluster (auto)."""
    if settings.cluster != "auto":
        return settings.cluster == "true"
    url = settings.redis_url.reveal()
    if is_sentinel_url(url):  # Sentinel names one primary, never a cluster
        return False
    if url not in _detected:
        found = _probe(settings)
        if found is None:  # unreachable: the caller's first command reports it
            return False
        _detected[url] = found
    return _detected[url]


def _probe(settings: Settings) -> bool | None:
    try:
        client = sync_redis.Redis.from_url(
            settings.redis_url.reveal(), socket_timeout=5, socket_connect_timeout=5
        )
        with client:
            return bool(client.info("cluster").get("cluster_enabled"))
    except (OSError, RedisError) as exc:
        log.debug("STREAMS_CLUSTER=auto: INFO cluster failed (%s)", type(exc).__name__)
        return None


class _Cluster(RedisCluster):
    """RedisCluster that finds the slot of XREADGROUP itself, and waits for a connection.

    redis-py asks a node (COMMAND GETKEYS) for the keys of a command with movable keys,
    which would double the round trips of every read. The keys follow STREAMS: the first
    half of the remaining arguments.

    redis-py's cluster raises at once when a node's max_connections are all in use, where
    the single-server pool (pool.py) waits; so commands wait here for one of max_connections
    slots (for all nodes together, so no node can run out), up to wait_s.
    """

    def __init__(self, *, wait_s: float = 10.0, max_connections: int = 50, **kwargs: Any) -> None:
        super().__init__(max_connections=max_connections, **kwargs)
        self._wait_s = wait_s
        self._bound = max_connections
        self._free = asyncio.Semaphore(max_connections)

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        await take_slot(self._free, self._wait_s, self._bound)
        try:
            return await super().execute_command(*args, **kwargs)
        finally:
            self._free.release()

    async def _determine_slot(self, command: str, *args: Any) -> int:
        if str(command).upper() in _READS:
            words = [a.upper().encode() if isinstance(a, str) else a for a in args]
            if b"STREAMS" in words:
                at = words.index(b"STREAMS") + 1
                keys = args[at : at + (len(args) - at) // 2]
                slots = {self.keyslot(k) for k in keys}
                if len(slots) == 1:
                    return slots.pop()
        return await super()._determine_slot(command, *args)


def _check_db(settings: Settings) -> None:
    url = settings.redis_url.reveal()
    path = url.split("?")[0].rsplit("/", 1)
    if url.count("/") >= 3 and path[-1] not in ("", "0"):
        raise ConfigError("REDIS_URL", "a Redis Cluster has only database 0")


def create_cluster(
    settings: Settings,
    *,
    socket_timeout_s: float,
    connect_timeout_s: float,
    retries: int,
    max_connections: int,
) -> Redis:
    """A cluster client: the same timeouts and retries, max_connections per node."""
    _check_db(settings)
    client = _Cluster.from_url(
        settings.redis_url.reveal(),
        max_connections=max_connections,
        socket_connect_timeout=connect_timeout_s,
        socket_timeout=socket_timeout_s,
        socket_keepalive=True,
        # Connection errors, timeouts, a failover (CLUSTERDOWN, uncovered slots): refresh the
        # slot map and try again with backoff. MOVED/ASK are followed without counting.
        retry=Retry(ExponentialWithJitterBackoff(base=0.1, cap=2.0), retries),
        client_name="godo-streams",
        wait_s=connect_timeout_s + socket_timeout_s,
    )
    # Same commands, routed by slot; callers keep to one slot per call (keys.py).
    return cast("Redis", client)


def create_sync_cluster(settings: Settings, *, timeout_s: float, name: str) -> sync_redis.Redis:
    _check_db(settings)
    client = sync_redis.RedisCluster.from_url(
        settings.redis_url.reveal(),
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=SyncRetry(NoBackoff(), 0),
        client_name=name,
    )
    return cast("sync_redis.Redis", client)


class ClusterState(msgspec.Struct, frozen=True, kw_only=True):
    """What /health shows of a Redis Cluster: CLUSTER INFO and the nodes flagged failing."""

    state: str
    known_nodes: int
    masters: int
    slots_ok: int
    slots_pfail: int
    slots_fail: int
    failing_nodes: list[str]

    @property
    def problems(self) -> list[str]:
        """Reasons to call the cluster degraded (empty when it is fine)."""
        reasons = []
        if self.state != "ok":
            reasons.append(f"redis cluster_state is {self.state}")
        if self.failing_nodes:
            reasons.append(f"redis cluster nodes failing: {', '.join(self.failing_nodes)}")
        uncovered = SLOTS - self.slots_ok
        if uncovered:
            reasons.append(f"redis cluster: {uncovered} of {SLOTS} hash slots not served")
        return reasons


async def cluster_state(redis: Redis) -> ClusterState | None:
    """The cluster's state as one of its nodes sees it; None for a single server."""
    client: object = redis  # typed as Redis everywhere; a RedisCluster on a cluster
    if not isinstance(client, RedisCluster):
        return None
    info: dict[str, Any] = await client.cluster_info()
    nodes: dict[str, Any] = await client.cluster_nodes()
    flags = {name: str(node.get("flags", "")).split(",") for name, node in nodes.items()}
    return ClusterState(
        state=str(info.get("cluster_state", "")),
        known_nodes=int(info.get("cluster_known_nodes", 0)),
        masters=sum(1 for f in flags.values() if "master" in f and "fail" not in f),
        slots_ok=int(info.get("cluster_slots_ok", 0)),
        slots_pfail=int(info.get("cluster_slots_pfail", 0)),
        slots_fail=int(info.get("cluster_slots_fail", 0)),
        failing_nodes=sorted(n for n, f in flags.items() if "fail" in f or "fail?" in f),
    )
