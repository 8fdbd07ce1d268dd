"""Full reads from DynamoDB exports, end to end through the export control-plane TEST DOUBLE
(devtools/export_double.py) and a real S3 server: the same records as a Scan, the checks made
before any output, FAILED exports, reuse, damaged files, kill -9 and resume, and LOG_BASED whose
initial load is an export."""

from __future__ import annotations

import json
import random
import signal

import pytest

from tests import helpers
from tests.integration.test_kill9 import run_and_kill

BIG = "12345678901234567890123456789012345678"


def by_id(records: list[dict]) -> list[dict]:
    return sorted(records, key=lambda r: r["id"])


@pytest.fixture
def exported_table(make_table, export_double, export_config, catalog_for):
    """(table, catalog, config): a table of 230 items with PITR on, several data files per export
    (and an empty partition's file), its catalog selected FULL_TABLE, a config reading from exports."""
    export_double.partitions = 5
    export_double.items_per_file = 20
    export_double.in_progress_polls = 2
    table = make_table(items=helpers.export_items(230), name_prefix="export")
    export_double.enable_pitr(table)
    catalog = catalog_for(table)
    return table, catalog, export_config.with_(full_table_source="export")


def test_full_table_from_an_export_writes_exactly_the_scans_records(exported_table, export_double, run_tap, tap_config):
    table, catalog, config = exported_table
    scanned = run_tap(catalog=catalog, config=tap_config)
    exported = run_tap(catalog=catalog, config=config)
    assert len(scanned.records()) == 230
    assert by_id(exported.records()) == by_id(scanned.records())  # exact numbers, binary, sets, nested maps
    assert exported.schemas()[-1]["schema"] == scanned.schemas()[-1]["schema"]
    versions = {m["version"] for m in exported.record_messages()}
    assert len(versions) == 1 and exported.of_type("ACTIVATE_VERSION")[0]["version"] in versions
    assert len(helpers.export_requests(export_double)) == 1
    bookmark = exported.last_state["bookmarks"][table]
    assert "export" not in bookmark and bookmark["initial_full_table_complete"] and bookmark["last_export_time"]
    assert "(new), waited" in exported.stderr and "files" in exported.stderr
    points = helpers.metric_points(exported.stderr.splitlines())
    assert {p["metric"] for p in points} >= {"export_wait", "export_files", "export_bytes", "export_items"}
    assert sum(p["value"] for p in points if p["metric"] == "export_items") == 230


def test_pitr_off_fails_before_any_output_with_one_line(make_table, export_double, export_config, catalog_for, run_tap):
    table = make_table(items=helpers.export_items(3), name_prefix="nopitr")
    catalog = catalog_for(table)
    result = run_tap(catalog=catalog, config=export_config.with_(full_table_source="export"), check=False)
    assert result.returncode != 0 and result.stdout == ""
    (line,) = [line for line in result.stderr.splitlines() if "error:" in line]
    assert table in line and "point-in-time recovery" in line and "scan" in line
    assert helpers.export_requests(export_double) == []


def test_a_missing_or_unreachable_bucket_fails_before_any_output(exported_table, run_tap):
    _table, catalog, config = exported_table
    missing = run_tap(catalog=catalog, config=config.with_(export_s3_bucket=None), check=False)
    assert missing.returncode != 0 and missing.stdout == "" and "export_s3_bucket is missing" in missing.stderr
    absent = run_tap(catalog=catalog, config=config.with_(export_s3_bucket="no-such-bucket-here"), check=False)
    assert absent.returncode != 0 and absent.stdout == "" and "no-such-bucket-here" in absent.stderr


def test_a_failed_export_is_one_line_with_aws_failure_code_and_message(exported_table, export_double, run_tap):
    table, catalog, config = exported_table
    export_double.fail_next_export("S3AccessDenied", "Access denied to the bucket")
    result = run_tap(catalog=catalog, config=config, check=False)
    assert result.returncode != 0
    (line,) = [line for line in result.stderr.splitlines() if "error:" in line]
    assert "FAILED (S3AccessDenied: Access denied to the bucket)" in line and table in line
    assert result.records() == [] and "export" not in result.last_state["bookmarks"][table]
    again = run_tap(catalog=catalog, config=config, state=result.last_state)  # the next run asks anew
    assert len(again.records()) == 230 and len(helpers.export_requests(export_double)) == 2


def test_ion_is_refused_with_one_line(exported_table, run_tap):
    _table, catalog, config = exported_table
    result = run_tap(catalog=catalog, config=config.with_(export_format="ION"), check=False)
    assert result.returncode != 0 and result.stdout == ""
    assert "export_format ION is not supported" in result.stderr


