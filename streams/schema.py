"""JSON Schema of an application's messages, generated from its Registry.

The payload schemas come from the msgspec Structs the worker decodes with, so a document built
here cannot drift from what is accepted. `streams schema` prints them with the wire-format fields
(see streams/messages.py); the HTTP API builds its publish bodies from the same catalogue.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from streams.errors import StreamsError
from streams.router import Registry

Schema = dict[str, Any]

DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
DEFS_REF: Final = "#/$defs/{name}"
_WORD: Final = re.compile(r"[A-Za-z0-9]+")


@dataclass(frozen=True, slots=True)
class MessageType:
    """One (queue, type) pair: a unique name for it and its payload's schema."""

    queue: str
    type: str
    name: str
    payload: Schema


@dataclass(frozen=True, slots=True)
class Catalog:
    """The message types of a registry with the components their schemas refer to."""

    messages: list[MessageType]
    components: dict[str, Schema]
    extra: list[Schema]  # the schemas of the extra types asked for, in order


def pascal(text: str) -> str:
    """'event.discovered' -> 'EventDiscovered' (a name fit for a component or a class)."""
    return "".join(word[:1].upper() + word[1:] for word in _WORD.findall(text))


def unique_name(base: str, taken: Collection[str]) -> str:
    """base, or base2, base3, ... whichever is not taken yet."""
    root = base or "Message"
    name, n = root, 1
    while name in taken:
        n += 1
        name = f"{root}{n}"
    return name


def catalog(
    registry: Registry,
    queues: Iterable[str] | None = None,
    *,
    ref_template: str = DEFS_REF,
    extra: Sequence[type] = (),
    reserved: Collection[str] = (),
) -> Catalog:
    """Describe the registry's message types (of the given queues) for a JSON Schema document.

    Args:
        registry: the application's registry.
        queues: only these queues (default: every queue with a registered type).
        ref_template: where the document keeps its components, e.g. '#/components/schemas/{name}'.
        extra: more types to describe with the payloads, so all names come from one pass.
        reserved: names the document already uses; message names avoid them.

    Raises:
        StreamsError: a payload has a field type that JSON Schema cannot describe.
    """
    wanted = None if queues is None else set(queues)
    routes = sorted(
        (r for r in registry.routes.values() if wanted is None or r.queue in wanted),
        key=lambda r: (r.queue, r.type_name),
    )
    types = [*(r.payload for r in routes), *extra]
    try:
        schemas, components = msgspec.json.schema_components(
            types, schema_hook=_any_object, ref_template=ref_template
        )
    except TypeError as exc:
        raise StreamsError(f"cannot describe the message payloads as JSON Schema: {exc}") from None
    for name, schema in components.items():
        # msgspec names two Structs called alike by their modules but keeps the short title;
        # client generators name classes by title, so keep titles as unique as the names.
        schema["title"] = name
    taken = {*reserved, *components}
    messages = []
    for route, schema in zip(routes, schemas, strict=False):
        name = unique_name(f"{pascal(route.queue)}{pascal(route.type_name)}Message", taken)
        taken.add(name)
        messages.append(MessageType(route.queue, route.type_name, name, schema))
    return Catalog(messages, components, list(schemas[len(routes) :]))


def _any_object(cls: type) -> Schema:
    # `object` in a Struct field (e.g. dict[str, object]) decodes any JSON value.
    if cls is object:
        return {"description": "any JSON value"}
    raise NotImplementedError


def entry_schema(message: MessageType) -> Schema:
    """The fields of one stream entry (XADD) carrying this message type."""
    return {
        "title": f"{message.type!r} on queue {message.queue!r}",
        "type": "object",
        "properties": {
            "type": {"const": message.type},
            "data": {
                "description": "the payload as JSON text",
                "type": "string",
                "contentMediaType": "application/json",
                "contentSchema": message.payload,
            },
            "ts": {
                "description": "producer's clock, milliseconds since the Unix epoch",
                "type": "string",
                "pattern": "^[0-9]+$",
            },
            "key": {"description": "a caller-chosen key", "type": "string"},
            "headers": {
                "description": "a JSON object of string to string, as JSON text",
                "type": "string",
                "contentMediaType": "application/json",
                "contentSchema": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "required": ["type", "data"],
    }


def one_of(messages: Sequence[MessageType], ref_template: str) -> Schema:
    """A schema choosing among messages by their `type` (each message schema fixes its type)."""
    return {"oneOf": [{"$ref": ref_template.format(name=m.name)} for m in messages]}


def document(registry: Registry, queue: str, type_: str | None = None) -> Schema:
    """A JSON Schema document of the stream entries of one queue, or of one type on it.

    Raises:
        StreamsError: the queue has no such type (the message names the known ones).
    """
    found = catalog(registry, [queue])
    messages = [m for m in found.messages if type_ is None or m.type == type_]
    if not messages:
        if type_ is None:
            queues = ", ".join(registry.queues()) or "none"
            raise StreamsError(f"no message types on queue {queue!r}; queues with types: {queues}")
        known = ", ".join(registry.types(queue))
        raise StreamsError(f"no type {type_!r} on queue {queue!r}; known types: {known}")
    head: Schema = {"$schema": DIALECT}
    if type_ is not None:
        return {**head, **entry_schema(messages[0]), "$defs": found.components}
    defs = {**found.components, **{m.name: entry_schema(m) for m in messages}}
    return {
        **head,
        "title": f"messages of queue {queue!r}",
        **one_of(messages, DEFS_REF),
        "$defs": defs,
    }
