"""Lease renewal on a thread of its own, so a handler hogging the event loop keeps its lease."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping

from redis.exceptions import RedisError

from streams.client import create_sync_redis
from streams.config import Settings
from streams.outage import describe
from streams.scripts import source

log = logging.getLogger(__name__)

HeldIds = Callable[[], Mapping[str, list[str]]]


class LeaseKeeper:
    """Every interval, resets the idle time of every entry this consumer still holds."""

    def __init__(self, settings: Settings, consumer: str, held: HeldIds, interval_s: float) -> None:
        self._client = create_sync_redis(
            settings, socket_timeout_s=5, client_name="godo-streams-lease"
        )
        self._script = self._client.register_script(source("renew"))
        self._group = settings.group
        self._consumer = consumer
        self._held = held
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def request_stop(self) -> None:
        """Renew no more; a round already sent to Redis still completes."""
        self._stop.set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def close(self) -> None:
        self._client.close()

    def stop(self) -> None:
        """Stop renewing, wait for the thread (up to 10 s) and close the connection."""
        self.request_stop()
        if self._thread.ident is not None:  # started
            self._thread.join(timeout=10)
        self.close()

    def renew_once(self) -> int:
        renewed = 0
        for stream, ids in self._held().items():
            if self._stop.is_set():
                break
            if ids:
                renewed += int(
                    self._script(keys=[stream], args=[self._group, self._consumer, 0, *ids])
                )
        return renewed

    def _run(self) -> None:
        failing = False
        while not self._stop.wait(self._interval_s):
            try:
                self.renew_once()
                failing = False
            except Exception as exc:  # a dead lease thread would let entries run twice
                if not failing:
                    log.warning(
                        "consumer %s: lease renewal failed, will retry: %s",
                        self._consumer,
                        describe(exc),
                        exc_info=not isinstance(exc, RedisError),  # not Redis: show where
                    )
                failing = True
