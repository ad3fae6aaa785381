"""`streams dev [--demo] [--cluster]`: a local server, the API, a worker and the scheduler.

With REDIS_URL unset it starts a private Redis-compatible server that keeps its data in
--data-dir (append-only file), so a restart keeps the queues. The API, the worker and the
scheduler run as child processes in their own sessions, so Ctrl-C reaches only this
command, which stops them in order: SIGTERM, a grace period, then SIGKILL.

With --cluster it starts a local 3-master Redis Cluster instead (in memory), with
STREAMS_CLUSTER=true and STREAMS_PARTITIONS=3 unless the environment sets them.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any, Final

import anyio

from godo.commands.api import api_port, is_tcp_port, listen
from streams.cli import fail, load_registry
from streams.client import redact
from streams.cluster import LocalCluster
from streams.config import from_env
from streams.demo import Sample, demo_samples, publish_samples
from streams.router import Registry
from streams.scheduler import SchedulerConfig, load_jobs
from streams.server import LocalServer

log = logging.getLogger(__name__)

POLL_S: Final = 0.2
API_HOST: Final = "127.0.0.1"
# Only to check the other settings before the local server exists; never connected to.
UNUSED_URL: Final = "redis://127.0.0.1:1/0"
EXTRA_GRACE_S: Final = 5.0


def add_parser(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "dev", help="run a local server, the API, a worker and the scheduler together"
    )
    parser.add_argument(
        "--demo", action="store_true", help="keep publishing sample messages (a modest rate)"
    )
    parser.add_argument("--demo-rate", type=float, default=5.0, help="messages per second (max 50)")
    parser.add_argument("--port", type=_port, help="the API's port (default: $PORT, else 8000)")
    parser.add_argument(
        "--data-dir",
        type=_data_dir,
        default=Path(".streams-dev"),
        help="the local server's data (default: .streams-dev)",
    )
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="start a local 3-master Redis Cluster (kept in memory) and queues of 3 partitions",
    )
    parser.set_defaults(run=run)


def _port(text: str) -> int:
    if not is_tcp_port(text):
        raise argparse.ArgumentTypeError(f"expected a TCP port number (1-65535), got {text!r}")
    return int(text)


def _data_dir(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a directory, got an empty string")
    return Path(text)


class Child:
    """One child process of `streams dev`."""

    def __init__(self, name: str, args: list[str], env: Mapping[str, str]) -> None:
        self.name = name
        self.process = subprocess.Popen(  # noqa: S603  # our own interpreter and module
            [sys.executable, "-m", "godo", *args],
            env=dict(env),
            start_new_session=True,
        )

    def exited(self) -> int | None:
        return self.process.poll()


def run(args: argparse.Namespace) -> int:
    if not 0 < args.demo_rate <= 50:
        fail("--demo-rate must be between 0 and 50 messages per second")
    url = os.environ.get("REDIS_URL", "").strip()
    port = api_port(args)  # --port, else $PORT, else 8000: as `streams api`
    if args.cluster and url:
        fail("--cluster starts a local cluster; unset REDIS_URL, or drop --cluster to use it")
    registry, samples = _check_before_start(args, url, port)
    server: LocalServer | None = None
    cluster: LocalCluster | None = None
    extra: dict[str, str] = {}
    if args.cluster:
        cluster = LocalCluster(masters=3).start()
        url = cluster.url
        extra = {"STREAMS_CLUSTER": "true", "STREAMS_PARTITIONS": "3"}
    elif not url:
        server = LocalServer(data_dir=args.data_dir).start()
        url = server.url
    children: list[Child] = []
    try:
        env = {**extra, **os.environ, "REDIS_URL": url}
        settings = from_env(env)
        children = [
            Child("api", ["api", "--host", API_HOST, "--port", str(port)], env),
            Child("worker", ["worker"], env),
            Child("scheduler", ["scheduler"], env),
        ]
        where = None if cluster is None else f"local 3-master cluster, ports {cluster.ports}"
        text = announcement(url, server, port, settings.api_docs, where=where)
        print(text, flush=True)  # noqa: T201  # the command's output
        demo = None if samples is None else partial(publish_samples, settings, registry, samples)
        return anyio.run(_supervise, children, demo, args.demo_rate)
    finally:
        _stop_children(children, grace_s=_grace_s(os.environ))
        if server is not None:
            server.stop()
            log.info("local server stopped; data kept in %s", args.data_dir)
        if cluster is not None:
            cluster.stop()
            log.info("local cluster stopped (its data was kept in memory only)")


def _check_before_start(
    args: argparse.Namespace, url: str, port: int
) -> tuple[Registry, Iterator[Sample] | None]:
    """Find the mistakes the children would die of before anything starts; exit 2 on one."""
    from_env({**os.environ, "REDIS_URL": url or UNUSED_URL})
    SchedulerConfig.from_env(os.environ)
    registry = load_registry()
    load_jobs()
    samples = demo_samples() if args.demo else None
    for sock in listen(API_HOST, port):
        sock.close()
    if not url:
        _check_data_dir(args.data_dir)
    return registry, samples


def _check_data_dir(path: Path) -> None:
    if path.exists() and not path.is_dir():
        fail(f"--data-dir {str(path)!r} is a file, not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".streams-dev-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        fail(f"--data-dir {str(path)!r} is not a writable directory: {exc.strerror or exc}")


def announcement(
    url: str, server: LocalServer | None, port: int, docs: bool, *, where: str | None = None
) -> str:
    """What dev prints once everything is started: where each part is."""
    if where is None:
        where = f"local server, data in {server.data_dir}" if server else "REDIS_URL"
    lines = [
        f"redis      {redact(url)}  ({where})",
        f"api        http://{API_HOST}:{port}",
        f"health     http://{API_HOST}:{port}/health",
        f"metrics    http://{API_HOST}:{port}/metrics/redis",
        *([f"docs       http://{API_HOST}:{port}/docs"] if docs else []),
        "press Ctrl-C to stop everything",
    ]
    return "\n".join(lines)


async def _supervise(
    children: list[Child],
    demo: Callable[[float], Coroutine[Any, Any, None]] | None,
    demo_rate: float,
) -> int:
    """Run until a signal (exit 0) or until a child dies on its own (exit 1)."""
    code = 0
    async with anyio.create_task_group() as tg:

        async def watch() -> None:
            nonlocal code
            while True:
                for child in children:
                    status = child.exited()
                    if status is not None:
                        log.error("%s exited with code %s; stopping everything", child.name, status)
                        code = 1
                        tg.cancel_scope.cancel()
                        return
                await anyio.sleep(POLL_S)

        tg.start_soon(watch)
        tg.start_soon(_stop_on_signal, tg.cancel_scope)
        if demo is not None:
            tg.start_soon(demo, demo_rate)
    return code


async def _stop_on_signal(scope: anyio.CancelScope) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            log.info("received %s, stopping", signal.Signals(signum).name)
            scope.cancel()
            return


def _grace_s(env: Mapping[str, str]) -> float:
    raw = env.get("STREAMS_SHUTDOWN_TIMEOUT_MS", "25000")
    return (int(raw) / 1000 if raw.isdigit() else 25.0) + EXTRA_GRACE_S


def _stop_children(children: list[Child], grace_s: float) -> None:
    """SIGTERM every child, wait up to grace_s for all of them, then SIGKILL the rest."""
    for child in children:
        if child.exited() is None:
            child.process.terminate()
    deadline = time.monotonic() + grace_s
    for child in children:
        try:
            child.process.wait(timeout=max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %.0f s; killing it", child.name, grace_s)
            child.process.kill()
            child.process.wait()
