"""Progress lines of real syncs (issue 12, point 11): records so far, records/s and, where the
item count is known (DescribeTable's ItemCount, the index's for an index stream), percent and an
ETA; none past a LOG_BASED stream's initial load. Request timers stay out of the INFO log.

In-process runs with the progress interval set to 0, so every page prints its line.
"""

from __future__ import annotations

import logging

import pytest

from tests.helpers import metric_points


@pytest.fixture
def every_page(monkeypatch, caplog):
    monkeypatch.setattr("tap_dynamodb.output.report.RECORD_COUNT_INTERVAL", 0.0)
    caplog.set_level(logging.INFO, logger="tap_dynamodb")
    return caplog


def progress(caplog, stream: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"Progress of {stream}: ")]


def items(count: int) -> list[dict]:
    out = []
    for n in range(count):
        item = {"id": {"S": f"k{n:04d}"}, "v": {"N": str(n)}}
        if n % 3 == 0:
            item["g"] = {"S": f"g{n % 4}"}  # 10 of 30 items are in the sparse index
        out.append(item)
    return out


def test_full_table_progress_counts_against_the_tables_item_count(
    make_table, tap_config, catalog_for, sync_in_process, every_page
):
    name = make_table(items=items(30), name_prefix="prog_ft")
    config = tap_config.with_(scan_page_size=10, scan_segments=1)
    sync_in_process(catalog_for(name, config=config), config)

    lines = progress(every_page, name)
    assert lines[0].startswith(f"Progress of {name}: 10 records, ") and "~33% of ~30 items, ETA " in lines[0]
    assert "~66% of ~30 items" in lines[1]
    assert all(" records/s" in line for line in lines)


def test_an_index_stream_counts_against_the_indexs_item_count(
    make_table, tap_config, catalog_for, sync_in_process, every_page, run_tap, select_streams
):
    name = make_table(items=items(30), name_prefix="prog_idx", global_indexes=[("by_g", ("g", "S"), None, "ALL")])
    config = tap_config.with_(scan_page_size=5, scan_segments=1, tables=[name])
    discovered = run_tap("--discover", config=config.path).catalog
    index_entry = next(s for s in discovered["streams"] if s["tap_stream_id"] != name)
    sync_in_process(select_streams(discovered, [index_entry["tap_stream_id"]], "FULL_TABLE"), config)

    lines = progress(every_page, index_entry["stream"])
    assert lines and "~50% of ~10 items" in lines[0]  # 5 of the index's 10, not of the table's 30


def test_log_based_shows_percent_for_the_initial_load_only(
    ddb, make_table, tap_config, run_tap, select_streams, sync_in_process, every_page
):
    name = make_table(stream="NEW_IMAGE", items=items(20), name_prefix="prog_lb")
    config = tap_config.with_(tables=[name], scan_page_size=10, scan_segments=1)
    catalog = select_streams(run_tap("--discover", config=config.path).catalog, name, method="LOG_BASED")
    first = sync_in_process(catalog, config)
    initial = progress(every_page, name)
    assert any("~50% of ~20 items" in line for line in initial)

    every_page.clear()
    for n in range(3):
        ddb.put_item(TableName=name, Item={"id": {"S": f"new{n}"}, "v": {"N": "1"}})
    sync_in_process(catalog, config, state=first.last_state)
    changes = progress(every_page, name)
    assert changes and all("DynamoDB stream" in line for line in changes)
    assert not any("%" in line or "ETA" in line for line in changes)


def test_a_sync_logs_no_request_timer_at_info_and_every_one_at_debug(run_tap, make_table, catalog_for, tap_config):
    name = make_table(items=items(25), name_prefix="prog_timers")
    config = tap_config.with_(scan_page_size=10, scan_segments=1)
    catalog = catalog_for(name, config=config)

    quiet = run_tap(catalog=catalog, config=config)
    assert "http_request_duration" not in quiet.stderr
    assert '"metric": "record_count"' in quiet.stderr

    verbose = run_tap("--log-level", "DEBUG", catalog=catalog, config=config)
    debug_lines = (line for line in verbose.stderr.splitlines() if line.startswith("DEBUG METRIC: "))
    timers = [p for p in metric_points(debug_lines) if p["metric"] == "http_request_duration"]
    scans = [t for t in timers if t["tags"]["endpoint"] == "Scan" and t["tags"].get("table") == name]
    assert len(scans) == 3  # 10 + 10 + 5
