"""`streams schema [QUEUE [TYPE]]`: print the JSON Schema of the messages a producer may XADD."""

from __future__ import annotations

import argparse
import json
from typing import Any

from streams.cli import load_registry
from streams.schema import Schema, document


def add_parser(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "schema", help="print the JSON Schema of the messages (wire-format fields and payloads)"
    )
    parser.add_argument("queue", nargs="?", help="only this queue (default: every queue)")
    parser.add_argument("type", nargs="?", help="only this message type of the queue")
    parser.add_argument("--app", help="module:attribute of the Registry (default: $STREAMS_APP)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    registry = load_registry(args.app)
    schema: Schema
    if args.queue is None:
        # One document per queue: each stream holds only its own queue's types.
        schema = {queue: document(registry, queue) for queue in registry.queues()}
    else:
        schema = document(registry, args.queue, args.type)
    print(json.dumps(schema, indent=2, ensure_ascii=False))  # noqa: T201  # the command's output
    return 0
