"""Exception handlers: a caller's mistake is a 4xx with one line, Redis trouble a 503."""

from __future__ import annotations

import logging
from typing import Any, Final

from litestar import MediaType, Request, Response
from litestar.exceptions import ClientException
from litestar.openapi import ResponseSpec
from litestar.types import ExceptionHandlersMap
from redis.exceptions import RedisError, ResponseError

from api.schemas import ErrorOut
from streams.client import redact
from streams.errors import ConfigError, NotDurableError, UnknownQueueError, ValidationError

log = logging.getLogger(__name__)

AnyRequest = Request[Any, Any, Any]


class ApiRequest(Request[Any, Any, Any]):
    """A request whose body no JSON decoder can handle is a 400 with one line, never a 500."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError:  # msgspec's, before any handler runs
            raise ClientException("invalid JSON: nested too deeply") from None
        except UnicodeDecodeError as exc:  # bad UTF-8 inside a JSON string
            raise ClientException(f"invalid JSON: not UTF-8 at byte {exc.start}") from None


def error_response(description: str) -> ResponseSpec:
    """An error answer for the OpenAPI document: an ErrorOut body, and no made-up examples."""
    return ResponseSpec(data_container=ErrorOut, description=description, generate_examples=False)


REDIS_DOWN: Final = {503: error_response("Redis is unavailable")}


def _answer(status: int, detail: str) -> Response[ErrorOut]:
    return Response(
        ErrorOut(status_code=status, detail=redact(detail)),
        status_code=status,
        media_type=MediaType.JSON,
    )


def _unknown_queue(_: AnyRequest, exc: UnknownQueueError) -> Response[ErrorOut]:
    return _answer(404, str(exc))


def _invalid_payload(_: AnyRequest, exc: ValidationError) -> Response[ErrorOut]:
    return _answer(422, f"data: {exc.reason}")


def _not_durable(request: AnyRequest, exc: NotDurableError) -> Response[ErrorOut]:
    log.warning("%s %s: %s", request.method, request.url.path, exc)
    return _answer(503, str(exc))


def _server_unfit(request: AnyRequest, exc: ConfigError) -> Response[ErrorOut]:
    # A setting the server can't honour (STREAMS_PUBLISH_FSYNC without AOF): the operator's
    # to fix, not the caller's, and nothing was written.
    log.error("%s %s: %s", request.method, request.url.path, exc)
    return _answer(503, str(exc))


def _redis_down(request: AnyRequest, exc: RedisError) -> Response[ErrorOut]:
    log.warning("%s %s: redis unavailable: %s", request.method, request.url.path, redact(str(exc)))
    return _answer(503, f"redis unavailable: {type(exc).__name__}")


def _redis_refused(request: AnyRequest, exc: ResponseError) -> Response[ErrorOut]:
    # A caller's id that slipped past our checks: Redis's refusal is the caller's mistake.
    if "Invalid stream ID" in str(exc):
        return _answer(400, "invalid stream entry id (Redis refused it)")
    return _redis_down(request, exc)


def _unexpected(request: AnyRequest, exc: Exception) -> Response[ErrorOut]:
    log.error(
        "%s %s: unexpected %s", request.method, request.url.path, type(exc).__name__, exc_info=exc
    )
    return _answer(500, "internal server error")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    500: _unexpected,
    UnknownQueueError: _unknown_queue,
    ValidationError: _invalid_payload,
    NotDurableError: _not_durable,
    ConfigError: _server_unfit,
    ResponseError: _redis_refused,
    RedisError: _redis_down,
}
