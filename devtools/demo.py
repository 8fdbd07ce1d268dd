"""End-to-end demo of tap-dynamodb against DynamoDB Local (``make demo``).

1. starts DynamoDB Local on a free port, its tables kept in ``<workdir>/db``,
2. creates ``demo_orders`` (hash ``order_id`` S, range ``line`` N, stream
   NEW_AND_OLD_IMAGES) with ~50 items covering every DynamoDB type,
3. runs discovery, selects ``demo_orders`` as LOG_BASED, runs a first sync,
4. updates one item, deletes one, inserts one, and runs a second sync from
   the first run's final STATE,
5. ends with commands to try the tap by hand that work as printed: start
   DynamoDB Local again on a fixed port (``--hint-port``, 8000) with the
   demo's tables, and run the tap's console script by its path with a config
   (``local-config.json``) that points at that port.

Every tap command line is printed.  Exits non-zero (with the tap's stderr) if
a tap run fails.

    python -m devtools.demo [--workdir DIR] [--hint-port N]
"""

from __future__ import annotations

import argparse
import decimal
import json
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Optional

from devtools import tap_runner
from devtools.dynamodb_local import LOCAL_CREDENTIALS, REPO_ROOT, DynamoDBLocal, DynamoDBLocalError, _tcp_open

TABLE = "demo_orders"
ITEM_COUNT = 50
# Files written by the demo (config, catalog, state, the tables in db/); output/ is git-ignored.
DEMO_DIR = REPO_ROOT / "output" / "demo"
HINT_PORT = 8000  # where the closing hint starts DynamoDB Local again


# --------------------------------------------------------------------------
# Output helpers
# --------------------------------------------------------------------------


def heading(text: str) -> None:
    print(f"\n=== {text} " + "=" * max(0, 70 - len(text)), flush=True)


def dumps(obj) -> str:
    """Pretty JSON keeping Decimal values exact (simplejson if available)."""
    try:
        import simplejson

        return simplejson.dumps(obj, indent=2, sort_keys=True, use_decimal=True)
    except ImportError:
        return json.dumps(
            obj, indent=2, sort_keys=True, default=lambda o: str(o) if isinstance(o, decimal.Decimal) else repr(o)
        )


def show_command(cmd) -> None:
    print("$ " + shlex.join(str(c) for c in cmd), flush=True)


class DemoError(Exception):
    pass


def run(*args, workdir: Path, **kwargs) -> tap_runner.TapResult:
    """Run the tap (venv console script if installed), print the command,
    and stop the demo on failure."""
    try:
        result = tap_runner.run_tap(
            *args, workdir=workdir, prefer_console_script=True, on_command=show_command, **kwargs
        )
    except tap_runner.TapTimeout as exc:
        raise DemoError(str(exc)) from None
    if result.returncode != 0:
        raise DemoError(result.failure_message())
    if result.bad_lines and "--discover" not in args:
        raise DemoError("tap printed non-JSON lines on stdout:\n" + "\n".join(result.bad_lines[:10]))
    return result


def summarize(result: tap_runner.TapResult, samples: int = 3) -> None:
    counts = result.counts()
    print("messages: " + ", ".join(f"{t}={n}" for t, n in sorted(counts.items())))
    records = result.records(TABLE)
    for i, rec in enumerate(records[:samples], 1):
        print(f"--- record {i} of {len(records)} ---")
        print(dumps(rec))
    print("--- final STATE ---")
    print(dumps(result.last_state))


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


