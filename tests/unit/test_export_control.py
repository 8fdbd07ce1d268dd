"""The export control plane (aws/exports.py) against a stand-in of the DynamoDB seam, the export
bookmark (ExportProgress), the export settings and metadata, and schema widening from workers."""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.exceptions import ClientError

from tap_dynamodb.aws import exports
from tap_dynamodb.catalog.plan import selected_streams
from tap_dynamodb.errors import TapError
from tap_dynamodb.replication.bookmarks import Bookmark, ExportProgress
from tap_dynamodb.settings import parse_config
from tap_dynamodb.values.schema import widen_properties

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 12, 1, 12, 0, 0, 123456, tzinfo=UTC)
TABLE_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
TARGET = exports.ExportTarget("bucket", "pre", None, None, None, "DYNAMODB_JSON")


def arn(ms: int) -> str:
    return f"{TABLE_ARN}/export/{ms:014d}-0a1b2c3d"


class FakeApi:
    """The DynamoDB seam's export calls, scripted."""

    def __init__(self, pitr="ENABLED", statuses=(), exports_=()):
        self.pitr = pitr
        self.statuses = list(statuses)
        self.exports = {e["ExportArn"]: e for e in exports_}
        self.calls = []

    def describe_continuous_backups(self, table):
        self.calls.append(("DescribeContinuousBackups", table))
        description = {"PointInTimeRecoveryStatus": self.pitr}
        if self.pitr == "ENABLED":
            description["LatestRestorableDateTime"] = NOW
        return {"PointInTimeRecoveryDescription": description}

    def export_table_to_point_in_time(self, params):
        self.calls.append(("ExportTableToPointInTime", params))
        if self.pitr != "ENABLED":
            raise ClientError(
                {"Error": {"Code": exports.PITR_UNAVAILABLE, "Message": "off"}}, "ExportTableToPointInTime"
            )
        return {"ExportArn": arn(1), "ExportStatus": "IN_PROGRESS"}

    def describe_export(self, export_arn):
        self.calls.append(("DescribeExport", export_arn))
        if export_arn in self.exports:
            return self.exports[export_arn]
        return self.statuses.pop(0)

    def list_exports(self, table_arn):
        self.calls.append(("ListExports", table_arn))
        return [
            {"ExportArn": e["ExportArn"], "ExportStatus": e["ExportStatus"], "ExportType": e["ExportType"]}
            for e in self.exports.values()
        ]


def test_pitr_off_is_one_line_naming_the_table_and_both_ways_out():
    with pytest.raises(TapError) as caught:
        exports.check_pitr(FakeApi(pitr="DISABLED"), "orders", "orders")
    message = str(caught.value)
    assert "orders" in message and "point-in-time recovery" in message and "to scan" in message
    assert "update-continuous-backups" in message and "\n" not in message
    assert exports.check_pitr(FakeApi(), "orders", "orders") == NOW


def test_a_request_refused_for_pitr_is_the_same_line():
    with pytest.raises(TapError, match="needs point-in-time recovery"):
        exports.request_export(FakeApi(pitr="DISABLED"), "orders", "orders", TABLE_ARN, TARGET, NOW)


def test_the_client_token_is_the_same_for_the_same_request_and_differs_otherwise():
    api = FakeApi()
    exports.request_export(api, "orders", "orders", TABLE_ARN, TARGET, NOW)
    exports.request_export(api, "orders", "orders", TABLE_ARN, TARGET, NOW)
    exports.request_export(api, "orders", "orders", TABLE_ARN, TARGET, NOW + dt.timedelta(microseconds=1))
    tokens = [params["ClientToken"] for name, params in api.calls]
    assert tokens[0] == tokens[1] != tokens[2]
    params = api.calls[0][1]
    assert params["ExportTime"] == NOW and params["ExportType"] == "FULL_EXPORT" and params["S3Prefix"] == "pre"
    other_prefix = exports.ExportTarget("bucket", "other", None, None, None, "DYNAMODB_JSON")
    assert exports.client_token(TABLE_ARN, "FULL_EXPORT", "t", None, TARGET) != exports.client_token(
        TABLE_ARN, "FULL_EXPORT", "t", None, other_prefix
    )


def test_waiting_polls_with_backoff_logs_and_returns_the_completed_description(caplog):
    api = FakeApi(statuses=[{"ExportStatus": "IN_PROGRESS"}] * 3 + [{"ExportStatus": "COMPLETED", "ExportArn": "a"}])
    sleeps, now = [], [0.0]

    def sleep(seconds):
        sleeps.append(seconds)
        now[0] += seconds

    with caplog.at_level("INFO"):
        description, waited = exports.wait_for_export(api, "s", "a", 2.0, 60, sleep=sleep, clock=lambda: now[0])
    assert description["ExportStatus"] == "COMPLETED"
    assert sleeps == [2.0, 3.0, 4.5] and waited == 9.5
    assert "is IN_PROGRESS (waited 2.0 s)" in caplog.text


