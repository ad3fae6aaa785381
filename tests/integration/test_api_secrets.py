"""No answer and no log line ever shows the Redis password or the API token."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest

from streams.server import LocalServer
from tests.integration.api_support import AUTH, TOKEN, api_client

REQUESTS: list[tuple[str, str, Any]] = [
    ("GET", "/health", None),
    ("GET", "/metrics/redis", None),
    ("GET", "/metrics", None),
    ("GET", "/queues", None),
    ("GET", "/queues/default", None),
    ("GET", "/workers", None),
    ("GET", "/queues/default/pending", None),
    ("GET", "/queues/default/dead", None),
    ("POST", "/queues/default/messages", {"type": "ping", "data": {}}),
    ("POST", "/queues/default/dead/replay", None),
    ("DELETE", "/queues/default/dead", None),
    ("GET", "/schema", None),
]


async def answers(client: Any) -> str:
    texts = []
    for method, path, body in REQUESTS:
        response = await client.request(method, path, json=body, headers=AUTH)
        texts.append(f"{response.status_code} {response.headers} {response.text}")
    return "\n".join(texts)


async def test_password_and_token_never_appear_up_or_down(
    prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    caplog.set_level(logging.DEBUG)
    server = LocalServer(password=password).start()
    try:
        async with api_client(server.url, prefix) as client:
            up = await answers(client)
            server.stop()
            down = await answers(client)
    finally:
        server.stop()

    assert "200" in up
    assert "503" in down
    assert "redis unavailable" in caplog.text  # the failures were logged, without secrets
    for secret in (password, TOKEN):
        assert secret not in up
        assert secret not in down
        assert secret not in caplog.text


async def test_a_wrong_password_is_reported_without_either_password(
    prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    caplog.set_level(logging.DEBUG)
    with LocalServer(password=password) as server:
        wrong = server.url.replace(password, "wrong-" + password[::-1])
        async with api_client(wrong, prefix) as client:
            text = await answers(client)

    assert "503" in text
    for secret in (password, password[::-1], TOKEN):
        assert secret not in text
        assert secret not in caplog.text
