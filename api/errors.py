"""Exception handlers: a caller's mistake is a 4xx with one line, Redis trouble a 503."""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.types import ExceptionHandlersMap
from redis.exceptions import RedisError

from api.schemas import ErrorOut
from streams.client import redact
from streams.errors import NotDurableError, UnknownQueueError, ValidationError

log = logging.getLogger(__name__)

AnyRequest = Request[Any, Any, Any]


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


def _not_utf8(_: AnyRequest, exc: UnicodeDecodeError) -> Response[ErrorOut]:
    # msgspec raises it, not a DecodeError, for bad UTF-8 inside a JSON string of the body.
    return _answer(400, f"invalid JSON: not UTF-8 at byte {exc.start}")


def _not_durable(request: AnyRequest, exc: NotDurableError) -> Response[ErrorOut]:
    log.warning("%s %s: %s", request.method, request.url.path, exc)
    return _answer(503, str(exc))


def _redis_down(request: AnyRequest, exc: RedisError) -> Response[ErrorOut]:
    log.warning("%s %s: redis unavailable: %s", request.method, request.url.path, redact(str(exc)))
    return _answer(503, f"redis unavailable: {type(exc).__name__}")


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
    UnicodeDecodeError: _not_utf8,
    RedisError: _redis_down,
}
