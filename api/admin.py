"""Operator actions behind the bearer token: pending, dead letters, publish, replay, purge."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime
from typing import Annotated, Any, Final

from litestar import Controller, HttpMethod, Request, Response, delete, get, post, route
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter

from api.errors import REDIS_DOWN, error_response
from api.schemas import (
    DeadOut,
    PendingOut,
    PublishIn,
    PublishOut,
    PurgeOut,
    ReplayIn,
    ReplayOut,
)
from api.state import ApiState
from streams import deadletter, tracing
from streams.delayed import iso
from streams.enqueue import Published
from streams.errors import PublishError
from streams.inspect import list_pending
from streams.messages import is_entry_id
from streams.producer import Producer

REPLAY_ALL: Final = ReplayIn()

Limit = Annotated[
    int,
    QueryParameter(
        ge=1, le=1_000, description="How many entries to return: 1 to 1000 (default 100)."
    ),
]


AUTH_ERRORS: Final = {
    401: error_response("missing or wrong bearer token"),
    403: error_response("STREAMS_API_TOKEN is not set: these endpoints are disabled"),
    404: error_response("unknown queue"),
    **REDIS_DOWN,
}


def _check_ids(ids: list[str]) -> None:
    for entry_id in ids:
        if not is_entry_id(entry_id):
            raise ValidationException(f"ids: {entry_id!r} is not a valid stream entry id")


def _parse_at(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)  # the pattern has required a zone already
    except ValueError:
        raise ValidationException(f"at: {text!r} is not a valid time") from None


def _publish_answer(published: Published) -> Response[PublishOut]:
    """202 when added or scheduled; 200 for a duplicate (nothing was added)."""
    due = published.due_ms
    out = PublishOut(
        id=str(published),
        duplicate=published.duplicate,
        scheduled=due is not None,
        due_ms=due,
        due_at=None if due is None else iso(due),
    )
    return Response(out, status_code=200 if published.duplicate else 202)


class AdminController(Controller):
    path = "/queues/{queue:str}"
    tags = ("operations",)
    security = ({"bearer": []},)

    # Litestar 2 makes an OPTIONS handler for a path when its first handler is registered, and
    # that one's Allow names only the methods known then (litestar-org/litestar#4169, fixed in
    # 3.0). A controller's handlers are registered sorted by name, so this one, named to come
    # before `dead` and `purge`, is there first and no other is made.
    @route("/dead", http_method=HttpMethod.OPTIONS, include_in_schema=False, status_code=204)
    async def allow_dead(self) -> Response[None]:
        return Response(None, status_code=204, headers={"Allow": "DELETE, GET, OPTIONS"})

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
        description=(
            "202 when added or scheduled (with delay_ms or at); 200 with duplicate: true when "
            "the key was published within its dedupe window (nothing is added)."
        ),
        responses={
            **AUTH_ERRORS,
            200: ResponseSpec(
                data_container=PublishOut,
                description="a duplicate: nothing added",
                generate_examples=False,
            ),
            400: error_response("invalid JSON, unknown message type, or delay_ms and at together"),
            413: error_response("body over 1 MiB"),
            422: error_response("the payload does not match its type's schema"),
            503: error_response("Redis unavailable, or fewer replicas confirmed than required"),
        },
    )
    async def publish(
        self,
        queue: FromPath[str],
        data: JSONBody[PublishIn],
        api: NamedDependency[ApiState],
        request: Request[Any, Any, Any],
    ) -> Response[PublishOut]:
        api.settings.queue(queue)
        if api.registry.route(queue, data.type) is None:
            known = ", ".join(api.registry.types(queue)) or "none"
            raise ValidationException(
                f"type: unknown message type {data.type!r} on queue {queue!r}; known types: {known}"
            )
        producer = Producer(api.client, api.settings, api.registry)
        traces = tracing.for_settings(api.settings)
        try:
            with traces.continue_from(request.headers) if traces else nullcontext():
                published = await producer.publish(
                    queue,
                    data.type,
                    data.data,
                    key=data.key,
                    delay_ms=data.delay_ms,
                    at=None if data.at is None else _parse_at(data.at),
                    dedupe_ms=data.dedupe_ms,
                )
        except PublishError as exc:
            if type(exc) is not PublishError:
                raise  # ValidationError keeps its own answer
            raise ValidationException(str(exc)) from None
        return _publish_answer(published)

    @post(
        "/dead/replay",
        status_code=200,
        summary="Replay the given dead letters (no body or {}: all of them)",
        responses={
            **AUTH_ERRORS,
            400: error_response("invalid JSON or ids"),
            413: error_response("body over 1 MiB"),
        },
    )
    async def replay(
        self,
        queue: FromPath[str],
        api: NamedDependency[ApiState],
        data: JSONBody[ReplayIn] = REPLAY_ALL,
    ) -> ReplayOut:
        api.settings.queue(queue)
        ids = list(data.ids or [])
        if data.ids is not None and not ids:
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
