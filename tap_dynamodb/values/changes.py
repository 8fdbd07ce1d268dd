"""DynamoDB Streams records → records: the image each change leaves, plus `_sdc_deleted_at` for deletes.

INSERT and MODIFY give the (projected) NewImage. REMOVE gives the item as it was before the
delete when the stream carries old images (NEW_AND_OLD_IMAGES), so that an upserting target
keeps the row's last values beside `_sdc_deleted_at`; with NEW_IMAGE only the keys are known.

A REMOVE also carries `_sdc_deleted_by_ttl`: true when DynamoDB's Time to Live deleted the
item (the record's userIdentity is type "Service", principalId "dynamodb.amazonaws.com"), false
for a delete by a user or an application. INSERT and MODIFY carry neither field, like the rows
of a scan: in the warehouse both are null on a row that was not deleted, so null means "not a
delete" and false "deleted, not by TTL". With `ttl_deletes: skip` TTL deletes are left out
(and counted); the caller's bookmark still moves past them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Callable, Optional

from ..errors import TapError
from ..timestamps import iso_utc, utc_now_iso
from .decoder import Decoded, ItemDecoder
from .filters import filter_change
from .schema import Schema

DELETED_AT = "_sdc_deleted_at"
DELETED_AT_SCHEMA: Schema = {"type": ["null", "string"], "format": "date-time"}
DELETED_BY_TTL = "_sdc_deleted_by_ttl"
DELETED_BY_TTL_SCHEMA: Schema = {"type": ["null", "boolean"]}
TTL_PRINCIPAL = "dynamodb.amazonaws.com"

WireImage = dict[str, Any]
Projector = Callable[[WireImage], WireImage]


def with_deleted_at(schema: Schema) -> Schema:
    """The stream's schema with `_sdc_deleted_at` and `_sdc_deleted_by_ttl`, which REMOVE records carry.

    A schema without properties (Stitch's `{"type": "object"}`) accepts any record and stays so.
    """
    if "properties" not in schema:
        return schema
    properties = dict(schema.get("properties") or {})
    properties.setdefault(DELETED_AT, DELETED_AT_SCHEMA)
    properties.setdefault(DELETED_BY_TTL, DELETED_BY_TTL_SCHEMA)
    return {**schema, "properties": properties}


def deleted_at(epoch_seconds: Optional[Any]) -> str:
    """ApproximateCreationDateTime (epoch seconds) as ISO-8601 UTC."""
    if epoch_seconds is None:
        return utc_now_iso()
    return iso_utc(dt.datetime.fromtimestamp(float(epoch_seconds), tz=dt.timezone.utc))


def is_ttl_delete(record: dict[str, Any]) -> bool:
    """A REMOVE made by Time to Live: userIdentity {type: Service, principalId: dynamodb.amazonaws.com}.

    The Record reference spells the members type/principalId, the API model Type/PrincipalId: both count.
    """
    if record.get("eventName") != "REMOVE":
        return False
    identity = record.get("userIdentity")
    if not isinstance(identity, dict):
        return False
    kind = identity.get("type", identity.get("Type"))
    principal = identity.get("principalId", identity.get("PrincipalId"))
    return kind == "Service" and principal == TTL_PRINCIPAL


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
    """Stream records → records, through the stream's RecordDecoder (same widening, same shapes).

    `skip_ttl_deletes` leaves TTL deletes out; `ttl_deletes_skipped` counts them. `matches` (a row
    filter's, values/filters.py) is applied to the whole images, before the projection: a change
    the filter leaves out is skipped, one that leaves the filter becomes a delete (filter_change);
    `filtered_out` counts the skipped ones.
    """

    def __init__(
        self,
        decoder: ItemDecoder,
        project: Optional[Projector] = None,
        skip_ttl_deletes: bool = False,
        matches: Optional[Callable[[WireImage], bool]] = None,
    ):
        self._decoder = decoder
        self._project = project or _keep
        self._skip_ttl_deletes = skip_ttl_deletes
        self._matches = matches
        self.ttl_deletes_skipped = 0
        self.filtered_out = 0

    @property
    def schema(self) -> Schema:
        return self._decoder.schema

    def decode(self, stream_records: Iterable[dict[str, Any]], numbers_checked: bool = False) -> Decoded:
        changes: list[tuple[WireImage, Optional[str], bool]] = []
        for stream_record in stream_records:
            if self._matches is not None:
                kept = filter_change(stream_record, self._matches)
                if kept is None:
                    self.filtered_out += 1
                    continue
                stream_record = kept
            by_ttl = is_ttl_delete(stream_record)
            if by_ttl and self._skip_ttl_deletes:
                self.ttl_deletes_skipped += 1
                continue
            item, deleted = wire_change(stream_record, self._project)
            changes.append((item, deleted, by_ttl))
        records, widened = self._decoder.decode([item for item, _, _ in changes], numbers_checked)
        for record, (_, deleted, by_ttl) in zip(records, changes):
            if deleted is not None:
                record[DELETED_AT] = deleted
                record[DELETED_BY_TTL] = by_ttl
        return Decoded(records, widened)
