"""Where a webhook may go: the allowlist, the address a name resolves to, and the pinned call.

A URL must name a host:port of NOTIFICATIONS_WEBHOOK_HOSTS. A name is resolved once; every
address it resolves to must be public (not loopback, link-local, private, shared, reserved or
multicast) unless its entry carries the `private:` marker, and the call then connects to the
first checked address, with the name kept in the Host header and TLS SNI/certificate check.
So DNS that changes between the check and the connection (rebinding) can't redirect the call.
An IP literal entry allows exactly that address, public or not.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

import anyio
import httpx

from consumers.settings import HostRule
from streams import PermanentError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[Address]]]

DEFAULT_PORTS: Final = {"http": 80, "https": 443}


class WebhookError(Exception):
    """A transient webhook failure: the worker retries it with backoff."""


@dataclass(frozen=True, slots=True)
class Target:
    """A URL that passed the allowlist, with the host, port and entry it matched."""

    url: str
    host: str
    port: int
    rule: HostRule


@dataclass(frozen=True, slots=True)
class Call:
    """How to send the request so that it reaches the checked address."""

    url: httpx.URL
    headers: dict[str, str]
    extensions: dict[str, object]


def check_url(url: object, allowed: frozenset[HostRule]) -> Target:
    """Return the target if url's host:port is allowed, else raise PermanentError saying why."""
    if not allowed:
        raise PermanentError("webhook channel is disabled: NOTIFICATIONS_WEBHOOK_HOSTS is empty")
    if not isinstance(url, str) or not url:
        raise PermanentError("webhook notification needs data.url as a string")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise PermanentError("webhook url is not a valid URL") from None
    if parts.scheme not in DEFAULT_PORTS:
        raise PermanentError(f"webhook url scheme {parts.scheme!r} is not http or https")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise PermanentError("webhook url must not contain user info")
    host = (parts.hostname or "").rstrip(".")
    effective = port if port is not None else DEFAULT_PORTS[parts.scheme]
    for rule in allowed:
        wanted = rule.port if rule.port is not None else DEFAULT_PORTS[parts.scheme]
        if rule.host == host and wanted == effective:
            return Target(url, host, effective, rule)
    raise PermanentError(f"webhook host {host}:{effective} is not in NOTIFICATIONS_WEBHOOK_HOSTS")


async def resolve(host: str, port: int) -> list[Address]:
    """Resolve host once with the system resolver (getaddrinfo)."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [_address(str(info[4][0])) for info in infos]


def _address(text: str) -> Address:
    address = ipaddress.ip_address(text.partition("%")[0])  # drop an IPv6 zone
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_public(address: Address) -> bool:
    """Whether address is a public unicast address (what an unmarked name may resolve to)."""
    return address.is_global and not address.is_multicast


def _literal(host: str) -> Address | None:
    try:
        return _address(host)
    except ValueError:
        return None


async def pin(target: Target, resolver: Resolver = resolve) -> Address:
    """Resolve the target once and return the checked address to connect to.

    Raises:
        PermanentError: the name resolves to a non-public address its entry does not allow.
        WebhookError: the name does not resolve (retried: DNS may be down for a moment).
    """
    literal = _literal(target.host)
    if literal is not None:
        return literal  # an IP literal only matches an IP literal entry: allowed explicitly
    try:
        addresses = await resolver(target.host, target.port)
    except OSError as exc:
        raise WebhookError(f"webhook host {target.host} did not resolve: {exc}") from None
    if not addresses:
        raise WebhookError(f"webhook host {target.host} did not resolve")
    refused = [a for a in addresses if not is_public(a)]
    if refused and not target.rule.private:
        raise PermanentError(
            f"webhook host {target.host} resolves to the non-public address {refused[0]}; "
            f"allow it with `private:{target.host}` in NOTIFICATIONS_WEBHOOK_HOSTS"
        )
    return addresses[0]


def pinned_call(target: Target, address: Address) -> Call:
    """Address the request to the checked address; keep the name for Host and TLS."""
    url = httpx.URL(target.url)
    if _literal(target.host) is not None:
        return Call(url, {}, {})
    host = url.host.rstrip(".")
    return Call(
        url.copy_with(host=str(address)),
        {"Host": url.netloc.decode("ascii")},
        {"sni_hostname": host},
    )
