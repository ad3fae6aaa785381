"""Profile the godo-streams worker on W1 with py-spy (``pip install py-spy``).

``python -m bench.profile --messages 200000 --out /tmp/worker.speedscope.json``
pre-loads a backlog, runs ``py-spy record -- python -m streams worker default`` until the
backlog is drained, then prints the hottest functions (own time and total time).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench.payload import NOOP_TYPE, item
from bench.procs import APP, Consumer, _env, compile_sources
from bench.rig import Rig, create_group, drop, preload, stream_of, wait_drained
from streams.server import LocalServer


async def record(messages: int, out: Path, rate: int, extra_env: dict[str, str]) -> None:
    py_spy = shutil.which("py-spy")
    if py_spy is None:
        raise SystemExit("py-spy is not installed: pip install py-spy")
    compile_sources()
    with LocalServer() as server, tempfile.TemporaryDirectory() as tmp:
        rig = Rig(server.url, Path(tmp))
        prefix = rig.new_prefix()
        stream = stream_of(prefix)
        redis = rig.client()
        await preload(redis, stream, messages, item, NOOP_TYPE)
        await create_group(redis, stream)
        argv = [py_spy, "record", "--format", "speedscope", "--rate", str(rate), "-o", str(out)]
        argv += ["--", sys.executable, "-m", "streams", "worker", "default"]
        env = _env(server.url, {"STREAMS_PREFIX": prefix, "STREAMS_APP": APP, **extra_env})
        worker = Consumer(argv, env, Path(tmp) / "worker.log")
        try:
            await wait_drained(redis, stream, messages, 300, worker.check_alive)
        finally:
            _stop_profiled(worker)
            await drop(redis, prefix)
            await redis.aclose()


def _stop_profiled(worker: Consumer) -> None:
    """SIGTERM the worker under py-spy (not py-spy), so py-spy writes its file and exits."""
    pid = worker.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for child in children:
        os.kill(int(child), signal.SIGTERM)
    worker.process.wait(timeout=60)


def summarise(path: Path, top: int) -> str:
    """Own and total sample share of the hottest frames in a speedscope file."""
    doc = json.loads(path.read_text())
    frames = doc["shared"]["frames"]
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for profile in doc["profiles"]:
        for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
            samples += weight
            names = [
                f"{frames[i]['name']} ({Path(frames[i].get('file', '?')).name})" for i in stack
            ]
            if names:
                own[names[-1]] += weight
            for name in set(names):
                total[name] += weight
    lines = [f"{samples:.2f} s sampled", "", "own time:"]
    lines += [f"  {100 * n / samples:5.1f}%  {name}" for name, n in own.most_common(top)]
    lines += ["", "total time (including callees):"]
    lines += [f"  {100 * n / samples:5.1f}%  {name}" for name, n in total.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--out", type=Path, default=Path("bench/results/worker.speedscope.json"))
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the worker")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    extra = dict(pair.split("=", 1) for pair in args.env)
    asyncio.run(record(args.messages, args.out, args.rate, extra))
    print(summarise(args.out, args.top))


if __name__ == "__main__":
    main()
