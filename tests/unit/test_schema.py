"""`streams schema` and streams.schema: the JSON Schema of the messages, from the Registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
from jsonschema import Draft202012Validator

from consumers.registry import create_registry
from streams.cli import main
from streams.errors import StreamsError
from streams.router import Registry
from streams.schema import catalog, document, unique_name
from tests.apps import Work

GROWN_APP = """
import msgspec
from streams import Registry
from tests.apps import registry as base

class Refund(msgspec.Struct, frozen=True, kw_only=True):
    order_id: str
    cents: int

registry = Registry()
registry.routes.update(base.routes)
registry.message("default", "order.refund", Refund)
"""


def run_schema(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[object, Any, str]:
    with pytest.raises(SystemExit) as stopped:
        main(["schema", *args])
    out, err = capsys.readouterr()
    return stopped.value.code, json.loads(out) if out else None, err


def entry(data: dict[str, Any], **fields: str) -> dict[str, str]:
    """An entry's fields as a producer would XADD them."""
    return {"data": json.dumps(data), **fields}


def test_one_type_describes_the_entry_fields_and_the_payload() -> None:
    schema = document(create_registry(), "events", "event.discovered")
    payload = schema["$defs"]["EventDiscovered"]
    event = {"source": "x", "external_id": "1", "title": "Jazz", "starts_at": "2026-12-01T20:00Z"}

    Draft202012Validator.check_schema(schema)
    assert schema["properties"]["type"] == {"const": "event.discovered"}
    assert schema["properties"]["data"]["contentSchema"] == {"$ref": "#/$defs/EventDiscovered"}
    assert schema["required"] == ["type", "data"]
    assert set(payload["required"]) == {"source", "external_id", "title", "starts_at"}
    valid = Draft202012Validator(schema)
    assert valid.is_valid(entry(event, type="event.discovered", ts="1764000000000"))
    assert not valid.is_valid(entry(event, type="event.updated"))
    assert not valid.is_valid(entry(event, type="event.discovered", ts="soon"))
    payloads = Draft202012Validator({**payload, "$defs": schema["$defs"]})
    assert payloads.is_valid(event)
    assert not payloads.is_valid({k: v for k, v in event.items() if k != "title"})


def test_a_queue_is_a_choice_among_its_types() -> None:
    schema = document(create_registry(), "events")

    Draft202012Validator.check_schema(schema)
    valid = Draft202012Validator(schema)
    assert valid.is_valid(entry({}, type="events.drop_past"))
    assert not valid.is_valid(entry({}, type="ping"))  # a type of another queue
    assert len(schema["oneOf"]) == 2


def test_structs_with_one_name_get_distinct_names_and_titles() -> None:
    first = msgspec.defstruct("Ping", [("a", int)], module="one")
    second = msgspec.defstruct("Ping", [("b", str)], module="two")
    registry = Registry()
    registry.message("q", "first", first)
    registry.message("q", "second", second)

    found = catalog(registry)

    assert sorted(found.components) == ["one.Ping", "two.Ping"]
    assert [c["title"] for c in found.components.values()] == list(found.components)
    assert len({m.name for m in found.messages}) == 2


@pytest.mark.parametrize(
    ("base", "taken", "expected"),
    [("Ping", set(), "Ping"), ("Ping", {"Ping", "Ping2"}, "Ping3"), ("", {"Message"}, "Message2")],
)
def test_unique_name_counts_up_from_the_base(base: str, taken: set[str], expected: str) -> None:
    assert unique_name(base, taken) == expected


def test_a_payload_json_schema_cannot_describe_is_a_streams_error() -> None:
    registry = Registry()
    registry.message("q", "t", msgspec.defstruct("Odd", [("when", complex)]))

    with pytest.raises(StreamsError, match="cannot describe the message payloads"):
        catalog(registry)


def test_command_prints_one_document_per_queue(capsys: pytest.CaptureFixture[str]) -> None:
    code, printed, _ = run_schema(["--app", "consumers.registry:registry"], capsys)

    assert code == 0
    assert set(printed) == {"default", "events", "notifications", "ml"}
    assert printed["events"] == document(create_registry(), "events")


def test_command_for_one_type_prints_its_entry_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, printed, _ = run_schema(["default", "test.work", "--app", "tests.apps:registry"], capsys)

    assert code == 0
    assert printed["properties"]["type"] == {"const": "test.work"}
    assert printed["$defs"]["Work"] == msgspec.json.schema(Work)["$defs"]["Work"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["nope"], "no message types on queue 'nope'; queues with types: default"),
        (["default", "nope"], "no type 'nope' on queue 'default'; known types: test.work"),
    ],
)
def test_command_with_an_unknown_queue_or_type_is_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], fragment: str
) -> None:
    code, printed, err = run_schema([*args, "--app", "tests.apps:registry"], capsys)

    assert (code, printed) == (2, None)
    assert err == f"streams: error: {fragment}\n"


def test_adding_a_type_to_the_application_adds_it_to_the_command_output(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "grown_app.py").write_text(GROWN_APP)
    monkeypatch.syspath_prepend(str(tmp_path))

    _, before, _ = run_schema(["default", "--app", "tests.apps:registry"], capsys)
    _, after, _ = run_schema(["default", "--app", "grown_app:registry"], capsys)

    assert "Refund" not in before["$defs"]
    assert after["$defs"]["Refund"]["required"] == ["order_id", "cents"]
    assert after["$defs"]["DefaultOrderRefundMessage"]["properties"]["type"] == {
        "const": "order.refund"
    }
    assert len(after["oneOf"]) == len(before["oneOf"]) + 1
