"""Unit tests for the plain helpers in tests/helpers.py and devtools."""

import decimal

import pytest

from devtools import tap_runner
from tests.helpers import find_stream, select_streams, selected_copy, top_level_metadata


def _catalog():
    return {
        "streams": [
            {
                "tap_stream_id": "orders",
                "stream": "orders",
                "table_name": "orders",
                "schema": {"type": "object"},
                "key_properties": ["id"],
                "metadata": [
                    {"breadcrumb": ["properties", "id"], "metadata": {"inclusion": "automatic"}},
                    {"breadcrumb": [], "metadata": {"table-key-properties": ["id"]}},
                ],
            },
            {
                "tap_stream_id": "users",
                "stream": "users",
                "table_name": "users",
                "schema": {"type": "object"},
                "key_properties": ["uid"],
                "metadata": [],
            },
        ]
    }


def test_select_streams_sets_top_level_metadata_only():
    catalog = _catalog()
    out = select_streams(catalog, ["orders"], method="LOG_BASED")

    assert out is catalog
    orders = find_stream(catalog, "orders")
    top = [m for m in orders["metadata"] if m["breadcrumb"] == []]
    assert top == [
        {
            "breadcrumb": [],
            "metadata": {"table-key-properties": ["id"], "selected": True, "replication-method": "LOG_BASED"},
        }
    ]
    prop = next(m for m in orders["metadata"] if m["breadcrumb"] == ["properties", "id"])
    assert "selected" not in prop["metadata"]
    # users not selected
    assert find_stream(catalog, "users")["metadata"] == []


def test_select_streams_defaults_and_creates_missing_metadata():
    catalog = select_streams(_catalog(), "users")
    users = find_stream(catalog, "users")
    assert users["metadata"] == [{"breadcrumb": [], "metadata": {"selected": True, "replication-method": "FULL_TABLE"}}]


def test_select_streams_unknown_name_raises():
    with pytest.raises(KeyError, match="nope"):
        select_streams(_catalog(), ["nope"])


def test_selected_copy_leaves_original_alone():
    catalog = _catalog()
    copy = selected_copy(catalog, ["orders", "users"])
    assert all(m["metadata"].get("selected") is not True for s in catalog["streams"] for m in s["metadata"])
    assert all(top_level_metadata(find_stream(copy, n))["selected"] is True for n in ("orders", "users"))


def test_select_streams_fixture_is_the_helper(select_streams):
    assert select_streams(_catalog(), ["orders"])["streams"][0]["metadata"][1]["metadata"]["selected"] is True


def test_tap_result_parses_messages_exactly():
    big = "12345678901234567890123456789012345678"
    stdout = "\n".join(
        [
            '{"type": "SCHEMA", "stream": "s", "schema": {}, "key_properties": ["id"]}',
            '{"type": "RECORD", "stream": "s", "record": {"id": 1, "big": ' + big + ', "d": 0.1}}',
            '{"type": "RECORD", "stream": "other", "record": {"id": 2}}',
            '{"type": "STATE", "value": {"bookmarks": {"s": {"x": 1}}}}',
            '{"type": "STATE", "value": {"bookmarks": {"s": {"x": 2}}}}',
            "not json",
            "",
        ]
    )
    res = tap_runner.TapResult(["tap"], 0, stdout, "")
    assert res.records("s") == [{"id": 1, "big": int(big), "d": decimal.Decimal("0.1")}]
    assert len(res.records()) == 2
    assert [m["stream"] for m in res.of_type("record")] == ["s", "other"]
    assert res.schemas()[0]["key_properties"] == ["id"]
    assert res.states()[-1] == res.last_state == {"bookmarks": {"s": {"x": 2}}}
    assert res.counts() == {"SCHEMA": 1, "RECORD": 2, "STATE": 2}
    assert res.bad_lines == ["not json"]
