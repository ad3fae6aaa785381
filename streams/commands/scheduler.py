"""`streams scheduler`: run the periodic jobs; one of any number of schedulers is active."""

from __future__ import annotations

import argparse
import logging
import os
import signal
from typing import Any

import anyio
from redis.asyncio import Redis

from streams.cli import load_registry
from streams.client import create_redis
from streams.config import from_env
from streams.scheduler import Scheduler, SchedulerConfig, load_jobs, risky_eviction_policy
from streams.variables import warn_unknown_queue_variables

log = logging.getLogger(__name__)


def add_parser(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "scheduler", help="run periodic jobs (one active leader, any number on standby)"
    )
    parser.add_argument("--app", help="module:attribute of the Registry (default: $STREAMS_APP)")
    parser.add_argument(
        "--schedule", help="module:attribute of the jobs (default: $STREAMS_SCHEDULE)"
    )
    parser.add_argument("--name", help="this scheduler's name in the lease (default: host:pid)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = from_env()
    warn_unknown_queue_variables(os.environ, settings.queue_names)
    config = SchedulerConfig.from_env(os.environ)
    registry = load_registry(args.app)
    jobs = load_jobs(args.schedule)

    async def main() -> None:
        redis = create_redis(settings, max_connections=4)
        try:
            scheduler = Scheduler(redis, settings, registry, jobs, config=config, name=args.name)
            async with anyio.create_task_group() as tg:
                tg.start_soon(_stop_on_signal, tg.cancel_scope)
                await scheduler.wait_for_redis()
                await _warn_about_eviction(redis)
                names = ", ".join(f"{j.name} every {j.every_ms} ms" for j in jobs)
                log.info("scheduler %s started: %s", scheduler.name, names)
                await tg.start(scheduler.run)
            log.info("scheduler %s stopped", scheduler.name)
        finally:
            await redis.aclose()

    anyio.run(main)
    return 0


async def _warn_about_eviction(redis: Redis) -> None:
    policy = await risky_eviction_policy(redis)
    if policy:
        log.warning(
            "redis maxmemory-policy is %s: it may evict streams (lost work); "
            "use noeviction or volatile-lru",
            policy,
        )


async def _stop_on_signal(scope: anyio.CancelScope) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for signum in signals:
            log.info("received %s, stopping", signal.Signals(signum).name)
            scope.cancel()
            return
