"""W8 due-time accuracy: N delayed messages; p50/p99/max of (handled - due) in one worker.

Run on its own (it has no baseline): ``python -m bench.w8_delayed [--messages 10000]``.
Each probe is a W3 latency probe whose send time is its due time, so the worker's recorder
measures handled - due. The due times are spread evenly over ``--spread-s`` seconds,
starting ``--lead-s`` after the run starts, so scheduling ends before the first is due.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.app import registry
from bench.payload import LATENCY_TYPE, QUEUE, Timed, timed
from bench.procs import godo_worker
from bench.recorder import LATENCY_FILE_ENV
from bench.rig import Rig, create_group, stream_of, wait_drained
from bench.w3_latency import _percentile, _read_latencies
from streams.config import Secret, Settings
from streams.producer import Producer
from streams.server import LocalServer

CHUNK = 16  # publishes in flight at once while scheduling (the pool is small)


async def _schedule(producer: Producer, count: int, lead_s: float, spread_s: float) -> None:
    # Whole milliseconds: due times are kept in ms, so a finer one could look handled early.
    first_ns = (time.time_ns() // 1_000_000 + int(lead_s * 1000)) * 1_000_000
    step_ns = int(spread_s * 1000 / max(count, 1)) * 1_000_000
    for start in range(0, count, CHUNK):
        sends = []
        for seq in range(start, min(start + CHUNK, count)):
            due_ns = first_ns + seq * step_ns
            at = datetime.fromtimestamp(due_ns / 1e9, UTC)
            probe = Timed(sent_ns=due_ns, seq=seq, pad="x" * 120)
            sends.append(producer.publish(QUEUE, LATENCY_TYPE, probe, at=at))
        await asyncio.gather(*sends)
    if time.time_ns() > first_ns:
        raise SystemExit(f"scheduling took longer than --lead-s {lead_s:g}; raise it")


async def run(
    url: str, scratch: Path, count: int, lead_s: float, spread_s: float
) -> dict[str, float]:
    rig = Rig(url=url, scratch=scratch)
    prefix = rig.new_prefix()
    stream = stream_of(prefix)
    out = rig.scratch_file("w8.json")
    redis = rig.client()
    producer = Producer(redis, Settings(redis_url=Secret(url), prefix=prefix), registry)
    await create_group(redis, stream)
    worker = godo_worker(
        url, prefix, rig.scratch_file("w8-worker.log"), **{LATENCY_FILE_ENV: str(out)}
    )
    try:
        await producer.publish(QUEUE, LATENCY_TYPE, timed(-1, warmup=True))
        await wait_drained(redis, stream, 1, 30, worker.check_alive)
        await _schedule(producer, count, lead_s, spread_s)
        await wait_drained(redis, stream, count + 1, lead_s + spread_s + 60, worker.check_alive)
        await producer.publish(QUEUE, LATENCY_TYPE, timed(count, last=True))
        latencies = sorted(await _read_latencies(out, worker, 30))
    finally:
        worker.stop()
        await redis.aclose()
    if len(latencies) != count:
        raise SystemExit(f"W8: scheduled {count} but the worker recorded {len(latencies)}")
    return {
        "w8_messages": count,
        "w8_early": sum(1 for v in latencies if v < 0),
        "w8_p50_ms": _percentile(latencies, 50) / 1e6,
        "w8_p99_ms": _percentile(latencies, 99) / 1e6,
        "w8_max_ms": latencies[-1] / 1e6,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.w8_delayed", description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--lead-s", type=float, default=5.0, help="first due time after start")
    parser.add_argument("--spread-s", type=float, default=10.0, help="due times spread over")
    args = parser.parse_args(argv)
    if args.messages < 1 or args.lead_s <= 0 or args.spread_s < 0:
        parser.error("--messages must be >= 1, --lead-s > 0, --spread-s >= 0")
    with LocalServer() as server, tempfile.TemporaryDirectory(prefix="godo-w8-") as tmp:
        figures = asyncio.run(run(server.url, Path(tmp), args.messages, args.lead_s, args.spread_s))
    print(json.dumps(figures))  # the benchmark's output


if __name__ == "__main__":
    main()
