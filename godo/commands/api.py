"""`streams api [--host H] [--port P]`: serve the operator HTTP API with uvicorn."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import socket
from collections.abc import Mapping
from typing import Any, Final

from streams.cli import load_registry
from streams.config import from_env
from streams.errors import ConfigError, StreamsError
from streams.variables import warn_unknown_queue_variables

log = logging.getLogger(__name__)

DEFAULT_PORT: Final = 8000
STARTUP_FAILURE: Final = 3  # uvicorn's exit code when the application fails to start
ALL_INTERFACES: Final = "0.0.0.0"  # noqa: S104  # a server in a container listens on every interface
FORWARDED_VARIABLE: Final = "STREAMS_API_FORWARDED_ALLOW_IPS"
DEFAULT_FORWARDED: Final = "127.0.0.1,::1"


def add_parser(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("api", help="serve the operator HTTP API")
    parser.add_argument(
        "--host",
        default=ALL_INTERFACES,
        help="address to bind; :: for IPv6 and IPv4 (default: 0.0.0.0)",
    )
    parser.add_argument("--port", help="default: $PORT, else 8000")
    parser.add_argument("--app", help="module:attribute of the Registry (default: $STREAMS_APP)")
    parser.add_argument(
        "--access-log", action="store_true", help="log every request (default: off)"
    )
    parser.set_defaults(run=run)


def is_tcp_port(text: str) -> bool:
    return text.isdigit() and 0 < int(text) < 65536


def api_port(args: argparse.Namespace) -> int:
    """Return --port, else $PORT (set by Railway), else 8000."""
    source, raw = ("--port", str(args.port)) if args.port is not None else ("PORT", "")
    if args.port is None:
        raw = os.environ.get("PORT", "").strip() or str(DEFAULT_PORT)
    if not is_tcp_port(raw):
        raise ConfigError(source, f"must be a TCP port number (1-65535), got {raw!r}")
    return int(raw)


def forwarded_allow_ips(env: Mapping[str, str]) -> str:
    """Peers whose X-Forwarded-For/-Proto are believed: STREAMS_API_FORWARDED_ALLOW_IPS.

    Comma-separated addresses or networks, or * for every peer; default loopback only, so no
    client can put another address in the logs by sending the header itself.
    """
    raw = env.get(FORWARDED_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_FORWARDED
    entries = [entry.strip() for entry in raw.split(",") if entry.strip()]
    for entry in entries:
        if entry == "*":
            continue
        try:
            ipaddress.ip_network(entry)
        except ValueError:
            raise ConfigError(
                FORWARDED_VARIABLE, f"{entry!r} is not an IP address, a network (a.b.c.0/24) or *"
            ) from None
    return ",".join(entries)


def listen(host: str, port: int) -> list[socket.socket]:
    """Bind host:port now, so a taken port or an unknown host is one line, not uvicorn's log.

    :: is one dual-stack socket (asyncio would make it IPv6-only); a name gets a socket for
    each address it resolves to, as uvicorn would bind them.
    """
    try:
        if host == "::":
            return [socket.create_server(("::", port), family=socket.AF_INET6, dualstack_ipv6=True)]
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:
        raise StreamsError(f"cannot listen on {_where(host, port)}: {_reason(exc)}") from None
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in found:
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        raise StreamsError(f"cannot listen on {_where(host, port)}: {_reason(exc)}") from None
    return sockets


def _where(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def run(args: argparse.Namespace) -> int:
    settings = from_env()
    warn_unknown_queue_variables(os.environ, settings.queue_names)
    trusted = forwarded_allow_ips(os.environ)
    registry = load_registry(args.app)
    bind_port = api_port(args)
    sockets = listen(args.host, bind_port)
    # Imported here, not at module level, so that other commands don't load the web stack.
    import uvicorn

    from api.app import create_app

    app = create_app(settings, registry)
    config = uvicorn.Config(
        app,
        proxy_headers=True,
        forwarded_allow_ips=trusted,
        timeout_graceful_shutdown=10,
        log_config=None,  # keep the logging the `streams` command set up
        # Off by default: a line per scrape costs ~20% of the API's CPU (bench W5); Railway logs requests.
        access_log=args.access_log,
    )
    server = uvicorn.Server(config)
    # uvicorn logs where it listens only when it binds the sockets itself.
    log.info("API listening on http://%s", _where(args.host, bind_port))
    try:
        server.run(sockets=sockets)
    finally:
        for sock in sockets:
            sock.close()
    # Like uvicorn.run: the application failed to start (uvicorn has logged why).
    return 0 if server.started else STARTUP_FAILURE
