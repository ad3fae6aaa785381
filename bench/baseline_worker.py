"""The baseline consumer: a hand-written redis.asyncio (hiredis) loop, run as its own process.

``python -m bench.baseline_worker URL STREAM GROUP --max-s S``: XREADGROUP COUNT 500
BLOCK 1000, no-op handling, one XACK per batch; stops on SIGTERM or after max_s seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from typing import Final, cast

import msgspec
from redis.asyncio import Redis

from bench.payload import Timed
from bench.recorder import Recorder

Reply = list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]] | None
COUNT: Final = 500
BLOCK_MS: Final = 1000
_timed: Final = msgspec.json.Decoder(Timed)


def _handle(recorder: Recorder, fields: dict[bytes, bytes]) -> None:
    recorder.handled()
    if fields[b"type"] == b"bench.latency":
        probe = _timed.decode(fields[b"data"])
        recorder.probe(probe.sent_ns, last=probe.last, warmup=probe.warmup)


async def consume(url: str, stream: str, group: str, max_s: float) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    recorder = Recorder.from_env()
    redis = Redis.from_url(url)
    deadline = time.monotonic() + max_s
    try:
        while not stop.is_set() and time.monotonic() < deadline:
            reply = cast(
                "Reply",
                await redis.xreadgroup(
                    group, "baseline", {stream: ">"}, count=COUNT, block=BLOCK_MS
                ),
            )
            for _name, entries in reply or ():
                for _entry_id, fields in entries:
                    _handle(recorder, fields)
                if entries:
                    await redis.xack(stream, group, *(entry_id for entry_id, _ in entries))
    finally:
        await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("stream")
    parser.add_argument("group")
    parser.add_argument("--max-s", type=float, default=300.0)
    args = parser.parse_args()
    asyncio.run(consume(args.url, args.stream, args.group, args.max_s))


if __name__ == "__main__":
    main()
