"""batch_config against DynamoDB Local: BATCH messages whose files hold exactly the RECORD path's records.

Each full load is run twice, once with RECORD messages and once into batch files, and the two
are compared record for record; the messages' order (SCHEMA before the BATCH that needs it,
BATCH before the STATE that covers its records) is checked on the output.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import batch_config, batch_records, log_based_setup, random_items

BIG = "12345678901234567890123456789012345678"
VERSION = "_sdc_table_version"


def _items(count: int) -> list:
    """Keyed items of varied shapes (random attributes, so the schema widens while the table is read)."""
    items = []
    for n, extra in enumerate(random_items(14, count)):
        extra.pop("id", None)
        items.append({**extra, "id": {"S": f"k{n:04d}"}, "big": {"N": f"-{BIG}"}, "nested": {"M": {"n": {"N": BIG}}}})
    return items


def _by_id(records: list) -> list:
    return sorted(records, key=lambda r: r["id"])


def _check_order(messages: list, table: str) -> None:
    """Every BATCH comes after a SCHEMA and before the STATE that moves past it; no RECORD is written."""
    assert not [m for m in messages if m["type"] == "RECORD"], "full loads with batch_config write no RECORD"
    seen_schema = False
    for message in messages:
        if message["type"] == "SCHEMA":
            seen_schema = True
        if message["type"] == "BATCH":
            assert seen_schema and message["stream"] == table
            assert len(message["manifest"]) == 1


@pytest.mark.parametrize("compression", ["gzip", "none"])
def test_batch_files_hold_exactly_the_records_the_record_path_writes(
    compression, tmp_path, make_table, catalog_for, run_tap, tap_config
):
    table = make_table(items=_items(230), name_prefix="batch")
    catalog = catalog_for(table)
    base = tap_config.with_(scan_page_size=9, scan_segments=3)
    as_records = run_tap(config=base, catalog=catalog)
    root = tmp_path / "batches"
    batched = run_tap(config=base.with_(batch_config=batch_config(f"file://{root}", compression, 40)), catalog=catalog)

    _check_order(batched.messages, table)
    batches = batched.of_type("BATCH")
    assert len(batches) >= 6  # 3 segments of ~77 items in parts of 40 (a page more at most)
    assert {m["encoding"]["compression"] for m in batches} == {compression}
    lines = batch_records(batches)
    version = batched.last_state["bookmarks"][table]["version"]
    assert {r.pop(VERSION) for r in lines} == {m["version"] for m in batches} == {version}
    assert _by_id(lines) == _by_id(as_records.records(table))
    assert batched.schemas()[-1]["schema"] == as_records.schemas()[-1]["schema"]
    # The root holds exactly the announced files, complete (no .partial left).
    announced = sorted(Path(url[len("file://") :]).name for m in batches for url in m["manifest"])
    assert sorted(os.listdir(root)) == announced
    suffix = ".jsonl.gz" if compression == "gzip" else ".jsonl"
    assert all(name.startswith(f"{table}-{version}-") for name in announced)
    assert all(name.endswith(suffix) for name in announced)
    assert "batch_parts" not in batched.last_state["bookmarks"][table]  # the scan is complete
    assert batched.counts().get("BATCH") == len(batches)


def test_log_based_initial_load_goes_to_batch_files_and_changes_stay_records(
    tmp_path, make_table, run_tap, tap_config, ddb
):
    table = make_table(items=_items(60), stream="NEW_AND_OLD_IMAGES", name_prefix="batchlog")
    root = tmp_path / "batches"
    config, catalog = log_based_setup(
        tap_config, run_tap, table, scan_page_size=10, batch_config=batch_config(f"file://{root}", "gzip", 25)
    )
    first = run_tap(config=config, catalog=catalog)
    _check_order(first.messages, table)
    lines = batch_records(first.of_type("BATCH"))
    assert len(lines) == 60 and len(first.of_type("BATCH")) == 2  # parts of 30: whole pages of 10, closed at >= 25
    assert {r["id"] for r in lines} == {f"k{n:04d}" for n in range(60)}
    assert first.last_state["bookmarks"][table]["initial_full_table_complete"] is True

    ddb.put_item(TableName=table, Item={"id": {"S": "new"}, "big": {"N": BIG}})
    ddb.delete_item(TableName=table, Key={"id": {"S": "k0001"}})
    second = run_tap(config=config, catalog=catalog, state=first.last_state)
    assert not second.of_type("BATCH")
    changes = {r["id"]: r for r in second.records(table)}
    assert set(changes) == {"new", "k0001"} and changes["k0001"]["_sdc_deleted_at"]


@pytest.mark.parametrize(
    "batch, says",
    [
        (
            {"encoding": {"format": "jsonl", "compresion": "gzip"}, "storage": {"root": "file:///tmp/x"}},
            "batch_config.encoding.compresion is not a batch_config key; did you mean batch_config.encoding.compression?",
        ),
        ({"encoding": {"format": "parquet"}, "storage": {"root": "file:///tmp/x"}}, "must be jsonl"),
        ({"encoding": {"compression": "zip"}, "storage": {"root": "file:///tmp/x"}}, "must be gzip or none, got 'zip'"),
        ({"storage": {"root": "gs://bucket"}}, "batch_config.storage.root must start with file:// or s3://"),
        ({"storage": {}}, "batch_config.storage.root is missing"),
        ({"storage": {"root": "file:///tmp/x"}, "batch_size": 0}, "batch_config.batch_size must be at least 1"),
    ],
)
def test_a_bad_batch_config_is_one_line_before_anything_is_read(
    batch, says, make_table, catalog_for, run_tap, tap_config
):
    table = make_table(items=_items(3), name_prefix="batchbad")
    result = run_tap(config=tap_config.with_(batch_config=batch), catalog=catalog_for(table), check=False)
    assert result.returncode == 1 and says in result.stderr, result.stderr
    assert result.stderr.strip().count("\n") == 0 or "tap-dynamodb: error:" in result.stderr.strip().splitlines()[-1]
    assert not result.messages


def test_an_unwritable_root_fails_before_any_table_is_read(tmp_path, make_table, catalog_for, run_tap, tap_config):
    table = make_table(items=_items(3), name_prefix="batchro")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    config = tap_config.with_(batch_config=batch_config(f"file://{blocker}/batches"))
    result = run_tap(config=config, catalog=catalog_for(table), check=False)
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert result.returncode == 1 and len(errors) == 1, result.stderr
    assert "batch_config.storage.root" in errors[0] and "cannot create the directory" in errors[0]
    assert not [m for m in result.messages if m["type"] in ("RECORD", "BATCH", "SCHEMA")]


def test_s3_batch_files_hold_the_records_and_a_missing_bucket_fails_first(
    s3_server, s3_bucket, make_table, catalog_for, run_tap, tap_config
):
    table = make_table(items=_items(50), name_prefix="batchs3")
    catalog = catalog_for(table)
    config = tap_config.with_(s3_endpoint_url=s3_server.endpoint_url, scan_page_size=10)
    as_records = run_tap(config=config, catalog=catalog)
    batched = run_tap(
        config=config.with_(batch_config=batch_config(f"s3://{s3_bucket}/deep/er", "gzip", 20, prefix="x-")),
        catalog=catalog,
    )
    _check_order(batched.messages, table)
    client = s3_server.client()
    lines = batch_records(batched.of_type("BATCH"), client)
    assert all(
        url.startswith(f"s3://{s3_bucket}/deep/er/x-{table}-")
        for m in batched.of_type("BATCH")
        for url in m["manifest"]
    )
    for line in lines:
        line.pop(VERSION)
    assert _by_id(lines) == _by_id(as_records.records(table))
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket).get("Contents", []))
    assert keys == sorted(url.split(f"{s3_bucket}/", 1)[1] for m in batched.of_type("BATCH") for url in m["manifest"])

    missing = run_tap(
        config=config.with_(batch_config=batch_config(f"s3://no-such-bucket-{table[-12:]}/p")),
        catalog=catalog,
        check=False,
    )
    assert missing.returncode == 1 and not missing.messages
    assert "tap-dynamodb: error: batch_config.storage.root s3://no-such-bucket-" in missing.stderr
    assert "the bucket does not exist" in missing.stderr
