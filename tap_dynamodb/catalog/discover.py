"""Discovery: ListTables (paginated) and DescribeTable → a Singer catalog.

One stream per table, with its key properties, item count, the replication methods the
table can use (LOG_BASED only with a NEW_IMAGE or NEW_AND_OLD_IMAGES stream, INCREMENTAL only
with point-in-time recovery on, whose window the metadata reports: aws/pitr.py) and a schema
inferred from a sample (values/schema.py, sampling.py). Each global or local secondary index becomes a "view"
stream of its own, `<table>:<index>` (":" cannot occur in DynamoDB names, so the id is
unambiguous, and Meltano's `select` patterns, which split at the first ".", still reach
it), read with Scan's IndexName, FULL_TABLE only and not selected by default.
Tables are filtered by name (`tables`, `exclude_tables`) before they are described, so that
discovering a few tables in an account with thousands stays fast.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Iterable
from typing import Any, Optional

from botocore.exceptions import ClientError

from ..aws import Clients
from ..aws.api import DynamoDB, TableAccessDenied, TableNotFound
from ..aws.errors import AUTH_ERRORS, aws_errors, error_code
from ..aws.pitr import PitrWindow, read_window
from ..settings import Config
from ..values import schema as schema_mod
from ..values.schema import Schema
from .sampling import sample_items

LOGGER = logging.getLogger("tap_dynamodb")

NEW_IMAGE_VIEWS = ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")
INDEX_SEPARATOR = ":"
INDEX_STREAM_SEPARATOR = "__"


Entry = dict[str, Any]
"""A catalog entry: tap_stream_id, stream, table_name, key_properties, schema, metadata."""


def filter_table_names(names: Iterable[str], include: Optional[list[str]], exclude: Optional[list[str]]) -> list[str]:
    """Names matching any `include` glob (all when None) and no `exclude` glob."""
    kept = []
    for name in names:
        if include and not any(fnmatch.fnmatchcase(name, pattern) for pattern in include):
            continue
        if exclude and any(fnmatch.fnmatchcase(name, pattern) for pattern in exclude):
            continue
        kept.append(name)
    return kept


def describe_table(api: DynamoDB, name: str) -> Optional[dict[str, Any]]:
    """DescribeTable, or None (with a warning) when the table went or the credentials may not describe it."""
    try:
        return api.describe_table(name)
    except TableAccessDenied as exc:
        LOGGER.warning("Skipping table %s: the credentials may not describe it (%s)", name, exc.code)
    except TableNotFound:
        LOGGER.warning("Skipping table %s: it was deleted during discovery", name)
    return None


def stream_view_type(table: dict[str, Any]) -> Optional[str]:
    """The view type of the table's DynamoDB stream when one is enabled, else None."""
    spec = table.get("StreamSpecification") or {}
    if spec.get("StreamEnabled") and table.get("LatestStreamArn"):
        return spec.get("StreamViewType")
    return None


def key_names(key_schema: list[dict[str, str]]) -> list[str]:
    """Hash key first, then range key."""
    ordered = sorted(key_schema, key=lambda k: 0 if k["KeyType"] == "HASH" else 1)
    return [k["AttributeName"] for k in ordered]


def valid_methods(table: dict[str, Any], pitr: Optional[PitrWindow] = None) -> list[str]:
    """FULL_TABLE always; LOG_BASED with a stream that carries new images; INCREMENTAL with PITR on."""
    methods = ["FULL_TABLE"]
    if stream_view_type(table) in NEW_IMAGE_VIEWS:
        methods.append("LOG_BASED")
    if pitr is not None and pitr.enabled:
        methods.append("INCREMENTAL")
    return methods


_GONE = ("TableNotFoundException", "ResourceNotFoundException")


