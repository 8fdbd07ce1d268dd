"""LOG_BASED gaps bridged by incremental export (replication/catch_up.py), against the export double.

The double's clock moves past the stream's 24-hour retention (its stream records are then
trimmed, as AWS trims them), never by waiting. Two cases: the 24-hour bridge (the stream
position noted before an initial export aged out while the export was read: made to happen
by advancing the clock right after the initial load, in-process) and aged-out recovery (a
stream not read for more than a day).
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests import helpers

HOUR = 3600


def test_initial_export_outlived_by_its_stream_position_is_bridged_without_a_restart(
    export_double, export_config, make_table, run_tap, sync_in_process, monkeypatch, caplog
):
    from tap_dynamodb.replication import log_based

    name = make_table(name_prefix="bridge", stream="NEW_AND_OLD_IMAGES")
    export_double.enable_pitr(name)
    client = helpers.client_via(export_double)
    for key in "abc":
        helpers.put_item(client, name, key, v=1)  # in the stream: the noted position is a sequence number
    config, catalog = helpers.discover_only(run_tap, export_config.with_(full_table_source="export"), name, "LOG_BASED")

    loaded = log_based.sync_full_table

    def a_day_long_initial_load(*args: Any, **kwargs: Any) -> int:
        """The initial export read, as if it took 25 hours: changes meanwhile, then the stream ages out."""
        count = loaded(*args, **kwargs)
        helpers.put_item(client, name, "a", v=2)
        helpers.delete_item(client, name, "b")
        helpers.put_item(client, name, "d", v=1)
        export_double.advance_clock(25 * HOUR)
        return count

    monkeypatch.setattr(log_based, "sync_full_table", a_day_long_initial_load)
    caplog.set_level(logging.INFO, logger="tap_dynamodb")
    first = sync_in_process(catalog, config)

    assert "Bridging the gap by incremental export" in caplog.text
    assert "Resetting its bookmarks" not in caplog.text  # no restart
    assert (
        len(helpers.export_requests(export_double, "FULL_EXPORT")) == 1 and len(first.of_type("ACTIVATE_VERSION")) == 1
    )
    assert len(helpers.export_requests(export_double, "INCREMENTAL_EXPORT")) == 2  # 25 hours: a day, then the rest
    records = first.records()
    assert sorted(r["id"] for r in records[:3]) == ["a", "b", "c"]  # the initial export
    changes = helpers.records_by_id(records[3:])
    assert changes["a"]["v"] == 2 and changes["d"]["v"] == 1
    assert changes["b"]["_sdc_deleted_at"] and changes["b"]["v"] == 1
    bookmark = first.last_state["bookmarks"][name]
    assert bookmark["initial_full_table_complete"] is True
    assert not {"exported_until", "catch_up_until", "export_window_to", "export"} & set(bookmark)
    assert bookmark["stream_read_until"]

    monkeypatch.setattr(log_based, "sync_full_table", loaded)
    helpers.put_item(client, name, "e", v=1)
    second = sync_in_process(catalog, config, state=first.last_state)
    assert [r["id"] for r in second.records()] == ["e"]  # then the stream, from the position noted anew
    assert len(helpers.export_requests(export_double, "INCREMENTAL_EXPORT")) == 2


def test_a_stream_that_aged_out_is_caught_up_by_export_not_re_read(
    export_double, export_config, make_table, run_tap, caplog
):
    name = make_table(name_prefix="recover", stream="NEW_IMAGE", items=[{"id": {"S": "a"}, "v": {"N": "1"}}])
    export_double.enable_pitr(name)
    client = helpers.client_via(export_double)
    config, catalog = helpers.discover_only(run_tap, export_config, name, "LOG_BASED")  # initial load by scan
    first = run_tap(catalog=catalog, config=config.path)
    assert [r["id"] for r in first.records()] == ["a"]
    assert first.last_state["bookmarks"][name]["stream_read_until"]
    helpers.put_item(client, name, "x", v=1)
    second = run_tap(catalog=catalog, config=config.path, state=first.last_state)
    assert [r["id"] for r in second.records()] == ["x"]

    helpers.put_item(client, name, "a", v=2)
    helpers.delete_item(client, name, "x")
    export_double.advance_clock(30 * HOUR)  # a day and more without a sync: the stream aged out
    helpers.put_item(client, name, "late", v=1)  # after the trim: still in the stream

    third = run_tap(catalog=catalog, config=config.path, state=second.last_state)
    assert "Bridging the gap by incremental export" in third.stderr
    assert "re-replicating the whole table" not in third.stderr
    assert not third.of_type("ACTIVATE_VERSION") and helpers.export_requests(export_double, "FULL_EXPORT") == []
    records = helpers.records_by_id(third.records())
    assert records["a"]["v"] == 2
    # incremental_export_view (NEW_AND_OLD_IMAGES), not the stream's NEW_IMAGE: the old values come along
    assert records["x"]["_sdc_deleted_at"] and records["x"]["v"] == 1
    assert records["late"]["v"] == 1
    assert len(third.records()) <= 4  # the changes (and "late" maybe twice), never the table
    assert third.last_state["bookmarks"][name]["version"] == first.last_state["bookmarks"][name]["version"]


def test_without_exports_or_pitr_reach_the_old_full_re_replication_runs_and_says_why(
    export_double, export_config, make_table, run_tap
):
    name = make_table(name_prefix="recover_no", stream="NEW_IMAGE", items=[{"id": {"S": "a"}, "v": {"N": "1"}}])
    export_double.enable_pitr(name)
    client = helpers.client_via(export_double)
    config, catalog = helpers.discover_only(run_tap, export_config, name, "LOG_BASED")
    first = run_tap(catalog=catalog, config=config.path)
    helpers.put_item(client, name, "b", v=1)
    export_double.advance_clock(30 * HOUR)

    export_double.disable_pitr(name)
    export_double.enable_pitr(name)  # PITR anew: it reaches back only to now
    late = run_tap(catalog=catalog, config=config.path, state=first.last_state)
    assert "point-in-time recovery reaches back to" in late.stderr
    assert "re-replicating the whole table" in late.stderr
    assert sorted(r["id"] for r in late.records()) == ["a", "b"]

    no_bucket = config.with_(export_s3_bucket=None)
    helpers.put_item(client, name, "c", v=1)
    read = run_tap(catalog=catalog, config=no_bucket.path, state=late.last_state)  # bookmarks c's sequence number
    helpers.put_item(client, name, "d", v=1)
    export_double.advance_clock(30 * HOUR)
    off = run_tap(catalog=catalog, config=no_bucket.path, state=read.last_state)
    assert "config key export_s3_bucket is not set" in off.stderr
    assert "re-replicating the whole table" in off.stderr
    assert helpers.export_requests(export_double, "INCREMENTAL_EXPORT") == []


def run_until_state_with(workdir: Any, config: dict[str, Any], catalog: dict[str, Any], state: Any, key: str) -> Any:
    """Run the tap and SIGKILL it right after the first STATE whose stream bookmark holds `key`;
    the messages a target would have received (complete lines only)."""
    import signal
    import subprocess

    from devtools.tap_runner import REPO_ROOT, local_env, parse_message, tap_command, write_json

    workdir.mkdir(parents=True, exist_ok=True)
    args = [*tap_command(), "--config", str(write_json(workdir / "config.json", config))]
    args += ["--catalog", str(write_json(workdir / "catalog.json", catalog))]
    args += ["--state", str(write_json(workdir / "state.json", state))]
    proc = subprocess.Popen(
        args, cwd=str(REPO_ROOT), env=local_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if line.startswith(b'{"type":"STATE"') and f'"{key}"'.encode() in line:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=120)
    return [parse_message(line) for line in lines if line.endswith(b"\n")]


@pytest.mark.parametrize("killed_at", ["exported_until", "catch_up_until", "export_window_to"])
def test_a_catch_up_killed_at_any_step_resumes_and_loses_nothing(
    export_double, export_config, make_table, run_tap, tmp_path, killed_at
):
    name = make_table(name_prefix="recover_kill", stream="NEW_AND_OLD_IMAGES")
    export_double.enable_pitr(name)
    client = helpers.client_via(export_double)
    helpers.put_item(client, name, "a", v=1)
    config, catalog = helpers.discover_only(run_tap, export_config, name, "LOG_BASED")
    first = run_tap(catalog=catalog, config=config.path)
    helpers.put_item(client, name, "b", v=1)
    second = run_tap(catalog=catalog, config=config.path, state=first.last_state)  # a sequence number bookmarked
    helpers.put_item(client, name, "a", v=2)
    helpers.put_item(client, name, "c", v=1)
    export_double.advance_clock(26 * HOUR)

    messages = run_until_state_with(tmp_path / "killed", dict(config), catalog, second.last_state, killed_at)
    states = [m["value"] for m in messages if m.get("type") == "STATE"]
    assert killed_at in states[-1]["bookmarks"][name]
    helpers.put_item(client, name, "d", v=1)  # after the new position: from the stream
    resumed = run_tap(catalog=catalog, config=config.path, state=states[-1])
    got = helpers.records_by_id([m["record"] for m in messages if m.get("type") == "RECORD"] + resumed.records())
    assert got["a"]["v"] == 2 and {"c", "d"} <= set(got)  # the gap's changes and the stream's after it
    assert not {"exported_until", "catch_up_until", "export_window_to"} & set(resumed.last_state["bookmarks"][name])
    assert helpers.export_requests(export_double, "FULL_EXPORT") == []
    assert (
        len({p["ClientToken"] for p in helpers.export_requests(export_double, "INCREMENTAL_EXPORT")}) == 2
    )  # 26 h: two windows, once each


def test_the_last_window_waits_for_the_restorable_time_to_pass_the_new_position(
    export_double, export_config, make_table, run_tap
):
    """AWS's LatestRestorableDateTime trails its present: the catch-up waits (polling, the clock moved by
    each DescribeContinuousBackups here) rather than ask for an export ending past it (refused)."""
    name = make_table(name_prefix="recover_lag", stream="NEW_IMAGE")
    export_double.enable_pitr(name)
    client = helpers.client_via(export_double)
    helpers.put_item(client, name, "a", v=1)
    config, catalog = helpers.discover_only(run_tap, export_config, name, "LOG_BASED")
    first = run_tap(catalog=catalog, config=config.path)
    helpers.put_item(client, name, "b", v=1)
    export_double.advance_clock(30 * HOUR)
    export_double.restorable_lag = 10 * 60

    def time_passes(operation: str, _params: dict[str, Any]) -> None:
        if operation == "DescribeContinuousBackups":
            export_double.advance_clock(2 * 60)

    export_double.on_request = time_passes
    caught_up = run_tap(catalog=catalog, config=config.path, state=first.last_state)
    assert "Bridging the gap by incremental export" in caught_up.stderr
    assert "waiting for the restorable time" in caught_up.stderr
    assert "b" in helpers.records_by_id(caught_up.records())


def test_a_stream_disabled_and_enabled_again_is_bridged_too(export_double, export_config, make_table, run_tap, ddb):
    name = make_table(name_prefix="recover_arn", stream="NEW_IMAGE", items=[{"id": {"S": "a"}, "v": {"N": "1"}}])
    export_double.enable_pitr(name)
    client = helpers.client_via(export_double)
    config, catalog = helpers.discover_only(run_tap, export_config, name, "LOG_BASED")
    first = run_tap(catalog=catalog, config=config.path)

    ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
    helpers.wait_table_active(ddb, name)
    helpers.put_item(client, name, "a", v=2)  # while no stream recorded
    ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    new_arn = helpers.wait_table_active(ddb, name)["LatestStreamArn"]
    export_double.advance_clock(20 * 60)  # the shortest window fits before AWS's present

    second = run_tap(catalog=catalog, config=config.path, state=first.last_state)
    assert "stream changed" in second.stderr and "Bridging the gap by incremental export" in second.stderr
    assert not second.of_type("ACTIVATE_VERSION")
    assert [(r["id"], r["v"]) for r in second.records()] == [("a", 2)]
    assert second.last_state["bookmarks"][name]["stream_arn"] == new_arn


def test_a_failed_catch_up_export_is_asked_anew_with_a_later_end(export_double, export_config, make_table, run_tap):
    name = make_table(name_prefix="recover_failed", stream="NEW_IMAGE", items=[{"id": {"S": "a"}, "v": {"N": "1"}}])
    export_double.enable_pitr(name)
    client = helpers.client_via(export_double)
    config, catalog = helpers.discover_only(run_tap, export_config, name, "LOG_BASED")
    first = run_tap(catalog=catalog, config=config.path)
    helpers.put_item(client, name, "b", v=1)
    second = run_tap(catalog=catalog, config=config.path, state=first.last_state)
    helpers.put_item(client, name, "c", v=1)
    export_double.advance_clock(2 * HOUR)
    export_double.age_out_streams()
    export_double.fail_next_export("S3AccessDenied", "no access")

    failed = run_tap(catalog=catalog, config=config.path, state=second.last_state, check=False)
    assert failed.returncode != 0 and "S3AccessDenied" in failed.stderr
    bookmark = failed.last_state["bookmarks"][name]
    assert "exported_until" in bookmark and "catch_up_until" not in bookmark and "export" not in bookmark

    export_double.advance_clock(5)
    again = run_tap(catalog=catalog, config=config.path, state=failed.last_state)
    assert "c" in helpers.records_by_id(again.records())
    assert len({p["ClientToken"] for p in helpers.export_requests(export_double, "INCREMENTAL_EXPORT")}) == 2
