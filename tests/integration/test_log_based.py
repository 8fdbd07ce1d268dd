"""LOG_BASED end to end against DynamoDB Local (its streams have one open shard per table).

The last tests combine DynamoDB Local's Scan with FakeStreamsClient, the in-memory TEST DOUBLE
of DynamoDB Streams (tests/doubles.py), to age a stream out, which DynamoDB Local cannot do.
"""

from __future__ import annotations

import logging
import re

import pytest

from tests import helpers

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def items(count: int, start: int = 0) -> list:
    return [{"id": {"S": f"i{n:03d}"}, "v": {"N": str(n)}} for n in range(start, start + count)]


def set_value(ddb, table: str, item_id: str, value: int) -> None:
    ddb.update_item(
        TableName=table,
        Key={"id": {"S": item_id}},
        UpdateExpression="SET v = :v",
        ExpressionAttributeValues={":v": {"N": str(value)}},
    )


def log_based_setup(tap_config, run_tap, _select_streams, name, **config_changes):
    return helpers.log_based_setup(tap_config, run_tap, name, **config_changes)


def last_values(records: list) -> dict:
    """id → the last record emitted for it (what an upserting target keeps)."""
    out = {}
    for record in records:
        out[record["id"]] = record
    return out


def test_initial_sync_then_changes_then_nothing_then_exactly_one_change(
    ddb, make_table, tap_config, run_tap, select_streams
):
    name = make_table(stream="NEW_AND_OLD_IMAGES", items=items(20))
    config, catalog = log_based_setup(tap_config, run_tap, select_streams, name)

    first = run_tap(config=config.path, catalog=catalog)
    assert sorted(r["id"] for r in first.records(name)) == [f"i{n:03d}" for n in range(20)]
    assert first.schemas(name)[0]["schema"]["properties"]["_sdc_deleted_at"] == {
        "type": ["null", "string"],
        "format": "date-time",
    }
    bookmark = first.last_state["bookmarks"][name]
    assert bookmark["initial_full_table_complete"] is True
    assert bookmark["stream_arn"] == ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    assert len(bookmark["shard_seq_numbers"]) == 1  # the open shard, bookmarked at its tip

    ddb.put_item(TableName=name, Item={"id": {"S": "new"}, "v": {"N": "0.000000000000000000000000000000000001"}})
    for value in (101, 102, 103):
        set_value(ddb, name, "i001", value)
    ddb.delete_item(TableName=name, Key={"id": {"S": "i002"}})
    second = run_tap(config=config.path, catalog=catalog, state=first.last_state)

    records = second.records(name)
    assert len(records) == 5
    final = last_values(records)
    assert set(final) == {"new", "i001", "i002"}
    assert final["i001"]["v"] == 103
    assert '"v":0.000000000000000000000000000000000001' in second.stdout
    # NEW_AND_OLD_IMAGES: a delete carries the item's last values beside _sdc_deleted_at
    assert set(final["i002"]) == {"id", "v", "_sdc_deleted_at", "_sdc_deleted_by_ttl"} and final["i002"]["v"] == 2
    assert final["i002"]["_sdc_deleted_by_ttl"] is False  # deleted by DeleteItem, not by TTL
    assert ISO_UTC.match(final["i002"]["_sdc_deleted_at"])

    third = run_tap(config=config.path, catalog=catalog, state=second.last_state)
    assert third.records(name) == []

    set_value(ddb, name, "i005", 500)
    fourth = run_tap(config=config.path, catalog=catalog, state=third.last_state)
    assert fourth.records(name) == [{"id": "i005", "v": 500}]


def test_changes_made_while_the_initial_scan_runs_are_not_lost(
    ddb, make_table, tap_config, run_tap, select_streams, sync_in_process
):
    name = make_table(stream="NEW_IMAGE", items=items(30))
    config, catalog = log_based_setup(tap_config, run_tap, select_streams, name, scan_page_size=5)
    scans = {"calls": 0}

    def change_everything_during_the_scan(**_kwargs):
        scans["calls"] += 1
        if scans["calls"] == 2:  # one page of the scan has been read, five remain
            for n in range(30):
                set_value(ddb, name, f"i{n:03d}", 1000 + n)
            ddb.delete_item(TableName=name, Key={"id": {"S": "i007"}})
            ddb.put_item(TableName=name, Item={"id": {"S": "late"}, "v": {"N": "1"}})

    def hook(clients):
        clients.dynamodb.events.register("before-call.dynamodb.Scan", change_everything_during_the_scan)

    result = sync_in_process(catalog, config, on_clients=hook)

    assert scans["calls"] == 7
    final = last_values(result.records(name))
    assert "_sdc_deleted_at" in final.pop("i007")
    assert final.pop("late")["v"] == 1
    assert {record_id: record["v"] for record_id, record in final.items()} == {
        f"i{n:03d}": 1000 + n for n in range(30) if n != 7
    }


