"""Subcommands that need the api package: `streams api` and `streams dev` (which runs it)."""
