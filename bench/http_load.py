"""A small HTTP load driver (its own process): N connections for S seconds, round-robin paths.

``python -m bench.http_load BASE_URL --paths /a,/b --connections 64 --duration-s 10``
prints one JSON object: requests/s, errors and per-path latency percentiles in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
from collections import defaultdict

import httpx


async def _client_loop(
    client: httpx.AsyncClient,
    paths: itertools.cycle[str],
    deadline: float,
    samples: dict[str, list[float]],
    errors: dict[str, int],
) -> None:
    while time.perf_counter() < deadline:
        path = next(paths)
        start = time.perf_counter()
        try:
            response = await client.get(path)
            ok = response.status_code == 200
        except httpx.HTTPError:
            ok = False
        samples[path].append(time.perf_counter() - start)
        if not ok:
            errors[path] += 1


async def load(
    base_url: str, paths: list[str], connections: int, duration_s: float, token: str | None
) -> dict[str, object]:
    samples: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(
        base_url=base_url, limits=limits, headers=headers, timeout=10.0
    ) as client:
        start = time.perf_counter()
        deadline = start + duration_s
        async with asyncio.TaskGroup() as group:
            for n in range(connections):
                cycle = itertools.cycle(paths[n % len(paths) :] + paths[: n % len(paths)])
                group.create_task(_client_loop(client, cycle, deadline, samples, errors))
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
    import os

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
