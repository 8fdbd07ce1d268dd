"""A/B of the output: this checkout's tap and another checkout's write the same messages.

    python -m devtools.ab_output /path/to/other/checkout   # it needs its own .venv (make venv)

Starts DynamoDB Local in memory and loads the type corpus: every DynamoDB type and edge value
(tests/integration/test_full_table.py's typed items: 38-digit and extreme numbers, binary keys,
sets, 30 levels of nesting) and a few thousand random items of every shape
(tests/helpers.random_items), each table with a NEW_AND_OLD_IMAGES stream. Both taps then run,
from the same catalog: FULL_TABLE, and LOG_BASED's first run, then (after updates, new items and
deletes) its second run from each tap's own state. The messages of each run are compared after
JSON parsing, leaving out what differs from run to run by design: time_extracted, table
versions and success_timestamp. Prints one line per run and exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import boto3

from devtools import tap_runner
from devtools.dynamodb_local import LOCAL_CREDENTIALS, DynamoDBLocal
from tests.helpers import batch_write, random_items, select_streams, wait_table_active

RANDOM_ITEMS = 3000


def normalized(stdout: bytes) -> list[Any]:
    """The messages of a run, parsed, without what differs from run to run by design."""
    messages = []
    for line in stdout.splitlines():
        message = json.loads(line)
        message.pop("time_extracted", None)
        message.pop("version", None)
        for bookmark in (message.get("value") or {}).get("bookmarks", {}).values():
            bookmark.pop("version", None)
            bookmark.pop("success_timestamp", None)
        messages.append(message)
    return messages


def _run(exe: list[str], config: Path, catalog: Path, state: Any, workdir: Path) -> tuple[list[Any], Any]:
    cmd = [*exe, "--config", str(config), "--catalog", str(catalog)]
    if state is not None:
        cmd += ["--state", str(tap_runner.write_json(workdir / f"state-{abs(hash(str(exe)))}.json", state))]
    done = subprocess.run(cmd, cwd=str(workdir), env=tap_runner.local_env(), capture_output=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr.decode()[-3000:]}")
    messages = normalized(done.stdout)
    states = [json.loads(line)["value"] for line in done.stdout.splitlines() if b'"type":"STATE"' in line]
    return messages, states[-1] if states else None


def _first_difference(mine: list[Any], theirs: list[Any]) -> str:
    for position, (a, b) in enumerate(zip(mine, theirs)):
        if a != b:
            return f"message {position}: ours {json.dumps(a)[:700]} / theirs {json.dumps(b)[:700]}"
    return "lengths differ"


def _tables(ddb: Any) -> dict[str, list[dict[str, Any]]]:
    from tests.integration.test_full_table import typed_item

    typed = [typed_item(index)[0] for index in range(40)]
    randoms = [dict(item, id={"S": f"r{n:05d}"}) for n, item in enumerate(random_items(11, RANDOM_ITEMS))]
    tables = {"ab_types": (("bin", "B"), typed), "ab_random": (("id", "S"), randoms)}
    for name, ((key, kind), items) in tables.items():
        ddb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": kind}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        wait_table_active(ddb, name)
        batch_write(ddb, name, items)
    return {name: items for name, (_, items) in tables.items()}


def _change(ddb: Any, tables: dict[str, list[dict[str, Any]]]) -> None:
    """Updates, new items and deletes, so the second LOG_BASED run has every kind of change."""
    random_table = tables["ab_random"]
    for item in random_table[:200]:
        ddb.put_item(TableName="ab_random", Item=dict(item, changed={"N": "0.000000000000000000000000000000000001"}))
    for item in random_table[200:300]:
        ddb.delete_item(TableName="ab_random", Key={"id": item["id"]})
    for item in tables["ab_types"][:10]:
        ddb.delete_item(TableName="ab_types", Key={"bin": item["bin"]})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.ab_output", description=__doc__.split("\n\n")[0])
    parser.add_argument("other", type=Path, help="the other checkout (with its .venv)")
    args = parser.parse_args(argv)
    other = [str(args.other.resolve() / ".venv" / "bin" / "tap-dynamodb")]
    ours = tap_runner.tap_command()
    server = DynamoDBLocal()
    server.start()
    failures = 0
    try:
        ddb = boto3.client("dynamodb", **server.client_kwargs())
        tables = _tables(ddb)
        with tempfile.TemporaryDirectory(prefix="tap-ab-") as tmp:
            workdir = Path(tmp)
            config = dict(LOCAL_CREDENTIALS, endpoint_url=server.endpoint_url, tables=list(tables))
            config_path = tap_runner.write_json(workdir / "config.json", config)
            discovered = tap_runner.run_tap("--discover", config=config, workdir=workdir).catalog
            states: dict[str, Any] = {"ours": None, "other": None}
            steps = [("FULL_TABLE", False), ("LOG_BASED first run", False), ("LOG_BASED second run", True)]
            for label, keep_state in steps:
                method = label.split()[0]
                catalog = tap_runner.write_json(
                    workdir / f"{method}.json", select_streams(discovered, list(tables), method)
                )
                if keep_state:
                    _change(ddb, tables)
                mine, states_ours = _run(ours, config_path, catalog, states["ours"] if keep_state else None, workdir)
                theirs, states_other = _run(
                    other, config_path, catalog, states["other"] if keep_state else None, workdir
                )
                states = {"ours": states_ours, "other": states_other}
                records = sum(1 for m in mine if m["type"] == "RECORD")
                same = mine == theirs
                failures += not same
                print(
                    f"{label}: {len(mine)} vs {len(theirs)} messages ({records} records): "
                    f"{'identical' if same else 'DIFFERENT'}"
                )
                if not same:
                    print(f"  first difference: {_first_difference(mine, theirs)}")
    finally:
        server.stop()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
