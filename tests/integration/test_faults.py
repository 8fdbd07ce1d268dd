"""Faults on the wire: the tap, pointed at a fault-injecting proxy, ends with exactly the records
it reads without faults; every retry is logged once with its cause; non-retryable errors fail at
once; a fault that outlasts the retry budget ends the run with a bookmark the next run resumes from.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.faultproxy import RETRYABLE_FAULTS

ITEMS = 400
PAGE = 5
FAULT_RATE = 0.10
REQUEST_TIMEOUT = 2
# The text a retry WARNING carries for each kind of fault.
CAUSE_TEXT = {
    "throughput": "HTTP 400 ProvisionedThroughputExceededException",
    "throttling": "HTTP 400 ThrottlingException",
    "http500": "HTTP 500 InternalServerError",
    "http503": "HTTP 503 ServiceUnavailableException",
    "drop": "response body cut short",
    "timeout": "ReadTimeoutError",
}
RETRY_LINE = re.compile(r"^WARNING DynamoDB (?:Streams )?(\w+) failed \((.+)\); retrying, attempt (\d+) of (\d+)$")


def make_items(count: int) -> list:
    return [{"id": {"S": f"item-{n:04d}"}, "n": {"N": str(n)}, "payload": {"S": "x" * (n % 50)}} for n in range(count)]


def record_lines(result, stream: str) -> list:
    """Records as sorted canonical JSON lines, so two runs compare exactly (duplicates count)."""
    return sorted(json.dumps(r, sort_keys=True, default=str) for r in result.records(stream))


def retry_lines(stderr: str) -> list:
    return [m.groups() for m in map(RETRY_LINE.match, stderr.splitlines()) if m]


@pytest.fixture
def paged_table(make_table):
    return make_table(items=make_items(ITEMS), name_prefix="faults")


@pytest.fixture
def full_table_catalog(run_tap, paged_table, select_streams):
    catalog = run_tap("--discover").catalog
    return select_streams(catalog, [paged_table])


@pytest.mark.parametrize("segments", [1, 4], ids=["one-segment", "four-segments"])
def test_full_table_sync_through_faults_equals_clean_sync(
    segments, run_tap, tap_config, fault_proxy, paged_table, full_table_catalog
):
    config = tap_config.with_(scan_page_size=PAGE, scan_segments=segments)
    clean = run_tap(config=config, catalog=full_table_catalog)
    proxy = fault_proxy(rate=FAULT_RATE, seed=11 + segments, timeout_delay=REQUEST_TIMEOUT + 1.5)
    faulty = run_tap(
        config=config.with_(endpoint_url=proxy.url, request_timeout=REQUEST_TIMEOUT), catalog=full_table_catalog
    )

    assert len(clean.records(paged_table)) == ITEMS
    assert record_lines(faulty, paged_table) == record_lines(clean, paged_table)
    counts = proxy.counts()
    faults = {kind: counts[kind] for kind in RETRYABLE_FAULTS}
    assert all(faults.values()), f"every kind of fault must have happened: {counts}"
    requests = sum(counts.values())
    print(f"{segments} segment(s): {requests} requests, faults {dict(faults)}")
    assert 0.05 < sum(faults.values()) / requests < 0.2, counts

    retries = retry_lines(faulty.stderr)
    assert len(retries) == sum(faults.values()), "one WARNING per retry, no more, no less"
    for kind, text in CAUSE_TEXT.items():
        assert sum(1 for _, cause, _, _ in retries if cause == text) == faults[kind], (kind, retries)
    assert {op for op, _, _, _ in retries} <= {"Scan", "DescribeTable"}
    assert all(total == "10" and 2 <= int(attempt) <= 10 for _, _, attempt, total in retries)
    assert "Traceback" not in faulty.stderr


@pytest.mark.parametrize(
    "kind, expected",
    [
        ("access_denied", "AccessDeniedException"),
        ("resource_not_found", "no longer exists"),
        ("validation", "ValidationException"),
    ],
)
def test_non_retryable_scan_errors_fail_at_once(
    kind, expected, run_tap, tap_config, fault_proxy, paged_table, full_table_catalog
):
    proxy = fault_proxy(rule=lambda op, n: kind if op == "Scan" else "pass")
    result = run_tap(config=tap_config.with_(endpoint_url=proxy.url), catalog=full_table_catalog, check=False)

    assert result.returncode != 0
    assert proxy.operations().count("Scan") == 1, "a non-retryable error is not retried"
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("tap-dynamodb: error:") and expected in last_line
    assert paged_table in last_line
    assert not retry_lines(result.stderr) and "Traceback" not in result.stderr


def test_fault_past_retry_budget_ends_run_and_next_run_resumes(
    run_tap, tap_config, fault_proxy, paged_table, full_table_catalog
):
    good_scans = 6
    seen = {"scans": 0}

    def rule(operation, _number):
        if operation != "Scan":
            return "pass"
        seen["scans"] += 1
        return "pass" if seen["scans"] <= good_scans else "http503"

    proxy = fault_proxy(rule=rule)
    config = tap_config.with_(scan_page_size=PAGE, scan_segments=1, max_attempts=3)
    failed = run_tap(config=config.with_(endpoint_url=proxy.url), catalog=full_table_catalog, check=False)

    assert failed.returncode != 0
    assert proxy.operations().count("Scan") == good_scans + 3, "max_attempts counts every attempt"
    assert len(retry_lines(failed.stderr)) == 2
    last_line = failed.stderr.strip().splitlines()[-1]
    assert "kept failing" in last_line and "max_attempts" in last_line and "resumes" in last_line
    first_records = failed.records(paged_table)
    assert len(first_records) == good_scans * PAGE
    bookmark = failed.last_state["bookmarks"][paged_table]
    assert bookmark["last_evaluated_key"] == {"id": {"S": first_records[-1]["id"]}}

    resumed = run_tap(config=config, catalog=full_table_catalog, state=failed.last_state)
    rest = resumed.records(paged_table)
    assert len(rest) == ITEMS - len(first_records)
    assert {r["id"] for r in first_records} | {r["id"] for r in rest} == {f"item-{n:04d}" for n in range(ITEMS)}
    assert resumed.last_state["bookmarks"][paged_table]["initial_full_table_complete"] is True


STREAM_OPERATIONS = {"DescribeStream", "GetShardIterator", "GetRecords"}


def test_log_based_sync_through_faults_equals_clean_sync(
    ddb, make_table, run_tap, tap_config, fault_proxy, select_streams
):
    table = make_table(stream="NEW_AND_OLD_IMAGES", items=make_items(150), name_prefix="faultlog")
    config = tap_config.with_(scan_page_size=PAGE, scan_segments=1, stream_tip_empty_pages=8)
    catalog = select_streams(
        run_tap("--discover", config=config.with_(tables=[table])).catalog, [table], method="LOG_BASED"
    )
    proxy = fault_proxy(rate=FAULT_RATE, seed=5, timeout_delay=REQUEST_TIMEOUT + 1.5)
    faulty_config = config.with_(endpoint_url=proxy.url, request_timeout=REQUEST_TIMEOUT)

    clean_initial = run_tap(config=config, catalog=catalog)
    faulty_initial = run_tap(config=faulty_config, catalog=catalog)
    assert record_lines(faulty_initial, table) == record_lines(clean_initial, table)
    assert len(clean_initial.records(table)) == 150

    for n in range(0, 150, 3):  # pending changes: updates, new items and deletes
        ddb.put_item(TableName=table, Item={"id": {"S": f"item-{n:04d}"}, "n": {"N": str(-n)}})
        ddb.put_item(TableName=table, Item={"id": {"S": f"new-{n:04d}"}, "n": {"N": str(n)}})
        ddb.delete_item(TableName=table, Key={"id": {"S": f"item-{n + 1:04d}"}})
    clean = run_tap(config=config, catalog=catalog, state=clean_initial.last_state)
    faulty = run_tap(config=faulty_config, catalog=catalog, state=faulty_initial.last_state)

    assert len(clean.records(table)) == 150
    assert record_lines(faulty, table) == record_lines(clean, table)
    stream_faults = [op for op, answer in proxy.log if answer != "ok" and op in STREAM_OPERATIONS]
    print(f"LOG_BASED: {len(proxy.log)} requests, faults {dict(proxy.counts())}, on stream calls {stream_faults}")
    assert "GetRecords" in stream_faults
    retries = retry_lines(faulty_initial.stderr) + retry_lines(faulty.stderr)
    assert len(retries) == sum(n for answer, n in proxy.counts().items() if answer != "ok")
    assert {op for op, _, _, _ in retries} & STREAM_OPERATIONS
