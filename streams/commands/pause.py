"""`streams pause QUEUE`: workers stop taking entries from the queue (publishing goes on)."""

from __future__ import annotations

import argparse
from typing import Any

import anyio

from streams import pause as pausing
from streams.client import create_redis
from streams.config import from_env
from streams.keys import Keys


def add_parser(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "pause", help="pause a queue: workers take no new entries until resumed"
    )
    parser.add_argument("queue")
    parser.set_defaults(run=run, paused=True)


async def _set(queue: str, paused: bool) -> None:
    settings = from_env()
    settings.queue(queue)
    redis = create_redis(settings, retries=1)
    try:
        action = pausing.pause if paused else pausing.resume
        await action(redis, Keys(settings.prefix), queue)
    finally:
        await redis.aclose()


def run(args: argparse.Namespace) -> int:
    anyio.run(_set, args.queue, args.paused)
    state = "paused" if args.paused else "resumed"
    print(f"queue {args.queue} {state}")  # noqa: T201  # the command's output
    return 0
