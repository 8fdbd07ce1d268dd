"""Sync against DynamoDB Local: schema widening mid-sync and column selection in both styles."""

import json

import pytest

from tap_dynamodb.catalog.projection import STITCH_NAMES_KEY, STITCH_PROJECTION_KEY
from tests.helpers import batch_write, find_stream, select_streams, top_level_metadata


def _discover_one(run_tap, config, name):
    return run_tap("--discover", config=config.with_(tables=[name]).path).catalog


def test_new_attribute_after_discovery_widens_the_schema_once_before_its_first_record(
    ddb, make_table, run_tap, tap_config
):
    name = make_table(hash_key=("id", "N"), items=[{"id": {"N": str(i)}, "a": {"S": f"v{i}"}} for i in range(30)])
    catalog = select_streams(_discover_one(run_tap, tap_config, name), name)
    # after discovery: a new attribute, a new type for `a`, and a new key inside a new map
    batch_write(
        ddb,
        name,
        [
            {"id": {"N": str(i)}, "a": {"N": str(i)}, "fresh": {"BOOL": True}, "m": {"M": {"k": {"S": "x"}}}}
            for i in range(30, 60)
        ],
    )
    result = run_tap(catalog=catalog, config=tap_config.with_(scan_page_size=7).path)

    messages = [m for m in result.messages if m["type"] in ("SCHEMA", "RECORD")]
    assert len(result.records(name)) == 60
    first_new = next(i for i, m in enumerate(messages) if m["type"] == "RECORD" and "fresh" in m["record"])
    schemas = [i for i, m in enumerate(messages) if m["type"] == "SCHEMA"]
    assert len(schemas) == 2, "the initial SCHEMA and one widened SCHEMA, not one per record or page"
    assert schemas[0] == 0 and schemas[1] < first_new
    assert all("fresh" not in m["record"] for m in messages[: schemas[1]] if m["type"] == "RECORD")
    widened = messages[schemas[1]]["schema"]["properties"]
    assert widened["fresh"] == {"type": ["null", "boolean"]}
    assert widened["a"]["type"] == ["null", "number", "string"]
    assert widened["m"]["properties"]["k"] == {"type": ["null", "string"]}
    assert widened["id"] == {"type": "number"}
    assert {r["fresh"] for r in result.records(name) if "fresh" in r} == {True}


RESERVED_ITEMS = [
    {
        "id": {"S": f"k{i}"},
        "name": {"S": f"n{i}"},
        "comment": {"S": "secret"},
        "date": {"S": "2024-01-01"},
        "with.dot": {"N": str(i)},
        "with space": {"S": "sp"},
        "m": {"M": {"x": {"N": "1"}, "y": {"S": "drop"}}},
        "l": {"L": [{"S": "e0"}, {"S": "e1"}, {"S": "e2"}]},
    }
    for i in range(5)
]


def test_meltano_deselected_columns_are_not_read_and_not_in_the_schema(make_table, run_tap, tap_config):
    name = make_table(items=RESERVED_ITEMS)
    catalog = select_streams(_discover_one(run_tap, tap_config, name), name)
    entry = find_stream(catalog, name)
    for md in entry["metadata"]:
        if md["breadcrumb"] in (["properties", "comment"], ["properties", "with space"], ["properties", "id"]):
            md["metadata"]["selected"] = False  # deselecting a key has no effect: keys are automatic
        elif md["breadcrumb"]:
            md["metadata"]["selected"] = True
    result = run_tap(catalog=catalog)

    records = result.records(name)
    assert len(records) == 5
    assert all(set(r) == {"id", "name", "date", "with.dot", "m", "l"} for r in records)
    assert {r["id"]: r["with.dot"] for r in records}["k3"] == 3
    (schema,) = result.schemas(name)
    assert set(schema["schema"]["properties"]) == {"id", "name", "date", "with.dot", "m", "l"}


def test_stitch_projection_with_aliases_nested_paths_and_list_indexes(make_table, run_tap, tap_config):
    name = make_table(items=RESERVED_ITEMS)
    catalog = select_streams(_discover_one(run_tap, tap_config, name), name)
    top = top_level_metadata(find_stream(catalog, name))
    top[STITCH_PROJECTION_KEY] = "#n, m.x, l[2], l[0], #d, #dot"
    top[STITCH_NAMES_KEY] = json.dumps({"#n": "name", "#d": "date", "#dot": "with.dot"})
    result = run_tap(catalog=catalog)

    records = sorted(result.records(name), key=lambda r: r["id"])
    assert records[1] == {
        "id": "k1",
        "name": "n1",
        "date": "2024-01-01",
        "with.dot": 1,
        "m": {"x": 1},
        "l": ["e0", "e2"],
    }
    (schema,) = result.schemas(name)
    assert set(schema["schema"]["properties"]) == {"id", "name", "m", "l", "date", "with.dot"}


@pytest.mark.parametrize(
    "expression, names, message",
    [
        ("#n, a", {"#n": "name", "#unused": "x"}, "does not use it"),
        ("#n", {"n": "name"}, "alias 'n'"),
        ("#n", "{oops", "is not valid JSON"),
        ("#n, #missing", {"#n": "name"}, "uses #missing"),
    ],
)
def test_bad_stitch_projection_metadata_fails_with_one_line(
    make_table, run_tap, tap_config, expression, names, message
):
    name = make_table(items=RESERVED_ITEMS[:1])
    catalog = select_streams(_discover_one(run_tap, tap_config, name), name)
    top = top_level_metadata(find_stream(catalog, name))
    top[STITCH_PROJECTION_KEY] = expression
    top[STITCH_NAMES_KEY] = names if isinstance(names, str) else json.dumps(names)
    result = run_tap(catalog=catalog, check=False)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not result.records(name)
