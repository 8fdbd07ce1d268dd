"""The sync report, progress lines, record_count metrics and Scan/GetRecords request timers."""

import logging

import boto3
import pytest
from botocore.stub import Stubber

from tap_dynamodb.aws.timers import install_request_timers
from tap_dynamodb.output.report import (
    FIRST_RUN,
    NEW_VERSION,
    RESET,
    RESUMED,
    STREAM_RESET,
    Report,
    format_duration,
    item_count,
    start_origin,
)
from tap_dynamodb.replication.bookmarks import Bookmark
from tests.helpers import metric_points


def _metrics(caplog) -> list:
    return metric_points(r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "bookmark, method, was_reset, expected",
    [
        ({}, "FULL_TABLE", False, FIRST_RUN),
        ({"last_replication_method": "FULL_TABLE"}, "FULL_TABLE", False, FIRST_RUN),
        ({"version": 1, "last_evaluated_key": {"id": {"S": "a"}}}, "FULL_TABLE", False, RESUMED),
        ({"version": 1, "scan_segments": 4, "segment_keys": {}}, "FULL_TABLE", False, RESUMED),
        ({"version": 1, "initial_full_table_complete": True}, "FULL_TABLE", False, NEW_VERSION),
        ({"version": 1, "initial_full_table_complete": True, "shard_seq_numbers": {}}, "LOG_BASED", False, RESUMED),
        ({}, "LOG_BASED", True, RESET),
    ],
)
def test_start_origin(bookmark, method, was_reset, expected):
    assert start_origin(Bookmark.from_dict(bookmark), method, was_reset) == expected


def test_report_counts_pages_and_emits_record_count_points(caplog):
    caplog.set_level(logging.INFO)
    report = Report(interval=3600)
    report.start("orders", "FULL_TABLE", FIRST_RUN)
    report.page("orders", 1000)
    report.page("orders", 500)
    assert _metrics(caplog) == []  # nothing before the interval has passed
    entry = report.finish("orders", 1500)
    assert (entry.records, entry.pages) == (1500, 2)
    assert _metrics(caplog) == [
        {"type": "counter", "metric": "record_count", "value": 1500, "tags": {"endpoint": "orders"}}
    ]


def test_record_count_is_emitted_every_interval_with_the_increment(caplog):
    caplog.set_level(logging.INFO)
    report = Report(interval=0)
    report.start("orders", "FULL_TABLE", FIRST_RUN)
    report.page("orders", 3)
    report.page("orders", 4)
    report.finish("orders", 7)
    assert [m["value"] for m in _metrics(caplog)] == [3, 4, 0]


def test_finish_counts_records_a_reader_did_not_report_per_page(caplog):
    caplog.set_level(logging.INFO)
    report = Report(interval=3600)
    report.start("events", "LOG_BASED", RESUMED)
    report.shard("events")
    entry = report.finish("events", 42)
    assert entry.records == 42
    assert [m["value"] for m in _metrics(caplog)] == [42]


def test_summary_has_one_aligned_line_per_stream():
    report = Report()
    report.start("orders", "FULL_TABLE", FIRST_RUN)
    report.page("orders", 10)
    report.finish("orders", 10)
    report.start("events", "LOG_BASED", RESUMED)
    report.reset("events")
    report.shard("events")
    report.shard("events")
    report.ttl_deletes_skipped("events", 3)
    report.ttl_deletes_skipped("events", 0)
    report.ttl_deletes_skipped("events", 2)
    lines = report.summary_lines()
    assert lines[0].split()[:8] == [
        "stream",
        "method",
        "records",
        "pages",
        "shards",
        "ttl-skipped",
        "seconds",
        "records/s",
    ]
    orders, events = lines[1].split(), lines[2].split()
    assert orders[:6] == ["orders", "FULL_TABLE", "10", "1", "-", "-"]
    assert lines[1].endswith(FIRST_RUN)
    assert events[:6] == ["events", "LOG_BASED", "0", "0", "2", "5"]
    column = lines[0].index("ttl-skipped")
    assert (lines[1][column], lines[2][column]) == ("-", "5")
    assert lines[2].endswith(f"{STREAM_RESET}; did not finish")
    assert lines[0].index("method") == lines[1].index("FULL_TABLE") == lines[2].index("LOG_BASED")


