"""Packed records against DynamoDB Local (issue 15, point 5): FULL_TABLE and LOG_BASED.

Each record is the key attributes as columns plus `_sdc_item` (the record the columns format
writes for the item, every digit kept), under one SCHEMA per stream whatever the items hold.
"""

from __future__ import annotations

import json

from tests.helpers import batch_write, find_stream, top_level_metadata

BIG = "12345678901234567890123456789012345678"  # 38 digits
TINY = "-0.000000000000000000000000000000000001"  # kept as written, digit for digit
SHAPES = [  # items of different shapes: in columns mode each would widen the schema
    {"id": {"S": "a"}, "n": {"N": BIG}},
    {
        "id": {"S": "b"},
        "tags": {"SS": ["x", "y"]},
        "deep": {"M": {"l": {"L": [{"N": TINY}]}}},
    },
    {
        "id": {"S": "c"},
        "n": {"S": "now text"},
        "blob": {"B": b"\x00\x01"},
        "ok": {"BOOL": False},
        "nothing": {"NULL": True},
    },
]
PACKED_PROPERTIES = {"id": {"type": "string"}, "_sdc_item": {"type": "object"}}
DELETE_PROPERTIES = {
    "_sdc_deleted_at": {"type": ["null", "string"], "format": "date-time"},
    "_sdc_deleted_by_ttl": {"type": ["null", "boolean"]},
}


def _raw_records(result, table):
    """{id: record} parsed from stdout with every JSON number kept as its literal text."""
    out = {}
    for line in filter(None, result.stdout.split("\n")):
        message = json.loads(line, parse_float=str, parse_int=str)
        if message["type"] == "RECORD" and message["stream"] == table:
            out.setdefault(message["record"]["id"], []).append(message["record"])
    return out


def _record_lines(result, table):
    return [line for line in result.stdout.split("\n") if line.startswith('{"type":"RECORD"') and table in line]


def test_full_table_packed_by_stream_metadata(make_table, run_tap, select_streams):
    table = make_table(items=SHAPES, name_prefix="packed")
    catalog = select_streams(run_tap("--discover").catalog, [table])
    top_level_metadata(find_stream(catalog, table))["tap-dynamodb.record-format"] = "packed"
    result = run_tap(catalog=catalog)

    (schema,) = result.schemas(table)  # one SCHEMA, though the items differ in shape
    assert schema["schema"]["properties"] == PACKED_PROPERTIES
    assert schema["key_properties"] == ["id"]
    records = {id_: rs[0] for id_, rs in _raw_records(result, table).items()}
    assert records["a"] == {"id": "a", "_sdc_item": {"id": "a", "n": BIG}}
    assert records["b"] == {
        "id": "b",
        "_sdc_item": {"id": "b", "tags": ["x", "y"], "deep": {"l": [TINY]}},
    }
    assert records["c"] == {
        "id": "c",
        "_sdc_item": {"id": "c", "n": "now text", "blob": "AAE=", "ok": False, "nothing": None},
    }
    assert any(f'"n":{BIG}' in line for line in _record_lines(result, table))  # the literal, every digit


def test_full_table_packed_with_projection_and_text_numbers(make_table, run_tap, tap_config, select_streams):
    table = make_table(items=SHAPES, name_prefix="packed_proj")
    catalog = select_streams(run_tap("--discover").catalog, [table])
    entry = find_stream(catalog, table)
    for item in entry["metadata"]:
        if item["breadcrumb"] and item["breadcrumb"][-1] in ("deep", "blob", "tags", "ok", "nothing"):
            item["metadata"]["selected"] = False
    result = run_tap(catalog=catalog, config=tap_config.with_(record_format="packed", number_format="string").path)
    (schema,) = result.schemas(table)
    assert schema["schema"]["properties"] == PACKED_PROPERTIES
    records = {id_: rs[0] for id_, rs in _raw_records(result, table).items()}
    assert records == {
        "a": {"id": "a", "_sdc_item": {"id": "a", "n": BIG}},  # the text, a JSON string
        "b": {"id": "b", "_sdc_item": {"id": "b"}},
        "c": {"id": "c", "_sdc_item": {"id": "c", "n": "now text"}},
    }
    assert any(f'"n":"{BIG}"' in line for line in _record_lines(result, table))


def test_log_based_packed_insert_update_delete(make_table, ddb, run_tap, tap_config, select_streams):
    table = make_table(stream="NEW_AND_OLD_IMAGES", items=SHAPES[:1], name_prefix="packed_stream")
    config = tap_config.with_(record_format="packed")
    catalog = select_streams(run_tap("--discover").catalog, [table], "LOG_BASED")
    first = run_tap(catalog=catalog, config=config.path)
    (schema,) = first.schemas(table)
    assert schema["schema"]["properties"] == {**PACKED_PROPERTIES, **DELETE_PROPERTIES}
    assert {id_: rs[0] for id_, rs in _raw_records(first, table).items()} == {
        "a": {"id": "a", "_sdc_item": {"id": "a", "n": BIG}}
    }

    batch_write(ddb, table, SHAPES[1:])  # inserts of new shapes
    ddb.put_item(TableName=table, Item={"id": {"S": "a"}, "n": {"N": "-" + BIG}, "m": {"M": {"k": {"NS": ["1"]}}}})
    ddb.delete_item(TableName=table, Key={"id": {"S": "c"}})
    second = run_tap(catalog=catalog, config=config.path, state=first.last_state)

    (schema,) = second.schemas(table)  # still one SCHEMA: new shapes, an update and a delete widen nothing
    assert schema["schema"]["properties"] == {**PACKED_PROPERTIES, **DELETE_PROPERTIES}
    changes = _raw_records(second, table)
    assert changes["a"] == [{"id": "a", "_sdc_item": {"id": "a", "n": "-" + BIG, "m": {"k": ["1"]}}}]
    assert changes["b"] == [
        {"id": "b", "_sdc_item": {"id": "b", "tags": ["x", "y"], "deep": {"l": [TINY]}}},
    ]
    insert_c, delete_c = changes["c"]
    assert insert_c == {
        "id": "c",
        "_sdc_item": {"id": "c", "n": "now text", "blob": "AAE=", "ok": False, "nothing": None},
    }
    deleted_at = delete_c.pop("_sdc_deleted_at")
    assert deleted_at.endswith("Z")
    assert delete_c == {"id": "c", "_sdc_item": insert_c["_sdc_item"], "_sdc_deleted_by_ttl": False}  # old image
    assert any(f'"n":-{BIG}' in line for line in _record_lines(second, table))


def test_log_based_packed_delete_without_old_image_carries_keys(make_table, ddb, run_tap, tap_config, select_streams):
    table = make_table(stream="NEW_IMAGE", items=SHAPES, name_prefix="packed_newimg")
    config = tap_config.with_(record_format="packed")
    catalog = select_streams(run_tap("--discover").catalog, [table], "LOG_BASED")
    first = run_tap(catalog=catalog, config=config.path)
    ddb.delete_item(TableName=table, Key={"id": {"S": "a"}})
    second = run_tap(catalog=catalog, config=config.path, state=first.last_state)
    assert len(second.schemas(table)) == 1
    ((delete,),) = _raw_records(second, table).values()
    assert delete.pop("_sdc_deleted_at")
    assert delete == {"id": "a", "_sdc_item": {"id": "a"}, "_sdc_deleted_by_ttl": False}
