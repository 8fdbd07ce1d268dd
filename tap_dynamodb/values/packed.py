"""Packed records (`record_format: packed`): the key attributes as columns plus `_sdc_item`, the whole item.

`_sdc_item` holds exactly the record the columns format would write for the item (every digit
of every number, `number_format` respected, only the projected attributes when a projection is
selected); the keys are also written as columns, typed as in the columns format. The schema is
fixed whatever the items hold: the key properties, `_sdc_item: {"type": "object"}` (no
properties, so it accepts any item) and, for LOG_BASED, `_sdc_deleted_at` and
`_sdc_deleted_by_ttl`. It never widens, so no SCHEMA follows the first.

A stream record's image goes through the same decoder (values/changes.py): a REMOVE's
`_sdc_item` is the old image with NEW_AND_OLD_IMAGES, else the keys, and its
`_sdc_deleted_at` and `_sdc_deleted_by_ttl` are columns beside the keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Optional

from ..errors import TapError
from .changes import DELETED_AT, DELETED_AT_SCHEMA, DELETED_BY_TTL, DELETED_BY_TTL_SCHEMA
from .decode import decode_items
from .decoder import Decoded
from .numbers import JSON_NUMBERS
from .schema import Schema, records_schema

COLUMNS = "columns"
PACKED = "packed"
RECORD_FORMATS = (COLUMNS, PACKED)
ITEM = "_sdc_item"
ITEM_SCHEMA: Schema = {"type": "object"}
METADATA_KEY = "tap-dynamodb.record-format"
"""The stream's top-level metadata key that overrides the config key record_format."""


def check_record_format(stream: str, value: Any) -> Optional[str]:
    """A stream's `tap-dynamodb.record-format` metadata, checked: None when unset; TapError when not a format."""
    if value is None:
        return None
    if isinstance(value, str):
        for choice in RECORD_FORMATS:
            if value.strip().lower() == choice:
                return choice
    raise TapError(f"stream {stream}: metadata key {METADATA_KEY} must be columns or packed, got {value!r}")


def packed_schema(
    schema: Schema, keys: Sequence[str], number_format: str = JSON_NUMBERS, deletes: bool = False
) -> Schema:
    """The schema of packed records: `schema`'s key properties (as written), `_sdc_item`, and the
    delete columns when `deletes` (LOG_BASED). A key `schema` does not type (an open schema) accepts anything."""
    properties = schema.get("properties")
    known: dict[str, Any] = properties if isinstance(properties, dict) else {}
    written = records_schema({"type": "object", "properties": {k: known.get(k, {}) for k in keys}}, number_format)
    out_properties: dict[str, Schema] = dict(written["properties"])
    out_properties[ITEM] = dict(ITEM_SCHEMA)
    if deletes:
        out_properties[DELETED_AT] = dict(DELETED_AT_SCHEMA)
        out_properties[DELETED_BY_TTL] = dict(DELETED_BY_TTL_SCHEMA)
    return {"type": "object", "properties": out_properties, "required": list(keys)}


class PackedDecoder:
    """Wire-form items → packed records, under a schema that never widens (RecordDecoder's interface)."""

    def __init__(
        self, schema: Schema, keys: Sequence[str], number_format: str = JSON_NUMBERS, deletes: bool = False
    ) -> None:
        self._keys = tuple(keys)
        self._number_format = number_format
        self._schema = packed_schema(schema, keys, number_format, deletes)

    @property
    def schema(self) -> Schema:
        """The schema the packed records are written under: the same for every item."""
        return self._schema

    def decode(self, items: Iterable[dict[str, Any]], numbers_checked: bool = False) -> Decoded:
        """Packed records of the items; `widened` is always False."""
        keys = self._keys
        records = []
        for item in decode_items(items, numbers_checked, self._number_format):
            record = {key: item[key] for key in keys if key in item}
            record[ITEM] = item
            records.append(record)
        return Decoded(records, False)
