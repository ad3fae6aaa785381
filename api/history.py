"""GET /queues/{queue}/history: per-minute history of a queue, from Redis, for scripts and the page."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, QueryParameter

from api.board import Board
from api.schemas import ErrorOut
from api.state import ApiState
from streams.history import History, read_history
from streams.messages import now_ms

WindowParam = Annotated[
    Literal["1h", "24h", "7d"],
    QueryParameter(description="1h and 24h: a point per minute; 7d: a point per 10 minutes."),
]


class HistoryController(Controller):
    tags = ("queues",)

    @get(
        "/queues/{queue:str}/history",
        summary="Messages in, out, failed, retried and dead per minute; depth, lag, oldest age",
        description=(
            "Counters are summed per point (0 when nothing happened); the gauges depth, lag and "
            "oldest_s (oldest pending age) are sampled once a minute by the scheduler leader "
            "and null where no sample exists. Kept 8 days in Redis."
        ),
        responses={404: ResponseSpec(data_container=ErrorOut, description="unknown queue")},
    )
    async def history(
        self,
        queue: FromPath[str],
        api: NamedDependency[ApiState],
        board: NamedDependency[Board],
        window: WindowParam = "1h",
    ) -> History:
        api.settings.queue(queue)

        async def compute() -> History:
            return await read_history(api.client, api.keys, queue, window, now_ms())

        return await board.history.get(f"{queue}:{window}", compute)
