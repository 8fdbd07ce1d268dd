"""`meltano install`, `meltano invoke` and `meltano run tap-dynamodb target-jsonl` against DynamoDB Local.

Uses the repository's meltano.yml (custom plugins, no Meltano Hub) in a temp copy, settings
from TAP_DYNAMODB_* environment variables (tables as JSON-in-env, Meltano's list form), its
defaults (no index views; LOG_BASED where a table has a stream) and Meltano's own stored state
between runs.
"""

import hashlib
import json
import re
from decimal import Decimal

import pytest

pytestmark = pytest.mark.slow

JOB = "dev:tap-dynamodb-to-target-jsonl"
BIG = "12345678901234567890123456789012345678"


def _items(start: int, count: int) -> list:
    return [
        {
            "id": {"S": f"item-{n:03d}"},
            "n": {"N": str(n)},
            "big": {"N": f"-{BIG}"},
            "nested": {"M": {"price": {"N": f"0.{BIG}"}, "tags": {"SS": ["a", "b"]}}},
        }
        for n in range(start, start + count)
    ]


def _expected(n: int) -> dict:
    return {
        "id": f"item-{n:03d}",
        "n": n,
        "big": -int(BIG),
        "nested": {"price": Decimal(f"0.{BIG}"), "tags": ["a", "b"]},
    }


def test_meltano_run_extracts_a_table_then_only_its_changes_from_stored_state(meltano_project, make_table, ddb):
    """Plain Meltano settings, no metadata: the table (with a stream and a GSI) is read in full, then
    only its changes; the index view is not synced; discover, test and about work through invoke."""
    table = make_table(
        items=_items(0, 30),
        stream="NEW_AND_OLD_IMAGES",
        name_prefix="meltano",
        global_indexes=[("by_n", ("n", "N"), None, "ALL")],
    )
    other = make_table(items=_items(0, 2), name_prefix="skipped")  # not in TAP_DYNAMODB_TABLES
    project = meltano_project
    project.env["TAP_DYNAMODB_TABLES"] = json.dumps([table])  # Meltano's JSON-in-env form of a list

    project.run("install")
    for mode, shows in (("--test", "connection OK"), ("--about", "Capabilities:"), ("--discover", f"{table}:by_n")):
        assert shows in project.run("invoke", "tap-dynamodb", mode).stdout, mode  # exit 0, with Meltano's --catalog
    listed = project.run("select", "tap-dynamodb", "--list", "--all").stdout
    assert re.search(rf"\[selected\s*\] {table}\.n\n", listed), listed
    assert re.search(rf"\[excluded\s*\] {table}:by_n\.n\n", listed), listed
    first = project.run("run", "tap-dynamodb", "target-jsonl")

    rows = sorted(project.jsonl(f"output/{table}.jsonl"), key=lambda r: r["id"])
    assert rows == [_expected(n) for n in range(30)]
    assert not (project.dir / "output" / f"{other}.jsonl").exists()
    assert sorted(p.name for p in (project.dir / "output").iterdir()) == [f"{table}.jsonl"]  # no index view
    assert f"Starting LOG_BASED sync of {table} (first run)" in first.stdout
    assert "Sync report:" in first.stdout and '"metric": "record_count"' in first.stdout
    bookmark = project.state(JOB)["singer_state"]["bookmarks"][table]
    assert bookmark["initial_full_table_complete"] is True and "shard_seq_numbers" in bookmark

    ddb.put_item(TableName=table, Item=_items(30, 1)[0])
    ddb.update_item(
        TableName=table,
        Key={"id": {"S": "item-005"}},
        UpdateExpression="SET n = :v",
        ExpressionAttributeValues={":v": {"N": BIG}},
    )
    ddb.delete_item(TableName=table, Key={"id": {"S": "item-007"}})
    second = project.run("run", "tap-dynamodb", "target-jsonl")

    # The tap continued from the state Meltano stored: only the three changes were appended.
    assert f"Starting LOG_BASED sync of {table} (resumed from bookmark)" in second.stdout
    changes = project.jsonl(f"output/{table}.jsonl")[30:]
    assert len(changes) == 3, changes
    by_id = {row["id"]: row for row in changes}
    assert by_id["item-030"] == _expected(30)
    assert by_id["item-005"] == {**_expected(5), "n": int(BIG)}
    deleted = by_id["item-007"]
    marks = ("_sdc_deleted_at", "_sdc_deleted_by_ttl")
    assert {k: v for k, v in deleted.items() if k not in marks} == _expected(7)  # the last values
    assert deleted["_sdc_deleted_at"].endswith("Z") and deleted["_sdc_deleted_by_ttl"] is False


