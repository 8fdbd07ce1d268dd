"""ACTIVATE_VERSION: once per version, where a versioning target needs it (issue 12, point 12).

The rule (replication/full_table.py): a stream's first version is activated at the start of the
run that begins it, so its rows show up at once, and not again at its end; a version that
replaces a complete copy (a re-scan, a LOG_BASED re-replication) is activated at the end of
the scan that completes it; a resumed scan activates its version at its end.

Each scenario's messages go through `VersioningTarget`, a model of what a versioning target
(Stitch, MeltanoLabs target-postgres) does: upsert RECORDs by key with their version, and on
ACTIVATE_VERSION v drop every row of an older version. The target must end up with exactly
the table's items.
"""

from __future__ import annotations

from typing import Any

from tests import helpers

KEY = "id"


def items(count: int, prefix: str = "k") -> list[dict]:
    return [{KEY: {"S": f"{prefix}{n:03d}"}, "v": {"N": str(n)}} for n in range(count)]


def story(messages: list[dict]) -> list[tuple[str, Any]]:
    """The messages as ("ACTIVATE", version) and ("RECORDS", version) steps (runs of RECORDs
    of one version merged; SCHEMA and STATE left out)."""
    out: list[tuple[str, Any]] = []
    for message in messages:
        if message["type"] == "ACTIVATE_VERSION":
            out.append(("ACTIVATE", message["version"]))
        elif message["type"] == "RECORD":
            step = ("RECORDS", message.get("version"))
            if not out or out[-1] != step:
                out.append(step)
    return out


def until_state(messages: list[dict], state: dict) -> list[dict]:
    """The messages of a run up to (and with) the STATE whose value is `state`: what a target had
    confirmed when the run was interrupted there."""
    for index, message in enumerate(messages):
        if message["type"] == "STATE" and message["value"] == state:
            return messages[: index + 1]
    raise AssertionError("state not found in the run's messages")


class VersioningTarget:
    def __init__(self):
        self.rows: dict[Any, tuple[Any, dict]] = {}

    def load(self, messages: list[dict]) -> VersioningTarget:
        for message in messages:
            if message["type"] == "RECORD":
                record = message["record"]
                self.rows[record[KEY]] = (message.get("version"), record)
            elif message["type"] == "ACTIVATE_VERSION":
                version = message["version"]
                self.rows = {k: (v, r) for k, (v, r) in self.rows.items() if v is not None and v >= version}
        return self

    def keys(self) -> list[Any]:
        return sorted(self.rows)


def mid_scan_states(result, name: str) -> list[dict]:
    return [s for s in result.states() if s["bookmarks"][name].get("last_evaluated_key")]


# ------------------------------------------------------------------------------------------
# FULL_TABLE
# ------------------------------------------------------------------------------------------


def test_a_first_run_activates_its_version_once_at_the_start(make_table, tap_config, catalog_for, run_tap):
    name = make_table(items=items(12), name_prefix="v_first")
    result = run_tap(config=tap_config.with_(scan_page_size=5), catalog=catalog_for(name))

    version = result.last_state["bookmarks"][name]["version"]
    assert story(result.messages) == [("ACTIVATE", version), ("RECORDS", version)]
    assert VersioningTarget().load(result.messages).keys() == [f"k{n:03d}" for n in range(12)]


def test_an_interrupted_first_run_resumed_keeps_its_version_and_activates_it_at_the_end(
    make_table, tap_config, catalog_for, run_tap
):
    name = make_table(items=items(12), name_prefix="v_resume")
    config, catalog = tap_config.with_(scan_page_size=5), catalog_for(name)
    full = run_tap(config=config, catalog=catalog)
    interrupted = mid_scan_states(full, name)[0]  # the run stopped after its first page's STATE
    version = interrupted["bookmarks"][name]["version"]
    seen = until_state(full.messages, interrupted)
    assert story(seen) == [("ACTIVATE", version), ("RECORDS", version)]

    resumed = run_tap(config=config, catalog=catalog, state=interrupted)

    # The state cannot always tell whether the resumed version was activated when it was chosen
    # (see the module docstring of replication/full_table.py); activating it again is a no-op.
    assert story(resumed.messages) == [("RECORDS", version), ("ACTIVATE", version)]
    assert VersioningTarget().load(seen + resumed.messages).keys() == [f"k{n:03d}" for n in range(12)]


def test_a_second_complete_run_activates_its_new_version_once_at_the_end(
    ddb, make_table, tap_config, catalog_for, run_tap
):
    name = make_table(items=items(12), name_prefix="v_second")
    config, catalog = tap_config.with_(scan_page_size=5), catalog_for(name)
    first = run_tap(config=config, catalog=catalog)
    first_version = first.last_state["bookmarks"][name]["version"]
    ddb.delete_item(TableName=name, Key={KEY: {"S": "k003"}})

    second = run_tap(config=config, catalog=catalog, state=first.last_state)

    version = second.last_state["bookmarks"][name]["version"]
    assert version > first_version
    assert story(second.messages) == [("RECORDS", version), ("ACTIVATE", version)]
    target = VersioningTarget().load(first.messages + second.messages)
    assert target.keys() == [f"k{n:03d}" for n in range(12) if n != 3]  # the deleted item is gone


