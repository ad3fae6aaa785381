"""/docs and /schema: on by default, off with STREAMS_API_DOCS=false; what the document says."""

from __future__ import annotations

from typing import Any

import msgspec
from openapi_spec_validator import validate

from consumers.registry import create_registry
from streams.router import Registry
from tests.apps import Work
from tests.integration.api_support import api_client

QUEUES = ["default", "events", "notifications", "ml"]


async def fetch_schema(url: str, prefix: str, registry: Registry | None = None) -> dict[str, Any]:
    async with api_client(url, prefix, registry) as client:
        document: dict[str, Any] = (await client.get("/schema")).json()
    return document


def component(document: dict[str, Any], ref: dict[str, str]) -> dict[str, Any]:
    name = ref["$ref"].removeprefix("#/components/schemas/")
    found: dict[str, Any] = document["components"]["schemas"][name]
    return found


async def test_schema_documents_every_endpoint_and_the_limit(redis_url: str, prefix: str) -> None:
    async with api_client(redis_url, prefix) as client:
        docs = await client.get("/docs")
        schema = (await client.get("/schema")).json()

    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    assert set(schema["paths"]) >= {
        "/health",
        "/metrics",
        "/metrics/redis",
        "/queues",
        "/queues/{queue}",
        "/workers",
        "/queues/{queue}/pending",
        "/queues/{queue}/dead",
        "/queues/{queue}/dead/replay",
        *(f"/queues/{queue}/messages" for queue in QUEUES),
    }
    assert "/queues/{queue}/messages" not in schema["paths"]
    [limit] = [
        p
        for p in schema["paths"]["/queues/{queue}/dead"]["get"]["parameters"]
        if p["name"] == "limit"
    ]
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 1000)
    assert limit["schema"]["default"] == 100
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


async def test_docs_can_be_turned_off(redis_url: str, prefix: str) -> None:
    async with api_client(redis_url, prefix, api_docs=False) as client:
        docs = await client.get("/docs")
        schema = await client.get("/schema")
        health = await client.get("/health")

    assert docs.status_code == 404
    assert schema.status_code == 404
    assert health.status_code == 200


async def test_openapi_spec_validator_accepts_the_document(redis_url: str, prefix: str) -> None:
    validate(await fetch_schema(redis_url, prefix))


async def test_docs_page_and_json_show_the_same_document_as_schema(
    redis_url: str, prefix: str
) -> None:
    async with api_client(redis_url, prefix) as client:
        schema = (await client.get("/schema")).json()
        openapi_json = (await client.get("/docs/openapi.json")).json()
        page = (await client.get("/docs")).text

    assert openapi_json == schema
    assert "EventsEventDiscoveredMessage" in page


async def test_a_publish_body_is_a_choice_by_type_with_the_payload_schema(
    redis_url: str, prefix: str
) -> None:
    document = await fetch_schema(redis_url, prefix)
    operation = document["paths"]["/queues/events/messages"]["post"]

    body = component(document, operation["requestBody"]["content"]["application/json"]["schema"])
    assert body["discriminator"]["propertyName"] == "type"
    assert set(body["discriminator"]["mapping"]) == {"event.discovered", "events.drop_past"}
    message = component(document, {"$ref": body["discriminator"]["mapping"]["event.discovered"]})
    assert message["properties"]["type"] == {"type": "string", "const": "event.discovered"}
    assert message["additionalProperties"] is False
    assert set(message["required"]) == {"type", "data"}
    payload = component(document, message["properties"]["data"])
    assert set(payload["required"]) == {"source", "external_id", "title", "starts_at"}
    assert payload["properties"]["title"] == {"type": "string", "maxLength": 500, "minLength": 1}
    assert "parameters" not in operation  # the path names the queue
    assert "PublishIn" not in document["components"]["schemas"]


async def test_queue_parameters_are_an_enum_of_the_configured_queues(
    redis_url: str, prefix: str
) -> None:
    document = await fetch_schema(redis_url, prefix)

    queue_parameters = [
        parameter["schema"]
        for item in document["paths"].values()
        for operation in item.values()
        for parameter in operation.get("parameters", [])
        if parameter["name"] == "queue"
    ]
    # one queue, history, pending, dead (GET, DELETE), replay, scheduled (GET, DELETE), pause,
    # resume
    assert len(queue_parameters) == 10
    assert all(schema == {"type": "string", "enum": QUEUES} for schema in queue_parameters)


async def test_the_replay_body_is_optional_with_no_extra_properties(
    redis_url: str, prefix: str
) -> None:
    document = await fetch_schema(redis_url, prefix)

    body = document["paths"]["/queues/{queue}/dead/replay"]["post"]["requestBody"]
    replay_in = component(document, body["content"]["application/json"]["schema"])
    assert body["required"] is False
    assert replay_in["additionalProperties"] is False
    ids = replay_in["properties"]["ids"]["anyOf"][0]
    assert ids["items"]["pattern"] == "^[0-9]{1,19}-[0-9]{1,19}$"


async def test_every_error_answer_is_documented_with_its_body(redis_url: str, prefix: str) -> None:
    document = await fetch_schema(redis_url, prefix)
    publish = document["paths"]["/queues/events/messages"]["post"]["responses"]
    dead = document["paths"]["/queues/{queue}/dead"]["get"]["responses"]
    error = {"$ref": "#/components/schemas/ErrorOut"}

    assert set(publish) == {"200", "202", "400", "401", "403", "413", "422", "503"}
    assert set(dead) == {"200", "400", "401", "403", "404", "503"}
    for answer in [
        *(publish[c] for c in publish if c not in ("200", "202")),
        *(dead[c] for c in dead if c != "200"),
    ]:
        assert answer["content"]["application/json"]["schema"] == error
    assert "extra" in document["components"]["schemas"]["ErrorOut"]["properties"]


class Refund(msgspec.Struct, frozen=True, kw_only=True):
    order_id: str
    cents: int


async def test_adding_a_type_to_the_registry_adds_it_to_the_document(
    redis_url: str, prefix: str
) -> None:
    grown = create_registry()
    grown.message("default", "order.refund", Refund)

    before = await fetch_schema(redis_url, prefix)
    after = await fetch_schema(redis_url, prefix, grown)

    mapping = after["components"]["schemas"]["DefaultMessage"]["discriminator"]["mapping"]
    assert set(mapping) == {"ping", "order.refund"}
    assert after["components"]["schemas"]["Refund"]["required"] == ["order_id", "cents"]
    assert "Refund" not in before["components"]["schemas"]
    validate(after)


class QueueState(msgspec.Struct, frozen=True, kw_only=True):
    """A payload named like one of the API's own answers."""

    note: str


async def test_a_payload_named_like_an_api_schema_gets_its_own_name(
    redis_url: str, prefix: str
) -> None:
    registry = Registry()
    registry.message("default", "test.work", Work)
    registry.message("default", "state", QueueState)

    document = await fetch_schema(redis_url, prefix, registry)

    schemas = document["components"]["schemas"]
    assert "lag" in schemas["QueueState"]["properties"]  # the API's answer, untouched
    message = schemas["DefaultStateMessage"]
    assert component(document, message["properties"]["data"])["required"] == ["note"]
    assert set(document["paths"]) >= {"/queues/default/messages"}
    assert "/queues/events/messages" not in document["paths"]  # no types on that queue
    validate(document)
