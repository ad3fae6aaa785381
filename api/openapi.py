"""The OpenAPI document: what Litestar derives from the handlers, completed from the registry.

Litestar cannot know which message types a queue accepts (they live in the application's
Registry), and its generator drops msgspec's item patterns and `forbid_unknown_fields`. So:
- each queue with message types gets its own publish path, whose body is a choice by `type`
  among that queue's types, with `data` following the type's payload Struct;
- request bodies come from msgspec's own schema generator (patterns, no extra properties);
- the replay body is optional, as the handler is;
- publish bodies carry the rules between fields (PUBLISH_RULES: dedupe_ms needs a key, delay_ms
  and at exclude each other);
- `{queue}` path parameters are an enum of the configured queues;
- Litestar's own 400 answer (a failed validation) is described by ErrorOut like every other.
The same document is served at /schema, /docs (Swagger UI) and /docs/openapi.json.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, Final

from litestar import Litestar, MediaType, Request, Router, get
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.plugins import OpenAPIRenderPlugin

from api.schemas import PUBLISH_RULES, ErrorOut, PublishIn, ReplayIn
from streams.router import Registry
from streams.schema import Catalog, MessageType, Schema, catalog, pascal, unique_name

PUBLISH_PATH: Final = "/queues/{queue}/messages"
REPLAY_PATH: Final = "/queues/{queue}/dead/replay"
REF: Final = "#/components/schemas/{name}"
# Litestar's schemas of these bodies are replaced by msgspec's (see the module docstring).
BODIES: Final = (PublishIn, ReplayIn)


class Document:
    """The completed document of one app, built once on first use."""

    def __init__(self, queue_names: Sequence[str], registry: Registry) -> None:
        self.queue_names = tuple(queue_names)
        self.registry = registry
        self._completed: dict[str, Any] | None = None

    def complete(self, generated: dict[str, Any]) -> dict[str, Any]:
        if self._completed is None:
            self._completed = complete(generated, self.queue_names, self.registry)
        return self._completed

    def for_app(self, app: Litestar) -> dict[str, Any]:
        if self._completed is None:
            return self.complete(app.openapi_schema.to_schema())
        return self._completed


class CompletedRender(OpenAPIRenderPlugin):
    """A render plugin (Swagger UI, JSON) that shows the completed document."""

    def __init__(self, inner: OpenAPIRenderPlugin, document: Document) -> None:
        super().__init__(
            path=inner.paths, media_type=inner.media_type, favicon=inner.favicon, style=inner.style
        )
        self.inner = inner
        self.document = document

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return self.inner.render(request, self.document.complete(openapi_schema))

    def receive_router(self, router: Router) -> None:
        self.inner.receive_router(router)


def schema_route(document: Document) -> HTTPRouteHandler:
    @get("/schema", include_in_schema=False, media_type=MediaType.JSON, sync_to_thread=False)
    def schema_document(request: Request[Any, Any, Any]) -> dict[str, Any]:
        """Serve the OpenAPI document at /schema (the UI is at /docs)."""
        return document.for_app(request.app)

    return schema_document


def complete(
    generated: dict[str, Any], queue_names: Sequence[str], registry: Registry
) -> dict[str, Any]:
    """Return a copy of Litestar's document completed as the module docstring says."""
    doc = copy.deepcopy(generated)
    schemas: dict[str, Schema] = doc.setdefault("components", {}).setdefault("schemas", {})
    for body in BODIES:
        schemas.pop(body.__name__, None)
    found = catalog(registry, queue_names, ref_template=REF, extra=BODIES, reserved=set(schemas))
    renames = _add_components(schemas, found.components)
    found = _renamed(found, renames)
    publish_in, replay_in = (_rename_refs(s, renames) for s in found.extra)
    _publish_paths(doc, [q for q in queue_names if q in registry.queues()], found, publish_in)
    replay = doc["paths"].get(REPLAY_PATH, {}).get("post")
    if replay is not None:
        replay["requestBody"] = {"required": False, "content": _json(replay_in)}
    _queue_enum(doc, queue_names)
    _error_bodies(doc)
    return doc


