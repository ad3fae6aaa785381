"""`streams dead list|replay|purge QUEUE [--id ID ...]`: inspect and act on dead letters."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any, Final

import anyio
import msgspec
from redis.asyncio import Redis

from streams import deadletter
from streams.client import create_redis, make_keys
from streams.config import from_env
from streams.errors import StreamsError
from streams.keys import Keys
from streams.messages import is_entry_id

MAX_COUNT: Final = 2**63 - 1  # Redis refuses a COUNT beyond int64; more than that is "all"


def add_parser(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "dead", help="list, replay or purge a queue's dead letters"
    )
    parser.add_argument("action", choices=("list", "replay", "purge"))
    parser.add_argument("queue")
    parser.add_argument(
        "--id", dest="ids", action="append", default=[], help="a dead letter id (repeatable)"
    )
    parser.add_argument(
        "--limit", type=int, default=100, help="list: at most this many, oldest first (default 100)"
    )
    parser.add_argument("--json", action="store_true", help="list: print a JSON array")
    parser.set_defaults(run=run)


def _check(args: argparse.Namespace) -> None:
    bad = [i for i in args.ids if not is_entry_id(i)]
    if bad:
        raise StreamsError(f"--id {bad[0]!r} is not a stream entry id (like 1700000000000-0)")
    if args.limit < 1:
        raise StreamsError("--limit must be at least 1")


def _describe(letter: deadletter.DeadLetter) -> str:
    return (
        f"{letter.id}  type={letter.type} attempts={letter.attempts} "
        f"original={letter.original_id}  {letter.error}"
    )


async def _list(redis: Redis, keys: Keys, args: argparse.Namespace) -> str:
    letters = await deadletter.list_dead(redis, keys, args.queue, min(args.limit, MAX_COUNT))
    if args.json:
        return msgspec.json.encode(letters).decode()
    return "\n".join(_describe(letter) for letter in letters) or "no dead letters"


async def _replay(redis: Redis, keys: Keys, args: argparse.Namespace) -> str:
    return f"replayed {await deadletter.replay(redis, keys, args.queue, args.ids)}"


async def _purge(redis: Redis, keys: Keys, args: argparse.Namespace) -> str:
    if args.ids:
        return f"purged {await deadletter.delete(redis, keys, args.queue, args.ids)}"
    return f"purged {await deadletter.purge(redis, keys, args.queue)}"


ACTIONS: Final[dict[str, Callable[[Redis, Keys, argparse.Namespace], Awaitable[str]]]] = {
    "list": _list,
    "replay": _replay,
    "purge": _purge,
}


def run(args: argparse.Namespace) -> int:
    settings = from_env()
    settings.queue(args.queue)
    _check(args)

    async def act() -> str:
        redis = create_redis(settings, retries=1)
        try:
            return await ACTIONS[args.action](redis, make_keys(settings), args)
        finally:
            await redis.aclose()

    print(anyio.run(act))  # noqa: T201  # the command's output
    return 0
