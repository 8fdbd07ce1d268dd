"""DynamoDB Streams records → records: the image each change leaves, plus `_sdc_deleted_at` for deletes.

INSERT and MODIFY give the (projected) NewImage. REMOVE gives the item as it was before the
delete when the stream carries old images (NEW_AND_OLD_IMAGES), so that an upserting target
keeps the row's last values beside `_sdc_deleted_at`; with NEW_IMAGE only the keys are known.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Callable, Optional

from ..errors import TapError
from ..timestamps import iso_utc, utc_now_iso
from .decoder import Decoded, RecordDecoder
from .schema import Schema

DELETED_AT = "_sdc_deleted_at"
DELETED_AT_SCHEMA: Schema = {"type": ["null", "string"], "format": "date-time"}

WireImage = dict[str, Any]
Projector = Callable[[WireImage], WireImage]


def with_deleted_at(schema: Schema) -> Schema:
    """The stream's schema with `_sdc_deleted_at`, which REMOVE records carry.

    A schema without properties (Stitch's `{"type": "object"}`) accepts any record and stays so.
    """
    if "properties" not in schema:
        return schema
    properties = dict(schema.get("properties") or {})
    properties.setdefault(DELETED_AT, DELETED_AT_SCHEMA)
    return {**schema, "properties": properties}


def deleted_at(epoch_seconds: Optional[Any]) -> str:
    """ApproximateCreationDateTime (epoch seconds) as ISO-8601 UTC."""
    if epoch_seconds is None:
        return utc_now_iso()
    return iso_utc(dt.datetime.fromtimestamp(float(epoch_seconds), tz=dt.timezone.utc))


def wire_change(record: dict[str, Any], project: Projector) -> tuple[WireImage, Optional[str]]:
    """One wire-form stream record → (wire-form item, deleted-at timestamp or None)."""
    change = record.get("dynamodb") or {}
    if record.get("eventName") == "REMOVE":
        old = change.get("OldImage")
        item = {**project(old), **change["Keys"]} if old else change["Keys"]
        return item, deleted_at(change.get("ApproximateCreationDateTime"))
    image = change.get("NewImage")
    if image is None:
        raise TapError(
            f"a {record.get('eventName')} stream record has no NewImage; the stream must use view type "
            "NEW_IMAGE or NEW_AND_OLD_IMAGES"
        )
    return project(image), None


def _keep(image: WireImage) -> WireImage:
    return image


class ChangeDecoder:
    """Stream records → records, through the stream's RecordDecoder (same widening, same shapes)."""

    def __init__(self, decoder: RecordDecoder, project: Optional[Projector] = None):
        self._decoder = decoder
        self._project = project or _keep

    @property
    def schema(self) -> Schema:
        return self._decoder.schema

    def decode(self, stream_records: Iterable[dict[str, Any]], numbers_checked: bool = False) -> Decoded:
        changes = [wire_change(record, self._project) for record in stream_records]
        records, widened = self._decoder.decode([item for item, _ in changes], numbers_checked)
        for record, (_, deleted) in zip(records, changes):
            if deleted is not None:
                record[DELETED_AT] = deleted
        return Decoded(records, widened)
