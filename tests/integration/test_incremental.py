"""INCREMENTAL replication through incremental exports, against the export double (devtools/export_double.py).

Writes go through the double (a boto3 client at its endpoint) so that its journal, which its
incremental exports are made of, sees them; time passes by moving the double's clock, never by
waiting: the tap takes "now" from LatestRestorableDateTime, which follows that clock.
"""

from __future__ import annotations

import pytest

from tests import helpers

MINUTE = 60
HOUR = 3600


def test_discovery_offers_incremental_with_pitr_and_reports_its_window(
    export_double, export_config, make_table, run_tap
):
    with_pitr, without = make_table(name_prefix="inc_pitr"), make_table(name_prefix="inc_nopitr")
    export_double.enable_pitr(with_pitr)
    catalog = run_tap("--discover", config=export_config.with_(tables=[with_pitr, without]).path).catalog
    top = helpers.top_level_metadata(helpers.find_stream(catalog, with_pitr))
    assert top["tap-dynamodb.valid-replication-methods"] == ["FULL_TABLE", "INCREMENTAL"]
    assert top["tap-dynamodb.pitr-status"] == "ENABLED"
    assert top["tap-dynamodb.pitr-earliest-restorable"] <= top["tap-dynamodb.pitr-latest-restorable"]
    other = helpers.top_level_metadata(helpers.find_stream(catalog, without))
    assert other["tap-dynamodb.valid-replication-methods"] == ["FULL_TABLE"]
    assert other["tap-dynamodb.pitr-status"] == "DISABLED"


@pytest.mark.parametrize("view", ["NEW_AND_OLD_IMAGES", "NEW_IMAGE"])
def test_first_run_is_a_full_export_then_each_run_reads_the_changes(
    export_double, export_config, make_table, run_tap, view
):
    name = make_table(name_prefix="inc_flow")  # no DynamoDB stream: INCREMENTAL needs none
    export_double.enable_pitr(name)
    client = helpers.client_via(export_double)
    for key in "abc":
        helpers.put_item(client, name, key, v=1)
    config, catalog = helpers.discover_only(
        run_tap, export_config.with_(incremental_export_view=view), name, "INCREMENTAL"
    )

    first = run_tap(catalog=catalog, config=config.path)
    assert sorted(r["id"] for r in first.records()) == ["a", "b", "c"]
    assert len(first.of_type("ACTIVATE_VERSION")) == 1
    bookmark = first.last_state["bookmarks"][name]
    assert bookmark["initial_full_table_complete"] is True
    assert bookmark["exported_until"] == bookmark["last_export_time"]
    assert "export" not in bookmark and helpers.export_requests(export_double, "INCREMENTAL_EXPORT") == []

    helpers.put_item(client, name, "a", v=2)
    helpers.put_item(client, name, "d", v=1)
    helpers.delete_item(client, name, "b")
    helpers.put_item(client, name, "c", v=5)
    helpers.delete_item(client, name, "c")  # changed then deleted in the window: one delete
    helpers.put_item(client, name, "e", v=1)
    helpers.delete_item(client, name, "e")  # created and deleted inside the window: nothing at all
    export_double.advance_clock(40 * MINUTE)

    second = run_tap(catalog=catalog, config=config.path, state=first.last_state)
    records = helpers.records_by_id(second.records())
    assert set(records) == {"a", "b", "c", "d"}
    assert records["a"] == {"id": "a", "v": 2} and records["d"] == {"id": "d", "v": 1}
    for key, old in (("b", 1), ("c", 1)):  # the old image is the item as the window found it
        deleted = records[key]
        assert deleted["_sdc_deleted_at"].endswith("Z")
        assert deleted.get("v") == (old if view == "NEW_AND_OLD_IMAGES" else None)
        assert "_sdc_deleted_by_ttl" not in deleted  # an export does not say who deleted
    assert all(m["version"] == first.record_messages()[0]["version"] for m in second.record_messages())
    (request,) = helpers.export_requests(export_double, "INCREMENTAL_EXPORT")
    assert request["IncrementalExportSpecification"]["ExportViewType"] == view
    assert request["IncrementalExportSpecification"]["ExportFromTime"] is not None
    again = second.last_state["bookmarks"][name]
    assert again["exported_until"] > bookmark["exported_until"]
    assert "export_window_to" not in again and "export" not in again
    assert not second.of_type("ACTIVATE_VERSION")

    third = run_tap(catalog=catalog, config=config.path, state=second.last_state)
    assert third.records() == []
    assert (
        len(helpers.export_requests(export_double, "INCREMENTAL_EXPORT")) == 1
    )  # under 15 minutes since: nothing requested
    assert "shortest incremental export" in third.stderr


def test_a_table_without_pitr_is_one_line_before_anything_is_read(export_double, export_config, make_table, run_tap):
    name = make_table(name_prefix="inc_off")
    export_double.enable_pitr(name)
    config, catalog = helpers.discover_only(run_tap, export_config, name, "INCREMENTAL")
    export_double.disable_pitr(name)
    result = run_tap(catalog=catalog, config=config.path, check=False)
    assert result.returncode != 0 and result.messages == []
    assert "point-in-time recovery" in result.stderr and name in result.stderr
    assert "update-continuous-backups" in result.stderr


