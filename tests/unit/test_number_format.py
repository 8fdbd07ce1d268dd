"""number_format (issue 12, point 13): N values as exact decimal text for targets that load numbers as DOUBLE.

`number` (the default) writes every N as an exact JSON number literal, as before; `string` writes
the same digits as a JSON string, typed {"type": "string", "format": "singer.decimal"}, and
collapses a number/string union into "string" (no format: not every value is a decimal).
"""

from __future__ import annotations

import copy
import json

import orjson
import pytest

from tap_dynamodb.errors import TapError
from tap_dynamodb.settings import parse_config
from tap_dynamodb.values import schema as sm
from tap_dynamodb.values.decode import decode_items
from tap_dynamodb.values.decoder import RecordDecoder

NUMBERS = [
    "0",
    "-1",
    "1.5",
    "12345678901234567890123456789012345678",
    "-0.12345678901234567890123456789012345678",
    "1E-130",
    "9.99E+125",
    "1e2",
]
ODD_NUMBERS = [" 1.50", "+2", ".5", "1.", "00"]  # not JSON number text: normalised by the checked path


def _items(numbers):
    return [
        {
            "id": {"N": text},
            "n": {"N": text},
            "ns": {"NS": [text, "2"]},
            "m": {"M": {"x": {"N": text}, "l": {"L": [{"N": text}, {"S": "s"}]}}},
        }
        for text in numbers
    ]


SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "number"},
        "n": {"type": ["null", "number"]},
        "ns": {"type": ["null", "array"], "items": {"type": ["number"]}},
        "m": {
            "type": ["null", "object"],
            "properties": {
                "x": {"type": ["null", "number"]},
                "l": {"type": ["null", "array"], "items": {"type": ["number", "string"]}},
            },
        },
    },
    "required": ["id"],
}


def _number_texts(records):
    """Each record as written in number mode, with every number literal kept as its text."""
    return [json.loads(orjson.dumps(record), parse_float=str, parse_int=str) for record in records]


def test_the_setting_defaults_to_number_and_takes_string():
    assert parse_config({"region_name": "r"}).number_format == "number"
    assert parse_config({"region_name": "r", "number_format": "string"}).number_format == "string"
    assert parse_config({"region_name": "r", "number_format": "String"}).number_format == "string"
    with pytest.raises(TapError, match="number_format must be one of number, string"):
        parse_config({"region_name": "r", "number_format": "double"})


@pytest.mark.parametrize("numbers_checked", [True, False])
def test_string_mode_writes_the_digits_number_mode_writes_as_strings(numbers_checked):
    numbers = NUMBERS if numbers_checked else NUMBERS + ODD_NUMBERS
    as_numbers = RecordDecoder(copy.deepcopy(SCHEMA)).decode(_items(numbers), numbers_checked).records
    decoded = RecordDecoder(copy.deepcopy(SCHEMA), "string").decode(_items(numbers), numbers_checked)
    assert not decoded.widened
    assert decoded.records == _number_texts(as_numbers)
    assert all(isinstance(record["n"], str) for record in decoded.records)
    assert decoded.records[3]["m"] == {
        "x": "12345678901234567890123456789012345678",
        "l": ["12345678901234567890123456789012345678", "s"],
    }
    if not numbers_checked:
        assert [r["n"] for r in decoded.records[len(NUMBERS) :]] == ["1.50", "2", "0.5", "1", "0"]


def test_string_mode_refuses_what_number_mode_refuses():
    with pytest.raises(ValueError, match="is not a number"):
        RecordDecoder(copy.deepcopy(SCHEMA), "string").decode([{"id": {"N": "x"}}], False)
    with pytest.raises(ValueError, match="not a finite number"):
        RecordDecoder(copy.deepcopy(SCHEMA), "string").decode([{"id": {"N": "NaN"}}], False)


def test_string_mode_schema_types_numbers_as_singer_decimal_strings():
    decoder = RecordDecoder(copy.deepcopy(SCHEMA), "string")
    assert decoder.schema == {
        "type": "object",
        "properties": {
            "id": {"type": "string", "format": "singer.decimal"},
            "n": {"type": ["null", "string"], "format": "singer.decimal"},
            "ns": {"type": ["null", "array"], "items": {"type": ["string"], "format": "singer.decimal"}},
            "m": {
                "type": ["null", "object"],
                "properties": {
                    "x": {"type": ["null", "string"], "format": "singer.decimal"},
                    # numbers and strings in one list: all strings, not all decimals
                    "l": {"type": ["null", "array"], "items": {"type": ["string"]}},
                },
            },
        },
        "required": ["id"],
    }


