"""The LOG_BASED unit suite: the shard walk and LOG_BASED bookmarks against FakeStreamsClient, a TEST DOUBLE of DynamoDB
Streams (tests/doubles.py): shard trees, splits, closing, trimming and expiring iterators are
things DynamoDB Local cannot produce. No service is needed."""

from __future__ import annotations

import io
import logging
from types import SimpleNamespace

import pytest

from devtools.tap_runner import TapResult
from tap_dynamodb.aws.api import Streams
from tap_dynamodb.catalog.plan import StreamPlan
from tap_dynamodb.errors import TapError
from tap_dynamodb.output.report import Report, format_duration
from tap_dynamodb.output.writer import MessageWriter
from tap_dynamodb.readers.shards import Shard, ShardReader, StreamAgedOut, check_bookmarks, list_shards, tree_order
from tap_dynamodb.replication.bookmarks import State
from tap_dynamodb.replication.context import SyncContext
from tap_dynamodb.replication.log_based import check_table, sync_log_based
from tap_dynamodb.settings import parse_config
from tap_dynamodb.values.changes import with_deleted_at as output_schema
from tests.doubles import TTL_IDENTITY, TTL_IDENTITY_MODEL_CASE
from tests.helpers import metric_points

TABLE = "orders"


def key(item_id: str) -> dict:
    return {"id": {"S": item_id}}


def image(item_id: str, value: str) -> dict:
    return {"id": {"S": item_id}, "v": {"N": value}}


def run_log_based(fake, bookmark=None, tip=3, projection=None, settings=None, report=None):
    """One LOG_BASED run after the initial scan (initial_full_table_complete), on the double."""
    plan = StreamPlan(
        stream_id=TABLE,
        name=TABLE,
        table_name=TABLE,
        index_name=None,
        key_properties=["id"],
        schema={"type": "object", "properties": {}},
        method="LOG_BASED",
        projection=projection,
    )
    table = {
        "TableName": TABLE,
        "LatestStreamArn": fake.stream_arn,
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    }
    state = {
        "bookmarks": {
            TABLE: {
                "version": 7,
                "initial_full_table_complete": True,
                "stream_arn": fake.stream_arn,
                **(bookmark or {}),
            }
        }
    }
    out = io.BytesIO()
    config = parse_config({"region_name": "us-east-1", "stream_tip_empty_pages": tip, **(settings or {})})
    ctx = SyncContext(
        config=config,
        clients=SimpleNamespace(streams=Streams(fake)),
        writer=MessageWriter(out),
        state=State.load(state),
        **({"report": report} if report is not None else {}),
    )
    run_log_based.last_ctx = ctx
    count = sync_log_based(ctx, plan, table)
    result = TapResult(["in-process"], 0, out.getvalue().decode(), "")
    assert count == len(result.records())
    return result, ctx.state.to_dict()["bookmarks"][TABLE]


def values(result) -> list:
    return [(r["id"], str(r["v"]) if "v" in r else "DELETED") for r in result.records()]


def test_describe_stream_pages_are_followed(fake_streams):
    fake_streams.describe_limit = 2
    for n in range(5):
        fake_streams.add_shard(f"s{n}")

    shards = list_shards(Streams(fake_streams), fake_streams.stream_arn)

    assert [s.shard_id for s in shards] == ["s0", "s1", "s2", "s3", "s4"]
    assert [c["ExclusiveStartShardId"] for c in fake_streams.calls_of("DescribeStream")] == [None, "s1", "s3"]


def test_tree_order_puts_parents_first_and_orphans_are_roots():
    shards = [
        Shard("c1", "p", "300", None),
        Shard("g", "c1", "400", None),
        Shard("p", "gone", "100", "200"),
        Shard("r", None, "50", None),
    ]
    order = [s.shard_id for s in tree_order(shards)]
    assert order.index("p") < order.index("c1") < order.index("g")
    assert set(order) == {"p", "c1", "g", "r"}


