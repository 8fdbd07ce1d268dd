"""Reading a Singer catalog into the plan of streams to sync, in catalog order.

Selection and the replication method live in the stream's top-level metadata
(breadcrumb []), as Stitch and Meltano write them: `selected`, `replication-method`.
Column selection (field metadata or Stitch's projection keys, see projection.py) becomes a
Projection, and the plan's schema keeps only the top-level properties it reads. A stream
whose top-level metadata names `tap-dynamodb.index-name` is a secondary-index "view"
(see discover) read with Scan's IndexName. `tap-dynamodb.filter-expression` (with
`tap-dynamodb.expression-values`) becomes the stream's RowFilter (values/filters.py);
`tap-dynamodb.full-table-source` (scan or export) says where a full read comes from.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from typing import Any, Optional

from ..errors import TapError
from ..values import filters, packed
from ..values.schema import Schema
from . import projection as projection_mod
from .reserved import RESERVED_WORDS

LOGGER = logging.getLogger("tap_dynamodb")

FULL_TABLE = "FULL_TABLE"
LOG_BASED = "LOG_BASED"
METHODS = (FULL_TABLE, LOG_BASED)


Breadcrumb = tuple[str, ...]
Metadata = dict[Breadcrumb, dict[str, Any]]


@dataclass
class StreamPlan:
    """One selected Singer stream and how to read it.

    `stream_id` (the catalog's tap_stream_id) identifies the stream everywhere: in bookmarks,
    logs and errors. `name` is only what SCHEMA and RECORD messages carry (the catalog's
    `stream`, which may differ for index views); `table_name` and `index_name` say what to read.
    """

    stream_id: str
    name: str
    table_name: str
    index_name: Optional[str]
    key_properties: list[str]
    schema: Schema
    method: str
    projection: Optional[projection_mod.Projection]
    record_format: Optional[str] = None  # tap-dynamodb.record-format (values/packed.py); None: the config's
    row_filter: Optional[filters.RowFilter] = None  # tap-dynamodb.filter-expression (values/filters.py)
    full_table_source: Optional[str] = None  # tap-dynamodb.full-table-source: scan or export; None: the config's


def metadata_map(entry_metadata: Any) -> Metadata:
    """Singer metadata list → {breadcrumb tuple: metadata dict}."""
    out: Metadata = {}
    for item in entry_metadata or []:
        if isinstance(item, dict) and isinstance(item.get("metadata"), dict):
            out[tuple(item.get("breadcrumb") or ())] = item["metadata"]
    return out


def _check_catalog(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, dict) or not isinstance(raw.get("streams"), list):
        raise TapError('catalog must be a JSON object with a "streams" list; create one with --discover')
    for position, entry in enumerate(raw["streams"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("tap_stream_id"), str):
            raise TapError(f"catalog stream #{position + 1} has no tap_stream_id; create the catalog with --discover")
    streams: list[dict[str, Any]] = raw["streams"]
    return streams


VALID_METHODS_KEY = "tap-dynamodb.valid-replication-methods"
FULL_TABLE_SOURCE_KEY = "tap-dynamodb.full-table-source"
SCAN = "scan"
EXPORT = "export"
FULL_TABLE_SOURCES = (SCAN, EXPORT)


def _full_table_source(stream_id: str, top: dict[str, Any], index_name: Optional[str]) -> Optional[str]:
    """The stream's metadata full-table source (None: the config's); TapError for a bad value or an exported view."""
    value = top.get(FULL_TABLE_SOURCE_KEY)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or value.strip().lower() not in FULL_TABLE_SOURCES:
        raise TapError(f"stream {stream_id}: metadata {FULL_TABLE_SOURCE_KEY} must be scan or export, got {value!r}")
    source = value.strip().lower()
    if source == EXPORT and index_name:
        raise TapError(
            f"stream {stream_id} reads secondary index {index_name}, and DynamoDB exports whole tables only; "
            f"set its {FULL_TABLE_SOURCE_KEY} to scan (or remove it)"
        )
    return source


def _default_method(entry: dict[str, Any], top: dict[str, Any], default: str) -> str:
    """The method of a stream whose metadata names none: the default where the table allows it."""
    stream_id = entry["tap_stream_id"]
    valid = top.get(VALID_METHODS_KEY)
    if default == LOG_BASED and isinstance(valid, list) and LOG_BASED in valid:
        LOGGER.info(
            "Stream %s has no replication-method in its metadata; using LOG_BASED "
            "(config key default_replication_method)",
            stream_id,
        )
        return LOG_BASED
    if default == LOG_BASED:
        LOGGER.info(
            "Stream %s has no replication-method in its metadata and its table offers no LOG_BASED "
            "(%s in the catalog: %s); using FULL_TABLE",
            stream_id,
            VALID_METHODS_KEY,
            valid,
        )
    else:
        LOGGER.info("Stream %s has no replication-method in its metadata; using FULL_TABLE", stream_id)
    return FULL_TABLE


def _method(entry: dict[str, Any], top: dict[str, Any], default: str) -> str:
    method = top.get("replication-method") or entry.get("replication_method") or top.get("forced-replication-method")
    if not method:
        return _default_method(entry, top, default)
    if method not in METHODS:
        raise TapError(
            f"stream {entry['tap_stream_id']}: replication-method {method!r} is not supported; "
            f"use FULL_TABLE or LOG_BASED"
        )
    return method


_BOOLEAN_TEXT = {"true": True, "false": False}


def _is_selected(entry: dict[str, Any], top: dict[str, Any]) -> bool:
    """`selected` in the stream's top-level metadata (Stitch, Meltano) or, in older Singer catalogs,
    on the stream itself; true or false, also as the text "true"/"false"."""
    where, value = ("metadata", top["selected"]) if "selected" in top else ("stream entry", entry.get("selected"))
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _BOOLEAN_TEXT:
        return _BOOLEAN_TEXT[value.strip().lower()]
    raise TapError(f"stream {entry['tap_stream_id']}: {where} key selected must be true or false, got {value!r}")


def selected_streams(raw_catalog: Any, default_method: str = FULL_TABLE) -> list[StreamPlan]:
    """The streams the catalog selects, as StreamPlans, in catalog order; TapError for a bad catalog.

    A stream without a replication-method gets `default_method` where its table allows it
    (config key default_replication_method); a catalog that has streams but selects none is an
    error, so that a scheduler does not report a run that synced nothing as a success.
    """
    entries = _check_catalog(raw_catalog)
    plans = []
    for entry in entries:
        md = metadata_map(entry.get("metadata"))
        top = md.get((), {})
        if not _is_selected(entry, top):
            continue
        stream_id = entry["tap_stream_id"]
        index_name = top.get("tap-dynamodb.index-name")
        table_name = top.get("tap-dynamodb.table-name") or entry.get("table_name") or stream_id
        method = _method(entry, top, FULL_TABLE if index_name else default_method)
        if index_name and method != FULL_TABLE:
            raise TapError(f"stream {stream_id} is a secondary index; indexes can only use FULL_TABLE")
        key_properties = (
            entry.get("key_properties") or top.get("view-key-properties") or top.get("table-key-properties") or []
        )
        schema = copy.deepcopy(entry.get("schema") or {"type": "object"})
        properties: dict[str, Any] = schema["properties"] if isinstance(schema.get("properties"), dict) else {}
        names = projection_mod.parse_names(stream_id, top.get(projection_mod.STITCH_NAMES_KEY))
        row_filter = filters.for_stream(stream_id, top, names, RESERVED_WORDS)
        filter_names = row_filter.used_names if row_filter else frozenset()
        projection = projection_mod.for_stream(
            stream_id, md, list(key_properties), list(properties), filter_names, names
        )
        if projection is not None and properties:
            schema["properties"] = {name: sub for name, sub in properties.items() if name in projection.top_level_names}
        plans.append(
            StreamPlan(
                stream_id=stream_id,
                name=entry.get("stream") or stream_id,
                table_name=table_name,
                index_name=index_name,
                key_properties=list(key_properties),
                schema=schema,
                method=method,
                projection=projection,
                record_format=packed.check_record_format(stream_id, top.get(packed.METADATA_KEY)),
                row_filter=row_filter,
                full_table_source=_full_table_source(stream_id, top, index_name),
            )
        )
    if entries and not plans:
        raise TapError(
            f'the catalog has {len(entries)} stream(s) but selects none: set "selected": true in a '
            "stream's top-level metadata (breadcrumb []), or select streams with your runner "
            "(e.g. meltano select)"
        )
    return plans
