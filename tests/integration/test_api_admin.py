"""The token-protected endpoints: auth, pending, dead letters, publish, replay, purge, bad input."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from streams.keys import Keys
from tests.integration.api_support import AUTH, TOKEN, api_client

GROUP = "godo"
PROTECTED = [
    ("GET", "/queues/default/pending", None),
    ("GET", "/queues/default/dead", None),
    ("POST", "/queues/default/messages", {"type": "ping", "data": {}}),
    ("POST", "/queues/default/dead/replay", {}),
    ("DELETE", "/queues/default/dead", None),
]


async def call(client: Any, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    return await client.request(method, path, json=body, headers=headers)


async def add_dead(redis: Redis, prefix: str, queue: str, count: int) -> list[str]:
    ids = []
    for i in range(count):
        entry_id = await redis.xadd(
            Keys(prefix).dead(queue),
            {
                "type": "ping",
                "data": f'{{"message": "m{i}"}}',
                "dead_id": f"{i + 1}-0",
                "dead_error": f"RuntimeError: failure {i}",
                "dead_attempts": "3",
                "dead_at": "1000",
            },
        )
        ids.append(entry_id.decode() if isinstance(entry_id, bytes) else entry_id)
    return ids


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
async def test_without_a_token_the_answer_is_401(
    redis_url: str, prefix: str, method: str, path: str, body: Any
) -> None:
    async with api_client(redis_url, prefix) as client:
        response = await call(client, method, path, body, {})

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
async def test_with_a_wrong_token_the_answer_is_401(
    redis_url: str, prefix: str, method: str, path: str, body: Any
) -> None:
    async with api_client(redis_url, prefix) as client:
        wrong = {"Authorization": f"Bearer {TOKEN}x"}
        response = await call(client, method, path, body, wrong)

    assert response.status_code == 401


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
async def test_with_the_right_token_the_answer_is_2xx(
    redis_url: str, prefix: str, method: str, path: str, body: Any
) -> None:
    async with api_client(redis_url, prefix) as client:
        response = await call(client, method, path, body, AUTH)

    assert response.status_code in (200, 202)


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
async def test_with_no_token_configured_the_answer_is_403_with_how_to_enable(
    redis_url: str, prefix: str, method: str, path: str, body: Any
) -> None:
    async with api_client(redis_url, prefix, api_token=None) as client:
        response = await call(client, method, path, body, AUTH)

    assert response.status_code == 403
    assert "STREAMS_API_TOKEN" in response.json()["detail"]


async def test_pending_lists_id_consumer_idle_and_deliveries(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    stream = Keys(prefix).stream("default")
    for _ in range(3):
        await redis.xadd(stream, {"type": "ping", "data": "{}"})
    await redis.xgroup_create(stream, GROUP, id="0")
    await redis.xreadgroup(GROUP, "c1", {stream: ">"}, count=3)

    async with api_client(redis_url, prefix) as client:
        response = await client.get("/queues/default/pending?limit=2", headers=AUTH)

    pending = response.json()["pending"]
    assert len(pending) == 2
    assert pending[0]["consumer"] == "c1"
    assert pending[0]["deliveries"] == 1
    assert pending[0]["idle_ms"] >= 0


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "abc", "1.5", ""])
async def test_a_bad_limit_is_400(redis_url: str, prefix: str, limit: str) -> None:
    async with api_client(redis_url, prefix) as client:
        for path in ("/queues/default/pending", "/queues/default/dead"):
            response = await client.get(f"{path}?limit={limit}", headers=AUTH)
            assert response.status_code == 400, path


async def test_unknown_queue_is_404_with_a_token(redis_url: str, prefix: str) -> None:
    async with api_client(redis_url, prefix) as client:
        for method, path, body in PROTECTED:
            response = await call(client, method, path.replace("default", "nope"), body, AUTH)
            assert response.status_code == 404, path


async def test_dead_letters_are_listed_with_their_errors(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    await add_dead(redis, prefix, "default", 3)

    async with api_client(redis_url, prefix) as client:
        body = (await client.get("/queues/default/dead?limit=2", headers=AUTH)).json()

    assert body["count"] == 3
    assert [d["error"] for d in body["dead"]] == [
        "RuntimeError: failure 0",
        "RuntimeError: failure 1",
    ]
    assert body["dead"][0]["attempts"] == 3
    assert body["dead"][0]["original_id"] == "1-0"


async def test_replay_with_ids_moves_only_those_back(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    ids = await add_dead(redis, prefix, "default", 3)
    keys = Keys(prefix)

    async with api_client(redis_url, prefix) as client:
        response = await client.post(
            "/queues/default/dead/replay", json={"ids": ids[:2]}, headers=AUTH
        )

    assert response.json() == {"replayed": 2}
    assert await redis.xlen(keys.dead("default")) == 1
    assert await redis.xlen(keys.stream("default")) == 2


@pytest.mark.parametrize("body", [None, {}])
async def test_replay_without_ids_moves_every_dead_letter_back(
    redis: Redis, redis_url: str, prefix: str, body: Any
) -> None:
    await add_dead(redis, prefix, "default", 3)

    async with api_client(redis_url, prefix) as client:
        response = await client.post("/queues/default/dead/replay", json=body, headers=AUTH)

    assert response.json() == {"replayed": 3}
    assert await redis.xlen(Keys(prefix).dead("default")) == 0


@pytest.mark.parametrize(
    "ids", [["nonsense"], ["99999999999999999999-0"], [5], "1-0", ["1-0"] * 1001]
)
async def test_replay_with_bad_ids_is_400(redis_url: str, prefix: str, ids: Any) -> None:
    async with api_client(redis_url, prefix) as client:
        response = await client.post("/queues/default/dead/replay", json={"ids": ids}, headers=AUTH)

    assert response.status_code == 400


async def test_purge_deletes_every_dead_letter(redis: Redis, redis_url: str, prefix: str) -> None:
    await add_dead(redis, prefix, "default", 2)

    async with api_client(redis_url, prefix) as client:
        response = await client.delete("/queues/default/dead", headers=AUTH)

    assert response.json() == {"purged": 2}
    assert await redis.xlen(Keys(prefix).dead("default")) == 0


async def test_publish_appends_a_validated_message(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    async with api_client(redis_url, prefix) as client:
        response = await client.post(
            "/queues/default/messages",
            json={"type": "ping", "data": {"message": "hello"}, "key": "k1"},
            headers=AUTH,
        )

    assert response.status_code == 202
    entries: list[tuple[bytes, dict[bytes, bytes]]] = await redis.xrange(
        Keys(prefix).stream("default")
    )  # type: ignore[assignment]  # redis-py types replies loosely
    [(entry_id, fields)] = entries
    assert response.json() == {"id": entry_id.decode()}
    assert fields[b"type"] == b"ping"
    assert fields[b"key"] == b"k1"
    assert b"hello" in fields[b"data"]


async def test_publish_with_a_payload_failing_its_schema_is_422_naming_the_field(
    redis_url: str, prefix: str
) -> None:
    async with api_client(redis_url, prefix) as client:
        response = await client.post(
            "/queues/default/messages", json={"type": "ping", "data": {"message": 5}}, headers=AUTH
        )

    assert response.status_code == 422
    assert "message" in response.json()["detail"]


async def test_publish_of_an_unknown_type_is_400(redis_url: str, prefix: str) -> None:
    async with api_client(redis_url, prefix) as client:
        response = await client.post(
            "/queues/default/messages", json={"type": "nope", "data": {}}, headers=AUTH
        )

    assert response.status_code == 400
    assert "ping" in response.json()["detail"]  # names the known types


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"",
        b"[]",
        b'{"data": {}}',
        b'{"type": 5, "data": {}}',
        b'{"type": "ping", "data": {"message": "\xff"}}',  # not UTF-8 inside a string
    ],
)
async def test_publish_with_invalid_json_or_shape_is_400(
    redis_url: str, prefix: str, content: bytes
) -> None:
    async with api_client(redis_url, prefix) as client:
        response = await client.post(
            "/queues/default/messages",
            content=content,
            headers={**AUTH, "Content-Type": "application/json"},
        )

    assert response.status_code == 400


async def test_a_body_over_one_mebibyte_is_413(redis_url: str, prefix: str) -> None:
    big = b'{"type": "ping", "data": {"message": "' + b"x" * (1024 * 1024) + b'"}}'
    async with api_client(redis_url, prefix) as client:
        response = await client.post(
            "/queues/default/messages",
            content=big,
            headers={**AUTH, "Content-Type": "application/json"},
        )

    assert response.status_code == 413


async def test_replay_with_invalid_json_is_400_and_replays_nothing(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    await add_dead(redis, prefix, "default", 1)

    async with api_client(redis_url, prefix) as client:
        response = await client.post(
            "/queues/default/dead/replay",
            content=b"{oops",
            headers={**AUTH, "Content-Type": "application/json"},
        )

    assert response.status_code == 400
    assert await redis.xlen(Keys(prefix).dead("default")) == 1


async def test_replay_with_a_mistyped_field_is_400_not_replay_all(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    await add_dead(redis, prefix, "default", 2)

    async with api_client(redis_url, prefix) as client:
        response = await client.post(
            "/queues/default/dead/replay", json={"id": ["1-0"]}, headers=AUTH
        )

    assert response.status_code == 400
    assert await redis.xlen(Keys(prefix).dead("default")) == 2


BODY_ENDPOINTS = ["/queues/events/messages", "/queues/events/dead/replay"]


@pytest.mark.parametrize("path", BODY_ENDPOINTS)
async def test_json_nested_too_deeply_is_400_with_one_line(
    redis_url: str, prefix: str, path: str
) -> None:
    deep = b'{"type": "event.discovered", "data": ' + b"[" * 5_000 + b"]" * 5_000 + b"}"
    async with api_client(redis_url, prefix) as client:
        response = await client.post(
            path, content=deep, headers={**AUTH, "Content-Type": "application/json"}
        )

    assert response.status_code == 400
    assert response.json()["detail"] == "invalid JSON: nested too deeply"


async def test_replay_of_an_id_with_a_trailing_newline_is_400_and_replays_nothing(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    [entry_id] = await add_dead(redis, prefix, "default", 1)

    async with api_client(redis_url, prefix) as client:
        response = await client.post(
            "/queues/default/dead/replay", json={"ids": [f"{entry_id}\n"]}, headers=AUTH
        )

    assert response.status_code == 400
    assert "is not a valid stream entry id" in response.json()["detail"]
    assert await redis.xlen(Keys(prefix).dead("default")) == 1


async def test_replay_with_a_null_body_is_400_not_replay_all(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    await add_dead(redis, prefix, "default", 2)

    async with api_client(redis_url, prefix) as client:
        response = await client.post(
            "/queues/default/dead/replay",
            content=b"null",
            headers={**AUTH, "Content-Type": "application/json"},
        )

    assert response.status_code == 400
    assert await redis.xlen(Keys(prefix).dead("default")) == 2


async def test_publish_with_an_unknown_field_is_400(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    async with api_client(redis_url, prefix) as client:
        response = await client.post(
            "/queues/default/messages",
            json={"type": "ping", "data": {}, "keys": "k1"},  # a typo of `key`
            headers=AUTH,
        )

    assert response.status_code == 400
    assert "keys" in response.text
    assert await redis.xlen(Keys(prefix).stream("default")) == 0


async def test_options_on_the_dead_letters_path_allows_get_and_delete(
    redis_url: str, prefix: str
) -> None:
    async with api_client(redis_url, prefix) as client:
        response = await client.options("/queues/default/dead", headers=AUTH)

    assert response.status_code == 204
    assert response.headers["allow"] == "DELETE, GET, OPTIONS"
