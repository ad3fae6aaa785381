"""`streams publish QUEUE TYPE JSON|-`: validate one payload and append it; print the id."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import anyio

from streams.cli import fail, load_registry
from streams.client import create_redis
from streams.config import from_env
from streams.errors import NotDurableError, StreamsError
from streams.producer import Producer


def add_parser(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("publish", help="publish one message")
    parser.add_argument("queue")
    parser.add_argument("type", help="message type, for example event.discovered")
    parser.add_argument("json", help="the payload as JSON, or - to read it from stdin")
    parser.add_argument("--key", help="optional message key")
    parser.add_argument("--app", help="module:attribute of the Registry (default: $STREAMS_APP)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = from_env()
    registry = load_registry(args.app)
    # os.fsencode gives back the bytes as typed (str.encode fails on bytes that are not UTF-8).
    raw = sys.stdin.buffer.read() if args.json == "-" else os.fsencode(args.json)
    _check_utf8(raw)
    settings.queue(args.queue)
    payload = registry.encode(args.queue, args.type, raw)  # validates before connecting

    async def publish() -> str:
        redis = create_redis(settings)
        try:
            return await Producer(redis, settings, registry).publish(
                args.queue, args.type, payload, key=args.key
            )
        finally:
            await redis.aclose()

    try:
        print(anyio.run(publish))  # noqa: T201  # the command's output
    except NotDurableError as exc:
        fail(str(exc), code=1)  # not the caller's mistake: the entry is in, unconfirmed
    return 0


def _check_utf8(raw: bytes) -> None:
    # JSON is UTF-8; msgspec raises UnicodeDecodeError, not a DecodeError, inside a string.
    try:
        raw.decode()
    except UnicodeDecodeError as exc:
        raise StreamsError(f"the payload is not valid UTF-8 (byte {exc.start})") from None
