"""The `streams` command: worker, publish, status, dead, scheduler, and commands added to them.

Subcommands live in streams/commands/, one module each, so the entry point stays small.
A package that builds on streams passes more command modules to main(): the installed
`streams` command is godo.cli, which adds `api` and `dev`. `python -m streams` has the core
commands only. A user's mistake ends with one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Final, NoReturn

from redis.exceptions import RedisError

from streams.client import redact
from streams.errors import StreamsError
from streams.loading import call_factory, import_object
from streams.outage import credentials_problem, refused_credentials
from streams.router import Registry

DEFAULT_APP: Final = "consumers.registry:registry"
# name -> module; each module has add_parser(subparsers) and run(args).
CORE_COMMANDS: Final[Mapping[str, str]] = {
    name: f"streams.commands.{name}"
    for name in (
        "worker",
        "publish",
        "status",
        "dead",
        "scheduled",
        "pause",
        "resume",
        "scheduler",
        "schema",
    )
}

Command = Callable[[argparse.Namespace], int]


def load_registry(spec: str | None = None) -> Registry:
    """Import the application's Registry from 'module:attribute' (--app, STREAMS_APP or the default).

    The attribute is a Registry, or a function returning one.
    """
    source = "--app" if spec else "STREAMS_APP"
    spec = spec or os.environ.get("STREAMS_APP", "").strip() or DEFAULT_APP
    found = import_object(spec, source, DEFAULT_APP)
    if callable(found) and not isinstance(found, Registry):
        found = call_factory(found, spec, source)
    if not isinstance(found, Registry):
        raise StreamsError(
            f"{source}: {spec!r} is a {type(found).__name__}, not a streams.Registry"
        )
    return found


def parser(commands: Mapping[str, str] = CORE_COMMANDS) -> argparse.ArgumentParser:
    """The command line parser with a subcommand for each of commands (name -> module)."""
    parser = argparse.ArgumentParser(
        prog="streams", description="Redis Streams background processing."
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get("LOG_LEVEL", "").strip() or "INFO",
        help="default: $LOG_LEVEL, else INFO",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, path in commands.items():
        importlib.import_module(path).add_parser(sub)
        command: argparse.ArgumentParser = sub.choices[name]
        # Accepted after the command too (`streams worker --log-level DEBUG`); SUPPRESS keeps
        # the value given before the command when it is not repeated.
        command.add_argument("--log-level", default=argparse.SUPPRESS, help="default: INFO")
        command.set_defaults(command_parser=command)
    return parser


def fail(message: str, code: int = 2) -> NoReturn:
    print(f"streams: error: {redact(message)}", file=sys.stderr)  # noqa: T201  # the CLI's own output
    raise SystemExit(code)


def main(
    argv: Sequence[str] | None = None, *, commands: Mapping[str, str] = CORE_COMMANDS
) -> NoReturn:
    args, unknown = parser(commands).parse_known_args(argv)
    if unknown:
        # Reported by the command's own parser, so the usage line shown is the command's.
        args.command_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if str(args.log_level).upper() not in logging.getLevelNamesMapping():
        fail(
            f"--log-level/LOG_LEVEL: expected DEBUG, INFO, WARNING or ERROR, got {args.log_level!r}"
        )
    logging.basicConfig(
        level=str(args.log_level).upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    run: Command = args.run
    try:
        code = run(args)
    except StreamsError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        code = 130
    except BaseException as exc:
        refused = refused_credentials(exc)
        if refused is not None:  # a configuration mistake, not an outage: exit 1, one line
            url = redact(os.environ.get("REDIS_URL", "").strip())
            fail(f"REDIS_URL={url}: {credentials_problem(refused)}", code=1)
        if isinstance(exc, RedisError):
            fail(f"redis: {exc}", code=1)
        raise
    raise SystemExit(code)
