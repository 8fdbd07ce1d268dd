"""Plain helper functions for tests (fixtures live only in tests/conftest.py)."""

from __future__ import annotations

import base64
import copy
import json
import random
from collections.abc import Iterable
from typing import Any, Optional

from tap_dynamodb.values.decode import DoesNotFit, fitting_decoder

REPLICATION_METHODS = ("FULL_TABLE", "LOG_BASED", "INCREMENTAL")


def find_stream(catalog: dict[str, Any], name: str) -> dict[str, Any]:
    """The catalog entry whose tap_stream_id, stream or table_name is *name*."""
    for entry in catalog.get("streams", []):
        if name in (entry.get("tap_stream_id"), entry.get("stream"), entry.get("table_name")):
            return entry
    known = [e.get("tap_stream_id") for e in catalog.get("streams", [])]
    raise KeyError(f"stream {name!r} not in catalog (streams: {known})")


def top_level_metadata(entry: dict[str, Any]) -> dict[str, Any]:
    """The ``metadata`` dict of the ``breadcrumb: []`` entry (created if absent)."""
    mdata: list[dict[str, Any]] = entry.setdefault("metadata", [])
    for item in mdata:
        if list(item.get("breadcrumb", [])) == []:
            return item.setdefault("metadata", {})
    item = {"breadcrumb": [], "metadata": {}}
    mdata.insert(0, item)
    return item["metadata"]


def select_streams(
    catalog: dict[str, Any], names: Iterable[str], method: Optional[str] = "FULL_TABLE"
) -> dict[str, Any]:
    """Mark the named streams ``selected: true`` with ``replication-method``
    *method* in their top-level metadata.  Modifies and returns *catalog*.

    *names* may be a single string.  Unknown names raise KeyError.  With
    ``method=None`` the replication method is left untouched.
    """
    if isinstance(names, str):
        names = [names]
    for name in names:
        md = top_level_metadata(find_stream(catalog, name))
        md["selected"] = True
        if method is not None:
            md["replication-method"] = method
    return catalog


def selected_copy(
    catalog: dict[str, Any], names: Iterable[str], method: Optional[str] = "FULL_TABLE"
) -> dict[str, Any]:
    """Like :func:`select_streams` but leaves *catalog* unchanged."""
    return select_streams(copy.deepcopy(catalog), names, method)


# --------------------------------------------------------------------------
# DynamoDB helpers (take a boto3 low-level client)
# --------------------------------------------------------------------------

BATCH_SIZE = 25  # BatchWriteItem limit


def batch_write(client, table_name: str, items: Iterable[dict[str, Any]], max_attempts: int = 10) -> int:
    """Put low-level items (``{"id": {"S": "a"}}``) in chunks of 25, retrying
    UnprocessedItems with a short back-off.  Returns the number written."""
    import time

    items = list(items)
    for start in range(0, len(items), BATCH_SIZE):
        requests = {table_name: [{"PutRequest": {"Item": item}} for item in items[start : start + BATCH_SIZE]]}
        for attempt in range(max_attempts):
            resp = client.batch_write_item(RequestItems=requests)
            requests = resp.get("UnprocessedItems") or {}
            if not requests:
                break
            time.sleep(min(0.05 * 2**attempt, 2.0))
        else:
            left = sum(len(v) for v in requests.values())
            raise RuntimeError(
                f"batch_write_item left {left} unprocessed items in {table_name} after {max_attempts} attempts"
            )
    return len(items)