def demo_items(count: int = ITEM_COUNT):
    """Low-level DynamoDB items exercising every attribute type."""
    statuses = ["NEW", "PAID", "SHIPPED", "CANCELLED"]
    items = []
    for i in range(count):
        order = f"ORD-{i // 3 + 1:04d}"  # ~3 lines per order
        item = {
            "order_id": {"S": order},
            "line": {"N": str(i % 3 + 1)},
            "sku": {"S": f"SKU-{(i * 7) % 23:03d}"},
            "status": {"S": statuses[i % len(statuses)]},
            "quantity": {"N": str(i % 5 + 1)},
            "unit_price": {"N": f"{(i * 13) % 100}.{i % 100:02d}"},
            # 38 significant digits: does not fit a float or an int64.
            "ledger_id": {"N": str(10**37 + i * 1234567890123)},
            "tiny": {"N": f"0.{'0' * 20}{i + 1}"},
            "gift": {"BOOL": i % 4 == 0},
            "tags": {"SS": sorted({"demo", f"batch-{i % 3}", "priority" if i % 5 == 0 else "normal"})},
            "box_sizes": {"NS": [str(i % 4 + 1), str(i % 4 + 10), "2.5"]},
            "thumbnail": {"B": bytes([i % 256, 0, 255, 42]) + f"img{i}".encode()},
            "shipping": {
                "M": {
                    "address": {
                        "M": {"city": {"S": ["Berlin", "Lagos", "Lima", "Osaka"][i % 4]}, "zip": {"S": f"{10000 + i}"}}
                    },
                    "events": {
                        "L": [
                            {"M": {"at": {"S": f"2024-01-{i % 28 + 1:02d}T10:00:00Z"}, "what": {"S": "created"}}},
                            {"N": str(i)},
                            {"BOOL": True},
                            {"NULL": True},
                        ]
                    },
                }
            },
        }
        if i % 6 == 0:
            item["coupon"] = {"NULL": True}
        if i % 10 == 0:
            item["note"] = {"S": f"Ünïcode note #{i} ✓"}
        items.append(item)
    return items


def _batch_write(client, items) -> None:
    for start in range(0, len(items), 25):
        requests = {TABLE: [{"PutRequest": {"Item": it}} for it in items[start : start + 25]]}
        for _ in range(10):
            requests = client.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}
            if not requests:
                break
        else:
            raise DemoError("batch_write_item kept returning UnprocessedItems")


def setup_table(client) -> None:
    print(f"creating table {TABLE} (order_id S + line N, stream NEW_AND_OLD_IMAGES)")
    client.create_table(
        TableName=TABLE,
        AttributeDefinitions=[
            {"AttributeName": "order_id", "AttributeType": "S"},
            {"AttributeName": "line", "AttributeType": "N"},
        ],
        KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}, {"AttributeName": "line", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    items = demo_items()
    _batch_write(client, items)
    print(f"wrote {len(items)} items")


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def select_log_based(catalog: dict) -> dict:
    for entry in catalog.get("streams", []):
        if TABLE in (entry.get("tap_stream_id"), entry.get("stream"), entry.get("table_name")):
            mdata = entry.setdefault("metadata", [])
            top = next((m for m in mdata if m.get("breadcrumb") == []), None)
            if top is None:
                top = {"breadcrumb": [], "metadata": {}}
                mdata.insert(0, top)
            top.setdefault("metadata", {}).update({"selected": True, "replication-method": "LOG_BASED"})
            return catalog
    raise DemoError(f"discovery did not return a stream for {TABLE}")


def demo(server: DynamoDBLocal, workdir: Path, hint_port: int = HINT_PORT) -> None:
    import boto3

    client = boto3.client("dynamodb", **server.client_kwargs())
    heading("1. Test data")
    setup_table(client)

    config = dict(LOCAL_CREDENTIALS, endpoint_url=server.endpoint_url)
    config_path = tap_runner.write_json(workdir / "config.json", config)
    heading("2. Discovery")
    print(f"config ({config_path}):\n{dumps(config)}")
    discovered = run("--discover", config=config_path, workdir=workdir)
    catalog = discovered.catalog
    names = [s.get("tap_stream_id") for s in catalog.get("streams", [])]
    print(f"discovered streams: {names}")
    catalog_path = tap_runner.write_json(workdir / "catalog.json", select_log_based(catalog))
    print(f"selected {TABLE} with replication-method LOG_BASED -> {catalog_path}")

    heading("3. First sync (initial full scan, stream position bookmarked)")
    first = run(config=config_path, catalog=catalog_path, workdir=workdir)
    summarize(first)
    state = first.last_state
    if state is None:
        raise DemoError("the first sync emitted no STATE message")
    state_path = tap_runner.write_json(workdir / "state.json", state)

    heading("4. Changes: update one item, delete one, insert one")
    client.update_item(
        TableName=TABLE,
        Key={"order_id": {"S": "ORD-0001"}, "line": {"N": "1"}},
        UpdateExpression="SET #s = :s, quantity = quantity + :one",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "REFUNDED"}, ":one": {"N": "1"}},
    )
    print("updated ORD-0001/1: status=REFUNDED, quantity+1")
    client.delete_item(TableName=TABLE, Key={"order_id": {"S": "ORD-0002"}, "line": {"N": "2"}})
    print("deleted ORD-0002/2")
    client.put_item(
        TableName=TABLE,
        Item={
            "order_id": {"S": "ORD-9999"},
            "line": {"N": "1"},
            "sku": {"S": "SKU-NEW"},
            "status": {"S": "NEW"},
            "unit_price": {"N": "99999999999999999999999999999999999.999"},
        },
    )
    print("inserted ORD-9999/1")

    heading("5. Second sync from the saved STATE (reads the DynamoDB stream)")
    second = run(config=config_path, catalog=catalog_path, state=state_path, workdir=workdir)
    print("messages: " + ", ".join(f"{t}={n}" for t, n in sorted(second.counts().items())))
    records = second.records(TABLE)
    for rec in records:
        print(dumps(rec))
    deleted = [r for r in records if r.get("_sdc_deleted_at")]
    print(f"\n{len(records)} record(s), {len(deleted)} with _sdc_deleted_at (expected 3 records, 1 delete)")
    if len(records) != 3 or len(deleted) != 1:
        print("NOTE: the second sync did not emit what the demo expected", file=sys.stderr)
    print("--- final STATE ---")
    print(dumps(second.last_state))

    last_state_path = tap_runner.write_json(workdir / "last-state.json", second.last_state)
    print_hint(workdir, hint_port, last_state_path)


