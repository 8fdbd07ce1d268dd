"""Discovery against DynamoDB Local: ListTables pagination, keys, counts, replication methods."""

from __future__ import annotations

import uuid

from tests import helpers

MANY_TABLES = 105  # ListTables returns at most 100 names a page


def test_discovery_follows_list_tables_pages_past_100_tables(ddb, make_table, tap_config, run_tap):
    prefix = f"disc{uuid.uuid4().hex[:8]}"
    names = {make_table(name_prefix=prefix) for _ in range(MANY_TABLES)}
    first_page = ddb.list_tables()
    assert len(first_page["TableNames"]) == 100 and first_page.get("LastEvaluatedTableName"), (
        "precondition: the table listing spans more than one page"
    )

    everything = run_tap("--discover").catalog
    discovered = {e["tap_stream_id"] for e in everything["streams"]}
    assert names <= discovered

    filtered = run_tap("--discover", config=tap_config.with_(tables=[f"{prefix}_*"])).catalog
    assert sorted(e["tap_stream_id"] for e in filtered["streams"]) == sorted(names)


def test_catalog_entry_keys_counts_types_and_methods(ddb, make_table, run_tap, tap_config):
    # the range key sorts before the hash key by name: the order must still be hash, then range
    keyed = make_table(
        hash_key=("zz_hash", "N"),
        range_key=("aa_range", "B"),
        stream="NEW_AND_OLD_IMAGES",
        items=[{"zz_hash": {"N": str(i)}, "aa_range": {"B": bytes([i])}, "v": {"S": "x"}} for i in range(7)],
        name_prefix="disc_keys",
    )
    plain = make_table(hash_key=("id", "S"), items=[{"id": {"S": f"i{i}"}} for i in range(3)], name_prefix="disc_plain")
    views = {view: make_table(stream=view, name_prefix="disc_view") for view in ("NEW_IMAGE", "KEYS_ONLY", "OLD_IMAGE")}

    catalog = run_tap("--discover", config=tap_config.with_(tables=["disc_*"])).catalog

    entry = helpers.find_stream(catalog, keyed)
    assert entry["tap_stream_id"] == entry["stream"] == entry["table_name"] == keyed
    top = helpers.top_level_metadata(entry)
    assert top["table-key-properties"] == ["zz_hash", "aa_range"]
    assert entry["key_properties"] == ["zz_hash", "aa_range"]
    described = ddb.describe_table(TableName=keyed)["Table"]
    assert top["row-count"] == described["ItemCount"] == 7
    assert "forced-replication-method" not in top
    assert top["tap-dynamodb.valid-replication-methods"] == ["FULL_TABLE", "LOG_BASED"]
    assert top["tap-dynamodb.stream-view-type"] == "NEW_AND_OLD_IMAGES"
    assert top["tap-dynamodb.stream-arn"] == described["LatestStreamArn"]
    properties = entry["schema"]["properties"]
    assert "number" in _types(properties["zz_hash"]) and "string" not in _types(properties["zz_hash"])
    assert "string" in _types(properties["aa_range"]) and "number" not in _types(properties["aa_range"])

    plain_top = helpers.top_level_metadata(helpers.find_stream(catalog, plain))
    assert plain_top["table-key-properties"] == ["id"]
    assert plain_top["row-count"] == 3
    assert plain_top["tap-dynamodb.valid-replication-methods"] == ["FULL_TABLE"]
    assert "tap-dynamodb.stream-arn" not in plain_top
    assert "tap-dynamodb.pitr-status" not in plain_top  # DynamoDB Local has no PITR: no INCREMENTAL, no error
    assert "string" in _types(helpers.find_stream(catalog, plain)["schema"]["properties"]["id"])

    for view, name in views.items():
        top = helpers.top_level_metadata(helpers.find_stream(catalog, name))
        expected = ["FULL_TABLE", "LOG_BASED"] if view == "NEW_IMAGE" else ["FULL_TABLE"]
        assert top["tap-dynamodb.valid-replication-methods"] == expected, view
        assert top["tap-dynamodb.stream-view-type"] == view
        assert top["tap-dynamodb.stream-arn"] == ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]


def test_discovery_output_is_one_json_catalog_and_logs_go_to_stderr(make_table, run_tap, tap_config):
    name = make_table(name_prefix="disc_out")
    result = run_tap("--discover", config=tap_config.with_(tables=[name]))
    assert result.stdout.lstrip().startswith("{")
    assert [e["tap_stream_id"] for e in result.catalog["streams"]] == [name]
    assert name in result.stderr  # the progress log names the table, on stderr


def _types(schema: dict) -> list:
    kind = schema.get("type", [])
    return [kind] if isinstance(kind, str) else list(kind)
