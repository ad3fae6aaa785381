"""The `streams` command as installed (pyproject [project.scripts]) and `python -m godo`.

It is streams.cli with two more subcommands, `api` and `dev`, which need the api package
that streams/ must not import.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Final, NoReturn

from streams import cli

COMMANDS: Final = {**cli.CORE_COMMANDS, "api": "godo.commands.api", "dev": "godo.commands.dev"}


def parser() -> argparse.ArgumentParser:
    """The full command's parser (for checking start commands)."""
    return cli.parser(COMMANDS)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    cli.main(argv, commands=COMMANDS)
