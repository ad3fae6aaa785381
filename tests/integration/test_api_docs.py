"""/docs and /schema: on by default, off with STREAMS_API_DOCS=false."""

from __future__ import annotations

from tests.integration.api_support import api_client


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
        "/queues/{queue}/messages",
        "/queues/{queue}/dead/replay",
    }
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
