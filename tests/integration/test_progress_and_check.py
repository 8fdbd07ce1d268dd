"""`--test` against DynamoDB Local, and the progress metrics and sync report a real sync prints."""

import re

from devtools.dynamodb_local import free_port
from tests.helpers import metric_points


def _metric_points(stderr: str) -> list:
    return metric_points(stderr.splitlines())


def test_connection_check_counts_tables(run_tap, make_table, tap_config):
    name = make_table(name_prefix="check")
    result = run_tap("--test", config=tap_config.with_(tables=[name]))
    match = re.fullmatch(
        r"tap-dynamodb: connection OK: (\d+) tables? at (\S+), 1 matching tables/exclude_tables\n", result.stderr
    )
    assert match, result.stderr
    assert result.stdout == ""
    assert int(match.group(1)) >= 1 and match.group(2) == tap_config["endpoint_url"]


def test_connection_check_fails_with_one_line(run_tap, tap_config):
    closed = f"http://127.0.0.1:{free_port()}"
    result = run_tap("--test", config=tap_config.with_(endpoint_url=closed, max_attempts=1), check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        (
            f"tap-dynamodb: error: cannot connect to {closed} while listing tables; "
            "check endpoint_url/region_name and the network"
        )
    ]


def test_sync_prints_metrics_and_a_report_per_table(run_tap, make_table, catalog_for, tap_config):
    items = [{"id": {"S": f"k{n:04d}"}, "v": {"N": str(n)}} for n in range(250)]
    name = make_table(items=items, name_prefix="report")
    config = tap_config.with_(scan_page_size=100, scan_segments=1)
    result = run_tap(catalog=catalog_for(name, config=config), config=config)

    points = _metric_points(result.stderr)
    # request timers of calls that succeeded are logged at DEBUG (tests/integration/test_progress_lines.py)
    assert not [p for p in points if p["metric"] == "http_request_duration"]
    counts = [p for p in points if p["metric"] == "record_count" and p["tags"] == {"endpoint": name}]
    assert sum(p["value"] for p in counts) == 250

    assert f"INFO Starting FULL_TABLE sync of {name} (first run)" in result.stderr
    report = result.stderr[result.stderr.index("INFO Sync report:") :].splitlines()
    assert report[1].split()[1:9] == [
        "stream",
        "method",
        "records",
        "pages",
        "shards",
        "ttl-skipped",
        "seconds",
        "records/s",
    ]
    row = report[2].split()
    assert row[1:7] == [name, "FULL_TABLE", "250", "3", "-", "-"] and report[2].endswith("first run")
    assert float(row[7]) >= 0 and float(row[8]) > 0


def test_report_says_when_a_sync_resumed_from_a_bookmark(run_tap, make_table, catalog_for, tap_config):
    items = [{"id": {"S": f"k{n:04d}"}} for n in range(30)]
    name = make_table(items=items, name_prefix="resume")
    config = tap_config.with_(scan_page_size=10, scan_segments=1)
    catalog = catalog_for(name, config=config)
    full = run_tap(catalog=catalog, config=config)
    # The state written after the first page, as an interrupted run would have left it.
    mid_scan = next(s for s in full.states() if s["bookmarks"][name].get("last_evaluated_key"))
    resumed = run_tap(catalog=catalog, config=config, state=mid_scan)
    assert f"Starting FULL_TABLE sync of {name} (resumed from bookmark)" in resumed.stderr
    assert resumed.stderr.rstrip().endswith("resumed from bookmark")
    assert len(resumed.records(name)) == 20


def test_log_based_report_and_metrics_give_lag_and_margin(ddb, run_tap, make_table, catalog_for, tap_config):
    name = make_table(stream="NEW_AND_OLD_IMAGES", items=[{"id": {"S": "a"}, "v": {"N": "1"}}], name_prefix="lag")
    config = tap_config.with_(tables=[name])
    catalog = catalog_for(name, method="LOG_BASED", config=config)
    first = run_tap(catalog=catalog, config=config)
    ddb.put_item(TableName=name, Item={"id": {"S": "b"}, "v": {"N": "2"}})
    second = run_tap(catalog=catalog, config=config, state=first.last_state)
    assert len(second.records(name)) == 1

    points = {p["metric"]: p for p in _metric_points(second.stderr) if p["tags"] == {"endpoint": name}}
    # DynamoDB Local rounds ApproximateCreationDateTime to the minute: the change is at most minutes old
    assert points["change_lag"]["type"] == "timer" and 0 <= points["change_lag"]["value"] < 600
    assert points["retention_margin"]["type"] == "timer"
    assert 23.5 * 3600 < points["retention_margin"]["value"] <= 24 * 3600
    report = second.stderr[second.stderr.index("INFO Sync report:") :].splitlines()
    assert report[1].split()[9:12] == ["lag", "margin", "started"]
    row = report[2].split()
    assert row[1:3] == [name, "LOG_BASED"] and re.fullmatch(r"\d+s|\d+m\d\ds", row[9])
    assert re.fullmatch(r"2[34]h\d\dm", row[10])
    assert "of margin left" not in second.stderr  # no warning with a whole day to spare