class PitrReader:
    """Reads each table's PITR window for discovery, and never lets it fail discovery.

    An endpoint without the operation (DynamoDB Local) is asked once: after its first
    UnknownOperationException no table is asked again. Credentials that may not call it get
    one warning per table naming the permission; the table is then offered no INCREMENTAL.
    """

    def __init__(self, api: DynamoDB):
        self._api = api
        self._unsupported = False

    def window(self, table_name: str) -> Optional[PitrWindow]:
        if self._unsupported:
            return None
        try:
            window = read_window(self._api, table_name)
        except ClientError as exc:
            if error_code(exc) in _GONE:
                return None  # deleted during discovery: its sampling says so
            if error_code(exc) not in AUTH_ERRORS:
                raise
            LOGGER.warning(
                "Table %s: the credentials may not call DescribeContinuousBackups (%s), so INCREMENTAL is not "
                "offered; grant dynamodb:DescribeContinuousBackups to use exports",
                table_name,
                error_code(exc),
            )
            return None
        if window is None:
            self._unsupported = True
            LOGGER.info("The endpoint has no DescribeContinuousBackups (DynamoDB Local?): no table offers INCREMENTAL")
        return window


def field_metadata(schema: Schema, keys: list[str]) -> list[dict[str, Any]]:
    """Field-level metadata: keys automatic, everything else available and selected by default."""
    out = []
    for name in schema.get("properties", {}):
        inclusion = "automatic" if name in keys else "available"
        out.append(
            {"breadcrumb": ["properties", name], "metadata": {"inclusion": inclusion, "selected-by-default": True}}
        )
    return out


def table_entry(
    table: dict[str, Any], sample: Optional[list[dict[str, Any]]] = None, pitr: Optional[PitrWindow] = None
) -> Entry:
    """The catalog entry of one table (`pitr`: its PITR window, None when unknown)."""
    name = table["TableName"]
    keys = key_names(table["KeySchema"])
    schema = schema_mod.table_schema(table, sample or [])
    top = {
        "table-key-properties": keys,
        "row-count": table.get("ItemCount", 0),
        "tap-dynamodb.valid-replication-methods": valid_methods(table, pitr),
        "selected-by-default": False,
    }
    view = stream_view_type(table)
    if view:
        top["tap-dynamodb.stream-view-type"] = view
        top["tap-dynamodb.stream-arn"] = table["LatestStreamArn"]
    if pitr is not None:
        top.update(pitr.metadata())
    return {
        "tap_stream_id": name,
        "stream": name,
        "table_name": name,
        "key_properties": keys,
        "schema": schema,
        "metadata": [{"breadcrumb": [], "metadata": top}, *field_metadata(schema, keys)],
    }


def index_stream_id(table_name: str, index_name: str) -> str:
    return f"{table_name}{INDEX_SEPARATOR}{index_name}"


def secondary_indexes(table: dict[str, Any]) -> list[Any]:
    """(kind, index description) of every GSI, then every LSI, as DescribeTable lists them."""
    return [("GSI", index) for index in table.get("GlobalSecondaryIndexes") or []] + [
        ("LSI", index) for index in table.get("LocalSecondaryIndexes") or []
    ]


def index_keys(table: dict[str, Any], index: dict[str, Any]) -> list[str]:
    """The index's keys, then the table's keys it does not already have: together unique per item."""
    keys = key_names(index["KeySchema"])
    return keys + [k for k in key_names(table["KeySchema"]) if k not in keys]


def index_schema(table: dict[str, Any], index: dict[str, Any], sample: list[dict[str, Any]]) -> Schema:
    """The schema of what the index projects: keys only, keys plus the INCLUDE list, or all."""
    projection = index.get("Projection") or {}
    kind = projection.get("ProjectionType", "ALL")
    keys = index_keys(table, index)
    if kind == "KEYS_ONLY":
        sample = []
    elif kind == "INCLUDE":
        allowed = set(keys) | set(projection.get("NonKeyAttributes") or [])
        sample = [{k: v for k, v in item.items() if k in allowed} for item in sample]
    return schema_mod.table_schema(table, sample, keys)