def test_a_failed_export_is_one_line_with_its_code_and_message():
    failed = {"ExportStatus": "FAILED", "FailureCode": "S3AccessDenied", "FailureMessage": "no PutObject"}
    with pytest.raises(TapError, match="FAILED \\(S3AccessDenied: no PutObject\\)"):
        exports.wait_for_export(FakeApi(statuses=[failed]), "s", "a", 1, 60, sleep=lambda s: None)


def test_an_export_that_takes_too_long_stops_the_run_and_says_the_next_one_waits_on():
    api = FakeApi(statuses=[{"ExportStatus": "IN_PROGRESS"}] * 100)
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    with pytest.raises(TapError, match="export_timeout_minutes"):
        exports.wait_for_export(api, "s", "a", 10, 1, sleep=sleep, clock=lambda: now[0])


def described(ms: int, minutes_old: float, status="COMPLETED", kind="FULL_EXPORT", fmt="DYNAMODB_JSON") -> dict:
    return {
        "ExportArn": arn(ms),
        "ExportStatus": status,
        "ExportType": kind,
        "ExportFormat": fmt,
        "ExportTime": NOW - dt.timedelta(minutes=minutes_old),
    }


def test_reuse_picks_the_newest_completed_full_export_within_the_age():
    now_ms = int(NOW.timestamp() * 1000)
    candidates = [
        described(now_ms - 50 * 60_000, 50),  # too old
        described(now_ms - 20 * 60_000, 20),  # fits
        described(now_ms - 5 * 60_000, 10),  # newest ExportTime that fits
        described(now_ms - 1 * 60_000, 1, status="FAILED"),
        described(now_ms - 2 * 60_000, 2, kind="INCREMENTAL_EXPORT"),
        described(now_ms - 3 * 60_000, 3, fmt="ION"),
    ]
    api = FakeApi(exports_=candidates)
    best = exports.find_reusable(api, TABLE_ARN, 30, NOW, "DYNAMODB_JSON")
    assert best["ExportArn"] == arn(now_ms - 5 * 60_000)
    assert ("DescribeExport", arn(now_ms - 50 * 60_000)) not in api.calls  # requested before the cut-off
    assert exports.find_reusable(api, TABLE_ARN, 0, NOW, "DYNAMODB_JSON") is None
    assert exports.find_reusable(FakeApi(exports_=candidates[:1]), TABLE_ARN, 30, NOW, "DYNAMODB_JSON") is None


def test_export_progress_round_trips_and_bad_fields_are_named():
    progress = ExportProgress(arn(1), exports.iso(NOW), [0, 2], {"1": 500})
    bookmark = Bookmark(version=1, export=progress, last_export_time=exports.iso(NOW))
    raw = bookmark.to_dict()
    assert raw["export"] == {
        "export_arn": arn(1),
        "export_time": "2026-12-01T12:00:00.123456Z",
        "files_done": [0, 2],
        "file_lines": {"1": 500},
    }
    again = Bookmark.from_dict(raw)
    assert again.export == progress and again.to_dict() == raw
    assert again.export.lines_done(1) == 500 and again.export.lines_done(3) == 0 and again.export.is_done(2)
    again.export.chunk_written(1, 900, False)
    again.export.chunk_written(3, 10, True)
    assert again.export.file_lines == {"1": 900} and again.export.files_done == [0, 2, 3]
    assert "export" not in Bookmark().to_dict()
    for bad, words in (
        ({"export": []}, "must be an object"),
        ({"export": {"export_arn": "nope"}}, "not an export ARN"),
        ({"export": {"export_arn": arn(1), "files_done": [-1]}}, "files_done"),
        ({"export": {"export_arn": arn(1), "file_lines": {"a": 1}}}, "file_lines"),
        ({"export": {"export_time": "yesterday"}}, "export.export_time"),
        ({"export": {"files_done": [1]}}, "no export_arn"),
    ):
        with pytest.raises(ValueError, match=words):
            Bookmark.from_dict(bad)


