"""DynamoDB Local → tap-dynamodb | MeltanoLabs target-postgres → a real PostgreSQL server.

Proves that what we emit lands in a warehouse exactly: 38-digit numbers in NUMERIC columns,
maps as JSONB with every digit, sets as arrays, and deletes (ACTIVATE_VERSION after a
FULL_TABLE re-scan; `_sdc_deleted_at` from LOG_BASED) marked on the rows. With batch_config
the target bulk-loads BATCH files (local and on the S3 server) into the same rows.
"""

import json
from decimal import Decimal

import pytest

from devtools import tap_runner
from devtools.pipeline import run_pipeline

pytestmark = pytest.mark.slow

BIG = "12345678901234567890123456789012345678"
SCHEMA = "dynamo"


def _source_items() -> list:
    return [
        {
            "id": {"S": "a"},
            "big": {"N": BIG},
            "neg": {"N": f"-{BIG}"},
            "frac": {"N": f"0.{BIG}"},
            "huge": {"N": "9.9999999999999999999999999999999999999E+125"},
            "small": {"N": "1E-130"},
            "flag": {"BOOL": True},
            "name": {"S": "Ünïcode ✓"},
            "tags": {"SS": ["x", "y"]},
            "nested": {
                "M": {
                    "price": {"N": f"-0.{BIG}"},
                    "count": {"N": BIG},
                    "deep": {"M": {"list": {"L": [{"N": "1.50"}, {"S": "two"}, {"NULL": True}]}}},
                }
            },
        },
        {"id": {"S": "b"}, "big": {"N": "0"}, "flag": {"BOOL": False}, "name": {"S": "plain"}},
        {"id": {"S": "c"}, "big": {"N": "-1"}, "nested": {"M": {}}},
    ]


def _load(postgres, target_postgres_bin, tmp_path, config, catalog, state=None, schema=SCHEMA, target_env=None) -> dict:
    """Run `tap-dynamodb | target-postgres` once; the state the target emitted at the end."""
    target_config = tap_runner.write_json(tmp_path / "target-postgres.json", postgres.target_config(schema))
    tap = [
        *tap_runner.tap_command(),
        "--config",
        str(config.path),
        "--catalog",
        str(tap_runner.write_json(tmp_path / "catalog.json", catalog)),
    ]
    if state is not None:
        tap += ["--state", str(tap_runner.write_json(tmp_path / "state.json", state))]
    result = run_pipeline(
        tap,
        [str(target_postgres_bin), "--config", str(target_config)],
        tap_env=tap_runner.local_env(),
        target_env=tap_runner.local_env(target_env),
        timeout=300,
    )
    assert result.ok, result.failure_message()
    return json.loads(result.target_stdout.strip().splitlines()[-1])


def _expected_rows() -> list:
    """The source items as PostgreSQL gives them back (json_agg, numbers parsed exactly)."""
    nested = {"price": Decimal(f"-0.{BIG}"), "count": int(BIG), "deep": {"list": [Decimal("1.50"), "two", None]}}
    return [
        {
            "id": "a",
            "big": int(BIG),
            "neg": -int(BIG),
            "frac": Decimal(f"0.{BIG}"),
            "huge": Decimal("9.9999999999999999999999999999999999999E+125"),
            "small": Decimal("1E-130"),
            "flag": True,
            "name": "Ünïcode ✓",
            "tags": ["x", "y"],
            "nested": nested,
        },
        {
            "id": "b",
            "big": 0,
            "neg": None,
            "frac": None,
            "huge": None,
            "small": None,
            "flag": False,
            "name": "plain",
            "tags": None,
            "nested": None,
        },
        {
            "id": "c",
            "big": -1,
            "neg": None,
            "frac": None,
            "huge": None,
            "small": None,
            "flag": None,
            "name": None,
            "tags": None,
            "nested": {},
        },
    ]


SOURCE_COLUMNS = {
    "id": "text",
    "big": "numeric",
    "neg": "numeric",
    "frac": "numeric",
    "huge": "numeric",
    "small": "numeric",
    "flag": "boolean",
    "name": "text",
    "tags": "ARRAY",
    "nested": "jsonb",
}


def _data(row: dict) -> dict:
    return {k: v for k, v in row.items() if not k.startswith("_sdc_")}