def index_entry(
    table: dict[str, Any], kind: str, index: dict[str, Any], sample: Optional[list[dict[str, Any]]] = None
) -> Entry:
    """The catalog entry of one secondary index, a view of its table."""
    table_name, index_name = table["TableName"], index["IndexName"]
    keys = index_keys(table, index)
    schema = index_schema(table, index, sample or [])
    projection = index.get("Projection") or {}
    top = {
        "is-view": True,
        "view-key-properties": keys,
        "tap-dynamodb.table-name": table_name,
        "tap-dynamodb.index-name": index_name,
        "tap-dynamodb.index-type": kind,
        "tap-dynamodb.index-projection": projection.get("ProjectionType", "ALL"),
        "row-count": index.get("ItemCount", 0),
        "tap-dynamodb.valid-replication-methods": ["FULL_TABLE"],
        "forced-replication-method": "FULL_TABLE",
        "selected-by-default": False,
    }
    if projection.get("NonKeyAttributes"):
        top["tap-dynamodb.index-non-key-attributes"] = list(projection["NonKeyAttributes"])
    stream_id = index_stream_id(table_name, index_name)
    return {
        "tap_stream_id": stream_id,
        "stream": f"{table_name}{INDEX_STREAM_SEPARATOR}{index_name}",
        "table_name": table_name,
        "key_properties": keys,
        "schema": schema,
        "metadata": [{"breadcrumb": [], "metadata": top}, *field_metadata(schema, keys)],
    }


def table_entries(
    api: DynamoDB, table: dict[str, Any], sample_size: int, pitr: Optional[PitrWindow] = None
) -> list[Entry]:
    """The entries of a table and of each of its secondary indexes."""
    sample = sample_items(api, table, sample_size)
    entries = [table_entry(table, sample, pitr)]
    for kind, index in secondary_indexes(table):
        needs_sample = (index.get("Projection") or {}).get("ProjectionType") != "KEYS_ONLY"
        index_sample = sample_items(api, table, sample_size, index["IndexName"]) if needs_sample else []
        entries.append(index_entry(table, kind, index, index_sample))
    return entries


def _unique_stream_names(streams: list[Entry]) -> None:
    """An index stream whose `<table>__<index>` name a table already uses is named by its id."""
    taken = [entry["stream"] for entry in streams]
    for entry in streams:
        if entry["stream"] != entry["tap_stream_id"] and taken.count(entry["stream"]) > 1:
            entry["stream"] = entry["tap_stream_id"]


def discover(config: Config, clients: Clients) -> dict[str, list[Entry]]:
    """The catalog of every table the config lets us see."""
    api = clients.dynamodb
    with aws_errors("listing tables", config.endpoint_url):
        names = api.list_table_names()
    names = filter_table_names(names, config.tables, config.exclude_tables)
    if config.tables:
        missing = [p for p in config.tables if not any(ch in p for ch in "*?[") and p not in names]
        for name in missing:
            LOGGER.warning("Table %s (config key tables) does not exist or is excluded", name)
    streams: list[Entry] = []
    pitr_reader = PitrReader(api)
    for name in names:
        with aws_errors(f"describing table {name}", config.endpoint_url):
            table = describe_table(api, name)
        if table is None:
            continue
        with aws_errors(f"reading the point-in-time recovery status of table {name}", config.endpoint_url):
            pitr = pitr_reader.window(name)
        with aws_errors(f"sampling table {name}", config.endpoint_url):
            entries = table_entries(api, table, config.infer_schema_sample_size, pitr)
        streams.extend(entries)
        LOGGER.info(
            "Discovered table %s (%s items, methods %s, %d secondary index%s)",
            name,
            table.get("ItemCount", 0),
            ", ".join(valid_methods(table, pitr)),
            len(entries) - 1,
            "" if len(entries) == 2 else "es",
        )
    if not streams and not names:
        LOGGER.warning("No tables found in region %s", config.region_name)
    _unique_stream_names(streams)
    return {"streams": streams}
