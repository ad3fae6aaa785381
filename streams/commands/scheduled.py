"""`streams scheduled list|cancel QUEUE [ID]`: delayed messages waiting for their time."""

from __future__ import annotations

import argparse
from typing import Any

import anyio
import msgspec

from streams import delayed
from streams.client import create_redis
from streams.config import from_env
from streams.errors import StreamsError
from streams.keys import Keys


def add_parser(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "scheduled", help="list or cancel a queue's delayed messages"
    )
    parser.add_argument("action", choices=("list", "cancel"))
    parser.add_argument("queue")
    parser.add_argument("id", nargs="?", help="cancel: the scheduled message's id")
    parser.add_argument("--limit", type=int, default=100, help="list: at most this many")
    parser.add_argument("--json", action="store_true", help="list: print a JSON array")
    parser.set_defaults(run=run)


def _describe(message: delayed.ScheduledMessage) -> str:
    key = f" key={message.key}" if message.key is not None else ""
    return f"{message.id}  due={message.due_at}  type={message.type}{key}"


async def _act(args: argparse.Namespace) -> str:
    settings = from_env()
    settings.queue(args.queue)
    redis = create_redis(settings, retries=1)
    keys = Keys(settings.prefix)
    try:
        if args.action == "cancel":
            if not await delayed.cancel(redis, keys, args.queue, args.id):
                raise StreamsError(
                    f"queue {args.queue!r}: no scheduled message {args.id!r} "
                    "(already due and published, cancelled, or never scheduled)"
                )
            return f"cancelled {args.id}"
        found = await delayed.list_scheduled(redis, keys, args.queue, args.limit)
    finally:
        await redis.aclose()
    if args.json:
        return msgspec.json.encode(found).decode()
    return "\n".join(_describe(m) for m in found) or "no scheduled messages"


def run(args: argparse.Namespace) -> int:
    if args.action == "cancel" and not args.id:
        raise StreamsError("scheduled cancel: give the id of the message to cancel")
    if args.limit < 1:
        raise StreamsError("--limit must be at least 1")
    print(anyio.run(_act, args))  # noqa: T201  # the command's output
    return 0