def _json(schema: Schema) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _publish_paths(
    doc: dict[str, Any], queues: list[str], found: Catalog, publish_in: Schema
) -> None:
    """Replace the templated publish path by one path per queue with that queue's types."""
    item = doc["paths"].pop(PUBLISH_PATH, None)
    if item is None:
        return
    operation = item["post"]
    schemas = doc["components"]["schemas"]
    body = schemas[_ref_name(publish_in)]
    for queue in queues:
        messages = [m for m in found.messages if m.queue == queue]
        for message in messages:
            schemas[message.name] = _variant(body, message)
        union = unique_name(
            f"{pascal(queue)}Message", {*schemas, *(m.name for m in found.messages)}
        )
        schemas[union] = {
            "title": union,
            "description": f"a message for queue {queue!r}",
            "oneOf": [{"$ref": REF.format(name=m.name)} for m in messages],
            "discriminator": {
                "propertyName": "type",
                "mapping": {m.type: REF.format(name=m.name) for m in messages},
            },
        }
        doc["paths"][f"/queues/{queue}/messages"] = {
            "post": _queue_operation(operation, queue, messages, union)
        }
    schemas.pop(_ref_name(publish_in))


def _variant(body: Schema, message: MessageType) -> Schema:
    variant = copy.deepcopy(body)
    variant["title"] = message.name  # generated clients name their classes by title
    variant["description"] = f"a {message.type!r} message for queue {message.queue!r}"
    variant["properties"]["type"] = {"type": "string", "const": message.type}
    variant["properties"]["data"] = message.payload
    variant["allOf"] = copy.deepcopy(PUBLISH_RULES)
    return variant


def _queue_operation(
    template: dict[str, Any], queue: str, messages: list[MessageType], union: str
) -> dict[str, Any]:
    operation = copy.deepcopy(template)
    operation["operationId"] = f"{template['operationId']}{pascal(queue)}"
    operation["summary"] = f"Publish one message to queue {queue!r}"
    operation["description"] = "Types: " + ", ".join(m.type for m in messages) + "."
    operation["parameters"] = [p for p in operation.get("parameters", []) if p["name"] != "queue"]
    if not operation["parameters"]:
        del operation["parameters"]
    operation["responses"].pop("404", None)  # the path names a configured queue
    operation["requestBody"]["content"] = _json({"$ref": REF.format(name=union)})
    return operation


def _queue_enum(doc: dict[str, Any], queue_names: Sequence[str]) -> None:
    for item in doc["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] == "queue":
                    parameter["schema"] = {"type": "string", "enum": list(queue_names)}


def _error_bodies(doc: dict[str, Any]) -> None:
    # Litestar describes its validation answer inline, with an `extra` some generators cannot
    # read (openapi-python-client drops the response); ErrorOut says the same.
    for item in doc["paths"].values():
        for operation in item.values():
            answer = operation.get("responses", {}).get("400", {})
            for media in answer.get("content", {}).values():
                if "$ref" not in media.get("schema", {}):
                    media["schema"] = {"$ref": REF.format(name=ErrorOut.__name__)}


def _add_components(schemas: dict[str, Schema], ours: dict[str, Schema]) -> dict[str, str]:
    """Add our components, renaming those whose name Litestar already uses; return the renames."""
    renames: dict[str, str] = {}
    for name in ours:
        if name in schemas:
            renames[name] = unique_name(name, {*schemas, *ours, *renames.values()})
    for name, schema in ours.items():
        new = renames.get(name, name)
        schemas[new] = {**_rename_refs(schema, renames), "title": new}
    return renames


def _renamed(found: Catalog, renames: dict[str, str]) -> Catalog:
    if not renames:
        return found
    messages = [
        MessageType(m.queue, m.type, m.name, _rename_refs(m.payload, renames))
        for m in found.messages
    ]
    return Catalog(messages, found.components, found.extra)


def _rename_refs(schema: Any, renames: dict[str, str]) -> Any:
    if isinstance(schema, list):
        return [_rename_refs(item, renames) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _rename_refs(value, renames) for key, value in schema.items()}
    ref = out.get("$ref")
    if isinstance(ref, str) and (name := _ref_name(out)) in renames:
        out["$ref"] = REF.format(name=renames[name])
    return out


def _ref_name(schema: Schema) -> str:
    return str(schema["$ref"]).rsplit("/", 1)[-1]
