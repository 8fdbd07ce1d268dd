"""Page → records → writer: the one chain every reader's pages go down.

A reader hands out a Page; the stream's decoder turns it into records, a chunk at a time,
and says whether the schema widened; SCHEMA (when it did) and then the records are written.
Nothing here calls back up: the decoder knows no writer, the writer no decoder.

Why chunks: each chunk's wire form is let go as soon as its records are written, so the page
shrinks while the next one arrives, and a chunk's records are written while they are still
in the CPU's cache (less memory and CPU per item than decoding a whole page first; see
docs/benchmark.md). Records are never named past their chunk: objects that outlive a
young-generation collection cost the garbage collector.
"""

from __future__ import annotations

from typing import Any, Optional

from ..catalog.plan import StreamPlan
from ..output.batch import PartWriter
from ..timestamps import utc_now_iso
from ..values.decoder import ItemDecoder
from .context import SyncContext

WRITE_CHUNK = 250  # items decoded and written at a time


def write_page(
    ctx: SyncContext,
    plan: StreamPlan,
    decoder: ItemDecoder,
    items: list[dict[str, Any]],
    numbers_checked: bool,
    version: Optional[int],
    part: Optional[PartWriter] = None,
) -> int:
    """Write a page's wire-form `items` as RECORDs (or into the batch file `part`), WRITE_CHUNK at a time,
    emptying `items`; the count. A widened schema's SCHEMA is written at once either way, so it
    precedes the BATCH message that will announce the part."""
    time_extracted = utc_now_iso()
    written = 0
    while items:
        chunk = items[:WRITE_CHUNK]
        del items[:WRITE_CHUNK]
        decoded = decoder.decode(chunk, numbers_checked)
        del chunk
        if decoded.widened:
            ctx.writer.schema(plan.name, decoder.schema, plan.key_properties)
        if part is None:
            written += ctx.writer.records(plan.name, decoded.records, version, time_extracted)
        else:
            written += part.write(decoded.records)
        del decoded
    ctx.report.page(plan.name, written)
    return written
