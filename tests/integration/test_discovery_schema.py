"""Discovery against DynamoDB Local: inferred types, sample size, key typing, table filters."""

import json
import uuid

from tests.helpers import find_stream, top_level_metadata

EVERY_TYPE_ITEM = {
    "id": {"S": "a"},
    "s": {"S": "x"},
    "n": {"N": "12345678901234567890.123456789"},
    "b": {"B": "AAEC"},
    "bool": {"BOOL": True},
    "null": {"NULL": True},
    "m": {"M": {"k": {"S": "v"}, "deep": {"M": {"q": {"N": "1"}}}}},
    "l": {"L": [{"S": "x"}, {"N": "1"}, {"M": {"z": {"BOOL": False}}}]},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": ["AAEC", "AQID"]},
}


def _discover(run_tap, tap_config, **config):
    return run_tap("--discover", config=tap_config.with_(**config).path).catalog


def test_discovery_infers_every_dynamodb_type(make_table, run_tap, tap_config):
    name = make_table(items=[EVERY_TYPE_ITEM, {"id": {"S": "b"}, "s": {"N": "3"}}], range_key=None)
    entry = find_stream(_discover(run_tap, tap_config, tables=[name]), name)
    props = entry["schema"]["properties"]
    assert entry["schema"]["required"] == ["id"]
    assert props["id"] == {"type": "string"}
    assert props["s"] == {"type": ["null", "number", "string"]}
    assert props["n"] == {"type": ["null", "number"]}
    assert props["b"] == {"type": ["null", "string"], "contentEncoding": "base64"}
    assert props["bool"] == {"type": ["null", "boolean"]}
    assert props["null"] == {"type": ["null"]}
    assert props["m"]["properties"]["deep"]["properties"]["q"] == {"type": ["null", "number"]}
    assert props["l"]["items"]["type"] == ["number", "string", "object"]
    assert props["l"]["items"]["properties"]["z"] == {"type": ["null", "boolean"]}
    assert props["ss"]["items"] == {"type": ["string"]}
    assert props["ns"]["items"] == {"type": ["number"]}
    assert props["bs"]["items"] == {"type": ["string"], "contentEncoding": "base64"}
    field_md = {tuple(m["breadcrumb"]): m["metadata"] for m in entry["metadata"]}
    assert field_md[("properties", "id")]["inclusion"] == "automatic"
    assert field_md[("properties", "bs")] == {"inclusion": "available", "selected-by-default": True}
    assert {k[1] for k in field_md if k} == set(props)


def test_sample_size_zero_gives_typed_keys_only(make_table, run_tap, tap_config):
    name = make_table(
        hash_key=("pk", "B"),
        range_key=("sk", "N"),
        items=[{"pk": {"B": "AA=="}, "sk": {"N": "1"}, "extra": {"S": "x"}}],
    )
    entry = find_stream(_discover(run_tap, tap_config, tables=[name], infer_schema_sample_size=0), name)
    assert entry["schema"] == {
        "type": "object",
        "required": ["pk", "sk"],
        "properties": {"pk": {"type": "string", "contentEncoding": "base64"}, "sk": {"type": "number"}},
    }
    assert entry["key_properties"] == ["pk", "sk"]


def test_table_filters_include_exclude_and_meltano_json_in_string(make_table, run_tap, tap_config):
    prefix = f"flt{uuid.uuid4().hex[:8]}"
    orders = make_table(name_prefix=f"{prefix}_orders")
    orders_archive = make_table(name_prefix=f"{prefix}_orders_archive")
    users = make_table(name_prefix=f"{prefix}_users")

    def ids(**config):
        return sorted(s["tap_stream_id"] for s in _discover(run_tap, tap_config, **config)["streams"])

    assert ids(tables=[f"{prefix}_*"]) == sorted([orders, orders_archive, users])
    assert ids(tables=[f"{prefix}_orders*"], exclude_tables=["*_archive_*"]) == [orders]
    assert ids(tables=json.dumps([users, f"{prefix}_orders_arch*"])) == sorted([orders_archive, users])
    assert ids(tables=f"{prefix}_*", exclude_tables=json.dumps([f"{prefix}_orders*"])) == [users]
    assert ids(tables=f"{users}, {orders}") == sorted([orders, users])


def test_tables_filter_names_a_missing_table_in_a_warning(make_table, run_tap, tap_config):
    name = make_table()
    result = run_tap("--discover", config=tap_config.with_(tables=[name, "no_such_table_xyz"]).path)
    assert [s["tap_stream_id"] for s in result.catalog["streams"]] == [name]
    assert "no_such_table_xyz" in result.stderr
    assert top_level_metadata(find_stream(result.catalog, name))["selected-by-default"] is False
