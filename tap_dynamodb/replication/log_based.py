"""LOG_BASED replication: one full table scan (or export read), then every change from the table's DynamoDB stream.

With full-table source export (replication/exports.py) the initial load is a new export taken
at AWS's restorable time once it has passed the newest change the noted position covers, so
the export and the stream overlap rather than leave a gap; never a reused export.

No change may fall between the scan and the DynamoDB stream. So before the first scan the
stream's position is noted (closed shards count as finished, open shards are read to their
tip and bookmarked) and saved; after the scan the stream is read from there. A change made
during the scan may then arrive twice (in the scan and from the stream), never zero times.

Bookmarks (bookmarks.ShardBookmarks, Stitch's keys plus `stream_arn`): the DynamoDB stream
the bookmarks belong to, the last sequence number emitted per shard not yet read to its end,
and the shards read to their end (pruned once DynamoDB stops listing them); version and
initial_full_table_complete as in FULL_TABLE. A STATE is written after each page whose
records moved a bookmark (pages hold at most 1000 records) and after each shard, always after
the records it covers.

When the DynamoDB stream can no longer continue from the bookmarks (records trimmed after 24
hours, or the stream was disabled and re-enabled, which gives a new ARN) changes were lost: a
gap. With `on_stream_gap: resync` (the default, Stitch's behaviour) the table is re-replicated:
bookmarks reset, full scan, and the stream read from the newly noted position. With `fail` the
run stops with a TapError naming the table, the last change read and the two ways out, and the
bookmarks are left as they were.

TTL deletes (`ttl_deletes`, values/changes.py) become records with `_sdc_deleted_by_ttl` true,
or with `skip` none at all; a skipped delete still moves its shard's bookmark (the page's
`after` comes from the stream records, not from the records written).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Optional

from ..aws.errors import aws_errors
from ..catalog.discover import NEW_IMAGE_VIEWS, stream_view_type
from ..catalog.plan import EXPORT, StreamPlan
from ..errors import TapError
from ..output.report import change_time
from ..readers.shards import Shard, StreamAgedOut, check_bookmarks, list_shards, walk
from ..values.changes import ChangeDecoder
from .context import SyncContext
from .exports import full_table_source
from .full_table import sync_full_table
from .pages import write_page
from .records import item_decoder

LOGGER = logging.getLogger("tap_dynamodb")

# Another DescribeStream pass is made when a shard closed while it was read, to reach the
# children DynamoDB created for it; a few passes are plenty.
MAX_PASSES = 3
# An open shard counts as caught up once its records reach the run's start plus this margin
# (ApproximateCreationDateTime is approximate, and DynamoDB Local rounds it to the minute),
# so a table written to without pause cannot keep a run reading forever.
CATCH_UP_MARGIN_SECONDS = 300


def check_table(plan: StreamPlan, table: dict[str, Any]) -> str:
    """The table's stream ARN; TapError when the table has no DynamoDB stream that carries new images."""
    view = stream_view_type(table)
    if view is None:
        raise TapError(
            f"stream {plan.stream_id}: LOG_BASED needs DynamoDB Streams enabled on table "
            f"{plan.table_name} with view type NEW_IMAGE or NEW_AND_OLD_IMAGES; enable it or use "
            "FULL_TABLE"
        )
    if view not in NEW_IMAGE_VIEWS:
        raise TapError(
            f"stream {plan.stream_id}: the DynamoDB stream of table {plan.table_name} has view type "
            f"{view}, which carries no new images; LOG_BASED needs NEW_IMAGE or NEW_AND_OLD_IMAGES"
        )
    arn: str = table["LatestStreamArn"]
    return arn


