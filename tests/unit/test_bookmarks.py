"""Typed bookmarks: a Stitch state file loads and writes back as is; every malformed field is one
TapError naming it; scan and shard progress follow Stitch's (and our) keys."""

from __future__ import annotations

import copy

import pytest

from tap_dynamodb.errors import TapError
from tap_dynamodb.replication.bookmarks import Bookmark, ScanProgress, State

STITCH_STATE = {  # the shape Stitch's tap-dynamodb 1.4 writes, mid-scan of "orders"
    "currently_syncing": "orders",
    "bookmarks": {
        "orders": {
            "version": 1700000000000,
            "last_evaluated_key": {"id": {"S": "k-0042"}},
            "last_replication_method": "FULL_TABLE",
        },
        "customers": {
            "version": 1690000000000,
            "initial_full_table_complete": True,
            "last_replication_method": "FULL_TABLE",
            "success_timestamp": "2026-11-26T20:00:00.000000Z",
        },
        "events": {
            "version": 1,
            "initial_full_table_complete": True,
            "last_replication_method": "LOG_BASED",
            "stream_arn": "arn:aws:dynamodb:us-east-1:1:table/events/stream/x",
            "shard_seq_numbers": {"shardId-1": "000100", "shardId-2": None},
            "finished_shards": ["shardId-0"],
            "something_else": {"kept": [1, 2]},
        },
    },
    "a_runner_key": "kept too",
}


def test_stitch_state_loads_and_writes_back_with_every_bookmark_intact():
    state = State.load(copy.deepcopy(STITCH_STATE))
    assert state.to_dict() == STITCH_STATE  # unread bookmarks as they came
    orders, customers, events = (state.bookmark(s) for s in ("orders", "customers", "events"))
    assert state.to_dict() == STITCH_STATE  # and read ones written back the same
    assert orders.scan.last_key == {"id": {"S": "k-0042"}} and orders.scan.in_progress
    assert orders.version == 1700000000000
    assert customers.initial_full_table_complete is True and not customers.scan.in_progress
    assert customers.last_success() is not None and customers.last_success().year == 2026
    assert events.shards.positions == {"shardId-1": "000100", "shardId-2": None}
    assert events.shards.finished == ["shardId-0"] and events.extra == {"something_else": {"kept": [1, 2]}}


def test_loaded_state_is_a_private_copy():
    raw = copy.deepcopy(STITCH_STATE)
    state = State.load(raw)
    state.bookmark("orders").version = 1
    state.reset("customers")
    assert raw == STITCH_STATE


@pytest.mark.parametrize("raw", [None, {}])
def test_no_or_empty_state_starts_fresh(raw):
    state = State.load(raw)
    assert state.to_dict()["bookmarks"] == {} and state.bookmark("t").is_empty()


def test_a_whole_state_message_is_unwrapped():
    assert State.load({"type": "STATE", "value": copy.deepcopy(STITCH_STATE)}).to_dict() == STITCH_STATE


@pytest.mark.parametrize(
    "raw, words",
    [
        ([], "JSON object"),
        ("bookmarks", "JSON object"),
        ({"bookmarks": []}, "bookmarks"),
        ({"bookmarks": "orders"}, "bookmarks"),
        ({"bookmarks": {"orders": 5}}, "orders"),
        ({"bookmarks": {"orders": None}}, "orders"),
        ({"bookmarks": {}, "currently_syncing": 7}, "currently_syncing"),
        ({"bookmarks": {}, "currently_syncing": ["orders"]}, "currently_syncing"),
    ],
)
def test_bad_shapes_are_tap_errors_naming_the_problem(raw, words):
    with pytest.raises(TapError, match=words):
        State.load(raw)


