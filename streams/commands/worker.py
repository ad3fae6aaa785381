"""`streams worker [QUEUE ...]`: consume queues until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import gc
import importlib.util
import logging
import os
import signal
from typing import Any

import anyio

from streams.cli import load_registry
from streams.client import create_redis
from streams.config import MAX_CONCURRENCY, Settings, from_env
from streams.router import Registry
from streams.variables import warn_unknown_queue_variables
from streams.worker import Worker

log = logging.getLogger(__name__)


def add_parser(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "worker", help="consume queues (all when none named)"
    )
    parser.add_argument("queues", nargs="*", metavar="QUEUE")
    parser.add_argument(
        "--concurrency",
        type=_concurrency,
        help="handler tasks per queue (default: per-queue setting)",
    )
    parser.add_argument(
        "--name", help="consumer name (default: host or Railway replica id, plus pid)"
    )
    parser.add_argument("--app", help="module:attribute of the Registry (default: $STREAMS_APP)")
    parser.add_argument(
        "--stop-when-idle", action="store_true", help="exit 0 once every queue is drained"
    )
    parser.set_defaults(run=run)


def _has_uvloop() -> bool:
    return importlib.util.find_spec("uvloop") is not None


def _concurrency(text: str) -> int:
    expected = f"expected a whole number from 1 to {MAX_CONCURRENCY}, got {text!r}"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(expected) from None
    if not 1 <= value <= MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(expected)
    return value


def run(args: argparse.Namespace) -> int:
    settings = from_env()
    warn_unknown_queue_variables(os.environ, settings.queue_names)
    registry = load_registry(args.app)
    for queue in args.queues:
        settings.queue(queue)
    # What start-up built (modules, the registry) lives as long as the process: keep the
    # collector from walking it again, a pause of 10-30 ms per full collection otherwise.
    gc.freeze()
    anyio.run(_serve, settings, registry, args, backend_options={"use_uvloop": _has_uvloop()})
    return 0


async def _serve(settings: Settings, registry: Registry, args: argparse.Namespace) -> None:
    redis = create_redis(settings)
    worker = Worker(
        redis, settings, registry, args.queues or None, name=args.name, concurrency=args.concurrency
    )
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_watch_signals, worker)
            await worker.run(stop_when_idle=args.stop_when_idle)
            tg.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        # Only the worker can fail here: show its error (a one-line StreamsError, a handler's
        # SystemExit code) rather than the task group's wrapper.
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise
    finally:
        await redis.aclose()


async def _watch_signals(worker: Worker) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for signum in signals:
            if not worker.stop_requested:
                log.info(
                    "received %s: finishing in-flight work; send it again to exit at once",
                    signal.Signals(signum).name,
                )
                worker.request_stop()
            else:
                log.warning(
                    "second signal: exiting now; unfinished entries stay pending for other workers"
                )
                os._exit(1)