def test_a_long_span_is_read_in_windows_of_at_most_a_day_in_order(export_double, export_config, make_table, run_tap):
    name = make_table(name_prefix="inc_windows")
    export_double.enable_pitr(name)
    client = helpers.client_via(export_double)
    helpers.put_item(client, name, "k", v=0)
    config, catalog = helpers.discover_only(run_tap, export_config, name, "INCREMENTAL")
    first = run_tap(catalog=catalog, config=config.path)
    start = first.last_state["bookmarks"][name]["exported_until"]

    helpers.put_item(client, name, "k", v=1)  # window 1
    export_double.advance_clock(30 * HOUR)
    helpers.put_item(client, name, "k", v=2)  # window 2
    helpers.put_item(client, name, "gone", v=1)
    export_double.advance_clock(20 * HOUR)
    helpers.delete_item(client, name, "gone")  # window 3
    export_double.advance_clock(1 * HOUR)

    second = run_tap(catalog=catalog, config=config.path, state=first.last_state)
    specs = [r["IncrementalExportSpecification"] for r in helpers.export_requests(export_double, "INCREMENTAL_EXPORT")]
    assert len(specs) == 3  # 51 h less the 15-minute margin: 24 h, 24 h, 2 h 45 min
    assert specs[0]["ExportFromTime"] == start_seconds(start)
    for earlier, later in zip(specs, specs[1:]):
        assert earlier["ExportToTime"] == later["ExportFromTime"]  # contiguous, in order
    assert all(s["ExportToTime"] - s["ExportFromTime"] <= 24 * HOUR for s in specs)
    changes = [(r["id"], r.get("v"), "_sdc_deleted_at" in r) for r in second.records()]
    assert changes == [("k", 1, False), ("k", 2, False), ("gone", 1, False), ("gone", 1, True)]
    windows_done = [
        s["bookmarks"][name]["exported_until"] for s in second.states() if "exported_until" in s["bookmarks"][name]
    ]
    assert windows_done == sorted(windows_done) and len(set(windows_done)) == 4  # the start and each window's end


def start_seconds(text: str) -> float:
    """A bookmark's time as epoch seconds (the double logs request times as botocore sent them)."""
    import datetime as dt

    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc).timestamp()


@pytest.mark.parametrize("kill_after", [1, 120, 260])
def test_killed_inside_a_window_resumes_it_losing_nothing_and_requesting_nothing_new(
    export_double, export_config, make_table, run_tap, tmp_path, kill_after
):
    from tests.integration.test_kill9 import run_and_kill

    name = make_table(name_prefix="inc_kill")
    export_double.enable_pitr(name)
    export_double.items_per_file = 15  # many data files per window, a STATE after each chunk
    client = helpers.client_via(export_double)
    config, catalog = helpers.discover_only(run_tap, export_config.with_(export_workers=1), name, "INCREMENTAL")
    first = run_tap(catalog=catalog, config=config.path)
    changed = {f"k{n:03d}" for n in range(300)}
    helpers.batch_write(client, name, [{"id": {"S": key}, "v": {"N": "1"}} for key in sorted(changed)])
    export_double.advance_clock(40 * MINUTE)

    killed = run_and_kill(tmp_path / "killed", dict(config), catalog, first.last_state, kill_after, True)
    assert killed.killed, killed.stderr[-2000:]
    state = killed.states()[-1]
    assert "export_window_to" in state["bookmarks"][name]  # killed inside the window
    resumed = run_tap(catalog=catalog, config=config.path, state=state)
    seen = [r["id"] for r in killed.records() + resumed.records()]
    assert set(seen) == changed  # nothing lost
    assert len(seen) - len(changed) <= killed.records_after_last_state()  # repeats: only after the last STATE
    assert (
        len({p["ClientToken"] for p in helpers.export_requests(export_double, "INCREMENTAL_EXPORT")}) == 1
    )  # the same export
    assert "(resumed)" in resumed.stderr
    done = resumed.last_state["bookmarks"][name]
    assert "export_window_to" not in done and done["exported_until"] == state["bookmarks"][name]["export_window_to"]


def test_pitr_that_no_longer_reaches_back_reads_the_table_again_or_fails(
    export_double, export_config, make_table, run_tap
):
    name = make_table(name_prefix="inc_lost")
    export_double.enable_pitr(name)
    client = helpers.client_via(export_double)
    helpers.put_item(client, name, "a", v=1)
    config, catalog = helpers.discover_only(run_tap, export_config, name, "INCREMENTAL")
    first = run_tap(catalog=catalog, config=config.path)
    helpers.put_item(client, name, "b", v=1)
    export_double.advance_clock(2 * HOUR)
    export_double.disable_pitr(name)
    export_double.enable_pitr(name)  # the changes since the first run are gone from PITR

    failed = run_tap(
        catalog=catalog, config=config.with_(on_stream_gap="fail").path, state=first.last_state, check=False
    )
    assert failed.returncode != 0 and "no longer all in point-in-time recovery" in failed.stderr
    assert failed.records() == []

    again = run_tap(catalog=catalog, config=config.path, state=first.last_state)
    assert "Resetting its bookmarks and reading the whole table again" in again.stderr
    assert sorted(r["id"] for r in again.records()) == ["a", "b"]
    version = first.last_state["bookmarks"][name]["version"]
    assert [m["version"] for m in again.of_type("ACTIVATE_VERSION")] == [again.record_messages()[0]["version"]]
    assert again.record_messages()[0]["version"] != version  # a new copy, activated once complete
    assert helpers.export_requests(export_double, "INCREMENTAL_EXPORT") == []


