"""DynamoDB Local → tap-dynamodb | MeltanoLabs target-postgres → a real PostgreSQL server.

Proves that what we emit lands in a warehouse exactly: 38-digit numbers in NUMERIC columns,
maps as JSONB with every digit, sets as arrays, and deletes (ACTIVATE_VERSION after a
FULL_TABLE re-scan; `_sdc_deleted_at` from LOG_BASED) marked on the rows.
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


def _load(postgres, target_postgres_bin, tmp_path, config, catalog, state=None) -> dict:
    """Run `tap-dynamodb | target-postgres` once; the state the target emitted at the end."""
    target_config = tap_runner.write_json(tmp_path / "target-postgres.json", postgres.target_config(SCHEMA))
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
        target_env=tap_runner.local_env(),
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
