"""The operator dashboard: GET /dashboard (HTML), its JSON, dead-letter search, static files.

The page is server-rendered HTML plus one ES module and one CSS file, all from the package
(api/static), under a Content-Security-Policy of 'self'. Charts use uPlot, vendored from its
npm package with its licence (api/static/vendor/uplot).
"""

from __future__ import annotations

import html
from importlib import resources
from pathlib import Path
from string import Template
from typing import Annotated, Final, Literal

import msgspec
from litestar import Controller, MediaType, Response, get
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from api.auth import token_guard
from api.board import Board, DashboardOut
from api.state import ApiState
from streams.config import Settings
from streams.deadletter import DeadLetter, count_dead
from streams.deadsearch import search_dead

STATIC_DIR: Final = Path(__file__).parent / "static"
POLL_MS: Final = 2_000


class DeadSearchOut(msgspec.Struct, frozen=True, kw_only=True):
    queue: str
    count: int
    scanned: int
    dead: list[DeadLetter]


def _page(settings: Settings) -> bytes:
    template = Template(resources.files("api").joinpath("templates/dashboard.html").read_text())
    options = "".join(
        f'<option value="{html.escape(q)}">{html.escape(q)}</option>' for q in settings.queue_names
    )
    return template.substitute(
        queue_options=options,
        token_configured="true" if settings.api_token is not None else "false",
        poll_ms=POLL_MS,
        docs_link='<a href="/docs">API docs</a>' if settings.api_docs else "",
    ).encode()


class DashboardController(Controller):
    tags = ("dashboard",)
    include_in_schema = False

    @get("/", sync_to_thread=False)
    def root(self) -> Redirect:
        return Redirect("/dashboard")

    html: bytes = b""  # rendered once per app by dashboard_handlers()

    @get("/dashboard", media_type=MediaType.HTML, sync_to_thread=False)
    def page(self) -> Response[bytes]:
        return Response(self.html, media_type=MediaType.HTML)

    @get("/dashboard/state")
    async def state(
        self, api: NamedDependency[ApiState], board: NamedDependency[Board]
    ) -> DashboardOut:
        return await board.state(api)


class DeadSearchController(Controller):
    tags = ("dashboard",)
    include_in_schema = False

    @get("/dashboard/dead/{queue:str}")
    async def dead(
        self,
        queue: FromPath[str],
        api: NamedDependency[ApiState],
        order: FromQuery[Literal["oldest", "newest"]] = "newest",
        message_type: Annotated[str | None, QueryParameter(name="type", max_length=200)] = None,
        error: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1_000)] = 100,
    ) -> DeadSearchOut:
        api.settings.queue(queue)
        letters, scanned = await search_dead(
            api.client,
            api.keys,
            queue,
            newest_first=order == "newest",
            type_=message_type or None,
            error=error or None,
            limit=limit,
        )
        count = await count_dead(api.client, api.keys, queue)
        return DeadSearchOut(queue=queue, count=count, scanned=scanned, dead=letters)


def static_router() -> ControllerRouterHandler:
    return create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        include_in_schema=False,
        cache_control=CacheControlHeader(max_age=300),
    )


def dashboard_handlers(settings: Settings) -> list[ControllerRouterHandler]:
    """The page, its JSON and the guarded dead-letter search (token as for the admin endpoints)."""
    guarded = type(
        "DeadSearchController",
        (DeadSearchController,),
        {"guards": [token_guard(settings.api_token)]},
    )
    page = type("DashboardController", (DashboardController,), {"html": _page(settings)})
    return [page, guarded]
