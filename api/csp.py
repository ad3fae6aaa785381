"""Content-Security-Policy on every response: only this origin may be loaded, framed or posted to.

/docs also allows data: images, which Swagger UI's stylesheet embeds for its icons.
"""

from __future__ import annotations

from typing import Final

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

CSP: Final = "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
DOCS_CSP: Final = f"{CSP}; img-src 'self' data:"
_HEADERS: Final = {
    policy: [(b"content-security-policy", policy.encode()), (b"x-content-type-options", b"nosniff")]
    for policy in (CSP, DOCS_CSP)
}


def _policy(path: str) -> str:
    return DOCS_CSP if path == "/docs" or path.startswith("/docs/") else CSP


def security_headers(app: ASGIApp) -> ASGIApp:
    """Wrap app so every HTTP response carries the policy (static files and errors too)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        extra = _HEADERS[_policy(scope["path"])]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware
