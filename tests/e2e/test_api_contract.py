"""A real `streams api` process against its own OpenAPI document, from outside.

schemathesis runs every check (minus those in EXCLUDED_CHECKS, each with its reason).
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Final, NamedTuple

import httpx
import pytest
import redis

from streams.keys import Keys
from streams.server import free_port
from tests.support import ROOT, cli_env, streams_cmd, wait_until_sync

TOKEN: Final = "contract-token"  # noqa: S105  # a test token
EXCLUDED_CHECKS: Final = {
    # DELETE /queues/{queue}/dead purges the queue's dead letters; the list is still there,
    # empty, so GET /queues/{queue}/dead answers 200 with no letters, by design.
    "use_after_free": "a purged dead-letter list is empty, not gone",
}
SEED: Final = 20260101  # a fixed seed: CI runs the same cases every time
MAX_EXAMPLES: Final = 30


def seed(url: str, prefix: str) -> None:
    """Give every endpoint something to show: unread, pending and dead entries."""
    keys = Keys(prefix)
    with redis.Redis.from_url(url) as client:
        stream = keys.stream("default")
        for n in range(5):
            client.xadd(stream, {"type": "ping", "data": f'{{"message": "m{n}"}}'})
        client.xgroup_create(stream, "godo", id="0")
        client.xreadgroup("godo", "c1", {stream: ">"}, count=2)
        for n in range(3):
            client.xadd(
                keys.dead("default"), {"type": "ping", "data": "{}", "dead_error": f"E: {n}"}
            )


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1.0).status_code == 200
    except httpx.TransportError:
        return False


class LiveApi(NamedTuple):
    url: str
    prefix: str


@pytest.fixture(scope="module")
def live_api(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    """`streams api` on a free port with the Godo application, seeded."""
    prefix = f"c{uuid.uuid4().hex[:10]}"
    seed(redis_url, prefix)
    url = f"http://127.0.0.1:{free_port()}"
    log = tmp_path_factory.mktemp("api") / "api.log"
    env = cli_env(redis_url, prefix, STREAMS_API_TOKEN=TOKEN)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            streams_cmd("api", "--host", "127.0.0.1", "--port", url.rsplit(":", 1)[1]),
            env=env,
            cwd=ROOT,
            stdout=sink,
            stderr=sink,
        )
        try:
            wait_until_sync(lambda: healthy(url), timeout_s=15)
            yield LiveApi(url, prefix)
        finally:
            process.terminate()
            process.wait(timeout=15)


def test_schemathesis_with_every_check_finds_nothing(live_api: LiveApi, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{live_api.url}/schema",
            "--checks",
            "all",
            "--exclude-checks",
            ",".join(EXCLUDED_CHECKS),
            "--header",
            f"Authorization: Bearer {TOKEN}",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            str(SEED),
            "--workers",
            "1",
        ],
        cwd=tmp_path,  # its example database
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Stateful" in result.stdout  # every phase ran, links between operations too