def test_summary_gives_lag_and_margin_of_log_based_streams_only(caplog):
    caplog.set_level(logging.INFO)
    clock = [1767225600.0]
    report = Report(wall_clock=lambda: clock[0])
    report.start("orders", "FULL_TABLE", FIRST_RUN)
    report.finish("orders", 0)
    report.start("events", "LOG_BASED", RESUMED)
    created = lambda t: {"dynamodb": {"ApproximateCreationDateTime": t}}  # noqa: E731
    report.changes_page("events", [created(clock[0] - 7 * 3600), created(clock[0] - 3600)])
    report.changes_page("events", [])
    report.changes_page("events", [{"dynamodb": {}}, created(clock[0] - 65)])
    clock[0] += 10
    entry = report.lag("events", 6)
    report.finish("events", 3)
    assert (entry.lag, entry.margin) == (75, 17 * 3600)
    header, orders, events = report.summary_lines()
    assert header.split()[6:] == ["seconds", "records/s", "lag", "margin", "started"]
    assert orders.split()[8:10] == ["-", "-"] and orders.endswith(FIRST_RUN)
    assert events.split()[8:10] == ["1m15s", "17h00m"] and events.endswith(RESUMED)
    assert header.index("margin") == orders.index("-", header.index("margin")) == events.index("17h00m")
    assert [m["metric"] for m in _metrics(caplog) if m["type"] == "timer"] == ["change_lag", "retention_margin"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def _stubbed(service: str):
    client = boto3.client(
        service,
        region_name="us-east-1",
        aws_access_key_id="k",
        aws_secret_access_key="s",
        endpoint_url="http://127.0.0.1:9",
    )
    install_request_timers(client)
    return client, Stubber(client)


def test_scan_calls_get_one_timer_each_at_debug(caplog):
    caplog.set_level(logging.DEBUG, logger="tap_dynamodb")
    client, stub = _stubbed("dynamodb")
    stub.add_response("scan", {"Items": [], "Count": 0}, {"TableName": "orders"})
    stub.add_client_error("scan", "ResourceNotFoundException", http_status_code=400)
    stub.add_response("list_tables", {"TableNames": []})
    with stub:
        client.scan(TableName="orders")
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.scan(TableName="gone")
        client.list_tables()
    timers = _metrics(caplog)
    assert [t["tags"] for t in timers] == [
        {"endpoint": "Scan", "status": "succeeded", "http_status_code": 200, "table": "orders"},
        {"endpoint": "Scan", "status": "failed", "http_status_code": 400, "table": "gone"},
    ]
    assert all(t["type"] == "timer" and t["metric"] == "http_request_duration" and t["value"] >= 0 for t in timers)
    levels = [r.levelno for r in caplog.records if r.getMessage().startswith("METRIC: ")]
    assert levels == [logging.DEBUG, logging.INFO]  # a succeeded call at DEBUG, a failed one at INFO


def test_request_timers_of_succeeded_calls_stay_out_of_the_info_log(caplog):
    """One timer per page made most of a long sync's stderr (issue 12, point 11)."""
    caplog.set_level(logging.INFO)
    client, stub = _stubbed("dynamodb")
    for _ in range(3):
        stub.add_response("scan", {"Items": [], "Count": 0}, {"TableName": "orders"})
    with stub:
        for _ in range(3):
            client.scan(TableName="orders")
    assert [r for r in caplog.records if r.levelno >= logging.INFO] == []


def test_get_records_calls_are_timed(caplog):
    caplog.set_level(logging.DEBUG, logger="tap_dynamodb")
    client, stub = _stubbed("dynamodbstreams")
    stub.add_response("get_records", {"Records": []}, {"ShardIterator": "it"})
    with stub:
        client.get_records(ShardIterator="it")
    assert [t["tags"] for t in _metrics(caplog)] == [
        {"endpoint": "GetRecords", "status": "succeeded", "http_status_code": 200}
    ]


# ------------------------------------------------------------------------------------------
# progress lines (issue 12, point 11)
# ------------------------------------------------------------------------------------------


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _progress(caplog) -> list:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("Progress of ")]


def test_progress_line_every_interval_with_records_rate_percent_and_eta(caplog):
    caplog.set_level(logging.INFO)
    clock = Clock()
    report = Report(interval=5, clock=clock)
    report.start("orders", "FULL_TABLE", FIRST_RUN, item_count=60000)
    clock.now += 2
    report.page("orders", 1000)
    assert _progress(caplog) == [] and _metrics(caplog) == []  # not before the interval
    clock.now += 3
    report.page("orders", 14000)  # 15000 records in 5 s
    clock.now += 1
    report.page("orders", 1000)
    clock.now += 4
    report.page("orders", 14000)  # 30000 records in 10 s
    assert _progress(caplog) == [
        "Progress of orders: 15000 records, 3000 records/s, ~25% of ~60000 items, ETA 15s",
        "Progress of orders: 30000 records, 3000 records/s, ~50% of ~60000 items, ETA 10s",
    ]
    assert [m["value"] for m in _metrics(caplog)] == [15000, 15000]  # record_count: increments, same cadence


