"""GET /queues, /queues/{queue} and /workers: queue state and live workers."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from api.errors import REDIS_DOWN, error_response
from api.schemas import QueuesOut, WorkersOut
from api.state import ApiState
from streams.inspect import QueueState

NOT_FOUND = {404: error_response("unknown queue"), **REDIS_DOWN}


class QueuesController(Controller):
    tags = ("queues",)

    @get("/queues", summary="State of every queue", responses=REDIS_DOWN)
    async def list_queues(self, api: NamedDependency[ApiState]) -> QueuesOut:
        return QueuesOut(queues=(await api.snapshot()).queues)

    @get(
        "/queues/{queue:str}",
        summary="State of one queue, with its groups and consumers",
        responses=NOT_FOUND,
    )
    async def one_queue(self, queue: FromPath[str], api: NamedDependency[ApiState]) -> QueueState:
        api.settings.queue(queue)
        return (await api.snapshot()).queue(queue)

    @get("/workers", summary="Live workers, from their heartbeats", responses=REDIS_DOWN)
    async def workers(self, api: NamedDependency[ApiState]) -> WorkersOut:
        workers = (await api.snapshot()).workers
        return WorkersOut(count=len(workers), workers=workers)
