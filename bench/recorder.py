"""What both consumers (godo-streams and the baseline) record, kept off the hot path.

The first handled message writes its wall-clock time to a file once; latency probes are
kept in memory and written to a file when the probe marked ``last`` arrives.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Final

FIRST_FILE_ENV: Final = "BENCH_FIRST_FILE"
LATENCY_FILE_ENV: Final = "BENCH_LATENCY_FILE"


def _write_atomic(path: str, text: str) -> None:
    tmp = Path(f"{path}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


class Recorder:
    """Records the first handled time and handled-minus-sent latencies of one consumer."""

    __slots__ = ("first_file", "first_seen", "latencies_ns", "latency_file")

    def __init__(self, first_file: str | None, latency_file: str | None) -> None:
        self.first_file = first_file
        self.latency_file = latency_file
        self.first_seen = first_file is None
        self.latencies_ns: list[int] = []

    @classmethod
    def from_env(cls) -> Recorder:
        return cls(os.environ.get(FIRST_FILE_ENV), os.environ.get(LATENCY_FILE_ENV))

    def handled(self) -> None:
        """Call once per handled message; writes the first-handled time once."""
        if not self.first_seen:
            self.first_seen = True
            _write_atomic(str(self.first_file), str(time.time_ns()))

    def probe(self, sent_ns: int, *, last: bool, warmup: bool) -> None:
        """Call for a latency probe; the probe marked last writes every latency seen."""
        if last:
            if self.latency_file:
                _write_atomic(self.latency_file, json.dumps(self.latencies_ns))
            self.latencies_ns = []
        elif not warmup:
            self.latencies_ns.append(time.time_ns() - sent_ns)
