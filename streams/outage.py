"""Redis outage bookkeeping: one log line per outage, capped backoff between attempts.

An outage is anything that passes without us doing something different: Redis unreachable,
loading its data, busy running someone's long Lua script, or up but refusing writes for now
(memory full with ``noeviction``, a read-only replica after a failover, a snapshot it cannot
write). Loops wait these out. Refused credentials are not an outage: waiting never fixes them.
"""

from __future__ import annotations

import logging
import time
from typing import Final

from redis.exceptions import (
    AuthenticationError,
    AuthorizationError,
    BusyLoadingError,
    ConnectionError,
    MasterDownError,
    NoPermissionError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisError,
    ResponseError,
    TimeoutError,
)

from streams.client import redact

TRANSIENT: Final = (ConnectionError, TimeoutError, BusyLoadingError, OSError)
# Errors that may mean an outage: catch these, then ask is_outage().
MAYBE_OUTAGE: Final = (*TRANSIENT, ResponseError)
_OUTAGE_TYPES: Final = (*TRANSIENT, OutOfMemoryError, ReadOnlyError, MasterDownError)
# Error codes redis-py has no exception class for. BUSY: a script or function runs past
# busy-reply-threshold (lua-time-limit); it ends, or someone sends SCRIPT KILL.
_REFUSING_CODES: Final = ("MISCONF", "NOREPLICAS", "BUSY")
# Wrong password, no password, or an ACL user without the rights: a configuration mistake.
AUTH_ERRORS: Final = (AuthenticationError, AuthorizationError, NoPermissionError)


def error_code(exc: ResponseError) -> str:
    """The leading error code of a reply redis-py keeps as plain ResponseError (BUSYGROUP...).

    This is the one place that reads Redis error text.
    """
    return str(exc).partition(" ")[0]


def is_outage(exc: BaseException) -> bool:
    """True when Redis can't serve us now but may later, so waiting and retrying is right."""
    if isinstance(exc, AUTH_ERRORS):
        return False
    if isinstance(exc, _OUTAGE_TYPES):
        return True
    return isinstance(exc, ResponseError) and error_code(exc) in _REFUSING_CODES


def refused_credentials(exc: BaseException) -> BaseException | None:
    """The refused-credentials error in exc, or in the exception group exc is; else None."""
    if isinstance(exc, AUTH_ERRORS):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = refused_credentials(inner)
            if found is not None:
                return found
    return None


def credentials_problem(exc: BaseException) -> str:
    """What to tell the operator whose REDIS_URL Redis refused: never the password."""
    return (
        f"Redis refused the credentials ({describe(exc)}); "
        "check the user name and password in REDIS_URL, and the user's ACL"
    )


def describe(exc: BaseException) -> str:
    """Type and message of a Redis error for a log line, with any URL password hidden."""
    return f"{type(exc).__name__}: {redact(str(exc))}"


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
        self._back = "redis is back"  # what recovered() says

    def failed(self, exc: BaseException) -> float:
        """Record a failure; return how long to wait before the next attempt.

        Raises exc itself when it is refused credentials (AUTH_ERRORS): a configuration
        mistake that no amount of waiting fixes, so no loop may wait it out.
        """
        if isinstance(exc, AUTH_ERRORS):
            raise exc
        if self._since is None:
            self._since = time.monotonic()
            self._delay_s = self._first_delay_s
            self._back = "redis is back"
            self._log.warning(
                "%s: redis unavailable, retrying with backoff: %s", self._what, describe(exc)
            )
        else:
            self._delay_s = min(self._delay_s * 2, self._cap_s)
        return self._delay_s

    def pause(self, exc: Exception) -> float:
        """failed() for an outage (and refused credentials, which it raises), else unexpected()."""
        if is_outage(exc) or isinstance(exc, AUTH_ERRORS):
            return self.failed(exc)
        return self.unexpected(exc)

    def unexpected(self, exc: Exception) -> float:
        """Record an error nobody planned for; log it (with where) once, return the pause.

        A background loop that dies takes the worker down with it, cancelling running
        handlers; going on after a pause is safer, and the traceback tells what to fix.
        """
        if self._since is None:
            self._since = time.monotonic()
            self._delay_s = self._first_delay_s
            self._back = "working again"
            planned = isinstance(exc, RedisError)  # Redis said what: no traceback needed
            self._log.log(
                logging.WARNING if planned else logging.ERROR,
                "%s: failed, going on after a pause: %s",
                self._what,
                describe(exc),
                exc_info=None if planned else exc,
            )
        else:
            self._delay_s = min(self._delay_s * 2, self._cap_s)
        return self._delay_s

    def recovered(self) -> None:
        if self._since is not None:
            self._log.warning(
                "%s: %s after %.1fs", self._what, self._back, time.monotonic() - self._since
            )
            self._since = None