def test_parent_records_come_before_child_records_when_the_child_is_listed_first(fake_streams):
    fake_streams.add_shard("parent")
    fake_streams.put("parent", "INSERT", key("a"), image("a", "1"))
    fake_streams.put("parent", "MODIFY", key("a"), image("a", "2"))
    fake_streams.split("parent", "child1", "child2", children_first=True)
    fake_streams.put("child1", "MODIFY", key("a"), image("a", "3"))
    fake_streams.put("child2", "INSERT", key("b"), image("b", "1"))
    assert fake_streams.listing_order[0] != "parent"

    result, bookmark = run_log_based(fake_streams)

    assert values(result)[:2] == [("a", "1"), ("a", "2")]
    assert sorted(values(result)[2:]) == [("a", "3"), ("b", "1")]
    assert bookmark["finished_shards"] == ["parent"]
    assert set(bookmark["shard_seq_numbers"]) == {"child1", "child2"}


def test_children_wait_until_a_bookmarked_parent_is_read_to_its_end(fake_streams):
    fake_streams.add_shard("parent")
    fake_streams.put("parent", "INSERT", key("a"), image("a", "1"))
    first, bookmark = run_log_based(fake_streams)
    assert values(first) == [("a", "1")]
    assert bookmark["finished_shards"] == []

    fake_streams.put("parent", "MODIFY", key("a"), image("a", "2"))
    fake_streams.split("parent", "child", children_first=True)
    fake_streams.put("child", "MODIFY", key("a"), image("a", "3"))
    second, bookmark = run_log_based(fake_streams, bookmark)

    assert values(second) == [("a", "2"), ("a", "3")]  # no duplicate of v1, parent's tail first
    assert bookmark["finished_shards"] == ["parent"]
    assert list(bookmark["shard_seq_numbers"]) == ["child"]


def test_a_shard_that_closes_while_read_is_finished_and_its_children_read_in_the_same_run(fake_streams):
    fake_streams.add_shard("s1")
    fake_streams.put("s1", "INSERT", key("a"), image("a", "1"))

    def close_during_read(double):
        if double.shards["s1"].ending is None:
            double.put("s1", "MODIFY", key("a"), image("a", "2"))
            double.split("s1", "s2")
            double.put("s2", "MODIFY", key("a"), image("a", "3"))

    fake_streams.before_get_records = close_during_read

    result, bookmark = run_log_based(fake_streams)

    assert values(result) == [("a", "1"), ("a", "2"), ("a", "3")]
    assert bookmark["finished_shards"] == ["s1"]
    assert list(bookmark["shard_seq_numbers"]) == ["s2"]


def test_empty_pages_before_the_first_records_of_a_young_shard_do_not_stop_the_read(fake_streams):
    fake_streams.add_shard("young", empty_pages_before_records=2)
    fake_streams.put("young", "INSERT", key("a"), image("a", "1"))

    result, _ = run_log_based(fake_streams, tip=3)

    assert values(result) == [("a", "1")]
    # 2 empty pages, 1 page of records, then 3 empty pages at the tip
    assert len(fake_streams.calls_of("GetRecords")) == 6


def test_an_open_shard_is_bookmarked_at_its_tip_and_a_rerun_without_changes_emits_nothing(fake_streams):
    fake_streams.add_shard("open")
    last = [fake_streams.put("open", "INSERT", key(f"i{n}"), image(f"i{n}", str(n))) for n in range(3)][-1]

    first, bookmark = run_log_based(fake_streams)
    assert len(first.records()) == 3
    assert bookmark["shard_seq_numbers"] == {"open": last}

    again, bookmark = run_log_based(fake_streams, bookmark)
    assert again.records() == []
    assert fake_streams.calls_of("GetShardIterator")[-1] == {
        "ShardId": "open",
        "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
        "SequenceNumber": last,
    }


