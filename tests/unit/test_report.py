"""The sync report, record_count metrics and Scan/GetRecords request timers."""

import json
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
    start_origin,
)
from tap_dynamodb.replication.bookmarks import Bookmark


def _metrics(caplog) -> list:
    return [
        json.loads(r.getMessage().split("METRIC: ", 1)[1])
        for r in caplog.records
        if r.getMessage().startswith("METRIC: ")
    ]


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
    lines = report.summary_lines()
    assert lines[0].split()[:7] == ["stream", "method", "records", "pages", "shards", "seconds", "records/s"]
    orders, events = lines[1].split(), lines[2].split()
    assert orders[:5] == ["orders", "FULL_TABLE", "10", "1", "-"]
    assert lines[1].endswith(FIRST_RUN)
    assert events[:5] == ["events", "LOG_BASED", "0", "0", "2"]
    assert lines[2].endswith(f"{STREAM_RESET}; did not finish")
    assert lines[0].index("method") == lines[1].index("FULL_TABLE") == lines[2].index("LOG_BASED")


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


def test_scan_calls_get_one_timer_each(caplog):
    caplog.set_level(logging.INFO)
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


def test_get_records_calls_are_timed(caplog):
    caplog.set_level(logging.INFO)
    client, stub = _stubbed("dynamodbstreams")
    stub.add_response("get_records", {"Records": []}, {"ShardIterator": "it"})
    with stub:
        client.get_records(ShardIterator="it")
    assert [t["tags"] for t in _metrics(caplog)] == [
        {"endpoint": "GetRecords", "status": "succeeded", "http_status_code": 200}
    ]
