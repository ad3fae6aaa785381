"""/docs: Swagger UI from the package's own copy, so it works without internet access.

Litestar's renderer loads Swagger UI from a CDN and starts it with an inline script, which
a Content-Security-Policy of 'self' forbids; this page loads both from /static. The document
is embedded as a JSON data block (not a script, so the policy allows it) that /static/docs.js
hands to Swagger UI.
"""

from __future__ import annotations

import html
import json
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
<script type="application/json" id="openapi-document">{document}</script>
<div id="swagger-ui"></div>
<script src="{vendor}/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
</body>
</html>
"""


class OfflineSwagger(SwaggerRenderPlugin):
    """Swagger UI served from /static; the page fetches the document from /docs/openapi.json."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(str(openapi_schema.get("info", {}).get("title", "API")))
        # "<" only occurs inside JSON strings, where \u003c means the same and cannot end the block.
        document = json.dumps(openapi_schema).replace("<", "\\u003c")
        return PAGE.format(title=title, vendor=VENDOR, document=document).encode()