def test_an_expired_iterator_is_renewed_after_the_last_record_handed_out(fake_streams):
    fake_streams.page_size = 2
    fake_streams.add_shard("s")
    numbers = [fake_streams.put("s", "INSERT", key(f"i{n}"), image(f"i{n}", str(n))) for n in range(5)]
    calls = {"n": 0}

    def expire_after_first_page(double):
        calls["n"] += 1
        if calls["n"] == 2:
            double.expire_iterators()

    fake_streams.before_get_records = expire_after_first_page

    result, bookmark = run_log_based(fake_streams)

    assert [r["id"] for r in result.records()] == [f"i{n}" for n in range(5)]  # no loss, no duplicate
    renewed = fake_streams.calls_of("GetShardIterator")[1]
    assert renewed == {"ShardId": "s", "ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": numbers[1]}
    assert bookmark["shard_seq_numbers"] == {"s": numbers[-1]}


def test_a_trimmed_bookmark_is_an_aged_out_stream(fake_streams):
    fake_streams.add_shard("s")
    numbers = [fake_streams.put("s", "INSERT", key(f"i{n}"), image(f"i{n}", "1")) for n in range(4)]
    fake_streams.trim("s", numbers[2])
    shard = list_shards(Streams(fake_streams), fake_streams.stream_arn)[0]

    reader = ShardReader(Streams(fake_streams), fake_streams.stream_arn, shard, numbers[0])
    with pytest.raises(StreamAgedOut, match="trimmed"):
        list(reader.pages())
    # from a position still in the stream, reading goes on
    assert [
        len(p.items) for p in ShardReader(Streams(fake_streams), fake_streams.stream_arn, shard, numbers[2]).pages()
    ] == [1]


def test_a_bookmarked_shard_that_is_no_longer_listed_is_an_aged_out_stream(fake_streams):
    fake_streams.add_shard("old")
    fake_streams.put("old", "INSERT", key("a"), image("a", "1"))
    fake_streams.split("old", "new")
    fake_streams.drop("old")
    shards = list_shards(Streams(fake_streams), fake_streams.stream_arn)

    with pytest.raises(StreamAgedOut, match="old"):
        check_bookmarks(shards, {"old": "000000000000000000101"})
    check_bookmarks(shards, {"new": None})


def test_finished_shards_are_pruned_when_no_longer_listed_and_kept_once(fake_streams):
    fake_streams.add_shard("p")
    fake_streams.put("p", "INSERT", key("a"), image("a", "1"))
    fake_streams.split("p", "c")
    fake_streams.put("c", "MODIFY", key("a"), image("a", "2"))

    result, bookmark = run_log_based(fake_streams, {"finished_shards": ["gone", "p", "p"], "shard_seq_numbers": {}})

    assert values(result) == [("a", "2")]  # p was finished: not read again
    assert bookmark["finished_shards"] == ["p"]


def test_state_is_written_after_each_page_and_never_ahead_of_its_records(fake_streams):
    fake_streams.page_size = 2
    fake_streams.add_shard("s")
    sequence_of = {f"i{n}": fake_streams.put("s", "INSERT", key(f"i{n}"), image(f"i{n}", str(n))) for n in range(5)}

    result, _ = run_log_based(fake_streams)

    emitted, bookmarks_seen = [], []
    for message in result.messages:
        if message["type"] == "RECORD":
            emitted.append(sequence_of[message["record"]["id"]])
        elif message["type"] == "STATE":
            position = message["value"]["bookmarks"][TABLE]["shard_seq_numbers"].get("s")
            if position:
                assert position in emitted and position == max(emitted)
                bookmarks_seen.append(position)
    assert sorted(set(bookmarks_seen)) == [sequence_of["i1"], sequence_of["i3"], sequence_of["i4"]]


