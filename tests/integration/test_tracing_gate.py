"""Without the otel extra nothing of OpenTelemetry loads; unconfigured, streams adds no tracing."""

from __future__ import annotations

import subprocess
import sys

from tests.support import ROOT

URL = {"REDIS_URL": "redis://localhost:1"}

# Publish one message on fakeredis and build a worker, then report what OpenTelemetry loaded.
SCRIPT = """
import sys, logging
if {hide}:
    sys.modules["opentelemetry"] = None  # as if the extra were not installed
import anyio, fakeredis, msgspec
logging.basicConfig(level=logging.WARNING, stream=sys.stdout)
import api.app
from streams import Context, Producer, Registry, from_env
from streams.worker import Worker

class Job(msgspec.Struct):
    n: int

async def handle(job: Job, ctx: Context) -> None:
    print("handled", job.n)

async def main() -> None:
    registry = Registry()
    registry.message("default", "job", Job, handle)
    settings = from_env({env!r})
    redis = fakeredis.FakeAsyncRedis()
    await Producer(redis, settings, registry).publish("default", "job", Job(n=1))
    Worker(redis, settings, registry, ["default"])

anyio.run(main)
print("loaded", sorted(m for m, v in sys.modules.items() if m.startswith("opentelemetry") and v))
print("streams.otel" in sys.modules and "tracing on" or "tracing off")
"""


def run(env: dict[str, str], *, hide: bool = False) -> str:
    code = SCRIPT.format(env={**URL, **env}, hide=hide)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_without_the_extra_nothing_of_opentelemetry_is_imported() -> None:
    output = run({}, hide=True)

    assert "handled" not in output  # only published: the worker was built, not run
    assert "loaded []" in output
    assert "tracing off" in output


def test_installed_but_unconfigured_streams_loads_no_tracing() -> None:
    # redis-py >= 8 imports opentelemetry by itself when installed (redis.observability);
    # godo-streams adds no spans and loads nothing of its own until OTEL_* asks for it.
    assert "tracing off" in run({})


def test_configured_without_the_extra_it_warns_once_and_goes_on() -> None:
    output = run({"OTEL_SERVICE_NAME": "godo"}, hide=True)

    assert "loaded []" in output
    assert output.count("pip install 'godo-streams[otel]'") == 1