@pytest.mark.parametrize("stream", [None, "KEYS_ONLY", "OLD_IMAGE"])
def test_tables_without_a_new_image_stream_are_refused(make_table, tap_config, run_tap, select_streams, stream):
    name = make_table(stream=stream, items=items(2))
    config, catalog = log_based_setup(tap_config, run_tap, select_streams, name)

    result = run_tap(config=config.path, catalog=catalog, check=False)

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tap-dynamodb: error:"), result.stderr
    assert "NEW_IMAGE or NEW_AND_OLD_IMAGES" in lines[0] and name in lines[0]
    assert result.records() == []


def test_a_new_stream_arn_resets_the_table_and_replicates_it_again(
    ddb, make_table, tap_config, run_tap, select_streams
):
    name = make_table(stream="NEW_IMAGE", items=items(10))
    config, catalog = log_based_setup(tap_config, run_tap, select_streams, name)
    first = run_tap(config=config.path, catalog=catalog)
    old_arn = first.last_state["bookmarks"][name]["stream_arn"]

    ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
    helpers.wait_table_active(ddb, name)
    set_value(ddb, name, "i003", 333)  # made while no stream was recording
    ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    new_arn = helpers.wait_table_active(ddb, name)["LatestStreamArn"]
    assert new_arn != old_arn

    second = run_tap(config=config.path, catalog=catalog, state=first.last_state)

    assert "stream changed" in second.stderr and "re-replicating the whole table" in second.stderr
    final = last_values(second.records(name))
    assert len(final) == 10 and final["i003"]["v"] == 333
    versions = [m["version"] for m in second.of_type("ACTIVATE_VERSION")]
    assert versions and versions[-1] != first.of_type("ACTIVATE_VERSION")[-1]["version"]
    assert second.last_state["bookmarks"][name]["stream_arn"] == new_arn

    set_value(ddb, name, "i004", 444)
    third = run_tap(config=config.path, catalog=catalog, state=second.last_state)
    assert third.records(name) == [{"id": "i004", "v": 444}]


