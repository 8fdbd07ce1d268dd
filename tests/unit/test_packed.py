"""Packed records (issue 15, point 5): values/packed.py, its schema, and the record format's plumbing."""

from __future__ import annotations

import copy
import json

import orjson
import pytest

from tap_dynamodb.catalog.plan import selected_streams
from tap_dynamodb.errors import TapError
from tap_dynamodb.replication.records import first_schema, item_decoder
from tap_dynamodb.settings import parse_config
from tap_dynamodb.values.changes import ChangeDecoder
from tap_dynamodb.values.decoder import RecordDecoder
from tap_dynamodb.values.packed import ITEM, PackedDecoder, check_record_format, packed_schema

BIG = "12345678901234567890123456789012345678"  # 38 digits, DynamoDB's most
SCHEMA = {
    "type": "object",
    "properties": {"id": {"type": "string"}, "n": {"type": "number"}, "v": {"type": ["null", "string"]}},
    "required": ["id", "n"],
}
ITEMS = [
    {"id": {"S": "a"}, "n": {"N": "1"}, "v": {"S": "x"}},
    {"id": {"S": "b"}, "n": {"N": BIG}, "new": {"M": {"deep": {"NS": ["1E-130", "0.5"]}}}, "flag": {"BOOL": True}},
    {"id": {"S": "c"}, "n": {"N": "-2.50"}, "v": {"N": "3"}, "bin": {"B": "AAE="}, "l": {"L": [{"NULL": True}]}},
]