def wait_table_active(client, table_name: str, timeout: float = 60) -> dict[str, Any]:
    """Poll DescribeTable until the table is ACTIVE; returns the description."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        table = client.describe_table(TableName=table_name)["Table"]
        if table["TableStatus"] == "ACTIVE":
            return table
        if time.monotonic() > deadline:
            raise TimeoutError(f"table {table_name} still {table['TableStatus']} after {timeout}s")
        time.sleep(0.1)


def scan_all(client, table_name: str, **kwargs) -> list[dict[str, Any]]:
    """Every item of a table (paginated Scan), low-level format."""
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=table_name, **kwargs):
        items.extend(page.get("Items", []))
    return items


def scan_order(client, table_name: str, key: str, **kwargs) -> list[Any]:
    """The key attribute's wire value (e.g. ``"k-1"``; binary as base64 text) of
    every item in the order Scan returns them (optionally one segment)."""
    import base64

    out = []
    for item in scan_all(client, table_name, **kwargs):
        ((tag, value),) = item[key].items()
        out.append(base64.b64encode(value).decode("ascii") if tag == "B" else value)
    return out


RANDOM_NAMES = ["id", "a", "b", "odd 'name\"\\\n", "ünï", "m"]


def _random_value(rng: random.Random, depth: int) -> dict:
    kinds = ["S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS"] + (["M", "L"] if depth < 3 else [])
    kind = rng.choice(kinds)
    if kind == "S":
        return {"S": rng.choice(["", "x", "Zürich", 'q"uote'])}
    if kind == "N":
        return {"N": rng.choice(["0", "-1.5", "1E-130", "12345678901234567890123456789012345678"])}
    if kind == "B":
        return {"B": "AAE="}
    if kind == "BOOL":
        return {"BOOL": rng.random() < 0.5}
    if kind == "NULL":
        return {"NULL": True}
    if kind in ("SS", "BS"):
        return {kind: ["s", "t"] if kind == "SS" else ["AA=="]}
    if kind == "NS":
        return {"NS": ["1", "2.5"]}
    if kind == "M":
        return {"M": {name: _random_value(rng, depth + 1) for name in rng.sample(RANDOM_NAMES[:4], rng.randint(0, 3))}}
    return {"L": [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]}


def random_items(seed: int, count: int) -> list:
    """`count` wire-form items of random shapes (every type, nested, odd names), the same for a seed."""
    rng = random.Random(seed)
    return [
        {name: _random_value(rng, 0) for name in rng.sample(RANDOM_NAMES, rng.randint(1, len(RANDOM_NAMES)))}
        for _ in range(count)
    ]


def fits(typed: dict, schema: Optional[dict]) -> bool:
    """True when merging the value's schema into `schema` would add nothing (the fitting decoder's verdict)."""
    try:
        fitting_decoder(schema, str)(typed)
    except DoesNotFit:
        return False
    return True


def metric_points(lines: Iterable[str]) -> list[dict[str, Any]]:
    """The Singer METRIC points among log lines (stderr lines or caplog messages), parsed."""
    return [json.loads(line.split("METRIC: ", 1)[1]) for line in lines if "METRIC: " in line]


def log_based_setup(tap_config: Any, run_tap: Any, name: str, **config_changes: Any) -> tuple[Any, dict[str, Any]]:
    """(config with only `name` in tables, a catalog selecting it LOG_BASED) for the run_tap fixture."""
    config = tap_config.with_(tables=[name], **config_changes)
    catalog = select_streams(run_tap("--discover", config=config.path).catalog, name, method="LOG_BASED")
    return config, catalog


def batch_config(root: str, compression: str = "gzip", batch_size: Optional[int] = None, prefix: str = "") -> dict:
    """A `batch_config` setting in the SDK's shape."""
    config: dict[str, Any] = {
        "encoding": {"format": "jsonl", "compression": compression},
        "storage": {"root": root, "prefix": prefix},
    }
    if batch_size is not None:
        config["batch_size"] = batch_size
    return config


def batch_file_lines(data: bytes, compression: Optional[str]) -> list[Any]:
    """The parsed JSON lines of a batch file's bytes (numbers exact)."""
    import gzip

    from devtools.tap_runner import parse_message

    text = gzip.decompress(data) if compression == "gzip" else data
    return [parse_message(line) for line in text.decode().splitlines()]


def batch_records(messages: Iterable[dict[str, Any]], s3_client: Any = None) -> list[dict[str, Any]]:
    """Every record of every file the BATCH messages name, in message order (file:// or, with a client, s3://)."""
    from urllib.parse import urlsplit

    records: list[dict[str, Any]] = []
    for message in messages:
        if message.get("type") != "BATCH":
            continue
        for url in message["manifest"]:
            if url.startswith("file://"):
                data = open(url[len("file://") :], "rb").read()
            else:
                parts = urlsplit(url)
                data = s3_client.get_object(Bucket=parts.netloc, Key=parts.path.lstrip("/"))["Body"].read()
            records.extend(batch_file_lines(data, message["encoding"]["compression"]))
    return records