def shown(path: Path) -> str:
    """A path as the hint prints it: relative to the repository root (the hint's `cd`) when inside it."""
    path = Path(path).absolute()
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def hint_tap_command() -> list[str]:
    """The tap's console script next to this interpreter (the venv's), by its path: `tap-dynamodb`
    alone is not on PATH unless the venv is activated."""
    return [
        shown(Path(part)) if os.sep in part else part for part in tap_runner.tap_command(prefer_console_script=True)
    ]


def print_hint(workdir: Path, port: int, last_state: Path) -> None:
    """Commands to try the tap by hand, each working as printed (tests/integration/test_demo_hint.py)."""
    config = dict(LOCAL_CREDENTIALS, endpoint_url=f"http://127.0.0.1:{port}")
    config_path = tap_runner.write_json(workdir / "local-config.json", config)
    cd = "cd " + shlex.quote(str(REPO_ROOT))
    python = shown(Path(sys.executable))
    server = [python, "-m", "devtools.dynamodb_local", "run", "--port", str(port), "--db-path", shown(workdir / "db")]
    tap = [*hint_tap_command(), "--config", shown(config_path)]
    catalog = ["--catalog", shown(workdir / "catalog.json")]

    def command(*parts: str, output: Optional[Path] = None) -> str:
        line = "  $ " + shlex.join(parts)
        return line + (" > " + shlex.quote(shown(output)) if output else "")

    heading("Done")
    lines = [
        f"Config, catalog and state files are kept in {shown(workdir)}, the demo's tables in {shown(workdir / 'db')}.",
        f"To try the tap by hand, start DynamoDB Local again with those tables on port {port}, in another",
        "terminal (Ctrl-C stops it):",
        "  $ " + cd,
        command(*server),
        f"then here ({shown(config_path)} points at port {port}): a connection check, discovery, a first",
        "sync of the whole table, and a sync from the demo's last STATE (only changes made since):",
        "  $ " + cd,
        command(*tap, "--test"),
        command(*tap, "--discover", output=workdir / "discovered.json"),
        command(*tap, *catalog, output=workdir / "first-sync.jsonl"),
        command(*tap, *catalog, "--state", shown(last_state)),
    ]
    if _tcp_open(port):
        lines.append(
            f"(Port {port} is in use right now: stop what listens there first, or run the demo with "
            f"`{python} -m devtools.demo --hint-port N`.)"
        )
    print("\n".join(lines))


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=DEMO_DIR, help=f"files and tables (default: {shown(DEMO_DIR)})")
    parser.add_argument(
        "--hint-port",
        type=int,
        default=HINT_PORT,
        help=f"port of the closing hint's DynamoDB Local (default: {HINT_PORT})",
    )
    args = parser.parse_args(argv)
    workdir = args.workdir.absolute()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    try:
        heading("0. Starting DynamoDB Local")
        with DynamoDBLocal(db_path=workdir / "db") as server:
            print(f"DynamoDB Local at {server.endpoint_url}")
            demo(server, workdir, args.hint_port)
    except (DemoError, DynamoDBLocalError) as exc:
        print(f"\ndemo failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
