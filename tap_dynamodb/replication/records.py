"""The record format of a stream (columns or packed) and the decoder and first schema it gives.

Every method (FULL_TABLE, LOG_BASED, and any later one) takes its decoder and its first SCHEMA
from here, so every writer gets the same records: `record_format` in the config, overridden
by the stream's metadata `tap-dynamodb.record-format` (values/packed.py).
"""

from __future__ import annotations

from ..catalog.plan import INCREMENTAL, LOG_BASED, StreamPlan
from ..settings import Config
from ..values.decoder import ItemDecoder, RecordDecoder
from ..values.export_changes import NEW_AND_OLD_IMAGES, ExportChangeDecoder
from ..values.packed import PACKED, PackedDecoder
from ..values.schema import Schema, records_schema

CHANGE_METHODS = (LOG_BASED, INCREMENTAL)
"""Methods whose records include deletes (`_sdc_deleted_at`)."""


def record_format(config: Config, plan: StreamPlan) -> str:
    """The stream's metadata's record format, else the config's."""
    return plan.record_format or config.record_format


def item_decoder(config: Config, plan: StreamPlan) -> ItemDecoder:
    """The decoder of the stream's items: packed, or columns widening `plan.schema` in place."""
    if record_format(config, plan) == PACKED:
        return PackedDecoder(
            plan.schema, plan.key_properties, config.number_format, deletes=plan.method in CHANGE_METHODS
        )
    return RecordDecoder(plan.schema, config.number_format)


def export_change_decoder(config: Config, plan: StreamPlan) -> ExportChangeDecoder:
    """The decoder of an incremental export's lines (the `incremental` line kind of readers/export_files.py):
    the stream's item decoder, with its projection and row filter, as a stream's changes get them."""
    return ExportChangeDecoder(
        item_decoder(config, plan),
        plan.projection.apply if plan.projection else None,
        old_images=config.incremental_export_view == NEW_AND_OLD_IMAGES,
        matches=plan.row_filter.matches if plan.row_filter else None,
    )


def first_schema(config: Config, plan: StreamPlan) -> Schema:
    """The schema of the stream's first SCHEMA message (the only one, when packed)."""
    if record_format(config, plan) == PACKED:
        return item_decoder(config, plan).schema
    return records_schema(plan.schema, config.number_format)
