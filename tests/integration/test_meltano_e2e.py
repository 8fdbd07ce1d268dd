"""`meltano install` + `meltano run tap-dynamodb target-jsonl` against DynamoDB Local.

Uses the repository's meltano.yml (custom plugins, no Meltano Hub) in a temp copy, settings
from TAP_DYNAMODB_* environment variables (tables as JSON-in-env, Meltano's list form), and
Meltano's own stored state between runs.
"""

import json
from decimal import Decimal

import pytest

pytestmark = pytest.mark.slow

JOB = "dev:tap-dynamodb-to-target-jsonl"
BIG = "12345678901234567890123456789012345678"


def _items(start: int, count: int) -> list:
    return [{"id": {"S": f"item-{n:03d}"}, "n": {"N": str(n)}, "big": {"N": f"-{BIG}"},
             "nested": {"M": {"price": {"N": f"0.{BIG}"}, "tags": {"SS": ["a", "b"]}}}}
            for n in range(start, start + count)]


def _expected(n: int) -> dict:
    return {"id": f"item-{n:03d}", "n": n, "big": -int(BIG),
            "nested": {"price": Decimal(f"0.{BIG}"), "tags": ["a", "b"]}}


def test_meltano_run_extracts_a_table_and_continues_from_stored_state(meltano_project, make_table, ddb):
    table = make_table(items=_items(0, 30), name_prefix="meltano")
    other = make_table(items=_items(0, 2), name_prefix="skipped")  # not in TAP_DYNAMODB_TABLES
    project = meltano_project
    project.env["TAP_DYNAMODB_TABLES"] = json.dumps([table])
    project.env["TAP_DYNAMODB__METADATA"] = json.dumps({"*": {"replication-method": "FULL_TABLE"}})

    project.run("install")
    first = project.run("run", "tap-dynamodb", "target-jsonl")

    rows = sorted(project.jsonl(f"output/{table}.jsonl"), key=lambda r: r["id"])
    assert rows == [_expected(n) for n in range(30)]
    assert not (project.dir / "output" / f"{other}.jsonl").exists()
    assert f"Starting FULL_TABLE sync of {table} (first run)" in first.stdout
    assert "Sync report:" in first.stdout and '"metric": "record_count"' in first.stdout
    bookmark = project.state(JOB)["singer_state"]["bookmarks"][table]
    assert bookmark["initial_full_table_complete"] is True

    ddb.put_item(TableName=table, Item=_items(30, 1)[0])
    second = project.run("run", "tap-dynamodb", "target-jsonl")

    # The tap got Meltano's stored state: it knows the table was fully synced before.
    assert f"Starting FULL_TABLE sync of {table} (new full scan after a complete one)" in second.stdout
    rows = project.jsonl(f"output/{table}.jsonl")
    assert len(rows) == 30 + 31  # target-jsonl appends; FULL_TABLE re-reads everything
    assert sorted(rows[30:], key=lambda r: r["id"]) == [_expected(n) for n in range(31)]
    new_bookmark = project.state(JOB)["singer_state"]["bookmarks"][table]
    assert new_bookmark["version"] > bookmark["version"]
