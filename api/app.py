"""The Litestar application factory; its lifespan owns the Redis clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Final

from litestar import Litestar
from litestar.di import NamedDependency, Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import ControllerRouterHandler

from api.admin import AdminController
from api.auth import token_guard
from api.board import Board
from api.cache import invalidate_after_writes
from api.control import ControlController
from api.csp import security_headers
from api.dashboard import dashboard_handlers, static_router
from api.docs import OfflineSwagger
from api.errors import EXCEPTION_HANDLERS, ApiRequest
from api.health import HealthController
from api.history import HistoryController
from api.metrics import MetricsController
from api.openapi import CompletedRender, Document, schema_route
from api.queues import QueuesController
from api.state import ApiState
from streams.client import create_redis, make_keys
from streams.config import Settings
from streams.router import Registry

MAX_BODY_BYTES: Final = 1024 * 1024
# The app answers operators, not workers: fail fast rather than retry for long.
APP_SOCKET_TIMEOUT_S: Final = 3.0
APP_CONNECT_TIMEOUT_S: Final = 2.0
HEALTH_SOCKET_TIMEOUT_S: Final = 1.0


def _openapi(document: Document | None) -> OpenAPIConfig | None:
    if document is None:
        return None
    return OpenAPIConfig(
        title="godo-streams operator API",
        version="1",
        path="/docs",
        render_plugins=[
            CompletedRender(plugin, document)
            for plugin in (OfflineSwagger(path="/"), JsonRenderPlugin())
        ],
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(
                    type="http", scheme="bearer", description="STREAMS_API_TOKEN"
                )
            }
        ),
    )


def _lifespan(
    api: ApiState, board: Board
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        api.redis = create_redis(
            api.settings,
            socket_timeout_s=APP_SOCKET_TIMEOUT_S,
            connect_timeout_s=APP_CONNECT_TIMEOUT_S,
            retries=1,
        )
        api.health_redis = create_redis(
            api.settings,
            socket_timeout_s=HEALTH_SOCKET_TIMEOUT_S,
            connect_timeout_s=HEALTH_SOCKET_TIMEOUT_S,
            retries=1,  # one quick retry: a pooled connection may predate a Redis restart
            max_connections=4,
        )
        try:
            yield
        finally:
            # Background refreshes first: they use the clients closed below.
            for cache in (api.cache, api.save_config, board.history, board.extras):
                await cache.aclose()
            for client in (api.redis, api.health_redis):
                await client.aclose()  # and its pool (create_redis uses Redis.from_pool)

    return lifespan


def _after_api(board: Board) -> Callable[[ApiState], Board]:
    def provide(api: NamedDependency[ApiState]) -> Board:  # the parameter is the point
        return board

    return provide


def create_app(settings: Settings, registry: Registry) -> Litestar:
    """Build the API for settings and the application's registry (used to validate publishes)."""
    api = ApiState(settings=settings, registry=registry, keys=make_keys(settings))
    # A subclass per app carries this app's guard (a Router around it breaks the Allow header).
    guard = {"guards": [token_guard(settings.api_token)]}
    admin = type("AdminController", (AdminController,), guard)
    control = type("ControlController", (ControlController,), guard)
    handlers: list[ControllerRouterHandler] = [
        HealthController,
        MetricsController,
        QueuesController,
        HistoryController,
        admin,
        control,
    ]
    document = Document(settings.queue_names, registry) if settings.api_docs else None
    if document is not None:
        handlers.append(schema_route(document))
    if settings.api_dashboard:
        handlers += dashboard_handlers(settings)
    if settings.api_dashboard or settings.api_docs:
        handlers.append(static_router())
    board = Board()
    return Litestar(
        route_handlers=handlers,
        dependencies={
            "api": Provide(lambda: api, sync_to_thread=False, use_cache=True),
            # Made to depend on api: Litestar resolves dependencies of one depth in a task
            # group per request (~10 % of the CPU and extra event-loop turns in bench W7);
            # one per depth it awaits in line.
            "board": Provide(_after_api(board), sync_to_thread=False, use_cache=True),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[_lifespan(api, board)],
        middleware=[security_headers, invalidate_after_writes(api.cache.invalidate)],
        openapi_config=_openapi(document),
        request_max_body_size=MAX_BODY_BYTES,
        request_class=ApiRequest,
        # The process configures logging (`streams` CLI); the app only logs through it.
        logging_config=None,
    )
