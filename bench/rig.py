"""The shared setup of every workload: the server, fresh key prefixes, stream helpers."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import msgspec
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from streams.keys import Keys
from streams.messages import to_fields

GROUP: Final = "godo"  # the worker's default group; the baseline uses the same name
POLL_INTERVAL_S: Final = 0.005
_encoder: Final = msgspec.json.Encoder()


class BenchError(Exception):
    """A workload did not complete as expected (timeout, lost message, dead worker)."""


@dataclass
class Rig:
    """One benchmark run: the server URL, a scratch directory and a prefix per workload run."""

    url: str
    scratch: Path
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    _counter: itertools.count[int] = field(default_factory=itertools.count)

    def new_prefix(self) -> str:
        return f"bench{self.run_id}r{next(self._counter)}"

    def scratch_file(self, name: str) -> Path:
        path = self.scratch / f"{self.run_id}-{next(self._counter)}-{name}"
        path.unlink(missing_ok=True)
        return path

    def client(self) -> Redis:
        return Redis.from_url(self.url)


def stream_of(prefix: str, queue: str = "default") -> str:
    return Keys(prefix).stream(queue)


async def preload(
    redis: Redis, stream: str, count: int, make: Callable[[int], object], type_: str
) -> None:
    """Append count messages in the wire format, 500 per pipelined round trip."""
    for start in range(0, count, 500):
        async with redis.pipeline(transaction=False) as pipe:
            for seq in range(start, min(start + 500, count)):
                pipe.xadd(stream, to_fields(type_, _encoder.encode(make(seq))))  # type: ignore[arg-type]  # redis-py's FieldT is invariant
            await pipe.execute()


async def create_group(redis: Redis, stream: str, group: str = GROUP) -> None:
    """Create the group at id 0 so consumers see entries added before they start."""
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


async def group_state(redis: Redis, stream: str, group: str = GROUP) -> tuple[int, int, int]:
    """Return (entries read, pending, lag) of the group; lag -1 when Redis can't tell."""
    for info in await redis.xinfo_groups(stream):
        name = info["name"]
        if (name.decode() if isinstance(name, bytes) else name) == group:
            lag = info.get("lag")
            return (
                int(info.get("entries-read") or 0),
                int(info["pending"]),
                (-1 if lag is None else int(lag)),
            )
    raise BenchError(f"stream {stream!r}: group {group!r} is missing")


async def wait_drained(
    redis: Redis,
    stream: str,
    expected: int,
    timeout_s: float,
    on_poll: Callable[[], None] | None = None,
) -> int:
    """Poll until the group has read expected entries and none is pending; return time_ns."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        read, pending, lag = await group_state(redis, stream)
        if read >= expected and pending == 0 and lag == 0:
            return time.time_ns()
        if on_poll is not None:
            on_poll()
        await asyncio.sleep(POLL_INTERVAL_S)
    read, pending, lag = await group_state(redis, stream)
    raise BenchError(
        f"stream {stream!r} not drained within {timeout_s:g}s: "
        f"read {read}/{expected}, pending {pending}, lag {lag}"
    )


async def drop(redis: Redis, prefix: str) -> None:
    """Delete every key of one workload run (bounded SCAN)."""
    keys = [k async for k in redis.scan_iter(match=f"*{prefix}*", count=1000)]
    for start in range(0, len(keys), 500):
        await redis.delete(*keys[start : start + 500])
