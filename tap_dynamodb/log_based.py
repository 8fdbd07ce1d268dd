"""LOG_BASED replication: one full table scan, then every change from the table's DynamoDB stream.

No change may fall between the scan and the stream. So before the first scan the stream's
position is noted (closed shards count as finished, open shards are read to their tip and
bookmarked) and saved; after the scan the stream is read from there. A change made during the
scan may then arrive twice (in the scan and from the stream), never zero times.

State per table (Stitch's keys, plus `stream_arn`):
    stream_arn                  the stream the bookmarks belong to
    shard_seq_numbers           {shard id: last sequence number emitted (null: from the start)}
                                for shards not yet read to their end
    finished_shards             shards read to their end, pruned once DynamoDB stops listing them
    version, initial_full_table_complete, success_timestamp   as in FULL_TABLE
A STATE is written after each page whose records moved a bookmark (pages hold at most 1000
records) and after each shard, always after the records it covers.

When the stream can no longer continue from the bookmarks (records trimmed after 24 hours, or
the stream was disabled and re-enabled, which gives a new ARN) the table is re-replicated:
bookmarks reset, full scan, and the stream read from the newly noted position.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Callable

from . import state as st
from .aws import aws_errors
from .catalog import StreamPlan
from .context import SyncContext
from .discover import NEW_IMAGE_VIEWS, stream_view_type
from .errors import TapError
from .full_table import sync_full_table
from .output import iso_utc, utc_now_iso
from .schema_tracker import SchemaTracker
from .streams import StreamAgedOut, check_bookmarks, list_shards, walk

LOGGER = logging.getLogger("tap_dynamodb")

DELETED_AT = "_sdc_deleted_at"
DELETED_AT_SCHEMA = {"type": ["null", "string"], "format": "date-time"}
# Bookmarks a reset keeps: the version, so the re-replication is activated only once complete
# (a target drops the old rows after the new copy has arrived, not before), and the method.
KEPT_ON_RESET = ("version", "last_replication_method")
# Another DescribeStream pass is made when a shard closed while it was read, to reach the
# children DynamoDB created for it; a few passes are plenty.
MAX_PASSES = 3
# An open shard counts as caught up once its records reach the run's start plus this margin
# (ApproximateCreationDateTime is approximate, and DynamoDB Local rounds it to the minute),
# so a table written to without pause cannot keep a run reading forever.
CATCH_UP_MARGIN_SECONDS = 300


def output_schema(schema: dict) -> dict:
    """The stream's schema with `_sdc_deleted_at`, which REMOVE records carry.

    A schema without properties (Stitch's `{"type": "object"}`) accepts any record and stays so.
    """
    if "properties" not in schema:
        return schema
    properties = dict(schema.get("properties") or {})
    properties.setdefault(DELETED_AT, DELETED_AT_SCHEMA)
    return {**schema, "properties": properties}


def check_table(plan: StreamPlan, table: dict) -> str:
    """The table's stream ARN; TapError when the table has no stream that carries new images."""
    view = stream_view_type(table)
    if view is None:
        raise TapError(f"stream {plan.tap_stream_id}: LOG_BASED needs DynamoDB Streams enabled on table "
                       f"{plan.table_name} with view type NEW_IMAGE or NEW_AND_OLD_IMAGES; enable it or use "
                       "FULL_TABLE")
    if view not in NEW_IMAGE_VIEWS:
        raise TapError(f"stream {plan.tap_stream_id}: the DynamoDB stream of table {plan.table_name} has view type "
                       f"{view}, which carries no new images; LOG_BASED needs NEW_IMAGE or NEW_AND_OLD_IMAGES")
    return table["LatestStreamArn"]


def deleted_at(epoch_seconds) -> str:
    """ApproximateCreationDateTime (epoch seconds) as ISO-8601 UTC."""
    if epoch_seconds is None:
        return utc_now_iso()
    return iso_utc(dt.datetime.fromtimestamp(float(epoch_seconds), tz=dt.timezone.utc))


def wire_change(record: dict, project: Callable[[dict], dict]) -> tuple:
    """One wire-form stream record → (wire-form item, deleted-at timestamp or None).

    INSERT and MODIFY give the (projected) NewImage. REMOVE gives the item as it was before the
    delete when the stream carries old images (NEW_AND_OLD_IMAGES), so that an upserting target
    keeps the row's last values beside `_sdc_deleted_at`; with NEW_IMAGE only the keys are known.
    """
    change = record.get("dynamodb") or {}
    if record.get("eventName") == "REMOVE":
        old = change.get("OldImage")
        item = {**project(old), **change["Keys"]} if old else change["Keys"]
        return item, deleted_at(change.get("ApproximateCreationDateTime"))
    image = change.get("NewImage")
    if image is None:
        raise TapError(f"a {record.get('eventName')} stream record has no NewImage; the stream must use view type "
                       "NEW_IMAGE or NEW_AND_OLD_IMAGES")
    return project(image), None


def mark_deletes(records: list, changes: list) -> list:
    """The decoded records of (item, deleted at) changes, with `_sdc_deleted_at` added for deletes."""
    for record, (_, deleted) in zip(records, changes):
        if deleted is not None:
            record[DELETED_AT] = deleted
    return records


def _page_records(page: list, project: Callable[[dict], dict], tracker: SchemaTracker, numbers_checked: bool) -> list:
    """A page (or a chunk of one) of stream records as RECORDs."""
    changes = [wire_change(record, project) for record in page]
    return mark_deletes(tracker.records([item for item, _ in changes], numbers_checked), changes)


def _projector(plan: StreamPlan) -> Callable[[dict], dict]:
    """The catalog's column projection as a function on wire-form images (the same one the scan uses)."""
    if plan.projection is None:
        return lambda image: image
    return plan.projection.apply


def _reset(ctx: SyncContext, plan: StreamPlan, reason: str) -> None:
    LOGGER.warning("Stream %s: %s. Resetting its bookmarks and re-replicating the whole table",
                   plan.tap_stream_id, reason)
    ctx.report.reset(plan.stream)
    bookmark = st.table_bookmark(ctx.state, plan.bookmark_key)
    kept = {key: bookmark[key] for key in KEPT_ON_RESET if key in bookmark}
    st.reset_table(ctx.state, plan.bookmark_key)
    st.table_bookmark(ctx.state, plan.bookmark_key).update(kept)
    ctx.save_state()


def _note_position(ctx: SyncContext, plan: StreamPlan, stream_arn: str) -> None:
    """Bookmark the stream's present end, before the scan, without emitting anything."""
    client = ctx.clients.streams
    shards = list_shards(client, stream_arn)
    finished = [shard.shard_id for shard in shards if shard.closed]
    positions = {}
    for reader in walk(client, stream_arn, shards, finished, {}, ctx.config.stream_tip_empty_pages,
                       time.time() + CATCH_UP_MARGIN_SECONDS):
        for _ in reader.pages():
            pass  # only the position matters: these changes are in the scan that follows
        if reader.finished:
            finished.append(reader.shard_id)
        else:
            positions[reader.shard_id] = reader.last_sequence
    bookmark = st.table_bookmark(ctx.state, plan.bookmark_key)
    bookmark.update(stream_arn=stream_arn, shard_seq_numbers=positions, finished_shards=finished)
    LOGGER.info("Noted the stream position of %s before its scan: %d open shard(s), %d finished",
                plan.tap_stream_id, len(positions), len(finished))
    ctx.save_state()


def _check_stream_bookmark(plan: StreamPlan, bookmark: dict) -> None:
    """TapError naming the key when the state's shard bookmarks are not what this tap writes."""
    positions = bookmark.get("shard_seq_numbers")
    finished = bookmark.get("finished_shards")
    problem = None
    if positions is not None and not (isinstance(positions, dict) and all(
            isinstance(shard, str) and (seq is None or (isinstance(seq, str) and seq.isdigit()))
            for shard, seq in positions.items())):
        problem = "shard_seq_numbers must map shard ids to sequence numbers (digit strings)"
    elif finished is not None and not (isinstance(finished, list) and all(isinstance(s, str) for s in finished)):
        problem = "finished_shards must be a list of shard ids"
    if problem:
        raise TapError(f"stream {plan.tap_stream_id}: state bookmark {problem}; remove "
                       f"bookmarks.{plan.tap_stream_id} from the state to re-replicate the table")


def _current_bookmarks(ctx: SyncContext, plan: StreamPlan, shards: list) -> tuple:
    """(finished shards still listed, positions of unfinished shards), written back to the state."""
    bookmark = st.table_bookmark(ctx.state, plan.bookmark_key)
    listed = {shard.shard_id for shard in shards}
    finished = [shard_id for shard_id in dict.fromkeys(bookmark.get("finished_shards") or []) if shard_id in listed]
    positions = {shard_id: seq for shard_id, seq in (bookmark.get("shard_seq_numbers") or {}).items()
                 if shard_id not in finished}
    check_bookmarks(shards, positions)
    bookmark.update(finished_shards=finished, shard_seq_numbers=positions)
    return finished, positions


def _read_pass(ctx: SyncContext, plan: StreamPlan, stream_arn: str, started: float) -> bool:
    """Read every shard that may be read now; True when a shard closed while it was read."""
    client = ctx.clients.streams
    shards = list_shards(client, stream_arn)
    finished, positions = _current_bookmarks(ctx, plan, shards)
    bookmark = st.table_bookmark(ctx.state, plan.bookmark_key)
    version = bookmark.get("version")
    project = _projector(plan)
    tracker = SchemaTracker(plan.stream, plan.schema, plan.key_properties, ctx.writer)
    closed_while_read = False
    caught_up_at = started + CATCH_UP_MARGIN_SECONDS
    for reader in walk(client, stream_arn, shards, finished, positions, ctx.config.stream_tip_empty_pages,
                       caught_up_at):
        for page in reader.pages():
            numbers_checked = reader.numbers_checked
            written = ctx.writer.records_in_chunks(
                plan.stream, page, lambda chunk: _page_records(chunk, project, tracker, numbers_checked), version)
            ctx.report.page(plan.stream, written)
            positions = {**positions, reader.shard_id: reader.last_sequence}
            bookmark["shard_seq_numbers"] = positions
            ctx.save_state()
        ctx.report.shard(plan.stream)
        if reader.finished:
            positions = {k: v for k, v in positions.items() if k != reader.shard_id}
            finished = finished + [reader.shard_id]
            closed_while_read = closed_while_read or not reader.shard.closed
        else:
            positions = {**positions, reader.shard_id: reader.last_sequence}
        bookmark.update(shard_seq_numbers=positions, finished_shards=finished)
        ctx.save_state()
    return closed_while_read


def _replicate(ctx: SyncContext, plan: StreamPlan, table: dict, stream_arn: str) -> None:
    started = time.time()
    bookmark = st.table_bookmark(ctx.state, plan.bookmark_key)
    if not bookmark.get("initial_full_table_complete"):
        if bookmark.get("stream_arn") is None:
            _note_position(ctx, plan, stream_arn)
        sync_full_table(ctx, plan, table)
    # A Stitch state has no stream_arn: its bookmarks belong to the table's present stream.
    st.table_bookmark(ctx.state, plan.bookmark_key)["stream_arn"] = stream_arn
    for _ in range(MAX_PASSES):
        if not _read_pass(ctx, plan, stream_arn, started):
            break


def _replicate_or_reset(ctx: SyncContext, plan: StreamPlan, table: dict, stream_arn: str) -> None:
    _check_stream_bookmark(plan, st.table_bookmark(ctx.state, plan.bookmark_key))
    bookmarked_arn = st.get_bookmark(ctx.state, plan.bookmark_key, "stream_arn")
    if bookmarked_arn and bookmarked_arn != stream_arn:
        _reset(ctx, plan, f"the table's stream changed from {bookmarked_arn} to {stream_arn} (the stream was "
                          "disabled and enabled again), so changes in between are unknown")
    try:
        _replicate(ctx, plan, table, stream_arn)
    except StreamAgedOut as exc:
        _reset(ctx, plan, f"the stream has aged out: {exc}")
        try:
            _replicate(ctx, plan, table, stream_arn)
        except StreamAgedOut as again:
            raise TapError(f"stream {plan.tap_stream_id}: the stream aged out again right after a reset ({again}); "
                           "run the sync again") from None


def sync_log_based(ctx: SyncContext, plan: StreamPlan, table: dict) -> int:
    """One LOG_BASED run of a stream; returns the number of records written."""
    stream_arn = check_table(plan, table)
    before = ctx.writer.records_written
    with aws_errors(f"reading the DynamoDB stream of table {plan.table_name}", ctx.config.endpoint_url):
        _replicate_or_reset(ctx, plan, table, stream_arn)
    return ctx.writer.records_written - before