@pytest.mark.parametrize(
    "number_mode, string_mode",
    [
        ({"type": ["null", "number"]}, {"type": ["null", "string"], "format": "singer.decimal"}),
        ({"type": ["null", "number", "string"]}, {"type": ["null", "string"]}),
        ({"type": ["null", "number", "string"], "contentEncoding": "base64"}, {"type": ["null", "string"]}),
        (
            {"type": ["null", "string"], "contentEncoding": "base64"},
            {"type": ["null", "string"], "contentEncoding": "base64"},
        ),
        ({"type": ["null", "boolean", "number"]}, {"type": ["null", "boolean", "string"], "format": "singer.decimal"}),
        (
            {"type": ["null", "number", "object"], "properties": {}},
            {"type": ["null", "string", "object"], "properties": {}, "format": "singer.decimal"},
        ),
        ({"type": ["null", "string"], "format": "date-time"}, {"type": ["null", "string"], "format": "date-time"}),
        ({"type": "object"}, {"type": "object"}),
    ],
)
def test_numbers_as_text(number_mode, string_mode):
    assert sm.records_schema(number_mode, "string") == string_mode
    assert sm.records_schema(number_mode, "number") is number_mode


def test_a_string_after_numbers_widens_and_drops_the_decimal_format():
    decoder = RecordDecoder({"type": "object", "properties": {"a": {"type": ["null", "number"]}}}, "string")
    first = decoder.decode([{"a": {"N": "1.5"}}], True)
    assert not first.widened and first.records == [{"a": "1.5"}]
    second = decoder.decode([{"a": {"S": "x"}}, {"a": {"N": "2"}}], True)
    assert second.widened and second.records == [{"a": "x"}, {"a": "2"}]
    assert decoder.schema["properties"]["a"] == {"type": ["null", "string"]}


def test_a_number_after_strings_is_a_string_the_schema_already_describes():
    """Internally the union widens (number, string); the written schema stays ["null", "string"]."""
    decoder = RecordDecoder({"type": "object", "properties": {"a": {"type": ["null", "string"]}}}, "string")
    decoded = decoder.decode([{"a": {"N": "12345678901234567890123456789012345678"}}, {"a": {"S": "x"}}], False)
    assert not decoded.widened  # no SCHEMA message: the records fit the one already written
    assert decoded.records == [{"a": "12345678901234567890123456789012345678"}, {"a": "x"}]
    assert decoder.schema["properties"]["a"] == {"type": ["null", "string"]}
    assert decoder.decode([{"a": {"N": "3"}}], True) == ([{"a": "3"}], False)


def test_a_new_numeric_attribute_widens_with_a_decimal_string():
    decoder = RecordDecoder({"type": "object", "properties": {"id": {"type": "string"}}}, "string")
    decoded = decoder.decode([{"id": {"S": "k"}, "fresh": {"NS": ["1", "2.5"]}}], True)
    assert decoded.widened and decoded.records == [{"id": "k", "fresh": ["1", "2.5"]}]
    assert decoder.schema["properties"]["fresh"] == {
        "type": ["null", "array"],
        "items": {"type": ["string"], "format": "singer.decimal"},
    }


def test_an_open_schema_takes_every_number_as_text():
    decoder = RecordDecoder({"type": "object"}, "string")
    assert decoder.decode(_items(["1.5"]), True).records == [
        {"id": "1.5", "n": "1.5", "ns": ["1.5", "2"], "m": {"x": "1.5", "l": ["1.5", "s"]}}
    ]
    assert decode_items(_items([" 7"]), False, "string")[0]["n"] == "7"


@pytest.mark.parametrize("numbers_checked", [True, False])
def test_number_mode_is_what_it_was(numbers_checked):
    """The default and an explicit "number" write the same bytes; the decoder widens the schema it was given."""
    items = [*_items(NUMBERS), {"id": {"N": "9"}, "new": {"S": "x"}, "n": {"S": "now a string"}}]
    default, explicit = RecordDecoder(copy.deepcopy(SCHEMA)), RecordDecoder(copy.deepcopy(SCHEMA), "number")
    first, second = default.decode(items, numbers_checked), explicit.decode(items, numbers_checked)
    assert orjson.dumps(first.records) == orjson.dumps(second.records) and first.widened == second.widened
    assert b'"n":12345678901234567890123456789012345678,' in orjson.dumps(first.records)
    schema = copy.deepcopy(SCHEMA)
    decoder = RecordDecoder(schema)
    decoder.decode(items, numbers_checked)
    assert decoder.schema is schema and schema["properties"]["n"]["type"] == ["null", "number", "string"]
    assert orjson.dumps(decode_items(items, numbers_checked)) == orjson.dumps(
        decode_items(items, numbers_checked, "number")
    )
