"""INCREMENTAL's windows (replication/incremental.py): AWS's 15-minute to 24-hour limits, in order, no gap."""

from __future__ import annotations

import datetime as dt

import pytest

from tap_dynamodb.errors import TapError
from tap_dynamodb.replication.incremental import LONGEST_WINDOW, SHORTEST_WINDOW, window_after, window_start
from tap_dynamodb.settings import parse_config

T0 = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)


def windows(start: dt.datetime, end: dt.datetime, longest: dt.timedelta) -> list[tuple[dt.datetime, dt.datetime]]:
    out = []
    while (to := window_after(start, end, longest)) is not None:
        out.append((window_start(start, to), to))
        start = to
    return out


def test_a_span_is_cut_into_contiguous_windows_of_at_most_the_longest():
    got = windows(T0, T0 + 51 * H, LONGEST_WINDOW)
    assert got == [(T0, T0 + 24 * H), (T0 + 24 * H, T0 + 48 * H), (T0 + 48 * H, T0 + 51 * H)]
    assert windows(T0, T0 + 2 * H, dt.timedelta(minutes=45))[-1] == (T0 + 90 * M, T0 + 2 * H)


def test_less_than_fifteen_minutes_is_not_requested_yet():
    assert window_after(T0, T0 + 14 * M, LONGEST_WINDOW) is None
    assert window_after(T0, T0 + SHORTEST_WINDOW, LONGEST_WINDOW) == T0 + SHORTEST_WINDOW
    assert windows(T0, T0 + 24 * H + 10 * M, LONGEST_WINDOW) == [(T0, T0 + 24 * H)]  # the 10 minutes wait


def test_no_window_is_longer_than_a_day_whatever_the_setting():
    assert window_after(T0, T0 + 100 * H, dt.timedelta(hours=30)) == T0 + LONGEST_WINDOW


def test_a_short_last_piece_of_a_catch_up_starts_earlier_and_overlaps():
    assert window_start(T0 + 24 * H, T0 + 24 * H + 5 * M) == T0 + 24 * H + 5 * M - SHORTEST_WINDOW
    assert window_start(T0, T0 + 20 * M) == T0


@pytest.mark.parametrize("hours", ["0.1", "25", "-1"])
def test_window_hours_outside_aws_limits_are_refused(hours):
    with pytest.raises(TapError, match="incremental_window_hours"):
        parse_config({"region_name": "us-east-1", "incremental_window_hours": hours})


def test_settings_defaults():
    config = parse_config({"region_name": "us-east-1"})
    assert config.incremental_window_hours == 24
    assert config.incremental_safety_margin_minutes == 15
    assert config.incremental_export_view == "NEW_AND_OLD_IMAGES"
    assert config.stream_gap_export_recovery is True


def test_the_sync_report_keeps_a_line_for_every_window_read_in_the_run():
    from tap_dynamodb.output.report import Report

    report = Report(interval=1e9)
    report.start("orders", "INCREMENTAL", "resumed from bookmark", 10)
    for n, items in ((1, 3), (2, 5)):
        report.export_started(
            "orders", f"arn:aws:dynamodb:r:1:table/orders/export/0176463360000{n}-0000000{n}", "new", 1.0, 1
        )
        report.export_records("orders", items)
        report.export_file("orders", 100 * n)
        report.export_finished("orders")
    report.finish("orders", 8)
    lines = [line for line in report.summary_lines() if line.startswith("export of orders")]
    assert [line.split(", ")[-1] for line in lines] == ["3 items", "5 items"]
    assert "00000001" in lines[0] and "00000002" in lines[1]