def test_a_first_read_by_scan_starts_the_windows_before_the_scan(export_double, export_config, make_table, run_tap):
    name = make_table(name_prefix="inc_scan", items=[{"id": {"S": key}, "v": {"N": "1"}} for key in "ab"])
    export_double.enable_pitr(name)
    client = helpers.client_via(export_double)
    config, catalog = helpers.discover_only(run_tap, export_config, name, "INCREMENTAL")
    top = helpers.top_level_metadata(helpers.find_stream(catalog, name))
    top["tap-dynamodb.full-table-source"] = "scan"
    first = run_tap(catalog=catalog, config=config.path)
    assert sorted(r["id"] for r in first.records()) == ["a", "b"]
    assert [p for p, _ in export_double.requests if p == "ExportTableToPointInTime"] == []  # scanned
    bookmark = first.last_state["bookmarks"][name]
    assert bookmark["exported_until"] and "last_export_time" not in bookmark

    helpers.put_item(client, name, "b", v=2)
    export_double.advance_clock(HOUR)
    second = run_tap(catalog=catalog, config=config.path, state=first.last_state)
    assert [(r["id"], r["v"]) for r in second.records()] == [("b", 2)]
    (request,) = helpers.export_requests(export_double, "INCREMENTAL_EXPORT")
    assert request["IncrementalExportSpecification"]["ExportFromTime"] == start_seconds(bookmark["exported_until"])


def test_a_failed_window_is_forgotten_and_the_next_run_asks_anew(export_double, export_config, make_table, run_tap):
    name = make_table(name_prefix="inc_failed")
    export_double.enable_pitr(name)
    client = helpers.client_via(export_double)
    config, catalog = helpers.discover_only(run_tap, export_config, name, "INCREMENTAL")
    first = run_tap(catalog=catalog, config=config.path)
    helpers.put_item(client, name, "a", v=1)
    export_double.advance_clock(40 * MINUTE)
    export_double.fail_next_export("S3AccessDenied", "no access to the bucket")

    failed = run_tap(catalog=catalog, config=config.path, state=first.last_state, check=False)
    assert failed.returncode != 0 and "FAILED" in failed.stderr and "S3AccessDenied" in failed.stderr
    bookmark = failed.last_state["bookmarks"][name]
    assert "export" not in bookmark and "export_window_to" not in bookmark
    assert bookmark["exported_until"] == first.last_state["bookmarks"][name]["exported_until"]

    export_double.advance_clock(MINUTE)
    again = run_tap(catalog=catalog, config=config.path, state=failed.last_state)
    assert [r["id"] for r in again.records()] == ["a"]
    assert (
        len({p["ClientToken"] for p in helpers.export_requests(export_double, "INCREMENTAL_EXPORT")}) == 2
    )  # a new export, not the failed one


def test_packed_records_and_a_row_filter_go_through_the_same_pipeline(
    export_double, export_config, make_table, run_tap
):
    name = make_table(name_prefix="inc_packed")
    export_double.enable_pitr(name)
    client = helpers.client_via(export_double)
    helpers.put_item(client, name, "a", v=1)
    helpers.put_item(client, name, "b", v=1)
    config, catalog = helpers.discover_only(run_tap, export_config.with_(record_format="packed"), name, "INCREMENTAL")
    top = helpers.top_level_metadata(helpers.find_stream(catalog, name))
    top["tap-dynamodb.filter-expression"] = "v < :most"
    top["tap-dynamodb.expression-values"] = {":most": {"N": "5"}}
    first = run_tap(catalog=catalog, config=config.path)
    assert sorted(r["id"] for r in first.records()) == ["a", "b"]
    helpers.put_item(client, name, "a", v=2)  # stays inside the filter: an upsert
    helpers.put_item(client, name, "b", v=9)  # leaves it: a delete of the row
    helpers.put_item(client, name, "c", v=7)  # never inside it: nothing
    export_double.advance_clock(40 * MINUTE)

    second = run_tap(catalog=catalog, config=config.path, state=first.last_state)
    (schema,) = second.schemas()
    assert {"_sdc_item", "_sdc_deleted_at"} <= set(schema["schema"]["properties"])
    records = helpers.records_by_id(second.records())
    assert set(records) == {"a", "b"}
    assert records["a"]["_sdc_item"] == {"id": "a", "v": 2} and "_sdc_deleted_at" not in records["a"]
    assert records["b"]["_sdc_deleted_at"] and records["b"]["_sdc_item"] == {"id": "b", "v": 1}