def _gap(ctx: SyncContext, plan: StreamPlan, reason: str) -> None:
    """A gap in the changes: reset (on_stream_gap: resync), or TapError (fail) leaving the bookmarks as they were."""
    if ctx.config.on_stream_gap == "fail":
        last = ctx.state.bookmark(plan.stream_id).success_timestamp or "unknown"
        raise TapError(
            f"stream {plan.stream_id} (table {plan.table_name}): {reason}; last change read {last} "
            f"(the end of the last successful sync). on_stream_gap is fail, so nothing was re-replicated: "
            f"set on_stream_gap to resync to replicate the whole table again, or remove "
            f"bookmarks.{plan.stream_id} from the state to start the stream over"
        )
    _reset(ctx, plan, reason)


def _reset(ctx: SyncContext, plan: StreamPlan, reason: str) -> None:
    """Forget the bookmarks but the version (a target drops the old rows only once the new copy is
    complete) and the method."""
    LOGGER.warning("Stream %s: %s. Resetting its bookmarks and re-replicating the whole table", plan.stream_id, reason)
    ctx.report.reset(plan.name)
    ctx.state.reset(plan.stream_id, keep_version=True)
    ctx.save_state()


def _note_position(ctx: SyncContext, plan: StreamPlan, stream_arn: str) -> Optional[float]:
    """Bookmark the DynamoDB stream's present end, before the scan, without emitting anything; the
    ApproximateCreationDateTime of the newest change passed over (None when there was none)."""
    api = ctx.clients.streams
    shards = list_shards(api, stream_arn)
    finished = [shard.shard_id for shard in shards if shard.closed]
    positions: dict[str, Optional[str]] = {}
    newest: Optional[float] = None
    for reader in walk(
        api, stream_arn, shards, finished, {}, ctx.config.stream_tip_empty_pages, time.time() + CATCH_UP_MARGIN_SECONDS
    ):
        for page in reader.pages():  # only the position matters: these changes are in the full read that follows
            for record in page.items[-1:]:  # a shard's records come in order
                created = change_time(record)
                if created is not None and (newest is None or created > newest):
                    newest = created
        if reader.finished:
            finished.append(reader.shard_id)
        else:
            positions[reader.shard_id] = reader.last_sequence
    shard_bookmarks = ctx.state.bookmark(plan.stream_id).shards
    shard_bookmarks.stream_arn, shard_bookmarks.positions, shard_bookmarks.finished = stream_arn, positions, finished
    LOGGER.info(
        "Noted the stream position of %s before its scan: %d open shard(s), %d finished",
        plan.stream_id,
        len(positions),
        len(finished),
    )
    ctx.save_state()
    return newest


def _current_bookmarks(
    ctx: SyncContext, plan: StreamPlan, shards: list[Shard]
) -> tuple[list[str], dict[str, Optional[str]]]:
    """(finished shards still listed, positions of unfinished shards), written back to the bookmark."""
    shard_bookmarks = ctx.state.bookmark(plan.stream_id).shards
    listed = {shard.shard_id for shard in shards}
    finished = [shard_id for shard_id in dict.fromkeys(shard_bookmarks.finished or []) if shard_id in listed]
    positions = {
        shard_id: seq for shard_id, seq in (shard_bookmarks.positions or {}).items() if shard_id not in finished
    }
    check_bookmarks(shards, positions)
    shard_bookmarks.finished, shard_bookmarks.positions = finished, positions
    return finished, positions


