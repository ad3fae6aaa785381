"""The Godo application's own settings, read once from the environment.

NOTIFICATIONS_WEBHOOK_HOSTS   comma-separated `host` or `host:port` entries; empty disables webhooks;
                              `private:host[:port]` may resolve to non-public addresses
NOTIFICATIONS_WEBHOOK_TIMEOUT_MS   timeout of one webhook call (default 5000)
CACHE_REDIS_URL               optional separate Redis for cache entries (default: REDIS_URL)
GODO_ACTIVE_WINDOW_MS         users active within this window get hourly refreshes (default 1 day)
GODO_RECOMMENDATIONS_EVERY_MS / GODO_DROP_PAST_EVENTS_EVERY_MS / GODO_TRIM_EVERY_MS
                              schedule intervals (defaults: 1 hour, 1 day, 5 minutes)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final

import msgspec

from streams import ConfigError, Secret
from streams.config import check_redis_url
from streams.scheduler import MAX_EVERY_MS

HOUR_MS: Final = 3_600_000
DAY_MS: Final = 24 * HOUR_MS


PRIVATE_MARKER: Final = "private:"


class HostRule(msgspec.Struct, frozen=True):
    """One allowed webhook destination; port None means the scheme's default port only.

    A name must resolve to public addresses only, unless private is set (the `private:`
    marker, for example for Railway's private network); an IP literal allows that address.
    """

    host: str
    port: int | None = None
    private: bool = False


class AppSettings(msgspec.Struct, frozen=True, kw_only=True):
    webhook_hosts: frozenset[HostRule] = frozenset()
    webhook_timeout_ms: int = 5_000
    cache_redis_url: Secret | None = None
    active_window_ms: int = DAY_MS
    recommendations_every_ms: int = HOUR_MS
    drop_past_events_every_ms: int = DAY_MS
    trim_every_ms: int = 300_000


def parse_hosts(raw: str) -> frozenset[HostRule]:
    """Parse NOTIFICATIONS_WEBHOOK_HOSTS; raise ConfigError naming the bad entry."""
    return frozenset(_parse_host(entry.strip()) for entry in raw.split(",") if entry.strip())


def _parse_host(entry: str) -> HostRule:
    marker = entry[: len(PRIVATE_MARKER)].lower() == PRIVATE_MARKER
    if marker and not entry[len(PRIVATE_MARKER) :].isdigit():  # `private:80` is a host
        rule = _parse_plain(entry[len(PRIVATE_MARKER) :].strip())
        return HostRule(rule.host, rule.port, private=True)
    return _parse_plain(entry)


def _parse_plain(entry: str) -> HostRule:
    problem = f"entry {entry!r} must be `host` or `host:port` (IPv6 as `[addr]:port`)"
    host, port_text = entry, ""
    if entry.startswith("["):
        host, sep, rest = entry[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ConfigError("NOTIFICATIONS_WEBHOOK_HOSTS", problem)
        port_text = rest[1:]
    elif entry.count(":") == 1:
        host, port_text = entry.split(":")
    elif ":" in entry:
        raise ConfigError("NOTIFICATIONS_WEBHOOK_HOSTS", problem)
    if not host or any(c in host for c in "/@?# "):
        raise ConfigError("NOTIFICATIONS_WEBHOOK_HOSTS", problem)
    port = _port(port_text, problem) if port_text or entry.endswith(":") else None
    return HostRule(host.lower().rstrip("."), port)


def _port(text: str, problem: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigError("NOTIFICATIONS_WEBHOOK_HOSTS", problem)
    return int(text)


def _positive_ms(
    env: Mapping[str, str], variable: str, default: int, maximum: int | None = None
) -> int:
    raw = env.get(variable, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(variable, f"must be a positive number of milliseconds, got {raw!r}")
    if maximum is not None and int(raw) > maximum:
        raise ConfigError(variable, f"must be at most {maximum} ms, got {raw}")
    return int(raw)


def from_env(env: Mapping[str, str] | None = None) -> AppSettings:
    """Build AppSettings from environment variables; raise ConfigError naming the bad one."""
    env = os.environ if env is None else env
    cache_url = env.get("CACHE_REDIS_URL", "").strip()
    if cache_url:
        check_redis_url(cache_url, "CACHE_REDIS_URL")
    return AppSettings(
        webhook_hosts=parse_hosts(env.get("NOTIFICATIONS_WEBHOOK_HOSTS", "")),
        webhook_timeout_ms=_positive_ms(env, "NOTIFICATIONS_WEBHOOK_TIMEOUT_MS", 5_000),
        cache_redis_url=Secret(cache_url) if cache_url else None,
        active_window_ms=_positive_ms(env, "GODO_ACTIVE_WINDOW_MS", DAY_MS),
        recommendations_every_ms=_positive_ms(
            env, "GODO_RECOMMENDATIONS_EVERY_MS", HOUR_MS, MAX_EVERY_MS
        ),
        drop_past_events_every_ms=_positive_ms(
            env, "GODO_DROP_PAST_EVENTS_EVERY_MS", DAY_MS, MAX_EVERY_MS
        ),
        trim_every_ms=_positive_ms(env, "GODO_TRIM_EVERY_MS", 300_000, MAX_EVERY_MS),
    )
