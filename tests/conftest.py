from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    # redis.asyncio runs on asyncio only.
    return "asyncio"
