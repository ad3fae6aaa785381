"""The ASGI app for uvicorn: `uvicorn api.asgi:app` (or `streams api`)."""

from __future__ import annotations

from api.app import create_app
from streams.cli import load_registry
from streams.config import from_env

app = create_app(from_env(), load_registry())
