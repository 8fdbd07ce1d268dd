"""FULL_TABLE replication: a resumable (optionally parallel) Scan with Stitch's table versions.

Bookmarks, written after the records of every page:
- one segment: `last_evaluated_key`, as Stitch writes it, so a Stitch state resumes here;
- several: `scan_segments` (the segment count, fixed until the scan ends), `segment_keys`
  ({segment: last key}) and `finished_segments`, so a resume continues every segment.
Versions follow Stitch: a new version per complete run (an interrupted run keeps its own),
ACTIVATE_VERSION at the start of the very first run and at the end of each complete run.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Optional

from botocore.exceptions import BotoCoreError, ClientError

from . import state as st
from .aws import describe_aws_error, error_code
from .catalog import StreamPlan
from .context import SyncContext
from .errors import TapError
from .scan import parallel_pages
from .throttle import limiter_for
from .schema_tracker import SchemaTracker
from .wire import key_for_botocore

LOGGER = logging.getLogger("tap_dynamodb")

SCAN_KEYS = ("last_evaluated_key", "scan_segments", "segment_keys", "finished_segments")
BYTES_PER_SEGMENT = 128 * 1024 * 1024
MAX_AUTO_SEGMENTS = 16


def auto_segments(table: dict) -> int:
    """One segment per 128 MiB of table, 1 for small tables, at most 16."""
    size = table.get("TableSizeBytes") or 0
    return max(1, min(MAX_AUTO_SEGMENTS, math.ceil(size / BYTES_PER_SEGMENT)))


def scan_request(ctx: SyncContext, plan: StreamPlan) -> dict:
    request = {"TableName": plan.table_name, "Limit": ctx.config.scan_page_size,
               "ConsistentRead": ctx.config.consistent_read}
    if plan.index_name:
        request["IndexName"] = plan.index_name
        request["ConsistentRead"] = False  # GSIs refuse consistent reads; LSIs allow them, but keep one rule
    if plan.projection:
        request.update(plan.projection.scan_params())
    return request


def _bad_bookmark(plan: StreamPlan, what: str) -> TapError:
    return TapError(f"table {plan.tap_stream_id}: {what}; remove bookmarks.{plan.tap_stream_id} from the state "
                    "to re-sync the table")


def _check_key(plan: StreamPlan, key) -> Optional[dict]:
    if key is None:
        return None
    try:
        if not isinstance(key, dict) or not key:
            raise ValueError("not an object")
        key_for_botocore(key)
    except ValueError:
        raise _bad_bookmark(plan, f"the state's scan bookmark {key!r} is not a DynamoDB key") from None
    return key


def _check_segments(plan: StreamPlan, bookmark: dict) -> tuple:
    """(total, segment_keys, finished) of a parallel-scan bookmark, each checked."""
    total = bookmark.get("scan_segments")
    keys = bookmark.get("segment_keys") or {}
    finished = bookmark.get("finished_segments") or []
    if not isinstance(total, int) or isinstance(total, bool) or total < 1:
        raise _bad_bookmark(plan, "state bookmark scan_segments must be a positive whole number")
    if not isinstance(keys, dict):
        raise _bad_bookmark(plan, "state bookmark segment_keys must be an object of segment → key")
    if not isinstance(finished, list) or not all(isinstance(s, int) and 0 <= s < total for s in finished):
        raise _bad_bookmark(plan, f"state bookmark finished_segments must be a list of segments 0..{total - 1}")
    return total, keys, set(finished)


def _segments_to_read(ctx: SyncContext, plan: StreamPlan, table: dict) -> tuple:
    """(total segments, {segment: start key}) from the bookmark, or a fresh plan."""
    bookmark = st.table_bookmark(ctx.state, plan.bookmark_key)
    if bookmark.get("scan_segments") is not None:
        total, keys, finished = _check_segments(plan, bookmark)
        return total, {s: _check_key(plan, keys.get(str(s))) for s in range(total) if s not in finished}
    start = _check_key(plan, bookmark.get("last_evaluated_key"))
    if start is not None:
        return 1, {0: start}
    total = ctx.config.scan_segments or auto_segments(table)
    return total, {s: None for s in range(total)}


def _record_page(ctx: SyncContext, plan: StreamPlan, total: int, page) -> bool:
    """Move the bookmark past a page whose records have been written; False when nothing moved."""
    bookmark = st.table_bookmark(ctx.state, plan.bookmark_key)
    if total == 1:
        if not page.last_evaluated_key:
            return False  # the end of the scan: the caller writes the final state
        bookmark["last_evaluated_key"] = page.last_evaluated_key
        return True
    bookmark["scan_segments"] = total
    keys = bookmark.setdefault("segment_keys", {})
    if page.last_evaluated_key:
        keys[str(page.segment)] = page.last_evaluated_key
    else:
        keys.pop(str(page.segment), None)
        finished = bookmark.setdefault("finished_segments", [])
        if page.segment not in finished:
            finished.append(page.segment)
    return True


def scan_to_output(ctx: SyncContext, plan: StreamPlan, table: dict, version: Optional[int]) -> int:
    """Write every item of the table as RECORDs, bookmarking after each page; returns the count."""
    total, segments = _segments_to_read(ctx, plan, table)
    resumed = any(key is not None for key in segments.values()) or len(segments) < total
    LOGGER.info("Scanning %s with %d segment%s%s", plan.tap_stream_id, total, "s" if total > 1 else "",
                " (resuming from the bookmark)" if resumed else "")
    if total > 1:
        st.write_bookmark(ctx.state, plan.bookmark_key, "scan_segments", total)
    count = 0
    tracker = SchemaTracker(plan.stream, plan.schema, plan.key_properties, ctx.writer)
    try:
        limiter = limiter_for(ctx.config.max_read_capacity_units_per_second)
        for page in parallel_pages(ctx.clients.dynamodb, scan_request(ctx, plan), segments, total, limiter=limiter):
            numbers_checked = page.numbers_checked
            written = ctx.writer.records_in_chunks(
                plan.stream, page.items, lambda chunk: tracker.records(chunk, numbers_checked), version)
            count += written
            ctx.report.page(plan.stream, written)
            if _record_page(ctx, plan, total, page):
                ctx.save_state()
            del page  # written: free it before waiting for the next one (flat memory, make bench)
    except ClientError as exc:
        raise _scan_error(plan, exc, resumed) from None
    except BotoCoreError as exc:  # connection failures, timeouts: one line; a broken pipe or a bug is not one
        raise describe_aws_error(exc, f"scanning table {plan.table_name}", ctx.config.endpoint_url) from None
    for key in SCAN_KEYS:
        st.clear_bookmark(ctx.state, plan.bookmark_key, key)
    return count


def _scan_error(plan: StreamPlan, exc: ClientError, resumed: bool) -> TapError:
    code = error_code(exc)
    if code == "ResourceNotFoundException":
        return TapError(f"table {plan.table_name} (stream {plan.tap_stream_id}) no longer exists; remove it from "
                        "the catalog or run --discover again")
    if code == "ValidationException" and resumed:
        # DynamoDB words a start key that does not fit the table in several ways ("The provided starting
        # key is invalid", "Type mismatch ..."): on a resumed scan, point at the bookmark.
        message = exc.response.get("Error", {}).get("Message", "")
        return TapError(f"table {plan.tap_stream_id}: DynamoDB rejected the scan resumed from the state's bookmark "
                        f"({message}); if the bookmark does not match the table's key, remove "
                        f"bookmarks.{plan.tap_stream_id} from the state to re-sync the table")
    return describe_aws_error(exc, f"scanning table {plan.table_name}")


def sync_full_table(ctx: SyncContext, plan: StreamPlan, table: dict) -> int:
    """One FULL_TABLE run of a stream, with Stitch's version semantics."""
    key = plan.bookmark_key
    bookmark = st.table_bookmark(ctx.state, key)
    previous = bookmark.get("version")
    if previous is not None and (not isinstance(previous, int) or isinstance(previous, bool) or previous < 0):
        raise _bad_bookmark(plan, f"state bookmark version {previous!r} is not a table version (a whole number)")
    first_run = previous is None
    if first_run and st.scan_in_progress(bookmark):
        # The records before this bookmark went out under an unknown version; a fresh version
        # activated after only the rest would make a versioning target delete them.
        LOGGER.warning("The state's scan bookmark for %s has no version: reading the table from the start",
                       plan.tap_stream_id)
        for scan_key in SCAN_KEYS:
            bookmark.pop(scan_key, None)
    # an interrupted scan (never a first run, after the lines above) continues under its own version
    version = previous if st.scan_in_progress(bookmark) else int(time.time() * 1000)
    st.write_bookmark(ctx.state, key, "version", version)
    ctx.save_state()
    if first_run:
        ctx.writer.activate_version(plan.stream, version)
    count = scan_to_output(ctx, plan, table, version)
    ctx.writer.activate_version(plan.stream, version)
    st.write_bookmark(ctx.state, key, "initial_full_table_complete", True)
    ctx.save_state()
    return count