def test_a_recent_completed_export_is_reused_without_requesting_one(exported_table, export_double, run_tap):
    _table, catalog, config = exported_table
    first = run_tap(catalog=catalog, config=config)
    assert len(helpers.export_requests(export_double)) == 1
    again = run_tap(catalog=catalog, config=config.with_(export_reuse_max_age_minutes=60))
    assert len(helpers.export_requests(export_double)) == 1, "a reusable export was requested again"
    assert "Reusing export" in again.stderr and "(reused)" in again.stderr
    assert by_id(again.records()) == by_id(first.records())
    export_double.advance_clock(2 * 3600)  # now older than the limit: a new export
    run_tap(catalog=catalog, config=config.with_(export_reuse_max_age_minutes=60))
    assert len(helpers.export_requests(export_double)) == 2


@pytest.mark.parametrize("how", ["count", "md5", "truncate"])
def test_a_damaged_export_is_a_clear_error_naming_the_file(how, exported_table, export_double, run_tap):
    _table, catalog, config = exported_table
    run_tap(catalog=catalog, config=config)
    export_arn = next(e["ExportArn"] for e in _descriptions(export_double))
    key = export_double.corrupt(export_arn, how)
    assert key.endswith(".json.gz")
    result = run_tap(catalog=catalog, config=config.with_(export_reuse_max_age_minutes=60), check=False)
    assert result.returncode != 0
    (line,) = [line for line in result.stderr.splitlines() if "error:" in line]
    if how == "count":  # the manifests no longer add up: found before any file is read
        assert "manifest-files.json lists 231" in line and "disagree" in line
        return
    assert key in line
    assert {"md5": "MD5", "truncate": "truncated"}[how] in line


def _descriptions(double) -> list[dict]:
    """Every export the double made, as DescribeExport answers them."""
    arns = []
    for operation, params in double.requests:
        if operation == "DescribeExport" and params["ExportArn"] not in arns:
            arns.append(params["ExportArn"])
    return [{"ExportArn": arn} for arn in arns]


KILLS = 8


def test_kill_9_anywhere_in_an_export_read_loses_nothing_and_requests_one_export(
    make_table, export_double, export_config, catalog_for, tmp_path, s3_server
):
    """Passes of killed and resumed runs: each pass ends with every item written and exactly one
    export requested for it, whatever the points the runs were killed at. Items of 40 KB make
    several chunks per data file, so runs are also killed inside a file and resume from its line."""
    export_double.partitions, export_double.items_per_file = 3, 60
    items = [{**item, "pad": {"S": "x" * 40_000}} for item in helpers.export_items(230)]
    table = make_table(items=items, name_prefix="export_kill")
    export_double.enable_pitr(table)
    catalog = catalog_for(table)
    config = export_config.with_(full_table_source="export")
    all_ids = {f"k{n:04d}" for n in range(230)}
    mid_file, ids_of = 0, {}
    rng = random.Random(13)
    state, seen, kills, passes, exports_before = None, set(), 0, 0, 0
    for number in range(80):
        kill_after = rng.randint(0, 150) if kills < KILLS else None
        run = run_and_kill(
            tmp_path / f"run{number}", dict(config), catalog, state, kill_after, after_state=kills % 2 == 1
        )
        for message in run.messages:  # no STATE reaches the reader before the records it covers
            if message.get("type") == "RECORD":
                seen.add(message["record"]["id"])
            elif message.get("type") == "STATE":
                bookmark = message["value"]["bookmarks"].get(table, {})
                arn = (bookmark.get("export") or {}).get("export_arn")
                if arn:
                    ids = ids_of.setdefault(arn, helpers.export_file_ids(export_double, s3_server, arn))
                    missing = helpers.export_covered_ids(bookmark, ids) - seen
                    assert not missing, f"a STATE arrived before {len(missing)} of the records it covers"
        mid_file += any(s["bookmarks"].get(table, {}).get("export", {}).get("file_lines") for s in run.states())
        if run.states():
            state = run.states()[-1]
        if run.killed:
            assert run.returncode == -signal.SIGKILL
            kills += 1
            continue
        assert run.returncode == 0, run.stderr[-3000:]
        assert seen == all_ids, f"{len(all_ids - seen)} items lost"
        requested = len(helpers.export_requests(export_double))
        assert requested - exports_before == 1, "a resumed run requested a second export"
        assert "export" not in state["bookmarks"][table]
        exports_before, seen, state, passes = requested, set(), None, passes + 1
        if kills >= KILLS:
            break
    assert kills == KILLS and passes >= 1
    assert mid_file, "no STATE ever bookmarked a file in progress"