def test_percent_never_passes_100_when_item_count_is_stale(caplog):
    """ItemCount is refreshed by AWS about every 6 hours: a table may hold more items."""
    caplog.set_level(logging.INFO)
    clock = Clock()
    report = Report(interval=5, clock=clock)
    report.start("orders", "FULL_TABLE", FIRST_RUN, item_count=1000)
    clock.now += 5
    report.page("orders", 999)
    clock.now += 5
    report.page("orders", 1001)
    lines = _progress(caplog)
    assert lines[0] == "Progress of orders: 999 records, 200 records/s, ~99% of ~1000 items, ETA 0s"
    assert lines[1].startswith("Progress of orders: 2000 records, 200 records/s, past the ~1000 items of ItemCount")
    assert "%" not in lines[1] and "ETA" not in lines[1]


def test_no_percent_without_an_item_count_or_for_a_resumed_scan(caplog):
    caplog.set_level(logging.INFO)
    clock = Clock()
    report = Report(interval=5, clock=clock)
    report.start("fresh", "FULL_TABLE", FIRST_RUN, item_count=None)
    report.start("resumed", "FULL_TABLE", RESUMED, item_count=5000)
    report.scan_started("resumed", resumed=True)
    clock.now += 5
    report.page("fresh", 100)
    report.page("resumed", 100)
    fresh, resumed = _progress(caplog)
    assert fresh == "Progress of fresh: 100 records, 20 records/s"
    assert resumed.startswith("Progress of resumed: 100 records, 20 records/s (resumed scan")
    assert "%" not in resumed and "ETA" not in resumed


def test_log_based_percent_covers_the_initial_load_only(caplog):
    """Past the initial load the number of changes to come is unknown: no percent."""
    caplog.set_level(logging.INFO)
    clock = Clock()
    report = Report(interval=5, clock=clock)
    report.start("events", "LOG_BASED", FIRST_RUN, item_count=400)
    report.scan_started("events", resumed=False)
    clock.now += 5
    report.page("events", 100)
    report.changes_started("events")
    clock.now += 5
    report.page("events", 50)
    scan, changes = _progress(caplog)
    assert scan == "Progress of events: 100 records, 20 records/s, ~25% of ~400 items, ETA 15s"
    assert changes.startswith("Progress of events: 150 records; DynamoDB stream: 50 changes, 10 records/s")
    assert "%" not in changes and "ETA" not in changes


def test_a_log_based_reset_scans_again_against_the_item_count(caplog):
    caplog.set_level(logging.INFO)
    clock = Clock()
    report = Report(interval=5, clock=clock)
    report.start("events", "LOG_BASED", RESUMED, item_count=400)
    report.changes_started("events")
    report.reset("events")
    report.scan_started("events", resumed=False)
    clock.now += 5
    report.page("events", 200)
    assert _progress(caplog) == ["Progress of events: 200 records, 40 records/s, ~50% of ~400 items, ETA 5s"]


def test_progress_costs_nothing_per_item_and_nothing_before_the_interval(caplog):
    caplog.set_level(logging.INFO)
    clock = Clock()
    report = Report(interval=5, clock=clock)
    report.start("orders", "FULL_TABLE", FIRST_RUN, item_count=10)
    for _ in range(100):
        report.page("orders", 1)
    assert _progress(caplog) == [] and report.streams["orders"].pages == 100


@pytest.mark.parametrize(
    "seconds, text", [(0.4, "0s"), (59, "59s"), (61, "1m01s"), (3599, "59m59s"), (3600, "1h00m"), (90061, "25h01m")]
)
def test_durations_read_as_a_person_would_write_them(seconds, text):
    assert format_duration(seconds) == text


def test_item_count_is_the_tables_or_the_indexs():
    table = {
        "ItemCount": 600,
        "GlobalSecondaryIndexes": [{"IndexName": "by_g", "ItemCount": 200}],
        "LocalSecondaryIndexes": [{"IndexName": "by_l", "ItemCount": 550}],
    }
    assert item_count(table, None) == 600
    assert item_count(table, "by_g") == 200
    assert item_count(table, "by_l") == 550
    assert item_count(table, "gone") is None
    assert item_count({}, None) is None
