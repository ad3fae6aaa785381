"""Queue controls behind the bearer token: scheduled messages, pause and resume."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, QueryParameter

from api.admin import AUTH_ERRORS
from api.schemas import CancelledOut, PausedOut, ScheduledOut
from api.state import ApiState
from streams import delayed, pause

Limit = Annotated[
    int,
    QueryParameter(ge=1, le=1_000, description="How many to return: 1 to 1000 (default 100)."),
]


class ControlController(Controller):
    path = "/queues/{queue:str}"
    tags = ("operations",)
    security = ({"bearer": []},)

    @get("/scheduled", summary="Delayed messages not yet due, soonest first", responses=AUTH_ERRORS)
    async def scheduled(
        self, queue: FromPath[str], api: NamedDependency[ApiState], limit: Limit = 100
    ) -> ScheduledOut:
        api.settings.queue(queue)
        found = await delayed.list_scheduled(api.client, api.keys, queue, limit)
        count = await delayed.count_scheduled(api.client, api.keys, queue)
        return ScheduledOut(queue=queue, count=count, scheduled=found)

    @delete(
        "/scheduled/{scheduled_id:str}",
        status_code=200,
        summary="Cancel a delayed message before it is due",
        responses=AUTH_ERRORS,
    )
    async def cancel(
        self, queue: FromPath[str], scheduled_id: FromPath[str], api: NamedDependency[ApiState]
    ) -> CancelledOut:
        api.settings.queue(queue)
        if not await delayed.cancel(api.client, api.keys, queue, scheduled_id):
            raise NotFoundException(
                f"queue {queue!r}: no scheduled message {scheduled_id!r} "
                "(already due and published, cancelled, or never scheduled)"
            )
        return CancelledOut(cancelled=scheduled_id)

    @post(
        "/pause",
        status_code=200,
        summary="Pause the queue: workers take no new entries; publishing goes on",
        responses=AUTH_ERRORS,
    )
    async def pause(self, queue: FromPath[str], api: NamedDependency[ApiState]) -> PausedOut:
        api.settings.queue(queue)
        await pause.pause(api.client, api.keys, queue)
        return PausedOut(queue=queue, paused=True)

    @post("/resume", status_code=200, summary="Resume a paused queue", responses=AUTH_ERRORS)
    async def resume(self, queue: FromPath[str], api: NamedDependency[ApiState]) -> PausedOut:
        api.settings.queue(queue)
        await pause.resume(api.client, api.keys, queue)
        return PausedOut(queue=queue, paused=False)
