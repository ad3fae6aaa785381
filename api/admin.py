"""Operator actions behind the bearer token: pending, dead letters, publish, replay, purge."""

from __future__ import annotations

from typing import Annotated, Final

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter

from api.schemas import (
    DeadOut,
    ErrorOut,
    PendingOut,
    PublishIn,
    PublishOut,
    PurgeOut,
    ReplayIn,
    ReplayOut,
)
from api.state import ApiState
from streams import deadletter
from streams.inspect import list_pending
from streams.producer import Producer
from streams.retention import parse_id

MAX_ID_PART: Final = 2**64 - 1

Limit = Annotated[
    int,
    QueryParameter(
        ge=1, le=1_000, description="How many entries to return: 1 to 1000 (default 100)."
    ),
]


def _error(status: int, description: str) -> ResponseSpec:
    return ResponseSpec(data_container=ErrorOut, description=description)


AUTH_ERRORS: Final = {
    401: _error(401, "missing or wrong bearer token"),
    403: _error(403, "STREAMS_API_TOKEN is not set: these endpoints are disabled"),
    404: _error(404, "unknown queue"),
}


def _check_ids(ids: list[str]) -> None:
    for entry_id in ids:
        if any(part > MAX_ID_PART for part in parse_id(entry_id)):
            raise ValidationException(f"ids: {entry_id!r} is not a valid stream entry id")


class AdminController(Controller):
    path = "/queues/{queue:str}"
    tags = ("operations",)
    security = ({"bearer": []},)

    @get("/pending", summary="Entries read but not acknowledged", responses=AUTH_ERRORS)
    async def pending(
        self, queue: FromPath[str], api: NamedDependency[ApiState], limit: Limit = 100
    ) -> PendingOut:
        api.settings.queue(queue)
        entries = await list_pending(api.client, api.keys, api.settings.group, queue, limit)
        return PendingOut(queue=queue, pending=entries)

    @get(
        "/dead", summary="Dead letters, oldest first, with the error of each", responses=AUTH_ERRORS
    )
    async def dead(
        self, queue: FromPath[str], api: NamedDependency[ApiState], limit: Limit = 100
    ) -> DeadOut:
        api.settings.queue(queue)
        letters = await deadletter.list_dead(api.client, api.keys, queue, limit)
        count = await deadletter.count_dead(api.client, api.keys, queue)
        return DeadOut(queue=queue, count=count, dead=letters)

    @post(
        "/messages",
        status_code=202,
        summary="Publish one message (validated against its type's schema)",
        responses={
            **AUTH_ERRORS,
            400: _error(400, "invalid JSON or unknown message type"),
            413: _error(413, "body over 1 MiB"),
            422: _error(422, "the payload does not match its type's schema"),
            503: _error(503, "Redis unavailable, or fewer replicas confirmed than required"),
        },
    )
    async def publish(
        self, queue: FromPath[str], data: JSONBody[PublishIn], api: NamedDependency[ApiState]
    ) -> PublishOut:
        api.settings.queue(queue)
        if api.registry.route(queue, data.type) is None:
            known = ", ".join(api.registry.types(queue)) or "none"
            raise ValidationException(
                f"type: unknown message type {data.type!r} on queue {queue!r}; known types: {known}"
            )
        producer = Producer(api.client, api.settings, api.registry)
        return PublishOut(id=await producer.publish(queue, data.type, data.data, key=data.key))

    @post(
        "/dead/replay",
        status_code=200,
        summary="Replay the given dead letters (no body or {}: all of them)",
        responses={**AUTH_ERRORS, 400: _error(400, "invalid JSON or ids")},
    )
    async def replay(
        self,
        queue: FromPath[str],
        api: NamedDependency[ApiState],
        data: JSONBody[ReplayIn | None] = None,
    ) -> ReplayOut:
        api.settings.queue(queue)
        ids = list(data.ids or []) if data is not None else []
        if data is not None and data.ids is not None and not ids:
            return ReplayOut(replayed=0)
        _check_ids(ids)
        return ReplayOut(replayed=await deadletter.replay(api.client, api.keys, queue, ids))

    @delete(
        "/dead",
        status_code=200,
        summary="Delete every dead letter of the queue",
        responses=AUTH_ERRORS,
    )
    async def purge(self, queue: FromPath[str], api: NamedDependency[ApiState]) -> PurgeOut:
        api.settings.queue(queue)
        return PurgeOut(purged=await deadletter.purge(api.client, api.keys, queue))
