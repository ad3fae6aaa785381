"""What /health says about high availability: role, replicas, persistence, and their risks."""

from __future__ import annotations

from typing import Any

import msgspec
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from streams.config import Settings


class ReplicaLink(msgspec.Struct, frozen=True, kw_only=True):
    address: str
    state: str
    lag_bytes: int
    last_ack_s: int


class Replication(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """INFO replication of the server REDIS_URL reaches."""

    role: str
    connected_replicas: int = 0
    replicas: list[ReplicaLink] = msgspec.field(default_factory=list)
    # Only on a replica: the link to its primary.
    primary_link: str | None = None


class Persistence(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """INFO persistence, plus whether RDB snapshots are configured (CONFIG GET save)."""

    aof_enabled: bool
    rdb_snapshots: bool | None = None  # None: CONFIG is not allowed on this server
    last_save_status: str = ""
    aof_last_write_status: str = ""


def replication(info: dict[str, Any]) -> Replication:
    role = str(info.get("role", "master"))
    if role != "master":
        return Replication(role=role, primary_link=str(info.get("master_link_status", "")))
    offset = int(info.get("master_repl_offset", 0))
    links = [
        ReplicaLink(
            address=f"{value.get('ip')}:{value.get('port')}",
            state=str(value.get("state", "")),
            lag_bytes=max(offset - int(value.get("offset", 0)), 0),
            last_ack_s=int(value.get("lag", 0)),
        )
        for key, value in sorted(info.items())
        if key.startswith("slave") and key[5:].isdigit() and isinstance(value, dict)
    ]
    return Replication(
        role=role, connected_replicas=int(info.get("connected_slaves", 0)), replicas=links
    )


def persistence(info: dict[str, Any], save: str | None) -> Persistence | None:
    if "aof_enabled" not in info:
        return None
    return Persistence(
        aof_enabled=bool(int(info["aof_enabled"])),
        rdb_snapshots=None if save is None else bool(save.strip()),
        last_save_status=str(info.get("rdb_last_bgsave_status", "")),
        aof_last_write_status=str(info.get("aof_last_write_status", "")),
    )


def ha_reasons(repl: Replication, disk: Persistence | None, settings: Settings) -> list[str]:
    """Why the setup risks losing messages, or refuses durable publishes."""
    reasons = []
    if disk is not None:
        if not disk.aof_enabled and disk.rdb_snapshots is False:
            reasons.append(
                "persistence is off (no AOF, no RDB snapshots): a restart loses every queued "
                "message; set appendonly yes"
            )
        if "err" in (disk.last_save_status, disk.aof_last_write_status):
            reasons.append("the last RDB snapshot or AOF write failed: check the server's disk")
        if settings.publish_fsync and not disk.aof_enabled:
            reasons.append("STREAMS_PUBLISH_FSYNC is set but AOF is off: every publish fails")
    wanted = settings.publish_min_replicas
    if repl.role == "master" and wanted > repl.connected_replicas:
        reasons.append(
            f"STREAMS_PUBLISH_MIN_REPLICAS is {wanted} but {repl.connected_replicas} replicas "
            "are connected: publishes fail as not durable"
        )
    return reasons


def primary_missing(repl: Replication) -> str | None:
    """A reason to answer 503: REDIS_URL reaches a read-only replica, not a primary."""
    if repl.role == "master":
        return None
    return (
        f"redis at REDIS_URL is a read-only {repl.role} (link to its primary: "
        f"{repl.primary_link}), not a primary: a failover in progress?"
    )


async def save_config(redis: Redis) -> str | None:
    """The server's RDB snapshot schedule, or None where CONFIG is renamed or refused."""
    try:
        found: dict[Any, Any] = await redis.config_get("save")
    except ResponseError:
        return None
    value = found.get("save", found.get(b"save"))
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)
