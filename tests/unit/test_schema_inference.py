"""Schema inference, merging and the fits/checker logic sync-time widening relies on."""

import pytest

from tap_dynamodb.catalog.discover import field_metadata
from tap_dynamodb.values import schema as sm
from tests.helpers import fits

TABLE = {
    "TableName": "t",
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "N"},
        {"AttributeName": "bk", "AttributeType": "B"},
    ],
}

EVERY_TYPE = {
    "s": {"S": "x"},
    "n": {"N": "1.5"},
    "b": {"B": "AAE="},
    "bool": {"BOOL": True},
    "null": {"NULL": True},
    "m": {"M": {"a": {"S": "x"}, "b": {"N": "2"}}},
    "l": {"L": [{"S": "x"}, {"N": "1"}]},
    "ss": {"SS": ["a"]},
    "ns": {"NS": ["1"]},
    "bs": {"BS": ["AA=="]},
}


def test_every_dynamodb_type_infers_its_json_schema():
    props = sm.infer_properties([EVERY_TYPE])
    assert props["s"] == {"type": ["null", "string"]}
    assert props["n"] == {"type": ["null", "number"]}
    assert props["b"] == {"type": ["null", "string"], "contentEncoding": "base64"}
    assert props["bool"] == {"type": ["null", "boolean"]}
    assert props["null"] == {"type": ["null"]}
    assert props["m"] == {
        "type": ["null", "object"],
        "properties": {"a": {"type": ["null", "string"]}, "b": {"type": ["null", "number"]}},
    }
    assert props["l"] == {"type": ["null", "array"], "items": {"type": ["number", "string"]}}
    assert props["ss"] == {"type": ["null", "array"], "items": {"type": ["string"]}}
    assert props["ns"] == {"type": ["null", "array"], "items": {"type": ["number"]}}
    assert props["bs"] == {"type": ["null", "array"], "items": {"type": ["string"], "contentEncoding": "base64"}}


def test_mixed_types_merge_into_unions_and_never_narrow():
    props = sm.infer_properties(
        [{"x": {"N": "1"}}, {"x": {"S": "a"}}, {"x": {"M": {"k": {"BOOL": False}}}}, {"x": {"M": {"j": {"N": "3"}}}}]
    )
    assert props["x"]["type"] == ["null", "number", "string", "object"]
    assert set(props["x"]["properties"]) == {"k", "j"}
    # base64 is only claimed when every string was binary
    assert "contentEncoding" not in sm.infer_properties([{"x": {"B": "AA=="}}, {"x": {"S": "a"}}])["x"]


def test_keys_are_required_and_typed_from_attribute_definitions():
    schema = sm.table_schema(TABLE, [{"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"S": "x"}}])
    assert schema["required"] == ["pk", "sk"]
    assert schema["properties"]["pk"] == {"type": "string"}
    assert schema["properties"]["sk"] == {"type": "number"}
    assert list(schema["properties"]) == ["pk", "sk", "v"]
    index = sm.table_schema(TABLE, [], ["bk", "pk", "sk"])
    assert index["properties"]["bk"] == {"type": "string", "contentEncoding": "base64"}
    assert index["required"] == ["bk", "pk", "sk"]


def test_field_metadata_marks_keys_automatic_and_the_rest_available():
    schema = sm.table_schema(TABLE, [{"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"S": "x"}}])
    md = {tuple(m["breadcrumb"]): m["metadata"] for m in field_metadata(schema, ["pk", "sk"])}
    assert md[("properties", "pk")] == {"inclusion": "automatic", "selected-by-default": True}
    assert md[("properties", "v")] == {"inclusion": "available", "selected-by-default": True}


@pytest.mark.parametrize(
    "value",
    [
        {"S": "x"},
        {"N": "1"},
        {"B": "AA=="},
        {"BOOL": True},
        {"NULL": True},
        {"SS": ["a"]},
        {"NS": ["1"]},
        {"BS": ["AA=="]},
        {"M": {}},
        {"M": {"a": {"S": "x"}}},
        {"M": {"a": {"M": {"b": {"L": [{"N": "1"}]}}}}},
        {"L": []},
        {"L": [{"S": "x"}, {"M": {"q": {"NULL": True}}}]},
    ],
)
@pytest.mark.parametrize(
    "schema_from",
    [
        {},
        {"S": "y"},
        {"B": "AA=="},
        {"N": "2"},
        {"M": {"a": {"S": "x"}}},
        {"L": [{"S": "x"}]},
        {"M": {"a": {"M": {"b": {"L": [{"S": "x"}]}}}}},
        {"SS": ["z"]},
    ],
)
def test_fits_agrees_with_merge(value, schema_from):
    schema = sm.nullable(sm.value_schema(schema_from)) if schema_from else {}
    unchanged = sm.merge(schema, sm.nullable(sm.value_schema(value))) == sm.nullable(schema) if schema else False
    assert fits(value, schema) == unchanged
    if not fits(value, schema):
        assert fits(value, sm.merge(schema, sm.value_schema(value)))


def test_open_schema_is_one_without_properties():
    assert sm.is_open({"type": "object"})
    assert not sm.is_open({"type": "object", "properties": {}})