def test_changes_become_records_with_exact_numbers_and_deletes_with_sdc_deleted_at(fake_streams):
    fake_streams.add_shard("s")
    fake_streams.put("s", "INSERT", key("a"), image("a", "12345678901234567890123456789012345678"))
    fake_streams.put("s", "REMOVE", key("a"), when=1767225600.5)

    result, _ = run_log_based(fake_streams)

    assert '"v":12345678901234567890123456789012345678' in result.stdout
    assert result.records()[1] == {
        "id": "a",
        "_sdc_deleted_at": "2026-01-01T00:00:00.500000Z",
        "_sdc_deleted_by_ttl": False,
    }


def test_stream_images_go_through_the_catalog_projection(fake_streams):
    fake_streams.add_shard("s")
    fake_streams.put("s", "INSERT", key("a"), {"id": {"S": "a"}, "keep": {"S": "x"}, "drop": {"S": "y"}})
    fake_streams.put("s", "REMOVE", key("a"))
    projection = SimpleNamespace(apply=lambda item: {k: v for k, v in item.items() if k != "drop"})

    result, _ = run_log_based(fake_streams, projection=projection)

    assert result.records()[0] == {"id": "a", "keep": "x"}
    assert set(result.records()[1]) == {"id", "_sdc_deleted_at", "_sdc_deleted_by_ttl"}