def _dumps(value) -> bytes:
    """The bytes the writer writes (numbers as exact literals)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _text(value):
    """The value as written and read back with every number as its literal text."""
    return json.loads(_dumps(value), parse_float=str, parse_int=str)


@pytest.mark.parametrize("number_format", ["number", "string"])
@pytest.mark.parametrize("numbers_checked", [False, True])
def test_item_is_what_columns_mode_writes_and_keys_are_columns(number_format, numbers_checked):
    decoder = PackedDecoder(copy.deepcopy(SCHEMA), ["id", "n"], number_format)
    decoded = decoder.decode(copy.deepcopy(ITEMS), numbers_checked)
    columns = RecordDecoder(copy.deepcopy(SCHEMA), number_format).decode(copy.deepcopy(ITEMS), numbers_checked)
    assert decoded.widened is False  # never, whatever the items hold
    assert _dumps([r[ITEM] for r in decoded.records]) == _dumps(columns.records)  # same literals, digit for digit
    for record, item in zip(_text(decoded.records), _text(columns.records)):
        assert set(record) == {"id", "n", ITEM}
        assert record["id"] == item["id"] and record["n"] == item["n"]
    big = decoded.records[1]
    assert _dumps(big["n"]) == (f'"{BIG}"' if number_format == "string" else BIG).encode()
    assert _text(big[ITEM]["new"]["deep"]) == ["1E-130", "0.5"]
    written = _dumps(decoded.records[1])
    expected_n = f'"{BIG}"' if number_format == "string" else BIG
    assert written.startswith(b'{"_sdc_item":{"flag":true,"id":"b","n":' + expected_n.encode())


def test_schema_is_keys_item_and_fixed():
    schema = copy.deepcopy(SCHEMA)
    decoder = PackedDecoder(schema, ["id", "n"])
    before = copy.deepcopy(decoder.schema)
    assert before == {
        "type": "object",
        "properties": {"id": {"type": "string"}, "n": {"type": "number"}, ITEM: {"type": "object"}},
        "required": ["id", "n"],
    }
    decoder.decode(copy.deepcopy(ITEMS))
    assert decoder.schema == before and schema == SCHEMA  # nothing widened, the plan's schema untouched


def test_schema_with_text_numbers_and_deletes():
    schema = packed_schema(SCHEMA, ["id", "n"], "string", deletes=True)
    assert schema["properties"] == {
        "id": {"type": "string"},
        "n": {"type": "string", "format": "singer.decimal"},
        ITEM: {"type": "object"},
        "_sdc_deleted_at": {"type": ["null", "string"], "format": "date-time"},
        "_sdc_deleted_by_ttl": {"type": ["null", "boolean"]},
    }


def test_open_schema_keys_accept_anything():
    assert packed_schema({"type": "object"}, ["id"])["properties"] == {"id": {}, ITEM: {"type": "object"}}


def _change(event, keys, new=None, old=None, ttl=False):
    change = {"Keys": keys, "ApproximateCreationDateTime": 1_700_000_000}
    if new is not None:
        change["NewImage"] = new
    if old is not None:
        change["OldImage"] = old
    record = {"eventName": event, "dynamodb": change}
    if ttl:
        record["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    return record


def test_changes_insert_update_delete():
    keys = {"id": {"S": "a"}}
    decoder = ChangeDecoder(PackedDecoder(SCHEMA, ["id"], deletes=True))
    decoded = decoder.decode(
        [
            _change("INSERT", keys, new={**keys, "n": {"N": BIG}}),
            _change("MODIFY", keys, new={**keys, "n": {"N": "2"}, "extra": {"SS": ["s"]}}),
            _change("REMOVE", keys, old={**keys, "n": {"N": "2"}, "extra": {"SS": ["s"]}}),
            _change("REMOVE", {"id": {"S": "b"}}, ttl=True),  # NEW_IMAGE: only the keys are known
        ]
    )
    assert decoded.widened is False
    insert, modify, delete, ttl_delete = decoded.records
    assert _dumps(insert) == f'{{"_sdc_item":{{"id":"a","n":{BIG}}},"id":"a"}}'.encode()
    assert _text(modify) == {"id": "a", ITEM: {"id": "a", "n": "2", "extra": ["s"]}}
    assert _text(delete) == {
        "id": "a",
        ITEM: {"id": "a", "n": "2", "extra": ["s"]},
        "_sdc_deleted_at": "2023-11-14T22:13:20.000000Z",
        "_sdc_deleted_by_ttl": False,
    }
    assert _text(ttl_delete) == {
        "id": "b",
        ITEM: {"id": "b"},
        "_sdc_deleted_at": "2023-11-14T22:13:20.000000Z",
        "_sdc_deleted_by_ttl": True,
    }
    assert set(decoder.schema["properties"]) == {"id", ITEM, "_sdc_deleted_at", "_sdc_deleted_by_ttl"}


def _catalog(**top):
    return {
        "streams": [
            {
                "tap_stream_id": "t",
                "key_properties": ["id"],
                "schema": copy.deepcopy(SCHEMA),
                "metadata": [{"breadcrumb": [], "metadata": {"selected": True, **top}}],
            }
        ]
    }


def test_metadata_overrides_config():
    columns = parse_config({"region_name": "us-east-1"})
    packed = parse_config({"region_name": "us-east-1", "record_format": "packed"})
    assert columns.record_format == "columns"
    (plain,) = selected_streams(_catalog())
    (meta_packed,) = selected_streams(_catalog(**{"tap-dynamodb.record-format": "packed"}))
    (meta_columns,) = selected_streams(_catalog(**{"tap-dynamodb.record-format": "Columns"}))
    assert isinstance(item_decoder(columns, plain), RecordDecoder)
    assert isinstance(item_decoder(packed, plain), PackedDecoder)
    assert isinstance(item_decoder(columns, meta_packed), PackedDecoder)
    assert isinstance(item_decoder(packed, meta_columns), RecordDecoder)
    assert first_schema(columns, plain) == SCHEMA
    assert set(first_schema(columns, meta_packed)["properties"]) == {"id", ITEM}


def test_bad_record_format():
    with pytest.raises(TapError, match=r"tap-dynamodb\.record-format must be columns or packed"):
        selected_streams(_catalog(**{"tap-dynamodb.record-format": "wide"}))
    with pytest.raises(TapError, match="record_format"):
        parse_config({"region_name": "us-east-1", "record_format": "wide"})
    assert check_record_format("t", None) is None
