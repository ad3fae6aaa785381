"""`streams api [--host H] [--port P]`: serve the operator HTTP API with uvicorn."""

from __future__ import annotations

import argparse
import importlib
import os
import socket
from typing import Any, Final

from streams.cli import load_registry
from streams.config import from_env
from streams.errors import ConfigError, StreamsError

DEFAULT_PORT: Final = 8000
ALL_INTERFACES: Final = "0.0.0.0"  # noqa: S104  # a server in a container listens on every interface


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


def port(args: argparse.Namespace) -> int:
    """Return --port, else $PORT (set by Railway), else 8000."""
    source, raw = ("--port", str(args.port)) if args.port is not None else ("PORT", "")
    if args.port is None:
        raw = os.environ.get("PORT", "").strip() or str(DEFAULT_PORT)
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ConfigError(source, f"must be a TCP port number (1-65535), got {raw!r}")
    return int(raw)


def _dual_stack(port: int) -> socket.socket:
    # asyncio makes an IPv6 listener IPv6-only; bind one that accepts IPv4 too.
    try:
        return socket.create_server(("::", port), family=socket.AF_INET6, dualstack_ipv6=True)
    except OSError as exc:
        raise StreamsError(f"cannot listen on [::]:{port}: {exc.strerror or exc}") from None


def run(args: argparse.Namespace) -> int:
    settings = from_env()
    registry = load_registry(args.app)
    bind_port = port(args)
    uvicorn = importlib.import_module("uvicorn")
    # Imported here, not at module level: streams must not depend on the api package.
    app = importlib.import_module("api.app").create_app(settings, registry)
    options: dict[str, Any] = {
        "proxy_headers": True,
        "forwarded_allow_ips": "*",
        "timeout_graceful_shutdown": 10,
        "log_config": None,  # keep the logging the `streams` command set up
        # Off by default: a line per scrape costs ~20% of the API's CPU (bench W5); Railway logs requests.
        "access_log": args.access_log,
    }
    if args.host != "::":
        uvicorn.run(app, host=args.host, port=bind_port, **options)
        return 0
    with _dual_stack(bind_port) as sock:
        uvicorn.run(app, fd=sock.fileno(), **options)
    return 0