def _read_pass(ctx: SyncContext, plan: StreamPlan, stream_arn: str, started: float) -> bool:
    """Read every shard that may be read now; True when a shard closed while it was read."""
    api = ctx.clients.streams
    shards = list_shards(api, stream_arn)
    finished, positions = _current_bookmarks(ctx, plan, shards)
    bookmark = ctx.state.bookmark(plan.stream_id)
    decoder = ChangeDecoder(
        item_decoder(ctx.config, plan),
        plan.projection.apply if plan.projection else None,
        skip_ttl_deletes=ctx.config.ttl_deletes == "skip",
        matches=plan.row_filter.matches if plan.row_filter else None,  # values/filters.py: filter_change
    )
    closed_while_read = False
    try:
        for reader in walk(
            api,
            stream_arn,
            shards,
            finished,
            positions,
            ctx.config.stream_tip_empty_pages,
            started + CATCH_UP_MARGIN_SECONDS,
        ):
            for page in reader.pages():
                ctx.report.changes_page(plan.name, page.items)  # before write_page, which may empty the list
                write_page(ctx, plan, decoder, page.items, page.numbers_checked, bookmark.version)
                positions = {**positions, reader.shard_id: page.after}
                bookmark.shards.positions = positions
                ctx.save_state()
            ctx.report.shard(plan.name)
            if reader.finished:
                positions = {k: v for k, v in positions.items() if k != reader.shard_id}
                finished = [*finished, reader.shard_id]
                closed_while_read = closed_while_read or not reader.shard.closed
            else:
                positions = {**positions, reader.shard_id: reader.last_sequence}
            bookmark.shards.positions, bookmark.shards.finished = positions, finished
            ctx.save_state()
    finally:  # once per pass, also when one is cut short (StreamAgedOut)
        if decoder.ttl_deletes_skipped:
            ctx.report.ttl_deletes_skipped(plan.name, decoder.ttl_deletes_skipped)
    if decoder.filtered_out:
        LOGGER.info("Stream %s: %d change(s) outside the row filter skipped", plan.stream_id, decoder.filtered_out)
    return closed_while_read


def _replicate(ctx: SyncContext, plan: StreamPlan, table: dict[str, Any], stream_arn: str) -> None:
    started = time.time()
    bookmark = ctx.state.bookmark(plan.stream_id)
    if not bookmark.initial_full_table_complete:
        newest: Optional[float] = None
        if bookmark.shards.stream_arn is None:
            newest = _note_position(ctx, plan, stream_arn)
        # From an export: a new one, taken at AWS's time once it has passed the noted position (the
        # newest change noted, else now). (Helper seam: a noted position that has aged out by the end of
        # a long export read is where a bridge by incremental export from bookmark.last_export_time goes.)
        if full_table_source(ctx, plan) == EXPORT:
            sync_full_table(ctx, plan, table, fresh_after=newest if newest is not None else 0.0)
        else:
            sync_full_table(ctx, plan, table)
    # A Stitch state has no stream_arn: its bookmarks belong to the table's present DynamoDB stream.
    bookmark.shards.stream_arn = stream_arn
    ctx.report.changes_started(plan.name)
    for _ in range(MAX_PASSES):
        if not _read_pass(ctx, plan, stream_arn, started):
            break


def _replicate_or_reset(ctx: SyncContext, plan: StreamPlan, table: dict[str, Any], stream_arn: str) -> None:
    bookmarked_arn = ctx.state.bookmark(plan.stream_id).shards.stream_arn
    if bookmarked_arn and bookmarked_arn != stream_arn:
        _gap(
            ctx,
            plan,
            f"the table's stream changed from {bookmarked_arn} to {stream_arn} (the stream was "
            "disabled and enabled again), so changes in between are unknown",
        )
    try:
        _replicate(ctx, plan, table, stream_arn)
    except StreamAgedOut as exc:
        _gap(ctx, plan, f"the stream has aged out: {exc}")
        try:
            _replicate(ctx, plan, table, stream_arn)
        except StreamAgedOut as again:
            raise TapError(
                f"stream {plan.stream_id}: the stream aged out again right after a reset ({again}); run the sync again"
            ) from None


def sync_log_based(ctx: SyncContext, plan: StreamPlan, table: dict[str, Any]) -> int:
    """One LOG_BASED run of a stream; returns the number of records written."""
    stream_arn = check_table(plan, table)
    before = ctx.writer.records_written
    with aws_errors(f"reading the DynamoDB stream of table {plan.table_name}", ctx.config.endpoint_url):
        _replicate_or_reset(ctx, plan, table, stream_arn)
    ctx.report.lag(plan.name, ctx.config.stream_lag_warning_hours)
    return ctx.writer.records_written - before
