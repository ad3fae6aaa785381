"""`streams status [--json]`: length, lag, pending, oldest pending age, consumers, dead letters."""

from __future__ import annotations

import argparse
from typing import Any, Final

import anyio
import msgspec

from streams.client import create_redis, make_keys
from streams.config import Settings, from_env
from streams.inspect import QueueState, inspect_queues

COLUMNS: Final = (
    "queue",
    "length",
    "lag",
    "pending",
    "oldest_pending_s",
    "consumers",
    "dead",
    "scheduled",
    "paused",
)


def add_parser(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("status", help="show the state of every queue")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(run=run)


async def collect(settings: Settings) -> list[QueueState]:
    redis = create_redis(settings, retries=1)
    try:
        return await inspect_queues(
            redis, make_keys(settings), settings.group, settings.queue_names
        )
    finally:
        await redis.aclose()


def _row(state: QueueState) -> tuple[str, ...]:
    lag = f"~{state.lag}" if state.lag_source == "interpolated" else str(state.lag)
    return (
        state.queue,
        str(state.length),
        lag,
        str(state.pending),
        f"{state.oldest_pending_age_s:.1f}",
        str(state.consumers),
        str(state.dead_letters),
        str(state.scheduled),
        "yes" if state.paused else "no",
    )


def _partition_rows(state: QueueState) -> list[tuple[str, ...]]:
    """A partitioned queue's partitions under its row, as queue[N] ("-": unnumbered)."""
    return [
        (
            f"{state.queue}[{p.partition}]",
            str(p.length),
            str(p.lag),
            str(p.pending),
            f"{p.oldest_pending_age_s:.1f}",
            str(p.consumers),
            str(p.dead_letters),
            "",  # scheduled and paused are shown for the queue
            "",
        )
        for p in state.partitions
    ]


def table(states: list[QueueState]) -> str:
    rows = [COLUMNS, *(row for s in states for row in (_row(s), *_partition_rows(s)))]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    )


def run(args: argparse.Namespace) -> int:
    states = anyio.run(collect, from_env())
    if args.json:
        output = msgspec.json.encode([msgspec.structs.replace(s, groups=[]) for s in states])
        print(output.decode())  # noqa: T201  # the command's output
    else:
        print(table(states))  # noqa: T201  # the command's output
    return 0