@pytest.mark.parametrize(
    "spec, arn, words",
    [
        (None, None, "needs DynamoDB Streams enabled"),
        ({"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}, "arn:s", "KEYS_ONLY"),
        ({"StreamEnabled": True, "StreamViewType": "OLD_IMAGE"}, "arn:s", "OLD_IMAGE"),
        ({"StreamEnabled": False}, "arn:s", "needs DynamoDB Streams enabled"),
    ],
)
def test_tables_without_a_new_image_stream_are_refused(spec, arn, words):
    plan = SimpleNamespace(stream_id=TABLE, table_name=TABLE)
    table = {
        "TableName": TABLE,
        **({"StreamSpecification": spec} if spec else {}),
        **({"LatestStreamArn": arn} if arn else {}),
    }
    with pytest.raises(TapError, match=words) as caught:
        check_table(plan, table)
    assert "NEW_IMAGE or NEW_AND_OLD_IMAGES" in str(caught.value) and "\n" not in str(caught.value)


def test_log_based_schema_declares_sdc_deleted_at():
    schema = output_schema({"type": "object", "properties": {"id": {"type": "string"}}})
    assert schema["properties"]["_sdc_deleted_at"] == {"type": ["null", "string"], "format": "date-time"}
    assert schema["properties"]["id"] == {"type": "string"}


def test_a_child_listed_while_its_parent_is_still_open_waits_for_the_parent(fake_streams):
    fake_streams.add_shard("parent")
    fake_streams.put("parent", "INSERT", key("a"), image("a", "1"))
    fake_streams.add_shard("child", "parent", first=True)  # listed before the parent has closed
    fake_streams.put("child", "MODIFY", key("a"), image("a", "3"))

    first, bookmark = run_log_based(fake_streams)
    assert values(first) == [("a", "1")]
    assert "child" not in bookmark["shard_seq_numbers"]

    fake_streams.put("parent", "MODIFY", key("a"), image("a", "2"))
    fake_streams.close("parent")
    second, bookmark = run_log_based(fake_streams, bookmark)
    assert values(second) == [("a", "2"), ("a", "3")]


def _busy_shard_reader(fake_streams) -> ShardReader:
    """A reader of an open shard with changes at 100 s to 500 s, two a page, told to stop at 250 s."""
    fake_streams.page_size = 2
    fake_streams.add_shard("busy")
    for n, when in enumerate([100.0, 200.0, 300.0, 400.0, 500.0]):
        fake_streams.put("busy", "INSERT", key(f"i{n}"), image(f"i{n}", str(n)), when=when)
    shard = list_shards(Streams(fake_streams), fake_streams.stream_arn)[0]
    return ShardReader(Streams(fake_streams), fake_streams.stream_arn, shard, None, caught_up_at=250.0)


def test_a_busy_open_shard_stops_once_its_records_reach_the_stop_time(fake_streams):
    reader = _busy_shard_reader(fake_streams)
    pages = list(reader.pages())

    assert [len(page.items) for page in pages] == [2, 2]  # the page reaching 300 s is the last one read
    assert (
        not reader.finished
        and reader.last_sequence == pages[-1].items[-1]["dynamodb"]["SequenceNumber"] == pages[-1].after
    )


def test_a_reader_whose_pages_are_emptied_by_the_consumer_still_stops_at_the_stop_time(fake_streams):
    """replication.pages.write_page empties each page it writes; the reader must not look back into it."""
    reader = _busy_shard_reader(fake_streams)
    sizes = []
    for page in reader.pages():
        sizes.append(len(page.items))
        page.items.clear()

    assert sizes == [2, 2] and not reader.finished


def test_iterators_that_keep_expiring_are_renewed_after_growing_pauses_then_give_up(fake_streams, monkeypatch):
    from tap_dynamodb.readers import shards

    pauses = []
    monkeypatch.setattr(shards.time, "sleep", pauses.append)
    fake_streams.add_shard("s")
    fake_streams.put("s", "INSERT", key("a"), image("a", "1"))
    fake_streams.before_get_records = lambda double: double.expire_iterators()

    with pytest.raises(TapError, match="keep expiring"):
        run_log_based(fake_streams)

    first = shards.EXPIRY_PAUSE_SECONDS
    # the first renewal is at once; each later one waits twice as long (backoff.expo)
    assert pauses == pytest.approx([first * 2**n for n in range(shards.MAX_EXPIRIES_WITHOUT_PROGRESS - 1)])


# ------------------------------------------------------------------------------------------
# TTL deletes (issue 15, point 1)
# ------------------------------------------------------------------------------------------


def _user_and_ttl_deletes(fake_streams, identity=TTL_IDENTITY) -> list:
    """a and b inserted; a deleted by the application, b expired by TTL; sequence numbers."""
    fake_streams.add_shard("s")
    numbers = [
        fake_streams.put("s", "INSERT", key("a"), image("a", "1")),
        fake_streams.put("s", "INSERT", key("b"), image("b", "2")),
        fake_streams.put("s", "REMOVE", key("a"), old_image=image("a", "1"), when=1767225601.0),
        fake_streams.put("s", "REMOVE", key("b"), old_image=image("b", "2"), when=1767225602.0, user_identity=identity),
    ]
    return numbers


@pytest.mark.parametrize("identity", [TTL_IDENTITY, TTL_IDENTITY_MODEL_CASE], ids=["documented", "api-model"])
def test_ttl_deletes_are_told_apart_from_user_deletes(fake_streams, identity):
    _user_and_ttl_deletes(fake_streams, identity)

    result, _ = run_log_based(fake_streams)

    inserts, user_delete, ttl_delete = result.records()[:2], result.records()[2], result.records()[3]
    assert all("_sdc_deleted_by_ttl" not in r and "_sdc_deleted_at" not in r for r in inserts)  # null: no delete
    assert user_delete == {
        "id": "a",
        "v": 1,
        "_sdc_deleted_at": "2026-01-01T00:00:01.000000Z",
        "_sdc_deleted_by_ttl": False,
    }
    assert ttl_delete == {
        "id": "b",
        "v": 2,
        "_sdc_deleted_at": "2026-01-01T00:00:02.000000Z",
        "_sdc_deleted_by_ttl": True,
    }


def test_a_remove_by_another_service_or_identity_is_not_a_ttl_delete(fake_streams):
    fake_streams.add_shard("s")
    fake_streams.put("s", "REMOVE", key("a"), user_identity={"type": "Service", "principalId": "other.amazonaws.com"})
    fake_streams.put("s", "REMOVE", key("b"), user_identity={"type": "User", "principalId": "dynamodb.amazonaws.com"})

    result, _ = run_log_based(fake_streams)

    assert [r["_sdc_deleted_by_ttl"] for r in result.records()] == [False, False]


def test_ttl_deletes_skip_leaves_them_out_counts_them_and_moves_the_bookmark_past_them(fake_streams):
    numbers = _user_and_ttl_deletes(fake_streams)

    result, bookmark = run_log_based(fake_streams, settings={"ttl_deletes": "skip"})

    assert values(result) == [("a", "1"), ("b", "2"), ("a", "1")]
    assert result.records()[2]["_sdc_deleted_by_ttl"] is False
    assert bookmark["shard_seq_numbers"] == {"s": numbers[-1]}  # the skipped delete is not read again
    entry = run_log_based.last_ctx.report.streams[TABLE]
    assert entry.ttl_deletes_skipped == 1

    again, _ = run_log_based(fake_streams, bookmark, settings={"ttl_deletes": "skip"})
    assert again.records() == []


def test_a_page_of_nothing_but_skipped_ttl_deletes_still_moves_the_bookmark(fake_streams):
    fake_streams.page_size = 2
    fake_streams.add_shard("s")
    fake_streams.put("s", "INSERT", key("a"), image("a", "1"))
    fake_streams.put("s", "INSERT", key("b"), image("b", "1"))
    ttl = [fake_streams.put("s", "REMOVE", key(k), user_identity=TTL_IDENTITY) for k in ("a", "b")]
    fake_streams.close("s")

    result, bookmark = run_log_based(fake_streams, settings={"ttl_deletes": "skip"})

    assert values(result) == [("a", "1"), ("b", "1")]
    assert bookmark["finished_shards"] == ["s"]
    states = [m["value"]["bookmarks"][TABLE] for m in result.messages if m["type"] == "STATE"]
    assert any(state["shard_seq_numbers"].get("s") == ttl[-1] for state in states)
    assert run_log_based.last_ctx.report.streams[TABLE].ttl_deletes_skipped == 2


def test_log_based_schema_declares_sdc_deleted_by_ttl():
    schema = output_schema({"type": "object", "properties": {"id": {"type": "string"}}})
    assert schema["properties"]["_sdc_deleted_by_ttl"] == {"type": ["null", "boolean"]}


def test_ttl_deletes_setting_takes_delete_or_skip():
    assert parse_config({"region_name": "us-east-1"}).ttl_deletes == "delete"
    assert parse_config({"region_name": "us-east-1", "ttl_deletes": "SKIP"}).ttl_deletes == "skip"
    with pytest.raises(TapError, match="ttl_deletes must be one of delete, skip"):
        parse_config({"region_name": "us-east-1", "ttl_deletes": "archive"})


# ------------------------------------------------------------------------------------------
# the gap policy (issue 15, point 3)
# ------------------------------------------------------------------------------------------


def _aged_out(fake_streams) -> dict:
    """A bookmark inside a shard whose records were trimmed past it (the stream aged out)."""
    fake_streams.add_shard("s")
    numbers = [fake_streams.put("s", "INSERT", key(f"i{n}"), image(f"i{n}", "1")) for n in range(3)]
    fake_streams.trim("s", numbers[2])
    return {"shard_seq_numbers": {"s": numbers[0]}, "success_timestamp": "2026-11-26T20:00:00.000000Z"}


@pytest.fixture
def full_scans(monkeypatch) -> list:
    """The re-replication's full scan, recorded instead of run (the double has no table)."""
    from tap_dynamodb.replication import log_based

    scans = []

    def fake_scan(ctx, plan, table):
        scans.append(plan.stream_id)
        ctx.state.bookmark(plan.stream_id).initial_full_table_complete = True

    monkeypatch.setattr(log_based, "sync_full_table", fake_scan)
    return scans


def test_an_aged_out_stream_is_re_replicated_by_default(fake_streams, full_scans):
    bookmark = _aged_out(fake_streams)

    _, after = run_log_based(fake_streams, bookmark)

    assert full_scans == [TABLE]
    assert after["initial_full_table_complete"] is True and after["version"] == 7


def test_on_stream_gap_fail_stops_at_an_aged_out_stream_and_says_what_to_do(fake_streams, full_scans):
    bookmark = _aged_out(fake_streams)

    with pytest.raises(TapError) as caught:
        run_log_based(fake_streams, bookmark, settings={"on_stream_gap": "fail"})

    message = str(caught.value)
    assert "\n" not in message
    assert f"stream {TABLE} (table {TABLE})" in message and "aged out" in message
    assert "last change read 2026-11-26T20:00:00.000000Z" in message
    assert "on_stream_gap" in message and "resync" in message and f"bookmarks.{TABLE}" in message
    assert full_scans == []  # nothing re-replicated
    assert (
        run_log_based.last_ctx.state.to_dict()["bookmarks"][TABLE]["shard_seq_numbers"] == bookmark["shard_seq_numbers"]
    )  # the bookmarks are kept for whoever looks


def test_on_stream_gap_fail_stops_at_a_changed_stream_arn(fake_streams, full_scans):
    fake_streams.add_shard("s")
    fake_streams.put("s", "INSERT", key("a"), image("a", "1"))
    old_arn = fake_streams.stream_arn.replace("2026-01-01", "2025-06-01")

    with pytest.raises(TapError) as caught:
        run_log_based(fake_streams, {"stream_arn": old_arn}, settings={"on_stream_gap": "fail"})

    message = str(caught.value)
    assert "\n" not in message and old_arn in message and fake_streams.stream_arn in message
    assert "last change read unknown" in message
    assert "on_stream_gap" in message and f"bookmarks.{TABLE}" in message
    assert full_scans == [] and fake_streams.calls_of("GetRecords") == []


def test_a_changed_stream_arn_is_re_replicated_by_default(fake_streams, full_scans):
    fake_streams.add_shard("s")
    fake_streams.put("s", "INSERT", key("a"), image("a", "1"))
    old_arn = fake_streams.stream_arn.replace("2026-01-01", "2025-06-01")

    result, after = run_log_based(fake_streams, {"stream_arn": old_arn})

    assert full_scans == [TABLE] and after["stream_arn"] == fake_streams.stream_arn
    assert result.records() == []  # the new stream's changes so far are in the (re-)scan, not re-sent


# ---------------------------------------------------------------- lag and margin (issue 15, point 4)
RUN_START = 1767225600.0 + 30 * 3600  # the injected wall clock: no sleeping
HOUR = 3600.0


def _lag_metrics(caplog) -> dict:
    points = metric_points(r.getMessage() for r in caplog.records)
    return {p["metric"]: p for p in points if p["metric"] in ("change_lag", "retention_margin")}


def _lag_warnings(caplog) -> list:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "margin" in r.getMessage()]


def test_lag_and_margin_come_from_the_oldest_and_newest_change_read(fake_streams, caplog):
    caplog.set_level(logging.INFO)
    clock = [RUN_START]
    report = Report(wall_clock=lambda: clock[0])
    fake_streams.page_size = 2
    fake_streams.add_shard("s1")
    fake_streams.add_shard("s2")
    fake_streams.put("s1", "INSERT", key("a"), image("a", "1"), when=RUN_START - 20.5 * HOUR)  # oldest unread
    fake_streams.put("s1", "MODIFY", key("a"), image("a", "2"), when=RUN_START - 10 * HOUR)
    fake_streams.put("s1", "MODIFY", key("a"), image("a", "3"), when=RUN_START - 120)  # second page of s1
    fake_streams.put("s2", "INSERT", key("b"), image("b", "1"), when=RUN_START - 19 * HOUR)
    fake_streams.put("s2", "MODIFY", key("b"), image("b", "2"), when=RUN_START - 300)

    def time_passes(fake):
        clock[0] += 10  # each GetRecords answer takes 10 s of the fixed clock

    fake_streams.before_get_records = time_passes
    result, _ = run_log_based(fake_streams, report=report)

    assert len(values(result)) == 5
    entry = report.streams[TABLE]
    reads = len(fake_streams.calls_of("GetRecords"))
    assert entry.lag == pytest.approx(120 + 10 * reads)  # the newest change, as reading ended
    assert entry.margin == pytest.approx(3.5 * HOUR)  # 24 h - 20.5 h, as the run started
    points = _lag_metrics(caplog)
    assert points["change_lag"] == {
        "type": "timer",
        "metric": "change_lag",
        "value": pytest.approx(entry.lag),
        "tags": {"endpoint": TABLE},
    }
    assert points["retention_margin"]["type"] == "timer" and points["retention_margin"]["value"] == 3.5 * HOUR
    (warning,) = _lag_warnings(caplog)
    assert warning.startswith(f"Stream {TABLE}: only 3.5 hours of margin left")
    assert "20.5 hours old" in warning and "stream_lag_warning_hours: 6" in warning
    assert "Run the sync more often" in warning
    header, row = report.summary_lines()
    assert header.split()[8:11] == ["lag", "margin", "started"]
    assert row.split()[8:10] == [format_duration(120 + 10 * reads), "3h30m"]


def test_a_wide_margin_or_a_lower_threshold_gives_no_warning(fake_streams, caplog):
    caplog.set_level(logging.INFO)
    fake_streams.add_shard("s")
    fake_streams.put("s", "INSERT", key("a"), image("a", "1"), when=RUN_START - 20.5 * HOUR)

    run_log_based(fake_streams, report=Report(wall_clock=lambda: RUN_START), settings={"stream_lag_warning_hours": 3})
    assert _lag_warnings(caplog) == []

    fake_streams.put("s", "MODIFY", key("a"), image("a", "2"), when=RUN_START - 2 * HOUR)
    report = Report(wall_clock=lambda: RUN_START)
    run_log_based(fake_streams, {"shard_seq_numbers": {"s": "000000000000000000101"}}, report=report)
    assert report.streams[TABLE].margin == 22 * HOUR and _lag_warnings(caplog) == []

    run_log_based(
        fake_streams, report=Report(wall_clock=lambda: RUN_START), settings={"stream_lag_warning_hours": "0"}
    )  # from the shard's start again: 20.5 h old, but the warning is off
    assert _lag_warnings(caplog) == []


def test_nothing_unread_means_the_full_margin_and_no_lag_figure(fake_streams, caplog):
    caplog.set_level(logging.INFO)
    fake_streams.add_shard("s")
    report = Report(wall_clock=lambda: RUN_START)

    run_log_based(fake_streams, report=report)

    entry = report.streams[TABLE]
    assert entry.lag is None and entry.margin == 24 * HOUR
    points = _lag_metrics(caplog)
    assert "change_lag" not in points and points["retention_margin"]["value"] == 24 * HOUR
    assert _lag_warnings(caplog) == []
    assert report.summary_lines()[1].split()[8:10] == ["-", "24h00m"]


def test_changes_made_after_the_run_started_put_nothing_at_risk(fake_streams):
    fake_streams.add_shard("s")
    fake_streams.put("s", "INSERT", key("a"), image("a", "1"), when=RUN_START + 30)
    clock = [RUN_START]
    report = Report(wall_clock=lambda: clock[0])
    report.start(TABLE, "LOG_BASED", "resumed from bookmark")  # the run starts at RUN_START
    clock[0] = RUN_START + 40

    run_log_based(fake_streams, report=report)

    assert report.streams[TABLE].margin == 24 * HOUR and report.streams[TABLE].lag == 10
