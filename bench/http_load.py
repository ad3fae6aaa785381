"""A small HTTP/1.1 load driver (its own process): N keep-alive connections for S seconds.

``python -m bench.http_load BASE_URL --paths /a,/b --connections 64 --duration-s 10``
prints one JSON object: requests/s, errors and per-path latency percentiles in ms.
It speaks just enough HTTP/1.1 (GET, Content-Length bodies) to stay out of the way: a
general-purpose client such as httpx costs more CPU per request than the server under test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import defaultdict
from urllib.parse import urlsplit

Samples = dict[str, list[float]]


class _Conn:
    """One keep-alive connection; reconnects after an error."""

    def __init__(self, host: str, port: int, headers: bytes) -> None:
        self.host, self.port, self.headers = host, port, headers
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.reader, self.writer
        writer.write(b"GET %s HTTP/1.1\r\n%s\r\n" % (path.encode(), self.headers))
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await reader.readexactly(length)
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _client_loop(
    conn: _Conn,
    paths: list[str],
    offset: int,
    deadline: float,
    samples: Samples,
    errors: dict[str, int],
) -> None:
    n = offset
    while time.perf_counter() < deadline:
        path = paths[n % len(paths)]
        n += 1
        start = time.perf_counter()
        try:
            ok = await asyncio.wait_for(conn.get(path), 10.0) == 200
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError, TimeoutError):
            conn.close()
            ok = False
        samples[path].append(time.perf_counter() - start)
        if not ok:
            errors[path] += 1
    conn.close()


async def load(
    base_url: str, paths: list[str], connections: int, duration_s: float, token: str | None
) -> dict[str, object]:
    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    headers = f"Host: {host}:{port}\r\n".encode()
    if token:
        headers += f"Authorization: Bearer {token}\r\n".encode()
    samples: Samples = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    start = time.perf_counter()
    deadline = start + duration_s
    async with asyncio.TaskGroup() as group:
        for n in range(connections):
            conn = _Conn(host, port, headers)
            group.create_task(_client_loop(conn, paths, n, deadline, samples, errors))
    elapsed = time.perf_counter() - start
    total = sum(len(v) for v in samples.values())
    return {
        "requests": total,
        "rps": total / elapsed,
        "errors": sum(errors.values()),
        "paths": {p: _percentiles(samples[p]) | {"errors": errors[p]} for p in paths},
    }


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values) or [0.0]

    def pct(p: int) -> float:
        rank = -(-len(ordered) * p // 100)  # nearest rank, 1-based
        return ordered[min(len(ordered), max(rank, 1)) - 1] * 1000

    return {
        "count": len(values),
        "p50_ms": pct(50),
        "p99_ms": pct(99),
        "max_ms": ordered[-1] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("base_url")
    parser.add_argument("--paths", required=True)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration-s", type=float, default=10.0)
    parser.add_argument("--token-env", default="STREAMS_API_TOKEN")
    args = parser.parse_args()
    result = asyncio.run(
        load(
            args.base_url,
            args.paths.split(","),
            args.connections,
            args.duration_s,
            os.environ.get(args.token_env),
        )
    )
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
