"""When a LOG_BASED gap is bridged by export, and when not (replication/catch_up.py), with a fake DynamoDB seam."""

from __future__ import annotations

import datetime as dt
import io
import logging
from types import SimpleNamespace

import pytest

from tap_dynamodb.catalog.plan import selected_streams
from tap_dynamodb.output.writer import MessageWriter
from tap_dynamodb.replication import catch_up
from tap_dynamodb.replication.bookmarks import State
from tap_dynamodb.replication.context import SyncContext
from tap_dynamodb.settings import parse_config

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 12, 2, 12, tzinfo=UTC)


class FakeDynamoDB:
    def __init__(self, earliest, enabled=True):
        self.pitr = {
            "PointInTimeRecoveryStatus": "ENABLED" if enabled else "DISABLED",
            "EarliestRestorableDateTime": earliest,
            "LatestRestorableDateTime": NOW,
        }

    def describe_continuous_backups(self, table_name):
        return {"PointInTimeRecoveryDescription": self.pitr}

    def aws_clock(self, table_name):
        return self.describe_continuous_backups(table_name), "Wed, 02 Dec 2026 12:00:07 GMT"


def context(bookmark, earliest=NOW - dt.timedelta(days=3), enabled=True, **config):
    catalog = {"streams": [{"tap_stream_id": "t", "metadata": [{"breadcrumb": [], "metadata": {"selected": True}}]}]}
    (plan,) = selected_streams(catalog)
    parsed = parse_config({"region_name": "us-east-1", "export_s3_bucket": "b", **config})
    clients = SimpleNamespace(dynamodb=FakeDynamoDB(earliest, enabled))
    state = State.load({"bookmarks": {"t": bookmark}})
    return SyncContext(parsed, clients, MessageWriter(io.BytesIO()), state), plan  # type: ignore[arg-type]


READ_UNTIL = {"stream_read_until": "2026-12-01T00:00:00.000000Z"}


def test_bridged_from_the_later_of_the_two_times_with_the_end_past_aws_clock(caplog):
    ctx, plan = context({**READ_UNTIL, "last_export_time": "2026-12-01T06:00:00.000000Z"})
    noted = []
    assert catch_up.start(ctx, plan, "the stream has aged out", lambda: noted.append(True))
    windows = ctx.state.bookmark("t").windows
    assert noted and windows.exported_until == "2026-12-01T06:00:00.000000Z"
    assert windows.catch_up_until == "2026-12-02T12:00:08.000000Z"  # the Date header plus its second
    assert "Bridging the gap by incremental export from 2026-12-01T06:00:00" in caplog.text


@pytest.mark.parametrize(
    "bookmark, kwargs, why",
    [
        (READ_UNTIL, {"export_s3_bucket": None}, "export_s3_bucket is not set"),
        (READ_UNTIL, {"stream_gap_export_recovery": False}, "stream_gap_export_recovery is false"),
        ({}, {}, "no time up to which changes were written"),
        (READ_UNTIL, {"enabled": False}, "point-in-time recovery is off"),
        (READ_UNTIL, {"earliest": NOW - dt.timedelta(hours=1)}, "reaches back to 2026-12-02T11:00:00"),
        (  # a gap of 5 minutes, PITR 10 minutes old: the shortest export would start before it
            {"stream_read_until": "2026-12-02T11:55:00.000000Z"},
            {"earliest": NOW - dt.timedelta(minutes=10)},
            "the shortest incremental export (15 minutes) reaches back to 2026-12-02T11:45:00",
        ),
    ],
)
def test_not_bridged_says_why(caplog, bookmark, kwargs, why):
    caplog.set_level(logging.WARNING)
    earliest = kwargs.pop("earliest", NOW - dt.timedelta(days=3))
    enabled = kwargs.pop("enabled", True)
    ctx, plan = context(bookmark, earliest, enabled, **kwargs)
    assert not catch_up.start(ctx, plan, "the stream has aged out", lambda: pytest.fail("noted a position"))
    assert "not bridged by incremental export" in caplog.text and why in caplog.text
    assert ctx.state.bookmark("t").windows.exported_until is None


def test_stream_read_until_only_moves_forward():
    ctx, plan = context(dict(READ_UNTIL))
    catch_up.stream_read(ctx, plan, dt.datetime(2026, 11, 30, tzinfo=UTC))
    assert ctx.state.bookmark("t").windows.stream_read_until == READ_UNTIL["stream_read_until"]
    catch_up.stream_read(ctx, plan, NOW)
    assert ctx.state.bookmark("t").windows.stream_read_until == "2026-12-02T12:00:00.000000Z"
    catch_up.stream_read(ctx, plan, None)
    assert ctx.state.bookmark("t").windows.stream_read_until == "2026-12-02T12:00:00.000000Z"
