"""`streams resume QUEUE`: undo `streams pause`; workers take entries again within a second."""

from __future__ import annotations

import argparse
from typing import Any

from streams.commands.pause import run


def add_parser(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("resume", help="resume a paused queue")
    parser.add_argument("queue")
    parser.set_defaults(run=run, paused=False)
