"""FULL_TABLE replication: a resumable (optionally parallel) Scan, or an export read, with Stitch's table versions.

Where the items come from is the stream's full-table source (replication/exports.py): Scan, or
a DynamoDB export to S3, bookmarked in bookmarks.ExportProgress; versions follow the same rule.

Bookmarks (bookmarks.ScanProgress), written after the records of every page:
- one segment: the last evaluated key, as Stitch writes it, so a Stitch state resumes here;
- several: the segment count (fixed until the scan ends), each segment's last key and the
  finished segments, so a resume continues every segment.

Versions follow Stitch: every RECORD carries its scan's version, each full scan gets a new one
(an interrupted scan keeps its own when resumed), and on ACTIVATE_VERSION v a versioning target
(Stitch, MeltanoLabs target-postgres) drops the stream's rows of older versions. The rule, one
ACTIVATE_VERSION per version where it is needed:
- The stream's first version (no version in the bookmark: a first run, or a run after a reset
  for a changed replication method) is activated at the start of its scan: as far as the state
  knows there is no copy to keep, and the records show up as they arrive. Not again at the end:
  every row the target holds then carries this version, so a second message would drop nothing.
- A version that replaces a complete copy (a run after a complete run; a LOG_BASED
  re-replication, whose reset keeps the old version for this) is activated at the end of its
  scan, once the new copy is complete: until then the old rows stay.
- A resumed scan activates its version at its end. The interrupted run may have activated it at
  its start (an interrupted first run) or not (an interrupted re-scan or re-replication), and
  the state cannot always tell which (a LOG_BASED reset clears initial_full_table_complete;
  Stitch's states say nothing of it). Activating the active version again drops nothing;
  leaving a replacing version unactivated would keep deleted rows and, at Stitch, hide the copy.
An ACTIVATE_VERSION at the end comes before the STATE that marks the scan complete, so a state
a target has confirmed never skips it.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any, Optional

from botocore.exceptions import BotoCoreError, ClientError

from ..aws.errors import NOT_FOUND, VALIDATION, describe_aws_error, error_code, error_message
from ..catalog.plan import EXPORT, StreamPlan
from ..errors import TapError
from ..page import WireItem
from ..readers.capacity import limiter_for
from ..readers.scan import parallel_pages
from ..values.decoder import ItemDecoder
from ..values.filters import FILTER_KEY
from .batches import SegmentParts
from .bookmarks import ExportProgress, ScanProgress
from .context import SyncContext
from .exports import export_to_output, full_table_source
from .pages import write_page
from .records import item_decoder

LOGGER = logging.getLogger("tap_dynamodb")

BYTES_PER_SEGMENT = 128 * 1024 * 1024
MAX_AUTO_SEGMENTS = 16


def auto_segments(table: dict[str, Any]) -> int:
    """One segment per 128 MiB of table, 1 for small tables, at most 16."""
    size = table.get("TableSizeBytes") or 0
    return max(1, min(MAX_AUTO_SEGMENTS, math.ceil(size / BYTES_PER_SEGMENT)))


def scan_request(ctx: SyncContext, plan: StreamPlan) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TableName": plan.table_name,
        "Limit": ctx.config.scan_page_size,
        "ConsistentRead": ctx.config.consistent_read,
    }
    if plan.index_name:
        request["IndexName"] = plan.index_name
        request["ConsistentRead"] = False  # GSIs refuse consistent reads; LSIs allow them, but keep one rule
    if plan.projection:
        request.update(plan.projection.scan_params())
    if plan.row_filter:  # its aliases are #f0, ..., the projection's #p0, ...: the names merge
        filter_params = plan.row_filter.scan_params()
        names = {**request.get("ExpressionAttributeNames", {}), **filter_params.pop("ExpressionAttributeNames", {})}
        request.update(filter_params)
        if names:
            request["ExpressionAttributeNames"] = names
    return request


def check_filter(ctx: SyncContext, plan: StreamPlan) -> None:
    """Have DynamoDB check the stream's filter expression (a Scan with Limit 1) before anything is read.

    The tap has checked it against DynamoDB's grammar already (values/filters.py); this catches
    whatever DynamoDB refuses beyond that, as one line naming the metadata key.
    """
    if plan.row_filter is None:
        return
    request = {**scan_request(ctx, plan), "Limit": 1}
    try:
        ctx.clients.dynamodb.scan_page(request)
    except ClientError as exc:
        if error_code(exc) == VALIDATION:
            raise TapError(
                f"stream {plan.stream_id}: DynamoDB refused metadata {FILTER_KEY} "
                f"({error_message(exc)}); fix the expression or its names and values"
            ) from None
        raise _scan_error(plan, exc, False) from None
    except BotoCoreError as exc:
        raise describe_aws_error(exc, f"scanning table {plan.table_name}", ctx.config.endpoint_url) from None


def _segments_to_read(
    ctx: SyncContext, progress: ScanProgress, table: dict[str, Any]
) -> tuple[int, dict[int, Optional[WireItem]]]:
    """(total segments, {segment: start key}) from the bookmark, or a fresh plan."""
    if progress.segments is not None:
        return progress.segments, progress.start_keys()
    if progress.last_key is not None:
        return 1, {0: progress.last_key}
    total = ctx.config.scan_segments or auto_segments(table)
    return total, dict.fromkeys(range(total))


def scan_to_output(ctx: SyncContext, plan: StreamPlan, table: dict[str, Any], version: Optional[int]) -> int:
    """Write every item of the table as RECORDs, bookmarking after each page; returns the count."""
    progress = ctx.state.bookmark(plan.stream_id).scan
    total, segments = _segments_to_read(ctx, progress, table)
    resumed = any(key is not None for key in segments.values()) or len(segments) < total
    LOGGER.info(
        "Scanning %s with %d segment%s%s",
        plan.stream_id,
        total,
        "s" if total > 1 else "",
        " (resuming from the bookmark)" if resumed else "",
    )
    if total > 1:
        progress.segments = total
    count = 0
    decoder = item_decoder(ctx.config, plan)
    parts = _batch_parts(ctx, plan, version, progress, total, resumed, decoder)
    try:
        limiter = limiter_for(ctx.config.max_read_capacity_units_per_second)
        project = plan.projection.client_side if plan.projection else None  # an expression over 4 KB
        for page in parallel_pages(
            ctx.clients.dynamodb, scan_request(ctx, plan), segments, total, limiter=limiter, project=project
        ):
            if parts is not None:  # batch files: the part's BATCH message comes before the bookmark moves
                count += parts.page(page)
            else:
                count += write_page(ctx, plan, decoder, page.items, page.numbers_checked, version)
                if progress.page_done(total, page.after.segment, page.after.last_key):
                    ctx.save_state()
            del page  # written: free it before waiting for the next one (flat memory, make bench)
    except ClientError as exc:
        raise _scan_error(plan, exc, resumed) from None
    except BotoCoreError as exc:  # connection failures, timeouts: one line; a broken pipe or a bug is not one
        raise describe_aws_error(exc, f"scanning table {plan.table_name}", ctx.config.endpoint_url) from None
    finally:
        if parts is not None:
            parts.abort()  # after a complete scan every part is announced: this only drops a failed run's
    ctx.state.bookmark(plan.stream_id).scan = ScanProgress()
    return count


def _batch_parts(
    ctx: SyncContext,
    plan: StreamPlan,
    version: Optional[int],
    progress: ScanProgress,
    total: int,
    resumed: bool,
    decoder: ItemDecoder,
) -> Optional[SegmentParts]:
    """The scan's batch-file parts when batch_config is set (None: RECORD messages).

    A resumed scan first removes the parts its killed predecessor wrote but never announced.
    """
    storage = ctx.batches
    if storage is None:
        return None
    if resumed:
        storage.remove_unannounced(
            plan.name, version, lambda segment: progress.parts_announced(int(segment)) if segment.isdigit() else 0
        )
    return SegmentParts(ctx, storage, plan, decoder, version, progress, total)


def _scan_error(plan: StreamPlan, exc: ClientError, resumed: bool) -> TapError:
    code = error_code(exc)
    if code == NOT_FOUND:
        return TapError(
            f"table {plan.table_name} (stream {plan.stream_id}) no longer exists; remove it from "
            "the catalog or run --discover again"
        )
    if code == VALIDATION and resumed:
        # DynamoDB words a start key that does not fit the table in several ways ("The provided starting
        # key is invalid", "Type mismatch ..."): on a resumed scan, point at the bookmark.
        return TapError(
            f"table {plan.stream_id}: DynamoDB rejected the scan resumed from the state's bookmark "
            f"({error_message(exc)}); if the bookmark does not match the table's key, remove "
            f"bookmarks.{plan.stream_id} from the state to re-sync the table"
        )
    return describe_aws_error(exc, f"scanning table {plan.table_name}")


def _start_batch_scan(ctx: SyncContext, plan: StreamPlan, scan: ScanProgress, old_version: Optional[int]) -> None:
    """Mark a fresh batch scan as started (`batch_parts` {} in the STATE saved before it reads).

    A run killed before its first BATCH message leaves a state with no scan position, so the
    next run starts a new version; the mark tells it that parts of the old one may lie in the
    root unannounced, and they are removed here.
    """
    assert ctx.batches is not None
    if scan.batch_parts is not None and old_version is not None:
        ctx.batches.remove_unannounced(plan.name, old_version, lambda segment: 0)
    scan.batch_parts = {}


def sync_full_table(
    ctx: SyncContext, plan: StreamPlan, table: dict[str, Any], fresh_after: Optional[float] = None
) -> int:
    """One full read of a stream (FULL_TABLE, or LOG_BASED's), by Scan or from an export
    (replication/exports.py), with the version rule of the module docstring.

    `fresh_after` (LOG_BASED, export source): the export must be new and not older than that
    (epoch seconds: the newest change the noted stream position covers).
    """
    from_export = full_table_source(ctx, plan) == EXPORT
    bookmark = ctx.state.bookmark(plan.stream_id)
    other = bookmark.scan.in_progress if from_export else bookmark.export.in_progress
    if other:
        LOGGER.warning(
            "The state's bookmark for %s holds an unfinished %s, but the stream now reads from %s: starting over",
            plan.stream_id,
            "scan" if from_export else "export read",
            "an export" if from_export else "a scan",
        )
        bookmark.scan, bookmark.export = ScanProgress(), ExportProgress()
    progress = bookmark.export if from_export else bookmark.scan
    if bookmark.version is None and progress.in_progress:
        # The records before this bookmark went out under an unknown version; a fresh version
        # activated after only the rest would make a versioning target delete them.
        LOGGER.warning(
            "The state's %s bookmark for %s has no version: reading the table from the start",
            "export" if from_export else "scan",
            plan.stream_id,
        )
        bookmark.scan, bookmark.export = ScanProgress(), ExportProgress()
        progress = bookmark.export if from_export else bookmark.scan
    first_version = bookmark.version is None
    resumed = progress.in_progress  # (never a first version, after the lines above)
    version = bookmark.version if resumed and bookmark.version is not None else int(time.time() * 1000)
    if ctx.batches is not None and not resumed and not from_export:
        _start_batch_scan(ctx, plan, bookmark.scan, bookmark.version)
    bookmark.version = version
    ctx.save_state()
    if first_version:
        ctx.writer.activate_version(plan.name, version)
    ctx.report.scan_started(plan.name, resumed)
    if from_export:
        count = export_to_output(ctx, plan, table, version, fresh_after)
    else:
        count = scan_to_output(ctx, plan, table, version)
    if not first_version:
        ctx.writer.activate_version(plan.name, version)
    bookmark.initial_full_table_complete = True
    ctx.save_state()
    return count
