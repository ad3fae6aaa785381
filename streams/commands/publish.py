"""`streams publish QUEUE TYPE JSON|-`: validate one payload, append or schedule it; print the id."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import anyio

from streams.cli import fail, load_registry
from streams.client import create_redis
from streams.config import from_env
from streams.delayed import iso, parse_at, parse_duration
from streams.enqueue import Published, dedupe_window
from streams.errors import NotDurableError, StreamsError
from streams.producer import Producer


def add_parser(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("publish", help="publish one message")
    parser.add_argument("queue")
    parser.add_argument("type", help="message type, for example event.discovered")
    parser.add_argument("json", help="the payload as JSON, or - to read it from stdin")
    parser.add_argument("--key", help="optional message key")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--delay", help="publish later: 30s, 5m, 1h, 2d or 250ms from now")
    when.add_argument("--at", help="publish at this time, e.g. 2026-12-01T20:00:00Z")
    parser.add_argument(
        "--dedupe-ms",
        type=int,
        help="with --key: publish at most once per this window (default: the queue's setting)",
    )
    parser.add_argument("--app", help="module:attribute of the Registry (default: $STREAMS_APP)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = from_env()
    registry = load_registry(args.app)
    # os.fsencode gives back the bytes as typed (str.encode fails on bytes that are not UTF-8).
    raw = sys.stdin.buffer.read() if args.json == "-" else os.fsencode(args.json)
    _check_utf8(raw)
    qs = settings.queue(args.queue)
    payload = registry.encode(args.queue, args.type, raw)  # validates before connecting
    delay_ms = None if args.delay is None else parse_duration(args.delay)
    at = None if args.at is None else parse_at(args.at)
    dedupe_window(args.key, args.dedupe_ms, qs.dedupe_ms)  # checks before connecting

    async def publish() -> Published:
        redis = create_redis(settings)
        try:
            return await Producer(redis, settings, registry).publish(
                args.queue,
                args.type,
                payload,
                key=args.key,
                delay_ms=delay_ms,
                at=at,
                dedupe_ms=args.dedupe_ms,
            )
        finally:
            await redis.aclose()

    try:
        published = anyio.run(publish)
    except NotDurableError as exc:
        fail(str(exc), code=1)  # not the caller's mistake: the entry is in, unconfirmed
    print(published)  # noqa: T201  # the command's output: the id alone, for scripts
    if published.duplicate:
        print(  # noqa: T201  # the command's output
            f"duplicate: key {args.key!r} was published within the dedupe window; nothing added",
            file=sys.stderr,
        )
    if published.due_ms is not None:
        print(f"scheduled for {iso(published.due_ms)}", file=sys.stderr)  # noqa: T201
    return 0


def _check_utf8(raw: bytes) -> None:
    # JSON is UTF-8; msgspec raises UnicodeDecodeError, not a DecodeError, inside a string.
    try:
        raw.decode()
    except UnicodeDecodeError as exc:
        raise StreamsError(f"the payload is not valid UTF-8 (byte {exc.start})") from None
