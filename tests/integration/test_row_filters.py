"""Row filters (`tap-dynamodb.filter-expression`) against DynamoDB Local: FULL_TABLE, LOG_BASED, bad expressions."""

from __future__ import annotations

import json

import pytest

from tap_dynamodb.catalog.projection import STITCH_NAMES_KEY, STITCH_PROJECTION_KEY
from tap_dynamodb.values.filters import FILTER_KEY, VALUES_KEY
from tests.helpers import find_stream, select_streams, top_level_metadata


def _items(count):
    return [
        {
            "id": {"S": f"i{n:02d}"},
            "name": {"S": "keep" if n % 3 == 0 else "drop"},
            "v": {"N": str(n)},
            "m": {"M": {"tags": {"L": [{"S": f"t{n % 2}"}]}}},
            "secret": {"S": "x"},
        }
        for n in range(count)
    ]


def _catalog(run_tap, config, name, method, expression, values, names=None, projection=None):
    catalog = select_streams(run_tap("--discover", config=config.path).catalog, name, method=method)
    top = top_level_metadata(find_stream(catalog, name))
    top[FILTER_KEY] = expression
    top[VALUES_KEY] = json.dumps(values)
    if names:
        top[STITCH_NAMES_KEY] = json.dumps(names)
    if projection:
        top[STITCH_PROJECTION_KEY] = projection
    return catalog


def test_full_table_sends_the_filter_to_scan_with_the_projection_names_merged(make_table, run_tap, tap_config):
    name = make_table(items=_items(30))
    config = tap_config.with_(tables=[name], scan_page_size=4)
    catalog = _catalog(
        run_tap,
        config,
        name,
        "FULL_TABLE",
        "#n = :keep AND m.tags[0] = :t AND NOT v BETWEEN :lo AND :hi",
        {":keep": {"S": "keep"}, ":t": {"S": "t0"}, ":lo": {"N": "10"}, ":hi": {"N": "19"}},
        names={"#n": "name", "#sec": "secret"},
        projection="v, #n, #sec",  # #n is used by both, #sec by the projection only
    )
    result = run_tap(catalog=catalog, config=config.path)
    records = sorted(result.records(name), key=lambda r: r["id"])
    # n % 3 == 0 and n even and not in 10..19: 0, 6, 24
    assert [r["id"] for r in records] == ["i00", "i06", "i24"]
    assert records[0] == {"id": "i00", "v": 0, "name": "keep", "secret": "x"}


@pytest.mark.parametrize(
    "expression, values, message",
    [
        ("v >", {}, "not a valid filter expression: the expression ends"),
        ("v > :missing", {}, "which tap-dynamodb.expression-values does not define"),
        ("v > :a", {":a": {"N": "1"}, ":b": {"N": "2"}}, "defines :b, which the expression does not use"),
        ("name = :a", {":a": {"S": "x"}}, "'name' is a DynamoDB reserved word"),
        ("v BETWEEN :hi AND :lo", {":lo": {"N": "1"}, ":hi": {"N": "2"}}, "the lower bound first"),
        ("v > :a", {":a": {"X": "1"}}, "is not a DynamoDB-JSON value"),
        ("attribute_type(v, :t)", {":t": {"S": "NUMBER"}}, "attribute_type's :t must be one of"),
    ],
)
def test_a_malformed_filter_is_one_line_before_anything_is_read(
    make_table, run_tap, tap_config, expression, values, message
):
    name = make_table(items=_items(3))
    config = tap_config.with_(tables=[name])
    catalog = _catalog(run_tap, config, name, "FULL_TABLE", expression, values)
    result = run_tap(catalog=catalog, config=config.path, check=False)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not result.records(name) and not result.schemas(name)


def test_dynamodb_checks_the_filter_with_a_limit_1_scan_before_any_output(make_table, run_tap, tap_config):
    """DynamoDB refuses a document path nested deeper than 32 levels, which the tap's grammar
    check does not count: the Limit-1 Scan before any output says so in one line."""
    name = make_table(items=_items(3))
    config = tap_config.with_(tables=[name])
    deep = "v" + "".join(f".a{n}" for n in range(40))
    catalog = _catalog(run_tap, config, name, "FULL_TABLE", f"attribute_exists({deep})", {})
    result = run_tap(catalog=catalog, config=config.path, check=False)
    assert result.returncode != 0
    assert "DynamoDB refused metadata tap-dynamodb.filter-expression" in result.stderr
    assert "Traceback" not in result.stderr
    assert not result.records(name) and not result.schemas(name)


def _set(ddb, table, item_id, expression, values):
    ddb.update_item(
        TableName=table, Key={"id": {"S": item_id}}, UpdateExpression=expression, ExpressionAttributeValues=values
    )


@pytest.mark.parametrize("view", ["NEW_AND_OLD_IMAGES", "NEW_IMAGE"])
def test_log_based_changes_that_leave_the_filter_become_deletes(ddb, make_table, run_tap, tap_config, view):
    name = make_table(stream=view, items=_items(6))
    config = tap_config.with_(tables=[name])
    catalog = _catalog(run_tap, config, name, "LOG_BASED", "v >= :min", {":min": {"N": "3"}})
    first = run_tap(catalog=catalog, config=config.path)
    assert sorted(r["id"] for r in first.records(name)) == ["i03", "i04", "i05"]

    _set(ddb, name, "i04", "SET v = :v", {":v": {"N": "1"}})  # leaves the filter
    _set(ddb, name, "i01", "SET v = :v", {":v": {"N": "10"}})  # enters it
    _set(ddb, name, "i00", "SET v = :v", {":v": {"N": "2"}})  # in neither image
    ddb.put_item(TableName=name, Item={"id": {"S": "new-low"}, "v": {"N": "0"}})  # an INSERT outside it
    ddb.delete_item(TableName=name, Key={"id": {"S": "i02"}})  # a delete outside it
    ddb.delete_item(TableName=name, Key={"id": {"S": "i05"}})  # a delete inside it
    second = run_tap(catalog=catalog, config=config.path, state=first.last_state)

    by_id = {}
    for record in second.records(name):
        by_id.setdefault(record["id"], []).append(record)
    deleted = {i for i, records in by_id.items() if records[-1].get("_sdc_deleted_at")}
    assert by_id["i01"][-1]["v"] == 10 and "i01" not in deleted
    assert {"i04", "i05"} <= deleted
    if view == "NEW_AND_OLD_IMAGES":
        assert set(by_id) == {"i01", "i04", "i05"}
        assert by_id["i04"][-1]["v"] == 4  # the row's last values in the warehouse, beside _sdc_deleted_at
    else:  # no old image: a change outside the filter may be a row leaving it, so it is a delete of the key
        assert set(by_id) == {"i00", "i01", "i02", "i04", "i05"}  # an INSERT outside the filter is skipped
        assert deleted == {"i00", "i02", "i04", "i05"}
        assert set(by_id["i04"][-1]) == {"id", "_sdc_deleted_at", "_sdc_deleted_by_ttl"}
