"""Row filters (values/filters.py): grammar, DynamoDB's comparison semantics, changes, catalog metadata."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from tap_dynamodb.catalog.plan import selected_streams
from tap_dynamodb.catalog.projection import STITCH_NAMES_KEY, STITCH_PROJECTION_KEY
from tap_dynamodb.catalog.reserved import RESERVED_WORDS
from tap_dynamodb.errors import TapError
from tap_dynamodb.replication.full_table import scan_request
from tap_dynamodb.values.changes import DELETED_AT, ChangeDecoder
from tap_dynamodb.values.decoder import RecordDecoder
from tap_dynamodb.values.filters import FILTER_KEY, VALUES_KEY, ExpressionError, RowFilter, filter_change

BIG = "12345678901234567890123456789012345678"

ITEM = {
    "id": {"S": "k"},
    "n": {"N": BIG},
    "one": {"N": "1.0"},
    "s": {"S": "Zürich"},
    "b": {"B": "AAE="},  # 00 01
    "flag": {"BOOL": True},
    "nothing": {"NULL": True},
    "ss": {"SS": ["x", "y"]},
    "ns": {"NS": ["1", "2.50"]},
    "bs": {"BS": ["AA=="]},
    "l": {"L": [{"S": "first"}, {"M": {"deep": {"N": "7"}}}]},
    "m": {"M": {"name": {"S": "inner"}, "tags": {"L": [{"S": "t0"}]}}},
    "with space": {"S": "sp"},
}


def matches(expression, values=None, names=None, item=ITEM):
    return RowFilter(expression, names or {}, values or {}, RESERVED_WORDS).matches(item)


N = lambda text: {"N": text}  # noqa: E731
S = lambda text: {"S": text}  # noqa: E731


@pytest.mark.parametrize(
    "expression, values, expected",
    [
        # numbers: decimals with every digit, whatever the notation
        ("n = :v", {":v": N(BIG)}, True),
        ("n < :v", {":v": N("12345678901234567890123456789012345679")}, True),
        ("n > :v", {":v": N("1.2345678901234567890123456789012345677E+37")}, True),
        ("one = :v", {":v": N("1")}, True),
        ("one = :v", {":v": N("100E-2")}, True),
        ("one BETWEEN :lo AND :hi", {":lo": N("1"), ":hi": N("1")}, True),
        # strings and binary by their bytes
        ("s > :v", {":v": S("Zz")}, True),  # ü (c3 bc) > z
        ("s < :v", {":v": S("a")}, True),  # Z < a
        ("b > :v", {":v": {"B": "AA=="}}, True),
        ("b < :v", {":v": {"B": "AQ=="}}, True),
        # different types: never equal, never ordered; <> is true
        ("one = :v", {":v": S("1")}, False),
        ("one < :v", {":v": S("2")}, False),
        ("one <> :v", {":v": S("1")}, True),
        # a missing attribute: comparisons false, <> true
        ("nope = :v", {":v": S("x")}, False),
        ("nope < :v", {":v": S("x")}, False),
        ("nope <> :v", {":v": S("x")}, True),
        ("NOT nope = :v", {":v": S("x")}, True),
        # sets compare regardless of order, numbers as numbers
        ("ns = :v", {":v": {"NS": ["2.5", "1.0"]}}, True),
        ("ss = :v", {":v": {"SS": ["y", "x"]}}, True),
        ("l = :v", {":v": {"L": [S("first"), {"M": {"deep": N("7.0")}}]}}, True),
        ("m.#n = :v AND m.tags[0] = :t", {":v": S("inner"), ":t": S("t0")}, True),
        ("l[1].deep IN (:a, :b)", {":a": N("6"), ":b": N("7")}, True),
        ("l[5] = :v", {":v": S("first")}, False),
        ("#w = :v", {":v": S("sp")}, True),
        # functions
        ("attribute_exists(m.tags[0]) AND attribute_not_exists(m.tags[1])", {}, True),
        ("attribute_exists(l.deep)", {}, False),  # l is a list, not a map
        ("attribute_type(nothing, :t) AND attribute_type(ns, :u)", {":t": S("NULL"), ":u": S("NS")}, True),
        ("begins_with(s, :p)", {":p": S("Zü")}, True),
        ("begins_with(b, :p)", {":p": {"B": "AA=="}}, True),
        ("begins_with(one, :p)", {":p": S("1")}, False),
        (
            "contains(s, :p) AND contains(ss, :x) AND contains(ns, :two)",
            {":p": S("ric"), ":x": S("x"), ":two": N("2.5")},
            True,
        ),
        ("contains(l, :v)", {":v": S("first")}, True),
        ("contains(ss, :v)", {":v": N("1")}, False),
        (
            "size(s) = :six AND size(b) = :two AND size(ss) = :two AND size(m) = :two",
            {":six": N("6"), ":two": N("2")},
            True,
        ),
        ("size(one) >= :zero", {":zero": N("0")}, False),  # a number has no size
        ("size(nope) <> :zero", {":zero": N("0")}, True),
        # precedence: NOT over AND over OR, and parentheses; keywords in any case
        ("one = :x OR one = :y AND one = :y", {":x": N("1"), ":y": N("2")}, True),
        ("(one = :x OR one = :y) AND one = :y", {":x": N("1"), ":y": N("2")}, False),
        ("not one = :y and one = :x", {":x": N("1"), ":y": N("2")}, True),
        ("NOT (one = :x AND one = :y)", {":x": N("1"), ":y": N("2")}, True),
        ("one between :x and :y", {":x": N("0"), ":y": N("2")}, True),
    ],
)
def test_dynamodb_semantics(expression, values, expected):
    assert matches(expression, values, {"#n": "name", "#w": "with space"}) is expected


def test_strings_order_by_utf8_bytes_not_utf16_units():
    # U+FFFF is ef bf bf in UTF-8 and ffff in UTF-16; U+1F600 is f0 9f 98 80 and d83d de00
    assert matches("s > :v", {":v": S("\uffff")}, item={"s": S("\U0001f600")})


@pytest.mark.parametrize(
    "expression, values, message",
    [
        ("", {}, "empty"),
        ("a =", {}, "ends"),
        ("a = :v)", {":v": S("x")}, "unexpected"),
        ("(a = :v", {":v": S("x")}, "expected ')'"),
        ("a ! :v", {":v": S("x")}, "unexpected character '!'"),
        ("a", {}, "expected a comparator"),
        ("a BETWEEN :v", {":v": S("x")}, "BETWEEN needs AND"),
        ("name = :v", {":v": S("x")}, "reserved word"),
        ("#x = :v", {":v": S("x")}, "#x is not defined"),
        ("a = :v", {}, ":v, which tap-dynamodb.expression-values does not define"),
        ("a = :v", {":v": S("x"), ":w": S("y")}, "defines :w"),
        ("a = a", {}, "first operand must differ"),
        ("a IN (:v, a)", {":v": S("x")}, "first operand must differ"),
        ("a < :v", {":v": {"BOOL": True}}, "compares only numbers, strings and binary"),
        ("a BETWEEN :lo AND :hi", {":lo": N("2"), ":hi": N("1")}, "lower bound first"),
        ("a BETWEEN :lo AND :hi", {":lo": N("1"), ":hi": S("2")}, "of one type"),
        ("begins_with(a, :v)", {":v": N("1")}, "begins_with's second operand"),
        ("attribute_type(a, b)", {}, "attribute_type takes a :placeholder"),
        ("attribute_type(a, :t)", {":t": S("NUMBER")}, "must be one of"),
        (
            "a IN (" + ", ".join(f":v{i}" for i in range(101)) + ")",
            {f":v{i}": N(str(i)) for i in range(101)},
            "at most 100",
        ),
        ("a[x] = :v", {":v": S("x")}, "expected a list index"),
    ],
)
def test_malformed_expressions_are_refused_with_the_reason(expression, values, message):
    with pytest.raises(ExpressionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        RowFilter(expression, {}, values, RESERVED_WORDS)


def test_scan_params_rename_the_aliases_so_they_merge_with_the_projections():
    row_filter = RowFilter("#p0 = :v AND #b > :v", {"#p0": "name", "#b": "b c", "#unused": "x"}, {":v": S("x")})
    assert row_filter.scan_params() == {
        "FilterExpression": "#f1 = :v AND #f0 > :v",
        "ExpressionAttributeNames": {"#f0": "b c", "#f1": "name"},
        "ExpressionAttributeValues": {":v": S("x")},
    }
    assert row_filter.used_names == {"#p0", "#b"}


# --------------------------------------------------------------------------
# Changes
# --------------------------------------------------------------------------


def change(event, new=None, old=None):
    body = {"Keys": {"id": S("k")}, "ApproximateCreationDateTime": 1767225600}
    if new is not None:
        body["NewImage"] = {"id": S("k"), "v": N(str(new))}
    if old is not None:
        body["OldImage"] = {"id": S("k"), "v": N(str(old))}
    return {"eventName": event, "dynamodb": body}


BIG_V = RowFilter("v > :min", {}, {":min": N("10")}).matches


@pytest.mark.parametrize(
    "record, outcome",
    [
        (change("INSERT", new=11), "same"),
        (change("INSERT", new=1), None),
        (change("MODIFY", new=11, old=1), "same"),  # enters the filter
        (change("MODIFY", new=12, old=11), "same"),
        (change("MODIFY", new=1, old=11), "REMOVE"),  # leaves it: a delete
        (change("MODIFY", new=1, old=2), None),  # never in it
        (change("MODIFY", new=1), "REMOVE"),  # NEW_IMAGE: it may have been in it
        (change("REMOVE", old=11), "same"),
        (change("REMOVE", old=1), None),
        (change("REMOVE"), "same"),  # NEW_IMAGE: a delete of the key
    ],
)
def test_filter_change(record, outcome):
    out = filter_change(record, BIG_V)
    if outcome is None:
        assert out is None
    elif outcome == "same":
        assert out is record
    else:
        assert out["eventName"] == "REMOVE" and "NewImage" not in out["dynamodb"]
        assert out["dynamodb"]["Keys"] == record["dynamodb"]["Keys"]


def test_change_decoder_filters_whole_images_before_the_projection_and_turns_leavers_into_deletes():
    row_filter = RowFilter("hidden = :yes", {}, {":yes": {"BOOL": True}})
    decoder = ChangeDecoder(
        RecordDecoder({"type": "object", "properties": {}}, "string"),
        lambda image: {k: v for k, v in image.items() if k != "hidden"},
        matches=row_filter.matches,
    )

    def record(event, new_hidden, old_hidden):
        body = {"Keys": {"id": S("k")}, "ApproximateCreationDateTime": 1767225600}
        body["NewImage"] = {"id": S("k"), "v": N("2"), "hidden": {"BOOL": new_hidden}}
        body["OldImage"] = {"id": S("k"), "v": N("1"), "hidden": {"BOOL": old_hidden}}
        return {"eventName": event, "dynamodb": body}

    decoded = decoder.decode(
        [record("MODIFY", True, False), record("MODIFY", False, True), record("MODIFY", False, False)]
    )
    kept, left = decoded.records
    assert kept == {"id": "k", "v": "2"}
    assert left["v"] == "1" and left[DELETED_AT].startswith("2026-01-01") and left["_sdc_deleted_by_ttl"] is False
    assert "hidden" not in left
    assert decoder.filtered_out == 1


# --------------------------------------------------------------------------
# Catalog metadata and the Scan request
# --------------------------------------------------------------------------


def catalog(**top):
    return {
        "streams": [
            {
                "tap_stream_id": "t",
                "key_properties": ["id"],
                "schema": {"type": "object", "properties": {"id": {"type": "string"}}},
                "metadata": [{"breadcrumb": [], "metadata": {"selected": True, **top}}],
            }
        ]
    }


def test_the_plan_carries_the_filter_and_the_scan_merges_its_names_with_the_projections():
    (plan,) = selected_streams(
        catalog(
            **{
                FILTER_KEY: "#n = :v AND #d > :w",
                VALUES_KEY: json.dumps({":v": S("x"), ":w": S("2024")}),
                STITCH_NAMES_KEY: json.dumps({"#n": "name", "#d": "date", "#c": "comment"}),
                STITCH_PROJECTION_KEY: "#n, #c",
            }
        )
    )
    ctx = SimpleNamespace(config=SimpleNamespace(scan_page_size=100, consistent_read=False))
    request = scan_request(ctx, plan)
    assert request["ProjectionExpression"] == "#p0, #p1, id"
    assert request["FilterExpression"] == "#f1 = :v AND #f0 > :w"
    assert request["ExpressionAttributeNames"] == {"#p0": "name", "#p1": "comment", "#f0": "date", "#f1": "name"}
    assert request["ExpressionAttributeValues"] == {":v": S("x"), ":w": S("2024")}


def test_aliases_only_the_filter_uses_are_fine_without_a_projection():
    (plan,) = selected_streams(
        catalog(**{FILTER_KEY: "#n = :v", VALUES_KEY: {":v": S("x")}, STITCH_NAMES_KEY: {"#n": "name"}})
    )
    assert plan.projection is None and plan.row_filter is not None


@pytest.mark.parametrize(
    "top, message",
    [
        (
            {FILTER_KEY: "#n = :v", VALUES_KEY: {":v": S("x")}, STITCH_NAMES_KEY: {"#n": "name", "#x": "x"}},
            "defines #x",
        ),
        (
            {
                FILTER_KEY: "#n = :v",
                VALUES_KEY: {":v": S("x")},
                STITCH_NAMES_KEY: {"#n": "n", "#x": "x"},
                STITCH_PROJECTION_KEY: "a",
            },
            "defines #x but tap-mongodb.projection does not use it (nor does the filter expression)",
        ),
        ({VALUES_KEY: {":v": S("x")}}, "is set but tap-dynamodb.filter-expression is not"),
        ({FILTER_KEY: "a = :v", VALUES_KEY: "{oops"}, "is not valid JSON"),
        ({FILTER_KEY: "a = :v", VALUES_KEY: {"v": S("x")}}, "placeholder 'v'"),
        ({FILTER_KEY: "a = :v", VALUES_KEY: {":v": {"N": "one"}}}, "not a DynamoDB-JSON value"),
        ({FILTER_KEY: "a = :v", VALUES_KEY: {":v": {"B": "not base64!"}}}, "not a DynamoDB-JSON value"),
        ({FILTER_KEY: "a = :v", VALUES_KEY: {":v": {"SS": []}}}, "not a DynamoDB-JSON value"),
        ({FILTER_KEY: 5}, "must be a string"),
        ({FILTER_KEY: "a = :v AND " * 400 + "a = :v", VALUES_KEY: {":v": S("x")}}, "longer than DynamoDB's limit"),
        (
            {FILTER_KEY: "a == :v", VALUES_KEY: {":v": S("x")}},
            "stream t: metadata tap-dynamodb.filter-expression is not a valid",
        ),
    ],
)
def test_bad_filter_metadata_is_one_tap_error(top, message):
    with pytest.raises(TapError, match=message.replace("(", r"\(").replace(")", r"\)")) as raised:
        selected_streams(catalog(**top))
    assert "\n" not in str(raised.value)
