"""Sync-time schema widening: SCHEMA before the first record that needs it, once per change."""

import io

import orjson

from tap_dynamodb.output.writer import MessageWriter
from tap_dynamodb.values.decoder import RecordDecoder


def _sync_pages(schema, pages):
    out = io.BytesIO()
    writer = MessageWriter(out)
    tracker = RecordDecoder(schema)
    tracker.schemas_written = 0
    for page in pages:
        records, widened = tracker.decode(page)
        if widened:
            writer.schema("s", tracker.schema, ["id"])
            tracker.schemas_written += 1
        writer.records("s", records, None)
    writer.flush()
    return tracker, [orjson.loads(line) for line in out.getvalue().splitlines()]


def _schema():
    return {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "a": {"type": ["null", "string"]},
            "m": {"type": ["null", "object"], "properties": {"x": {"type": ["null", "number"]}}},
        },
    }


def test_items_the_schema_describes_write_no_schema():
    tracker, messages = _sync_pages(
        _schema(),
        [
            [
                {"id": {"S": "1"}, "a": {"S": "x"}, "m": {"M": {"x": {"N": "1"}}}},
                {"id": {"S": "2"}, "a": {"NULL": True}, "m": {"M": {}}},
            ]
        ],
    )
    assert [m["type"] for m in messages] == ["RECORD", "RECORD"]
    assert tracker.schemas_written == 0


def test_new_attribute_new_type_and_new_nested_key_widen_once_before_their_page():
    pages = [
        [{"id": {"S": "1"}, "a": {"S": "x"}}],
        [{"id": {"S": "2"}, "a": {"N": "5"}}, {"id": {"S": "3"}, "a": {"N": "6"}, "new": {"SS": ["q"]}}],
        [{"id": {"S": "4"}, "a": {"N": "7"}, "new": {"SS": ["r"]}}],
        [{"id": {"S": "5"}, "m": {"M": {"x": {"N": "1"}, "deep": {"L": [{"BOOL": True}]}}}}],
        [{"id": {"S": "6"}, "m": {"M": {"deep": {"L": [{"BOOL": False}]}}}}],
    ]
    tracker, messages = _sync_pages(_schema(), pages)
    kinds = [m["type"] if m["type"] != "RECORD" else m["record"]["id"] for m in messages]
    assert kinds == ["1", "SCHEMA", "2", "3", "4", "SCHEMA", "5", "6"]
    first, second = [m for m in messages if m["type"] == "SCHEMA"]
    assert first["schema"]["properties"]["a"]["type"] == ["null", "number", "string"]
    assert first["schema"]["properties"]["new"] == {"type": ["null", "array"], "items": {"type": ["string"]}}
    assert first["key_properties"] == ["id"]
    assert second["schema"]["properties"]["m"]["properties"]["deep"] == {
        "type": ["null", "array"],
        "items": {"type": ["boolean"]},
    }
    assert tracker.schemas_written == 2
    assert tracker.schema is not None and "deep" in tracker.schema["properties"]["m"]["properties"]


def test_an_open_schema_accepts_everything_and_is_left_alone():
    tracker, messages = _sync_pages({"type": "object"}, [[{"id": {"S": "1"}, "z": {"M": {"q": {"N": "1"}}}}]])
    assert [m["type"] for m in messages] == ["RECORD"]
    assert tracker.schema == {"type": "object"}
