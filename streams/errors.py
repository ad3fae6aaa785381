"""The one exception tree of godo-streams.

StreamsError
├── ConfigError            a setting is missing or invalid; fix the environment
├── UnknownQueueError      a queue name that is not configured
├── PublishError           a message could not be published
│   ├── ValidationError    the payload does not match its type's schema
│   └── NotDurableError    appended, but fewer replicas (or fsyncs) confirmed it than required
├── DecodeError            a stream entry is not a valid message (dead-lettered)
├── TransactionConflictError  watched keys kept changing: an optimistic transaction gave up
└── PermanentError         raised by a handler: dead-letter now, never retry
"""

from __future__ import annotations


class StreamsError(Exception):
    """Base of every error raised on purpose by godo-streams."""


class ConfigError(StreamsError):
    """A setting is missing or invalid."""

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        self.problem = problem
        super().__init__(f"{variable}: {problem}")


class UnknownQueueError(StreamsError):
    """A queue name that is not in the configured queues."""

    def __init__(self, queue: str, known: tuple[str, ...]) -> None:
        self.queue = queue
        super().__init__(f"unknown queue {queue!r}; configured queues: {', '.join(known)}")


class PublishError(StreamsError):
    """A message could not be published."""


class ValidationError(PublishError):
    """A payload does not match the schema registered for its message type."""

    def __init__(self, queue: str, type_: str, reason: str) -> None:
        self.queue = queue
        self.type = type_
        self.reason = reason
        super().__init__(f"queue {queue!r}, type {type_!r}: {reason}")


class NotDurableError(PublishError):
    """Fewer replicas confirmed a publish than STREAMS_PUBLISH_MIN_REPLICAS (or no AOF fsync).

    The entries are in the stream, and workers will run them; publishing them again may
    run them twice.
    """

    def __init__(self, queue: str, ids: list[str], shortfall: str) -> None:
        self.queue = queue
        self.ids = ids
        self.shortfall = shortfall
        what = f"entry {ids[0]}" if len(ids) == 1 else f"{len(ids)} entries ({ids[0]}...)"
        super().__init__(
            f"queue {queue!r}: {what} not durable: {shortfall}; it stays in the stream, "
            "so publishing it again may run it twice"
        )


class DecodeError(StreamsError):
    """A stream entry is not a valid message; it goes to dead letters without retries."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class PermanentError(StreamsError):
    """Raise from a handler when retrying cannot help; the entry is dead-lettered at once."""


class TransactionConflictError(StreamsError):
    """The keys an optimistic transaction watched kept changing; it gave up after attempts."""

    def __init__(self, what: str, attempts: int) -> None:
        self.what = what
        self.attempts = attempts
        super().__init__(
            f"{what}: the data kept changing, gave up after {attempts} tries; try again"
        )
