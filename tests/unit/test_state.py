"""State shapes: a Stitch state file loads as is; a malformed one is one TapError."""

from __future__ import annotations

import copy

import pytest

from tap_dynamodb import state as st
from tap_dynamodb.errors import TapError

STITCH_STATE = {  # the shape Stitch's tap-dynamodb 1.4 writes, mid-scan of "orders"
    "currently_syncing": "orders",
    "bookmarks": {
        "orders": {"version": 1700000000000, "last_evaluated_key": {"id": {"S": "k-0042"}},
                   "last_replication_method": "FULL_TABLE"},
        "customers": {"version": 1690000000000, "initial_full_table_complete": True,
                      "last_replication_method": "FULL_TABLE", "success_timestamp": "2026-11-26T20:00:00.000000Z"},
    },
}


def test_stitch_state_loads_with_every_bookmark_intact():
    state = st.load_state(copy.deepcopy(STITCH_STATE))
    assert state == STITCH_STATE
    assert st.get_bookmark(state, "orders", "last_evaluated_key") == {"id": {"S": "k-0042"}}
    assert st.get_bookmark(state, "orders", "version") == 1700000000000
    assert st.get_bookmark(state, "customers", "initial_full_table_complete") is True


def test_loaded_state_is_a_private_copy():
    raw = copy.deepcopy(STITCH_STATE)
    state = st.load_state(raw)
    st.write_bookmark(state, "orders", "version", 1)
    st.reset_table(state, "customers")
    assert raw == STITCH_STATE


@pytest.mark.parametrize("raw", [None, {}])
def test_no_or_empty_state_starts_fresh(raw):
    assert st.load_state(raw)["bookmarks"] == {}


def test_a_whole_state_message_is_unwrapped():
    state = st.load_state({"type": "STATE", "value": copy.deepcopy(STITCH_STATE)})
    assert state == STITCH_STATE


@pytest.mark.parametrize("raw, words", [
    ([], "JSON object"),
    ("bookmarks", "JSON object"),
    ({"bookmarks": []}, "bookmarks"),
    ({"bookmarks": "orders"}, "bookmarks"),
    ({"bookmarks": {"orders": 5}}, "orders"),
    ({"bookmarks": {"orders": None}}, "orders"),
    ({"bookmarks": {}, "currently_syncing": 7}, "currently_syncing"),
    ({"bookmarks": {}, "currently_syncing": ["orders"]}, "currently_syncing"),
])
def test_bad_shapes_are_tap_errors_naming_the_problem(raw, words):
    with pytest.raises(TapError, match=words):
        st.load_state(raw)


def test_bookmark_helpers_follow_stitch_semantics():
    state = st.load_state(None)
    st.write_bookmark(state, "t", "last_evaluated_key", {"id": {"N": "1"}})
    st.write_bookmark(state, "t", "version", 5)
    st.clear_bookmark(state, "t", "last_evaluated_key")
    st.clear_bookmark(state, "t", "never_set")
    assert state["bookmarks"]["t"] == {"version": 5}
    st.set_currently_syncing(state, "t")
    assert state["currently_syncing"] == "t"
    st.reset_table(state, "t")
    assert "t" not in state["bookmarks"]
    assert st.get_bookmark(state, "t", "version", "default") == "default"