# --------------------------------------------------------------------------
# Exports: the export double (devtools/export_double.py) and its files
# --------------------------------------------------------------------------

EXPORT_BIG_NUMBER = "12345678901234567890123456789012345678"  # 38 digits


def export_items(count: int) -> list[dict]:
    """Items with every type: exact numbers, binary, sets, nested maps and lists, odd names."""
    out = []
    for n in range(count):
        item = {
            "id": {"S": f"k{n:04d}"},
            "n": {"N": EXPORT_BIG_NUMBER if n % 5 == 0 else f"{n}.5"},
            "b": {"B": base64.b64encode(bytes([n % 256, 0, 255])).decode()},
            "ss": {"SS": [f"s{n}", "z"]},
            "ns": {"NS": ["1", "2.25", "-1E-130"]},
            "m": {"M": {"inner": {"M": {"x": {"N": str(n)}, "l": {"L": [{"S": "a"}, {"NULL": True}]}}}}},
        }
        if n % 3 == 0:
            item["bs"] = {"BS": ["AAE=", "/w=="]}
            item["ünï name"] = {"BOOL": n % 2 == 0}
        if n % 11 == 0:
            item["late"] = {"S": "only some items"}
        out.append(item)
    return out


def client_via(double: Any) -> Any:
    """A boto3 DynamoDB client whose writes pass through the double, so its journal (AWS's history
    for point-in-time and incremental exports) sees them."""
    import boto3
    from botocore.config import Config

    from devtools.dynamodb_local import LOCAL_CREDENTIALS

    return boto3.session.Session().client(
        "dynamodb", endpoint_url=double.endpoint_url, config=Config(retries={"max_attempts": 2}), **LOCAL_CREDENTIALS
    )


def put_item(client: Any, table: str, key: str, **values: int) -> None:
    item = {"id": {"S": key}, **{name: {"N": str(value)} for name, value in values.items()}}
    client.put_item(TableName=table, Item=item)


def delete_item(client: Any, table: str, key: str) -> None:
    client.delete_item(TableName=table, Key={"id": {"S": key}})


def records_by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {record["id"]: record for record in records}


def export_requests(double: Any, export_type: Optional[str] = None) -> list[dict]:
    """The ExportTableToPointInTime requests the double answered (of one ExportType, if given)."""
    return [
        params
        for operation, params in double.requests
        if operation == "ExportTableToPointInTime" and export_type in (None, params.get("ExportType", "FULL_EXPORT"))
    ]


def export_file_ids(double: Any, s3_server: Any, export_arn: str) -> dict[int, list[str]]:
    """{data file index: the ids of its lines, in order}, read from the export's files in S3."""
    import gzip

    export = double.wait(export_arn)
    client = s3_server.client()
    manifest = client.get_object(Bucket=export.bucket, Key=f"{export.folder}/manifest-files.json")["Body"].read()
    out = {}
    for index, line in enumerate(x for x in manifest.splitlines() if x.strip()):
        body = client.get_object(Bucket=export.bucket, Key=json.loads(line)["dataFileS3Key"])["Body"].read()
        text = gzip.decompress(body) if body else b""
        out[index] = [json.loads(item)["Item"]["id"]["S"] for item in text.splitlines() if item.strip()]
    return out


def export_covered_ids(bookmark: dict, ids: dict[int, list[str]]) -> set:
    """The ids an export bookmark says are written: the files done, and each file's first lines."""
    progress = bookmark.get("export") or {}
    out = set()
    for index in progress.get("files_done", []):
        out.update(ids[index])
    for index, lines in progress.get("file_lines", {}).items():
        out.update(ids[int(index)][:lines])
    return out


def discover_only(run_tap: Any, config: Any, name: str, method: str) -> tuple[Any, dict[str, Any]]:
    """(config with only `name` in tables, the discovered catalog selecting it with `method`)."""
    config = config.with_(tables=[name])
    catalog = run_tap("--discover", config=config.path).catalog
    return config, select_streams(catalog, name, method=method)
