"""Narrow redis-py's loosely typed replies (the client runs with decode_responses=False)."""

from __future__ import annotations


def as_bytes(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    raise TypeError(f"expected a Redis string reply, got {type(value).__name__}")


def as_text(value: object) -> str:
    return as_bytes(value).decode()