def test_full_table_lands_exactly_in_postgres(
    postgres, target_postgres_bin, make_table, catalog_for, tap_config, ddb, tmp_path
):
    table = make_table(items=_source_items(), name_prefix="pg")
    catalog = catalog_for(table)
    _load(postgres, target_postgres_bin, tmp_path, tap_config, catalog)

    types = postgres.column_types(SCHEMA, table)
    assert {k: v for k, v in types.items() if not k.startswith("_sdc_")} == SOURCE_COLUMNS
    assert types["_sdc_deleted_at"].startswith("timestamp") and types["_sdc_table_version"] == "bigint"
    rows = postgres.rows(f'{SCHEMA}."{table}"', "id")
    assert [_data(r) for r in rows] == _expected_rows()
    assert all(r["_sdc_deleted_at"] is None for r in rows)
    first_version = rows[0]["_sdc_table_version"]

    # A second FULL_TABLE run after a delete and an update: its closing ACTIVATE_VERSION tells
    # the target that rows of older versions are gone.
    ddb.delete_item(TableName=table, Key={"id": {"S": "c"}})
    ddb.update_item(
        TableName=table,
        Key={"id": {"S": "b"}},
        UpdateExpression="SET big = :v",
        ExpressionAttributeValues={":v": {"N": f"-{BIG}"}},
    )
    _load(postgres, target_postgres_bin, tmp_path, tap_config, catalog)

    rows = {r["id"]: r for r in postgres.rows(f'{SCHEMA}."{table}"', "id")}
    assert rows["b"]["big"] == -int(BIG) and rows["b"]["_sdc_deleted_at"] is None
    assert rows["a"]["_sdc_table_version"] > first_version and rows["a"]["_sdc_deleted_at"] is None
    assert rows["c"]["_sdc_table_version"] == first_version and rows["c"]["_sdc_deleted_at"] is not None


def test_log_based_changes_and_deletes_land_in_postgres(
    postgres, target_postgres_bin, make_table, catalog_for, tap_config, ddb, tmp_path
):
    table = make_table(items=_source_items(), stream="NEW_AND_OLD_IMAGES", name_prefix="pglog")
    catalog = catalog_for(table, method="LOG_BASED")
    state = _load(postgres, target_postgres_bin, tmp_path, tap_config, catalog)
    assert state["bookmarks"][table]["initial_full_table_complete"] is True
    rows = postgres.rows(f'{SCHEMA}."{table}"', "id")
    assert [_data(r) for r in rows] == _expected_rows()
    assert all(r["_sdc_deleted_at"] is None for r in rows)

    ddb.delete_item(TableName=table, Key={"id": {"S": "a"}})
    ddb.update_item(
        TableName=table,
        Key={"id": {"S": "b"}},
        UpdateExpression="SET nested = :m",
        ExpressionAttributeValues={":m": {"M": {"n": {"N": f"-{BIG}"}}}},
    )
    ddb.put_item(TableName=table, Item={"id": {"S": "d"}, "big": {"N": BIG}})
    _load(postgres, target_postgres_bin, tmp_path, tap_config, catalog, state=state)

    rows = {r["id"]: r for r in postgres.rows(f'{SCHEMA}."{table}"', "id")}
    assert set(rows) == {"a", "b", "c", "d"}
    assert rows["a"]["_sdc_deleted_at"] is not None  # soft delete: the row stays, marked deleted
    assert rows["b"]["nested"] == {"n": -int(BIG)} and rows["b"]["_sdc_deleted_at"] is None
    assert rows["d"]["big"] == int(BIG) and rows["d"]["_sdc_deleted_at"] is None
    assert _data(rows["c"]) == _expected_rows()[2] and rows["c"]["_sdc_deleted_at"] is None
    # The stream has old images: the delete RECORD carries the row's last values, which the target keeps.
    assert _data(rows["a"]) == _expected_rows()[0]


# Columns the SDK's target fills from a RECORD message's envelope; from a batch file it has none.
ENVELOPE_COLUMNS = ("_sdc_extracted_at", "_sdc_received_at", "_sdc_batched_at", "_sdc_sequence", "_sdc_sync_started_at")


def _loaded(postgres, schema: str, table: str) -> list:
    """The rows as loaded, without the columns that differ by run or by message (see ENVELOPE_COLUMNS)."""
    rows = postgres.rows(f'{schema}."{table}"', "id")
    return [{k: v for k, v in row.items() if k not in ENVELOPE_COLUMNS and k != "_sdc_table_version"} for row in rows]