def test_export_file_parts_round_trip_move_at_part_boundaries_and_are_checked():
    """Batch files of an export read: `file_parts` counts each file's announced parts, cleared with
    the file's line when the file is done; a count for a file not in progress is refused."""
    progress = ExportProgress(arn(1), "2026-12-01T12:00:00.123456Z")
    progress.chunk_written(4, 1000, False, 1)
    progress.chunk_written(4, 2000, False, 1)
    progress.chunk_written(2, 700, False, 1)
    progress.chunk_written(2, 750, True, 1)
    raw = Bookmark(export=progress).to_dict()
    assert raw["export"]["file_lines"] == {"4": 2000} and raw["export"]["file_parts"] == {"4": 2}
    assert raw["export"]["files_done"] == [2]
    again = Bookmark.from_dict(raw)
    assert again.export == progress and again.to_dict() == raw
    assert again.export.parts_announced(4) == 2 and again.export.parts_announced(2) == 0
    again.export.chunk_written(4, 2100, True)
    assert again.export.file_parts is None and "file_parts" not in again.to_dict()["export"]
    for bad, words in (
        ({"export": {"export_arn": arn(1), "file_lines": {"1": 5}, "file_parts": {"1": -1}}}, "file_parts must map"),
        ({"export": {"export_arn": arn(1), "file_lines": {"1": 5}, "file_parts": {"x": 1}}}, "file_parts must map"),
        ({"export": {"export_arn": arn(1), "file_parts": {"1": 1}}}, "not in export.file_lines"),
        (
            {"export": {"export_arn": arn(1), "files_done": [1], "file_lines": {"1": 5}, "file_parts": {"1": 1}}},
            "not in export.file_lines",
        ),
    ):
        with pytest.raises(ValueError, match=words):
            Bookmark.from_dict(bad)


def test_export_settings_defaults_and_refusals():
    config = parse_config({"region_name": "us-east-1"})
    assert (config.full_table_source, config.export_poll_seconds, config.export_workers) == ("scan", 20.0, 2)
    assert parse_config({"region_name": "x", "export_poll_seconds": "0.05"}).export_poll_seconds == 0.05
    with pytest.raises(TapError, match="export_format ION is not supported"):
        parse_config({"region_name": "x", "export_format": "ION"})
    with pytest.raises(TapError, match="needs export_s3_sse_algorithm KMS"):
        parse_config({"region_name": "x", "export_s3_kms_key_id": "k"})
    with pytest.raises(TapError, match="s3_endpoint_url must start with http"):
        parse_config({"region_name": "x", "s3_endpoint_url": "localhost:9000"})
    with pytest.raises(TapError, match="export_s3_bucket is missing"):
        exports.ExportTarget.from_config(config)


def catalog(top: dict) -> dict:
    return {
        "streams": [
            {
                "tap_stream_id": "t",
                "schema": {"type": "object", "properties": {"id": {"type": "string"}}},
                "key_properties": ["id"],
                "metadata": [{"breadcrumb": [], "metadata": {"selected": True, **top}}],
            }
        ]
    }


def test_full_table_source_metadata_and_views_that_cannot_be_exported():
    assert selected_streams(catalog({"tap-dynamodb.full-table-source": "export"}))[0].full_table_source == "export"
    assert selected_streams(catalog({}))[0].full_table_source is None
    with pytest.raises(TapError, match="must be scan or export"):
        selected_streams(catalog({"tap-dynamodb.full-table-source": "s3"}))
    with pytest.raises(TapError, match="exports whole tables only"):
        selected_streams(catalog({"tap-dynamodb.full-table-source": "export", "tap-dynamodb.index-name": "gsi"}))


def test_widening_from_a_workers_schema_merges_only_what_changed():
    schema = {"type": "object", "properties": {"id": {"type": "string"}, "n": {"type": ["null", "number"]}}}
    same = {"type": "object", "properties": {"id": {"type": "string"}, "n": {"type": ["null", "number"]}}}
    assert not widen_properties(schema, same) and schema["properties"]["id"] == {"type": "string"}
    wider = {
        "type": "object",
        "properties": {
            **same["properties"],
            "n": {"type": ["null", "number", "string"]},
            "x": {"type": ["null", "boolean"]},
        },
    }
    assert widen_properties(schema, wider)
    assert schema["properties"]["n"] == {"type": ["null", "number", "string"]} and "x" in schema["properties"]
    assert not widen_properties(schema, wider)


def test_the_report_says_which_export_how_long_it_waited_and_what_it_read(caplog):
    from tap_dynamodb.output.report import Report

    report = Report(interval=1e9)
    report.start("orders", "FULL_TABLE", "first run", 10)
    report.export_started("orders", arn(1), "reused", 75.0, 3)
    report.export_records("orders", 6)
    report.export_file("orders", 1000)
    report.export_records("orders", 4)
    report.export_file("orders", 500)
    with caplog.at_level("INFO"):
        report.export_finished("orders")
    report.finish("orders", 10)
    line = report.summary_lines()[-1]
    assert line == f"export of orders: {arn(1)} (reused), waited 1m15s, 2 of 3 files, 1500 bytes, 10 items"
    assert '"metric": "export_wait", "value": 75.0' in caplog.text or "export_files" in caplog.text
