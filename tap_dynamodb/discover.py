"""Discovery: ListTables (paginated) and DescribeTable → a Singer catalog.

One stream per table, with its key properties, item count, the replication methods the
table can use (LOG_BASED only with a NEW_IMAGE or NEW_AND_OLD_IMAGES stream) and a schema.
Tables are filtered by name (`tables`, `exclude_tables`) before they are described, so that
discovering a few tables in an account with thousands stays fast.
"""

from __future__ import annotations

import fnmatch
import logging
from typing import Iterable, Optional

from botocore.exceptions import ClientError

from .aws import AUTH_ERRORS, Clients, describe_aws_error, error_code
from .config import Config
from .errors import TapError
from . import schema as schema_mod

LOGGER = logging.getLogger("tap_dynamodb")

NEW_IMAGE_VIEWS = ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")


def list_table_names(client) -> list:
    """Every table name, following ListTables pages (100 names a page)."""
    names = []
    params = {}
    while True:
        page = client.list_tables(**params)
        names.extend(page.get("TableNames", []))
        last = page.get("LastEvaluatedTableName")
        if not last:
            return names
        params["ExclusiveStartTableName"] = last


def filter_table_names(names: Iterable[str], include: Optional[list], exclude: Optional[list]) -> list:
    """Names matching any `include` glob (all when None) and no `exclude` glob."""
    kept = []
    for name in names:
        if include and not any(fnmatch.fnmatchcase(name, pattern) for pattern in include):
            continue
        if exclude and any(fnmatch.fnmatchcase(name, pattern) for pattern in exclude):
            continue
        kept.append(name)
    return kept


def describe_table(client, name: str) -> Optional[dict]:
    """DescribeTable, or None (with a warning) when the credentials may not describe it."""
    try:
        return client.describe_table(TableName=name)["Table"]
    except ClientError as exc:
        code = error_code(exc)
        if code in AUTH_ERRORS:
            LOGGER.warning("Skipping table %s: the credentials may not describe it (%s)", name, code)
            return None
        if code == "ResourceNotFoundException":
            LOGGER.warning("Skipping table %s: it was deleted during discovery", name)
            return None
        raise


def stream_view_type(table: dict) -> Optional[str]:
    """The table's stream view type when a stream is enabled, else None."""
    spec = table.get("StreamSpecification") or {}
    if spec.get("StreamEnabled") and table.get("LatestStreamArn"):
        return spec.get("StreamViewType")
    return None


def key_names(key_schema: list) -> list:
    """Hash key first, then range key."""
    ordered = sorted(key_schema, key=lambda k: 0 if k["KeyType"] == "HASH" else 1)
    return [k["AttributeName"] for k in ordered]


def valid_methods(table: dict) -> list:
    return ["FULL_TABLE", "LOG_BASED"] if stream_view_type(table) in NEW_IMAGE_VIEWS else ["FULL_TABLE"]


def table_entry(table: dict, sample: Optional[list] = None) -> dict:
    """The catalog entry of one table."""
    name = table["TableName"]
    keys = key_names(table["KeySchema"])
    schema = schema_mod.table_schema(table, sample or [])
    top = {
        "table-key-properties": keys,
        "row-count": table.get("ItemCount", 0),
        "tap-dynamodb.valid-replication-methods": valid_methods(table),
        "selected-by-default": False,
    }
    view = stream_view_type(table)
    if view:
        top["tap-dynamodb.stream-view-type"] = view
        top["tap-dynamodb.stream-arn"] = table["LatestStreamArn"]
    return {
        "tap_stream_id": name,
        "stream": name,
        "table_name": name,
        "key_properties": keys,
        "schema": schema,
        "metadata": [{"breadcrumb": [], "metadata": top}] + schema_mod.field_metadata(schema, keys),
    }


def discover(config: Config, clients: Clients) -> dict:
    """The catalog of every table the config lets us see."""
    client = clients.dynamodb
    try:
        names = list_table_names(client)
    except Exception as exc:  # noqa: BLE001 - every failure becomes one actionable line
        raise describe_aws_error(exc, "listing tables", config.endpoint_url) from None
    names = filter_table_names(names, config.tables, config.exclude_tables)
    if config.tables:
        missing = [p for p in config.tables if not any(ch in p for ch in "*?[") and p not in names]
        for name in missing:
            LOGGER.warning("Table %s (config key tables) does not exist or is excluded", name)
    streams = []
    for name in names:
        try:
            table = describe_table(client, name)
        except Exception as exc:  # noqa: BLE001
            raise describe_aws_error(exc, f"describing table {name}", config.endpoint_url) from None
        if table is None:
            continue
        sample = schema_mod.sample_items(client, table, config.infer_schema_sample_size)
        streams.append(table_entry(table, sample))
        LOGGER.info("Discovered table %s (%s items, methods %s)", name, table.get("ItemCount", 0),
                    ", ".join(valid_methods(table)))
    if not streams and not names:
        LOGGER.warning("No tables found in region %s", config.region_name)
    return {"streams": streams}
