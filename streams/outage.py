"""Redis outage bookkeeping: one log line per outage, capped backoff between attempts."""

from __future__ import annotations

import logging
import time
from typing import Final

from redis.exceptions import BusyLoadingError, ConnectionError, TimeoutError

from streams.client import redact

TRANSIENT: Final = (ConnectionError, TimeoutError, BusyLoadingError, OSError)


class Outage:
    """Tracks whether one loop currently sees Redis as down."""

    def __init__(
        self, log: logging.Logger, what: str, *, first_delay_s: float = 0.1, cap_s: float = 5.0
    ) -> None:
        self._log = log
        self._what = what
        self._first_delay_s = first_delay_s
        self._cap_s = cap_s
        self._since: float | None = None
        self._delay_s = first_delay_s

    def failed(self, exc: BaseException) -> float:
        """Record a failure; return how long to wait before the next attempt."""
        if self._since is None:
            self._since = time.monotonic()
            self._delay_s = self._first_delay_s
            self._log.warning(
                "%s: redis unavailable, retrying with backoff: %s", self._what, redact(str(exc))
            )
        else:
            self._delay_s = min(self._delay_s * 2, self._cap_s)
        return self._delay_s

    def recovered(self) -> None:
        if self._since is not None:
            self._log.warning(
                "%s: redis is back after %.1fs", self._what, time.monotonic() - self._since
            )
            self._since = None
