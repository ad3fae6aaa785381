"""/docs: Swagger UI from the package's own copy, so it works without internet access.

Litestar's renderer loads Swagger UI from a CDN and starts it with an inline script, which
a Content-Security-Policy of 'self' forbids; this page loads both from /static.
"""

from __future__ import annotations

import html
from typing import Any, Final

from litestar import Request
from litestar.openapi.plugins import SwaggerRenderPlugin

VENDOR: Final = "/static/vendor/swagger-ui"

PAGE: Final = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="/static/favicon.svg">
<link rel="stylesheet" href="{vendor}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-url="{url}"></div>
<script src="{vendor}/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
</body>
</html>
"""


class OfflineSwagger(SwaggerRenderPlugin):
    """Swagger UI served from /static; the page fetches the document from /docs/openapi.json."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(str(openapi_schema.get("info", {}).get("title", "API")))
        return PAGE.format(title=title, vendor=VENDOR, url="/docs/openapi.json").encode()