def test_log_based_initial_load_by_export_then_changes_from_the_stream(
    make_table, export_double, export_config, catalog_for, run_tap
):
    export_double.partitions, export_double.items_per_file = 3, 30
    table = make_table(items=helpers.export_items(80), stream="NEW_AND_OLD_IMAGES", name_prefix="logexport")
    export_double.enable_pitr(table)
    config = export_config.with_(full_table_source="export")
    catalog = catalog_for(table, method="LOG_BASED")
    first = run_tap(catalog=catalog, config=config)
    assert {r["id"] for r in first.records()} == {f"k{n:04d}" for n in range(80)}
    assert len(helpers.export_requests(export_double)) == 1
    client = helpers.client_via(export_double)
    client.put_item(TableName=table, Item={"id": {"S": "new"}, "n": {"N": "1"}})
    client.delete_item(TableName=table, Key={"id": {"S": "k0001"}})
    second = run_tap(catalog=catalog, config=config, state=first.last_state)
    changed = {r["id"]: r for r in second.records()}
    assert set(changed) == {"new", "k0001"} and changed["k0001"].get("_sdc_deleted_at")
    assert len(helpers.export_requests(export_double)) == 1, "the stream, not a new export, carried the changes"
    assert json.dumps(second.last_state["bookmarks"][table].get("shard_seq_numbers"))


def _deselect(catalog: dict, table: str, column: str) -> dict:
    entry = helpers.find_stream(catalog, table)
    entry["metadata"].append({"breadcrumb": ["properties", column], "metadata": {"selected": False}})
    return catalog


@pytest.mark.parametrize("variant", ["packed", "string-numbers", "deselected-column", "row-filter", "projection"])
def test_every_record_option_gives_the_scans_records(variant, exported_table, run_tap, tap_config):
    """Record format, number format, column selection and row filters act on an export read as on a
    Scan: the options are applied in the workers, by the same value pipeline."""
    table, catalog, config = exported_table
    catalog = json.loads(json.dumps(catalog))
    top = helpers.top_level_metadata(helpers.find_stream(catalog, table))
    scan_config = tap_config
    if variant == "packed":
        config, scan_config = config.with_(record_format="packed"), tap_config.with_(record_format="packed")
    elif variant == "string-numbers":
        config, scan_config = config.with_(number_format="string"), tap_config.with_(number_format="string")
    elif variant == "deselected-column":
        _deselect(catalog, table, "m")
    elif variant == "row-filter":
        top["tap-dynamodb.filter-expression"] = "begins_with(id, :p) OR attribute_exists(late)"
        top["tap-dynamodb.expression-values"] = {":p": {"S": "k01"}}
    else:
        top["tap-mongodb.projection"] = "id, m.inner.x, ss, #u"
        top["tap-dynamodb.expression-attributes"] = {"#u": "ünï name"}
    scanned = run_tap(catalog=catalog, config=scan_config)
    exported = run_tap(catalog=catalog, config=config)
    assert scanned.records() and by_id(exported.records()) == by_id(scanned.records())
    assert exported.schemas()[-1]["schema"] == scanned.schemas()[-1]["schema"]


def test_an_index_view_is_scanned_when_exports_come_from_the_config(
    make_table, export_double, export_config, run_tap, select_streams
):
    table = make_table(
        items=[{"id": {"S": f"k{n}"}, "g": {"S": "x"}} for n in range(5)],
        global_indexes=[("by_g", ("g", "S"), None, "ALL")],
        name_prefix="view",
    )
    export_double.enable_pitr(table)
    config = export_config.with_(full_table_source="export", tables=[table])
    catalog = run_tap("--discover", config=config).catalog
    view = next(e["tap_stream_id"] for e in catalog["streams"] if e["tap_stream_id"] != table)
    select_streams(catalog, [view])
    result = run_tap(catalog=catalog, config=config)
    assert len(result.records()) == 5 and "which DynamoDB cannot export: it is scanned" in result.stderr
    assert helpers.export_requests(export_double) == []


def test_log_based_writes_between_the_noted_position_and_the_export_are_not_lost(
    make_table, export_double, export_config, catalog_for, run_tap
):
    """Changes made after the stream position is noted but before the export's time is taken reach
    the first run: the export is at or after the position, and the stream is read from it."""
    table = make_table(items=helpers.export_items(20), stream="NEW_IMAGE", name_prefix="logexport_gap")
    export_double.enable_pitr(table)
    client = helpers.client_via(export_double)
    written = []

    def write_now(operation, params):
        if operation == "DescribeContinuousBackups" and not written and export_double.requests[:-1]:
            client.put_item(TableName=table, Item={"id": {"S": "during"}, "n": {"N": "7"}})
            client.put_item(TableName=table, Item={"id": {"S": "k0002"}, "n": {"N": "99"}})
            written.append(operation)

    catalog = catalog_for(table, method="LOG_BASED")
    export_double.on_request = write_now
    first = run_tap(catalog=catalog, config=export_config.with_(full_table_source="export"))
    export_double.on_request = None
    assert written
    last = {}
    for record in first.records():
        last[record["id"]] = record
    assert "during" in last and last["k0002"]["n"] == 99
