"""Incremental-export lines → records: the image each change leaves, plus `_sdc_deleted_at` for deletes.

An incremental export (ExportType INCREMENTAL_EXPORT) holds, per data file, JSON lines

    {"Metadata": {"WriteTimestampMicros": {"N": "1700000000123456"}},
     "Keys": {...}, "NewImage": {...}, "OldImage": {...}}

one per key changed in the export's window: AWS compacts a key's changes inside a window to
one line (its state at the window's end, stamped with the time of its last write), and an item
created and deleted inside the window gives no line at all. A line without NewImage is a
delete; OldImage is there only when the export's view is NEW_AND_OLD_IMAGES.

The records are the ones a LOG_BASED stream writes for the same changes (values/changes.py),
through the same value pipeline (exact numbers, widening, projection, row filter, packed
format), so a stream can switch between the two sources without the target noticing:

- an upsert is the (projected) NewImage;
- a delete is the old image's projected values plus the keys when the view carries old
  images (an upserting target keeps the row's last values beside the delete mark), else the
  keys only, with `_sdc_deleted_at` the write time as a Singer timestamp (exact to the
  microsecond, from WriteTimestampMicros: no float rounding).

`_sdc_deleted_by_ttl` is left out: an export line does not say who deleted the item (a
stream record's userIdentity does), and writing false would claim a user did. So it is null,
which in this one source means "unknown", and `ttl_deletes: skip` cannot apply here.

A row filter sees each line as the stream record it summarises (values/filters.filter_change):
a line with both images is a MODIFY; one with only a NewImage is an INSERT when the view
carries old images (the key had none before the window) and a MODIFY otherwise (unknown, and
MODIFY is the safe reading: a row leaving the filter becomes a delete).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Callable, Optional

from ..errors import TapError
from ..timestamps import iso_utc
from .changes import DELETED_AT
from .decoder import Decoded, ItemDecoder
from .filters import filter_change
from .schema import Schema

WireImage = dict[str, Any]
Projector = Callable[[WireImage], WireImage]
ExportLine = dict[str, Any]

LINE_KIND = "incremental"
"""The line kind of the export reader (readers/export_files.py) that decodes these lines."""

NEW_AND_OLD_IMAGES = "NEW_AND_OLD_IMAGES"

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def write_micros(line: ExportLine) -> int:
    """The line's WriteTimestampMicros as a whole number of microseconds since the epoch."""
    try:
        return int(line["Metadata"]["WriteTimestampMicros"]["N"])
    except (KeyError, TypeError, ValueError):
        raise TapError(
            f"an incremental export line has no readable Metadata.WriteTimestampMicros: {_preview(line)}"
        ) from None


def micros_iso(micros: int) -> str:
    """Microseconds since the epoch as a Singer timestamp, exactly."""
    return iso_utc(_EPOCH + dt.timedelta(microseconds=micros))


def _preview(line: Any) -> str:
    text = repr(line)
    return text if len(text) <= 200 else text[:200] + "…"


def _keys(line: ExportLine) -> WireImage:
    keys = line.get("Keys")
    if not isinstance(keys, dict) or not keys:
        raise TapError(f"an incremental export line has no Keys: {_preview(line)}")
    return keys


def as_stream_record(line: ExportLine, old_images: bool) -> dict[str, Any]:
    """The stream record a line summarises (for the row filter): eventName and dynamodb's images."""
    change: dict[str, Any] = {"Keys": _keys(line)}
    new, old = line.get("NewImage"), line.get("OldImage")
    if new is not None:
        change["NewImage"] = new
    if old is not None:
        change["OldImage"] = old
    if new is None:
        event = "REMOVE"
    elif old is None and old_images:
        event = "INSERT"
    else:
        event = "MODIFY"
    return {"eventName": event, "dynamodb": change}


def _keep(image: WireImage) -> WireImage:
    return image


class ExportChangeDecoder:
    """Incremental-export lines → records, through the stream's ItemDecoder (same widening, same shapes).

    `old_images`: the export's view is NEW_AND_OLD_IMAGES (only the row filter's INSERT/MODIFY
    reading depends on it; deletes use whatever OldImage a line carries). `matches`: the
    stream's row filter (values/filters.py), applied to whole images before the projection;
    `filtered_out` counts the lines it skips.
    """

    def __init__(
        self,
        decoder: ItemDecoder,
        project: Optional[Projector] = None,
        old_images: bool = False,
        matches: Optional[Callable[[WireImage], bool]] = None,
    ):
        self._decoder = decoder
        self._project = project or _keep
        self._old_images = old_images
        self._matches = matches
        self.filtered_out = 0

    @property
    def schema(self) -> Schema:
        return self._decoder.schema

    def _change(self, line: ExportLine) -> Optional[tuple[WireImage, Optional[str]]]:
        """(wire-form item, deleted-at or None) of one line, None when the row filter skips it."""
        new, old = line.get("NewImage"), line.get("OldImage")
        if self._matches is not None:
            kept = filter_change(as_stream_record(line, self._old_images), self._matches)
            if kept is None:
                self.filtered_out += 1
                return None
            if kept["eventName"] == "REMOVE":
                new = None  # a MODIFY that left the filter: a delete of the row
        if new is not None:
            return self._project(new), None
        keys = _keys(line)
        item = {**self._project(old), **keys} if old else keys
        return item, micros_iso(write_micros(line))  # (an upsert's write time is not written: not parsed)

    def decode(self, lines: Iterable[ExportLine], numbers_checked: bool = False) -> Decoded:
        """The lines' records and whether the schema widened for them (write SCHEMA first when it did)."""
        changes = [change for change in map(self._change, lines) if change is not None]
        records, widened = self._decoder.decode([item for item, _ in changes], numbers_checked)
        for record, (_, deleted) in zip(records, changes):
            if deleted is not None:
                record[DELETED_AT] = deleted
        return Decoded(records, widened)
