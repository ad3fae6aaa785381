"""Bearer-token guard for the operator endpoints: constant-time compare, fails closed."""

from __future__ import annotations

import hmac
from typing import Final

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

from streams.config import Secret

SCHEME: Final = "bearer"
DISABLED: Final = (
    "this endpoint is disabled: set STREAMS_API_TOKEN on the API service and send "
    "'Authorization: Bearer <token>'"
)


def token_guard(token: Secret | None) -> Guard:
    """Return a guard that admits only requests bearing token (none at all when it is unset)."""
    expected = token.reveal().encode() if token is not None else None

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:  # type: ignore[type-arg]  # any connection type
        if expected is None:
            raise PermissionDeniedException(DISABLED)
        scheme, _sep, given = connection.headers.get("authorization", "").partition(" ")
        if scheme.lower() != SCHEME or not hmac.compare_digest(given.strip().encode(), expected):
            raise NotAuthorizedException(
                "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
            )

    return guard