def test_an_interrupted_second_run_activates_its_version_when_the_resumed_scan_ends(
    make_table, tap_config, catalog_for, run_tap
):
    name = make_table(items=items(12), name_prefix="v_second_resume")
    config, catalog = tap_config.with_(scan_page_size=5), catalog_for(name)
    first = run_tap(config=config, catalog=catalog)
    second = run_tap(config=config, catalog=catalog, state=first.last_state)
    interrupted = mid_scan_states(second, name)[0]
    version = interrupted["bookmarks"][name]["version"]
    seen = until_state(second.messages, interrupted)
    assert story(seen) == [("RECORDS", version)]  # not activated: the first run's copy stays visible

    resumed = run_tap(config=config, catalog=catalog, state=interrupted)

    assert story(resumed.messages) == [("RECORDS", version), ("ACTIVATE", version)]
    target = VersioningTarget().load(first.messages + seen + resumed.messages)
    assert target.keys() == [f"k{n:03d}" for n in range(12)]
    assert {version for version, _ in target.rows.values()} == {version}


# ------------------------------------------------------------------------------------------
# LOG_BASED
# ------------------------------------------------------------------------------------------


def _log_based(tap_config, run_tap, _select_streams, name, **changes):
    return helpers.log_based_setup(tap_config, run_tap, name, **changes)


def test_log_based_initial_load_activates_once_at_the_start_and_changes_never(
    ddb, make_table, tap_config, run_tap, select_streams
):
    name = make_table(stream="NEW_IMAGE", items=items(8), name_prefix="v_lb")
    config, catalog = _log_based(tap_config, run_tap, select_streams, name, scan_page_size=3)
    first = run_tap(config=config.path, catalog=catalog)
    version = first.last_state["bookmarks"][name]["version"]
    assert story(first.messages) == [("ACTIVATE", version), ("RECORDS", version)]

    ddb.put_item(TableName=name, Item={KEY: {"S": "new"}, "v": {"N": "1"}})
    second = run_tap(config=config.path, catalog=catalog, state=first.last_state)

    assert story(second.messages) == [("RECORDS", version)]
    target = VersioningTarget().load(first.messages + second.messages)
    assert target.keys() == sorted([f"k{n:03d}" for n in range(8)] + ["new"])


def _aged_out_state(fake_streams, name: str) -> dict:
    """A LOG_BASED state whose only shard has been trimmed away: the stream must be re-replicated."""
    fake_streams.add_shard("old")
    bookmarked = fake_streams.put("old", "INSERT", {KEY: {"S": "k000"}}, {KEY: {"S": "k000"}, "v": {"N": "0"}})
    fake_streams.put("old", "MODIFY", {KEY: {"S": "k001"}}, {KEY: {"S": "k001"}, "v": {"N": "1"}})
    fake_streams.split("old", "new")
    fake_streams.trim("old")
    return {
        "bookmarks": {
            name: {
                "version": 1,
                "initial_full_table_complete": True,
                "last_replication_method": "LOG_BASED",
                "stream_arn": fake_streams.stream_arn,
                "shard_seq_numbers": {"old": bookmarked},
                "finished_shards": [],
            }
        }
    }


def test_log_based_re_replication_after_an_aged_out_stream_activates_at_the_end(
    ddb, make_table, tap_config, run_tap, select_streams, sync_in_process, fake_streams
):
    name = make_table(stream="NEW_IMAGE", items=items(7), name_prefix="v_lb_reset")
    config, catalog = _log_based(tap_config, run_tap, select_streams, name, scan_page_size=3)
    fake_streams.stream_arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    state = _aged_out_state(fake_streams, name)
    # what the target holds from earlier runs: version 1, with an item deleted since
    earlier = [{"type": "RECORD", "stream": name, "record": {KEY: "gone", "v": 9}, "version": 1}]

    result = sync_in_process(catalog, config, state=state, streams=fake_streams)

    version = result.last_state["bookmarks"][name]["version"]
    assert version != 1
    assert story(result.messages) == [("RECORDS", version), ("ACTIVATE", version)]
    assert VersioningTarget().load(earlier + result.messages).keys() == [f"k{n:03d}" for n in range(7)]

    # interrupted during that re-replication and resumed: still activated, at the end
    interrupted = mid_scan_states(result, name)[0]
    seen = until_state(result.messages, interrupted)
    resumed = sync_in_process(catalog, config, state=interrupted, streams=fake_streams)
    assert story(resumed.messages) == [("RECORDS", version), ("ACTIVATE", version)]
    target = VersioningTarget().load(earlier + seen + resumed.messages)
    assert target.keys() == [f"k{n:03d}" for n in range(7)]