def _batch_against_records(
    postgres, target_bin, make_table, catalog_for, tap_config, ddb, tmp_path, batch_config, target_env=None
):
    """Load the table by RECORDs into one schema and by batch files into another, twice (the second
    run after a delete and an update, its ACTIVATE_VERSION marking the deleted row): same rows."""
    from tests.helpers import batch_write

    table = make_table(items=_source_items(), name_prefix="pgbatch")
    batch_write(ddb, table, [{"id": {"S": f"z{n:03d}"}, "n": {"N": f"{n}.{BIG[:30]}"}} for n in range(120)])
    catalog = catalog_for(table)
    batched_config = tap_config.with_(batch_config=batch_config, scan_page_size=25, scan_segments=2)
    for round_number in (1, 2):
        if round_number == 2:
            ddb.delete_item(TableName=table, Key={"id": {"S": "c"}})
            ddb.update_item(
                TableName=table,
                Key={"id": {"S": "b"}},
                UpdateExpression="SET big = :v",
                ExpressionAttributeValues={":v": {"N": f"-{BIG}"}},
            )
        _load(postgres, target_bin, tmp_path, tap_config, catalog, schema="by_records", target_env=target_env)
        state = _load(
            postgres, target_bin, tmp_path, batched_config, catalog, schema="by_batches", target_env=target_env
        )
        by_records, by_batches = _loaded(postgres, "by_records", table), _loaded(postgres, "by_batches", table)
        assert len(by_batches) == 123
        deleted = {row["id"] for row in by_batches if row["_sdc_deleted_at"] is not None}
        assert deleted == ({"c"} if round_number == 2 else set())
        for row in by_records + by_batches:
            if row["id"] == "c":
                row.pop("_sdc_deleted_at")  # deleted in both, at different times
        assert by_batches == by_records
        if round_number == 1:
            assert [{k: v for k, v in _data(r).items() if k != "n"} for r in by_batches[:3]] == _expected_rows()
        versions = postgres.query_json(
            f'select json_agg(distinct "_sdc_table_version") from by_batches."{table}" where "_sdc_deleted_at" is null'
        )
        assert versions == [state["bookmarks"][table]["version"]]
    return table


def test_batch_files_load_into_postgres_exactly_as_records_do(
    postgres, target_postgres_bin, make_table, catalog_for, tap_config, ddb, tmp_path
):
    from tests.helpers import batch_config

    root = tmp_path / "batches"
    _batch_against_records(
        postgres,
        target_postgres_bin,
        make_table,
        catalog_for,
        tap_config,
        ddb,
        tmp_path,
        batch_config(f"file://{root}", "gzip", 40),
    )
    names = [path.name for path in root.iterdir()]
    assert names and all(name.endswith(".jsonl.gz") for name in names)


def test_s3_batch_files_load_into_postgres_exactly_as_records_do(
    postgres, target_postgres_s3_bin, s3_server, s3_bucket, make_table, catalog_for, tap_config, ddb, tmp_path
):
    from tests.helpers import batch_config

    config = tap_config.with_(s3_endpoint_url=s3_server.endpoint_url)
    # The target's SDK opens s3:// files with fsspec's s3fs, which finds the endpoint in AWS_ENDPOINT_URL.
    target_env = {
        "AWS_ENDPOINT_URL": s3_server.endpoint_url,
        "AWS_ACCESS_KEY_ID": s3_server.access_key,
        "AWS_SECRET_ACCESS_KEY": s3_server.secret_key,
    }
    table = _batch_against_records(
        postgres,
        target_postgres_s3_bin,
        make_table,
        catalog_for,
        config,
        ddb,
        tmp_path,
        batch_config(f"s3://{s3_bucket}/loads/", "none", 40, prefix="run-"),
        target_env,
    )
    keys = [o["Key"] for o in s3_server.client().list_objects_v2(Bucket=s3_bucket, Prefix="loads/").get("Contents", [])]
    assert keys and all(k.startswith(f"loads/run-{table}-") and k.endswith(".jsonl") for k in keys)


def test_export_batch_files_load_into_postgres_exactly_as_scanned_records_do(
    postgres, target_postgres_bin, make_table, catalog_for, tap_config, export_config, export_double, ddb, tmp_path
):
    """A full read from an export, its batch files written by the export reader's workers, lands in
    PostgreSQL row for row as a Scan's RECORDs do: 38-digit numbers and nested maps intact."""
    from tests.helpers import batch_config, batch_write

    export_double.partitions, export_double.items_per_file = 3, 30
    table = make_table(items=_source_items(), name_prefix="pgexbatch")
    batch_write(ddb, table, [{"id": {"S": f"z{n:03d}"}, "n": {"N": f"{n}.{BIG[:30]}"}} for n in range(120)])
    export_double.enable_pitr(table)
    catalog = catalog_for(table)
    _load(postgres, target_postgres_bin, tmp_path, tap_config, catalog, schema="ex_records")
    root = tmp_path / "batches"
    config = export_config.with_(full_table_source="export", batch_config=batch_config(f"file://{root}", "gzip", 25))
    state = _load(postgres, target_postgres_bin, tmp_path, config, catalog, schema="ex_batches")
    by_records, by_batches = _loaded(postgres, "ex_records", table), _loaded(postgres, "ex_batches", table)
    assert len(by_batches) == 123 and by_batches == by_records
    assert [{k: v for k, v in _data(r).items() if k != "n"} for r in by_batches[:3]] == _expected_rows()
    versions = postgres.query_json(f'select json_agg(distinct "_sdc_table_version") from ex_batches."{table}"')
    assert versions == [state["bookmarks"][table]["version"]]
    assert len(list(root.iterdir())) >= 5  # at least ceil(123 / 25) parts: none holds more than 25
