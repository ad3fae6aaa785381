"""The benchmark's message types: a ~200-byte JSON object, and one carrying its send time."""

from __future__ import annotations

import time
from typing import Final

import msgspec

QUEUE: Final = "default"
NOOP_TYPE: Final = "bench.noop"
LATENCY_TYPE: Final = "bench.latency"


class Item(msgspec.Struct, frozen=True):
    """About 200 bytes of JSON, shaped like a small domain event."""

    event_id: str
    source: str
    title: str
    city: str
    starts_at: str
    price_cents: int
    tags: list[str]
    seq: int


class Timed(msgspec.Struct, frozen=True):
    """A latency probe: sent_ns is the producer's wall clock just before the XADD."""

    sent_ns: int
    seq: int
    pad: str = ""
    last: bool = False
    warmup: bool = False


def item(seq: int) -> Item:
    return Item(
        event_id=f"evt-{seq:012d}",
        source="eventbrite",
        title="Open-air jazz evening by the river",
        city="Lisbon",
        starts_at="2026-11-25T19:30:00Z",
        price_cents=1500,
        tags=["music", "jazz", "outdoor"],
        seq=seq,
    )


def item_dict(seq: int) -> dict[str, object]:
    """The same object as a plain dict, for the hand-written baseline."""
    return {
        "event_id": f"evt-{seq:012d}",
        "source": "eventbrite",
        "title": "Open-air jazz evening by the river",
        "city": "Lisbon",
        "starts_at": "2026-11-25T19:30:00Z",
        "price_cents": 1500,
        "tags": ["music", "jazz", "outdoor"],
        "seq": seq,
    }


_PAD: Final = "x" * 120


def timed(seq: int, *, last: bool = False, warmup: bool = False) -> Timed:
    return Timed(sent_ns=time.time_ns(), seq=seq, pad=_PAD, last=last, warmup=warmup)