@pytest.mark.parametrize("how", ["trimmed", "no longer listed"])
def test_an_aged_out_stream_is_reset_and_the_table_replicated_again(
    ddb, make_table, tap_config, run_tap, select_streams, sync_in_process, fake_streams, caplog, how
):
    """Scan from DynamoDB Local, stream from the test double (which can trim shards)."""
    name = make_table(stream="NEW_IMAGE", items=items(5))
    config, catalog = log_based_setup(tap_config, run_tap, select_streams, name)
    fake_streams.stream_arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    fake_streams.add_shard("old")
    bookmarked = fake_streams.put("old", "INSERT", {"id": {"S": "i000"}}, {"id": {"S": "i000"}, "v": {"N": "0"}})
    fake_streams.put("old", "MODIFY", {"id": {"S": "i001"}}, {"id": {"S": "i001"}, "v": {"N": "1"}})
    fake_streams.split("old", "new")
    fake_streams.put("new", "MODIFY", {"id": {"S": "i002"}}, {"id": {"S": "i002"}, "v": {"N": "2"}})
    if how == "trimmed":
        fake_streams.trim("old")
    else:
        fake_streams.drop("old")
    state = {
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

    with caplog.at_level(logging.WARNING, logger="tap_dynamodb"):
        result = sync_in_process(catalog, config, state=state, streams=fake_streams)

    assert any("aged out" in r.getMessage() and "re-replicating" in r.getMessage() for r in caplog.records)
    assert sorted(r["id"] for r in result.records(name)) == [f"i{n:03d}" for n in range(5)]  # the scan only
    activated = [m["version"] for m in result.of_type("ACTIVATE_VERSION")]
    assert len(activated) == 1 and activated[0] != 1  # the new copy is activated once it is complete
    bookmark = result.last_state["bookmarks"][name]
    assert list(bookmark["shard_seq_numbers"]) == ["new"]  # noted at its tip before the scan

    after_reset = fake_streams.put("new", "MODIFY", {"id": {"S": "i003"}}, {"id": {"S": "i003"}, "v": {"N": "33"}})
    again = sync_in_process(catalog, config, state=result.last_state, streams=fake_streams)
    assert again.records(name) == [{"id": "i003", "v": 33}]
    assert again.last_state["bookmarks"][name]["shard_seq_numbers"] == {"new": after_reset}


def test_stream_images_get_the_scan_projection_and_widen_the_schema(
    ddb, make_table, tap_config, run_tap, select_streams
):
    """Both methods emit the same shape: the Stitch projection applies to stream images too, and
    an attribute first seen in the stream widens the schema before its record."""
    name = make_table(
        stream="NEW_IMAGE",
        items=[
            {"id": {"S": "a"}, "keep": {"S": "k"}, "drop": {"S": "d"}, "m": {"M": {"x": {"N": "1"}, "y": {"N": "2"}}}}
        ],
    )
    config, catalog = log_based_setup(tap_config, run_tap, select_streams, name)
    top = helpers.top_level_metadata(helpers.find_stream(catalog, name))
    top["tap-mongodb.projection"] = "keep, m.x, fresh"
    first = run_tap(config=config.path, catalog=catalog)
    assert first.records(name) == [{"id": "a", "keep": "k", "m": {"x": 1}}]

    ddb.put_item(
        TableName=name,
        Item={
            "id": {"S": "b"},
            "keep": {"S": "k2"},
            "drop": {"S": "d2"},
            "m": {"M": {"x": {"N": "3"}, "y": {"N": "4"}}},
            "fresh": {"BOOL": True},
        },
    )
    second = run_tap(config=config.path, catalog=catalog, state=first.last_state)
    assert second.records(name) == [{"id": "b", "keep": "k2", "m": {"x": 3}, "fresh": True}]
    kinds = [m["type"] for m in second.messages if m["type"] in ("SCHEMA", "RECORD")]
    assert kinds == ["SCHEMA", "SCHEMA", "RECORD"]  # the widened schema comes before the record
    widened = second.schemas(name)[-1]["schema"]["properties"]
    assert "boolean" in widened["fresh"]["type"] and "_sdc_deleted_at" in widened


def test_a_delete_on_a_new_image_stream_carries_the_keys(ddb, make_table, tap_config, run_tap, select_streams):
    name = make_table(
        hash_key=("id", "S"),
        range_key=("n", "N"),
        stream="NEW_IMAGE",
        items=[{"id": {"S": "a"}, "n": {"N": "1"}, "v": {"S": "x"}}],
    )
    config, catalog = log_based_setup(tap_config, run_tap, select_streams, name)
    first = run_tap(config=config.path, catalog=catalog)
    ddb.delete_item(TableName=name, Key={"id": {"S": "a"}, "n": {"N": "1"}})
    second = run_tap(config=config.path, catalog=catalog, state=first.last_state)
    [deleted] = second.records(name)
    assert set(deleted) == {"id", "n", "_sdc_deleted_at", "_sdc_deleted_by_ttl"}
    assert (deleted["id"], deleted["n"], deleted["_sdc_deleted_by_ttl"]) == ("a", 1, False)


def test_a_rate_limited_stream_call_gets_a_longer_budget_than_max_attempts(
    ddb, make_table, tap_config, run_tap, select_streams, fault_proxy
):
    """One retry layer (botocore's, see aws/retries.py): LimitExceededException on GetRecords is retried
    past max_attempts, up to 3 × max_attempts, and each retry is logged against that budget."""
    from tap_dynamodb.aws.retries import LIMIT_EXCEEDED_ATTEMPTS_FACTOR

    name = make_table(stream="NEW_AND_OLD_IMAGES", items=items(3))
    config, catalog = log_based_setup(tap_config, run_tap, select_streams, name)
    first = run_tap(config=config.path, catalog=catalog)
    ddb.put_item(TableName=name, Item={"id": {"S": "late"}, "v": {"N": "9"}})
    limited = {"left": 2}

    def rule(operation, _number):
        if operation == "GetRecords" and limited["left"] > 0:
            limited["left"] -= 1
            return "limit_exceeded"
        return "pass"

    proxy = fault_proxy(rule=rule)
    second = run_tap(
        config=config.with_(endpoint_url=proxy.url, max_attempts=1).path, catalog=catalog, state=first.last_state
    )

    assert [r["id"] for r in second.records(name)] == ["late"]
    assert proxy.operations("limit_exceeded") == ["GetRecords"] * 2  # max_attempts=1: botocore would not retry
    retries = [line for line in second.stderr.splitlines() if "retrying, attempt" in line]
    budget = 1 * LIMIT_EXCEEDED_ATTEMPTS_FACTOR
    assert [line.rsplit("attempt ", 1)[1] for line in retries] == [f"{n} of {budget}" for n in (2, 3)]
    assert all("GetRecords failed (HTTP 400 LimitExceededException)" in line for line in retries)
