"""The registry the benchmarked worker runs (STREAMS_APP=bench.app:registry).

Queue ``default``: ``bench.noop`` does nothing; ``bench.latency`` records handled - sent.
"""

from __future__ import annotations

from bench.payload import LATENCY_TYPE, NOOP_TYPE, QUEUE, Item, Timed
from bench.recorder import Recorder
from streams import Context, Registry

registry = Registry()
_recorder = Recorder.from_env()


@registry.handler(QUEUE, NOOP_TYPE, Item)
async def noop(payload: Item, ctx: Context) -> None:
    """Handle nothing; mark the first message."""
    _recorder.handled()


@registry.handler(QUEUE, LATENCY_TYPE, Timed)
async def latency(payload: Timed, ctx: Context) -> None:
    """Record how long after its send time this probe is being handled."""
    _recorder.probe(payload.sent_ns, last=payload.last, warmup=payload.warmup)