def test_meltano_stream_maps_hash_drop_and_flatten_every_stream_including_a_view(meltano_project, make_table):
    """`meltano run tap-dynamodb hide-customer-pii target-jsonl` with the repository's example map,
    pointed at this test's table: email hashed, ssn dropped, the address map flattened, in the
    table's stream and in its index view's, so that no column escapes the map."""
    items = [
        {
            "id": {"S": f"c{n}"},
            "email": {"S": f"person{n}@example.com"},
            "ssn": {"S": f"000-00-{n:04d}"},
            "address": {"M": {"city": {"S": "Lyon"}, "zip": {"N": str(69000 + n)}}},
        }
        for n in range(5)
    ]
    table = make_table(items=items, name_prefix="customers", global_indexes=[("by_email", ("email", "S"), None, "ALL")])
    project = meltano_project
    text = (project.dir / "meltano.yml").read_text()
    (project.dir / "meltano.yml").write_text(
        text.replace("          customers:", f"          {table}:").replace(
            "          customers__by_email:", f"          {table}__by_email:"
        )
    )
    project.env["TAP_DYNAMODB_TABLES"] = json.dumps([table])
    project.env["TAP_DYNAMODB__SELECT"] = json.dumps(["*.*"])  # the view too, this time

    project.run("install")
    project.run("run", "tap-dynamodb", "hide-customer-pii", "target-jsonl")

    expected = sorted(
        (
            {
                "id": f"c{n}",
                "email": hashlib.md5(f"person{n}@example.com".encode()).hexdigest(),
                "address__city": "Lyon",
                "address__zip": 69000 + n,
            }
            for n in range(5)
        ),
        key=lambda row: row["id"],
    )
    for stream in (table, f"{table}__by_email"):
        rows = sorted(project.jsonl(f"output/{stream}.jsonl"), key=lambda row: row["id"])
        assert rows == expected, stream


def test_meltano_run_with_batch_config_loads_batch_files_into_postgres(
    meltano_project, make_table, ddb, tmp_path, postgres, target_postgres_bin
):
    """batch_config set with `meltano config ... set` (an object setting, stored in meltano.yml): the
    initial load of a LOG_BASED table goes to gzip batch files that MeltanoLabs target-postgres
    loads; the next run's change arrives as a RECORD, from the state Meltano stored."""
    import yaml

    table = make_table(items=_items(0, 30), stream="NEW_AND_OLD_IMAGES", name_prefix="meltanobatch")
    project = meltano_project
    project.env["TAP_DYNAMODB_TABLES"] = json.dumps([table])
    project.env["TAP_DYNAMODB_SCAN_PAGE_SIZE"] = "10"  # three pages: three parts of 10
    # target-postgres from the tests' own venv: a custom loader with no pip_url is run as it is.
    spec = yaml.safe_load((project.dir / "meltano.yml").read_text())
    spec["plugins"]["loaders"].append(
        {
            "name": "target-postgres",
            "namespace": "target_postgres",
            "executable": str(target_postgres_bin),
            "config": postgres.target_config("meltano_batch"),
        }
    )
    (project.dir / "meltano.yml").write_text(yaml.safe_dump(spec, sort_keys=False))
    root = tmp_path / "batches"
    batch = {
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "storage": {"root": f"file://{root}"},
        "batch_size": 10,
    }

    project.run("install")
    project.run("config", "set", "tap-dynamodb", "batch_config", json.dumps(batch))
    assert (
        json.loads(project.run("config", "print", "tap-dynamodb", merge_stderr=False).stdout)["batch_config"] == batch
    )
    first = project.run("run", "tap-dynamodb", "target-postgres")
    assert "Full loads go to batch files under" in first.stdout

    rows = postgres.rows(f'meltano_batch."{table}"', "id")
    assert [{k: v for k, v in r.items() if not k.startswith("_sdc_")} for r in rows] == [
        _expected(n) for n in range(30)
    ]
    names = [path.name for path in root.iterdir()]
    assert len(names) == 3 and all(name.startswith(f"{table}-") and name.endswith(".jsonl.gz") for name in names)

    ddb.update_item(
        TableName=table,
        Key={"id": {"S": "item-005"}},
        UpdateExpression="SET n = :v",
        ExpressionAttributeValues={":v": {"N": BIG}},
    )
    files_before = sorted(root.iterdir())
    second = project.run("run", "tap-dynamodb", "target-postgres")
    assert f"Starting LOG_BASED sync of {table} (resumed from bookmark)" in second.stdout
    assert sorted(root.iterdir()) == files_before  # the change came as a RECORD
    rows = {r["id"]: r for r in postgres.rows(f'meltano_batch."{table}"', "id")}
    assert rows["item-005"]["n"] == int(BIG) and len(rows) == 30
