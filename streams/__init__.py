"""godo-streams: Redis Streams background processing (producers, workers, dead letters)."""

from __future__ import annotations

from streams.config import QueueSettings, Secret, Settings, from_env
from streams.enqueue import Published
from streams.errors import (
    ConfigError,
    DecodeError,
    NotDurableError,
    PermanentError,
    PublishError,
    StreamsError,
    UnknownQueueError,
    ValidationError,
)
from streams.keys import Keys
from streams.producer import Outgoing, Producer
from streams.router import Context, Handler, Registry

__all__ = [
    "ConfigError",
    "Context",
    "DecodeError",
    "Handler",
    "Keys",
    "NotDurableError",
    "Outgoing",
    "PermanentError",
    "Producer",
    "PublishError",
    "Published",
    "QueueSettings",
    "Registry",
    "Secret",
    "Settings",
    "StreamsError",
    "UnknownQueueError",
    "ValidationError",
    "from_env",
]