@pytest.mark.parametrize(
    "bookmark, words",
    [
        ({"version": "v2"}, "version 'v2' is not a table version"),
        ({"version": True}, "version True"),
        ({"version": -1}, "version -1"),
        ({"last_evaluated_key": "k5"}, "scan bookmark 'k5' is not a DynamoDB key"),
        ({"last_evaluated_key": {"id": {"X": "1"}}}, "scan bookmark"),
        ({"last_evaluated_key": {"id": {"B": "***"}}}, "scan bookmark"),
        ({"scan_segments": "two"}, "scan_segments must be a positive whole number"),
        ({"scan_segments": 2, "segment_keys": ["a"]}, "segment_keys must be an object"),
        ({"scan_segments": 2, "finished_segments": [2]}, r"finished_segments must be a list of segments 0\.\.1"),
        ({"scan_segments": 2, "segment_keys": {"0": "k"}}, "scan bookmark 'k'"),
        ({"shard_seq_numbers": "abc"}, "shard_seq_numbers must map shard ids to sequence numbers"),
        ({"shard_seq_numbers": {"s": 17}}, "shard_seq_numbers"),
        ({"finished_shards": 5}, "finished_shards must be a list of shard ids"),
        ({"stream_arn": 5}, "stream_arn"),
        ({"exported_until": "yesterday"}, "exported_until 'yesterday' is not a UTC time"),
        ({"export_window_to": "2026-12-01T10:00:00.000000Z"}, "export_window_to needs exported_until"),
        ({"catch_up_until": "2026-12-01T10:00:00.000000Z"}, "catch_up_until needs exported_until"),
        ({"stream_read_until": 17}, "stream_read_until 17"),
    ],
)
def test_a_malformed_field_is_found_when_the_bookmark_is_read_and_names_it(bookmark, words):
    state = State.load({"bookmarks": {"orders": bookmark}})  # other streams' bookmarks are not judged here
    with pytest.raises(TapError, match=words) as caught:
        state.bookmark("orders")
    assert "stream orders" in str(caught.value) and "remove bookmarks.orders from the state" in str(caught.value)


def test_scan_progress_of_one_segment_is_stitchs_last_evaluated_key():
    progress = ScanProgress()
    assert progress.page_done(1, 0, {"id": {"N": "1"}}) and progress.to_dict() == {
        "last_evaluated_key": {"id": {"N": "1"}}
    }
    assert not progress.page_done(1, 0, None)  # the end: nothing moved, the caller clears the progress
    assert progress.start_keys() == {0: {"id": {"N": "1"}}}


def test_scan_progress_of_several_segments_keeps_each_segments_key_and_the_finished_ones():
    progress = ScanProgress()
    progress.page_done(3, 1, {"id": {"S": "b"}})
    progress.page_done(3, 0, None)
    assert progress.to_dict() == {
        "scan_segments": 3,
        "segment_keys": {"1": {"id": {"S": "b"}}},
        "finished_segments": [0],
    }
    again = ScanProgress.from_dict(progress.to_dict())
    assert again.start_keys() == {1: {"id": {"S": "b"}}, 2: None} and again.in_progress
    again.page_done(3, 1, None)
    assert again.to_dict()["segment_keys"] == {} and again.finished_segments == [0, 1]


def test_reset_forgets_everything_or_keeps_the_version_and_method():
    state = State.load(copy.deepcopy(STITCH_STATE))
    state.bookmark("events")
    assert state.reset("events", keep_version=True).to_dict() == {"version": 1, "last_replication_method": "LOG_BASED"}
    state.reset("orders")
    assert "orders" not in state.to_dict()["bookmarks"]  # an empty bookmark is no bookmark, as Stitch writes it
    assert state.bookmark("orders").is_empty()


def test_is_empty_ignores_only_the_method():
    assert Bookmark.from_dict({"last_replication_method": "FULL_TABLE"}).is_empty()
    assert not Bookmark.from_dict({"success_timestamp": "2026-01-01T00:00:00Z"}).is_empty()
    assert not Bookmark.from_dict({"something": 1}).is_empty()
    assert Bookmark.from_dict({"success_timestamp": "not a time"}).last_success() is None


def test_export_windows_round_trip_and_stay_apart_from_other_keys():
    raw = {
        "version": 3,
        "exported_until": "2026-12-01T10:00:00.000000Z",
        "export_window_to": "2026-12-02T10:00:00.000000Z",
        "catch_up_until": "2026-12-02T11:00:00.000000Z",
        "stream_read_until": "2026-11-30T10:00:00.000000Z",
        "someone_elses": 1,
    }
    bookmark = State.load({"bookmarks": {"t": raw}}).bookmark("t")
    assert bookmark.windows.exported_until == "2026-12-01T10:00:00.000000Z"
    assert bookmark.windows.catch_up_until == "2026-12-02T11:00:00.000000Z"
    assert bookmark.extra == {"someone_elses": 1}
    assert bookmark.to_dict() == raw
    bookmark.windows.window_to = bookmark.windows.catch_up_until = None
    assert "export_window_to" not in bookmark.to_dict() and "catch_up_until" not in bookmark.to_dict()
