"""Helpers for the API tests: an app on a test server, with settings overrides."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.app import create_app
from consumers.registry import create_registry
from streams.config import Secret, Settings
from streams.router import Registry
from tests.support import make_settings

TOKEN: Final = "s3cret-token-for-tests"  # noqa: S105  # a test token
AUTH: Final = {"Authorization": f"Bearer {TOKEN}"}


def api_settings(url: str, prefix: str, **overrides: Any) -> Settings:
    overrides.setdefault("api_token", Secret(TOKEN))
    return msgspec.structs.replace(make_settings(url, prefix), **overrides)


def build_app(
    url: str, prefix: str, registry: Registry | None = None, **overrides: Any
) -> Litestar:
    return create_app(api_settings(url, prefix, **overrides), registry or create_registry())


@asynccontextmanager
async def api_client(
    url: str, prefix: str, registry: Registry | None = None, **overrides: Any
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """An in-process client; the app's lifespan (its Redis clients) runs around it."""
    async with AsyncTestClient(build_app(url, prefix, registry, **overrides)) as client:
        yield client
