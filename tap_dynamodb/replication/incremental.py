"""INCREMENTAL replication: every change through DynamoDB's incremental exports; no stream needed.

The first run is a full read, from an export unless the stream's metadata
`tap-dynamodb.full-table-source` says scan (replication/exports.py), with table versions as in
FULL_TABLE. It leaves `exported_until` (bookmarks.ExportWindows) at the export's time; after a
scan, at the table's restorable time read just before the scan began (a scan is no point in
time: changes made during it come again in the first window, never zero times). Each later
run exports the changes of `[exported_until, now - margin)`, where "now" is the table's
LatestRestorableDateTime (AWS's clock, never the machine's) and the margin
`incremental_safety_margin_minutes`, in windows of 15 minutes (AWS's shortest) to
`incremental_window_hours` (at most 24, AWS's longest), oldest first.

Order: AWS compacts a key's changes inside a window to one line, its state at the window's end
(an item created and deleted inside the window gives no line at all), stamped with the time of
its last write. So each key's records come in write-time order: windows are read in order, and
within a window a key has one line. Lines become upserts (the new image) or deletes
(`_sdc_deleted_at`, the write time, plus the old image's values with the view
NEW_AND_OLD_IMAGES, config key `incremental_export_view`): values/export_changes.py.

Bookmarks, in order, a STATE after each step and always after the records it covers:
1. `export_window_to`: the window's end, fixed before its export is requested, so that a
   resumed run asks for the same window (the same ClientToken: AWS answers with the same export);
2. the export's ARN, then each data file's progress (bookmarks.ExportProgress, as a full read);
3. once every record of the window is written, `exported_until` moves to the window's end and
   the window's other bookmarks are cleared.
A span shorter than 15 minutes is not requested (AWS refuses it): the run says so, and the next
run takes it together with what came since.

LOG_BASED uses the same windows to bridge a stream gap (replication/catch_up.py).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Optional

from ..aws import exports
from ..aws.errors import aws_errors
from ..aws.pitr import PitrWindow, read_window
from ..catalog.plan import EXPORT, StreamPlan
from ..errors import TapError
from ..output.report import NEW_EXPORT, RESUMED_EXPORT
from ..values.export_changes import LINE_KIND
from .bookmarks import EXPORTED_UNTIL, ExportProgress, utc_moment, utc_text
from .context import SyncContext
from .exports import full_table_source, write_export
from .full_table import sync_full_table

LOGGER = logging.getLogger("tap_dynamodb")

SHORTEST_WINDOW = dt.timedelta(minutes=15)  # AWS's limits on one incremental export
LONGEST_WINDOW = dt.timedelta(hours=24)


def window_after(start: dt.datetime, end: dt.datetime, longest: dt.timedelta) -> Optional[dt.datetime]:
    """The end of the next window from `start` towards `end`; None when less than 15 minutes remain."""
    if end - start < SHORTEST_WINDOW:
        return None
    return min(end, start + min(longest, LONGEST_WINDOW))


def window_start(exported_until: dt.datetime, window_to: dt.datetime) -> dt.datetime:
    """Where the window ending at `window_to` starts: `exported_until`, or 15 minutes before its end when
    the span is shorter (a catch-up's last piece: the overlap repeats records, it loses none)."""
    return min(exported_until, window_to - SHORTEST_WINDOW)


def pitr_window(ctx: SyncContext, plan: StreamPlan) -> PitrWindow:
    """The table's PITR window; TapError (one line) when PITR is off or the endpoint has no exports."""
    with aws_errors(f"reading the point-in-time recovery status of table {plan.table_name}", ctx.config.endpoint_url):
        window = read_window(ctx.clients.dynamodb, plan.table_name)
    if window is None:
        raise TapError(
            f"stream {plan.stream_id}: INCREMENTAL reads DynamoDB's incremental exports, which the endpoint "
            f"{ctx.config.endpoint_url or 'in use'} does not offer (DynamoDB Local has none); use FULL_TABLE or LOG_BASED"
        )
    if not window.enabled or window.latest is None:
        raise TapError(
            f"stream {plan.stream_id}: INCREMENTAL reads DynamoDB's incremental exports, which need point-in-time "
            f"recovery on table {plan.table_name}, and it is off; enable it (aws dynamodb update-continuous-backups "
            f"--table-name {plan.table_name} --point-in-time-recovery-specification "
            "PointInTimeRecoveryEnabled=true) or use FULL_TABLE or LOG_BASED"
        )
    return window


def check_incremental(ctx: SyncContext, plan: StreamPlan) -> None:
    """Before any output: an export bucket is configured and the stream's table has PITR on."""
    exports.ExportTarget.from_config(ctx.config)
    pitr_window(ctx, plan)


def export_window(
    ctx: SyncContext, plan: StreamPlan, table: dict[str, Any], start: dt.datetime, end: dt.datetime
) -> int:
    """Write the changes of [start, end) from an incremental export (requested, or the bookmarked one); the count."""
    bookmark = ctx.state.bookmark(plan.stream_id)
    progress = bookmark.export
    api, endpoint = ctx.clients.dynamodb, ctx.config.endpoint_url
    origin = RESUMED_EXPORT
    if progress.export_arn is None:
        description = exports.request_export(
            api,
            plan.stream_id,
            plan.table_name,
            table["TableArn"],
            exports.ExportTarget.from_config(ctx.config),
            None,
            incremental={
                "ExportFromTime": start,
                "ExportToTime": end,
                "ExportViewType": ctx.config.incremental_export_view,
            },
            endpoint=endpoint,
        )
        progress.export_arn = description["ExportArn"]
        ctx.save_state()
        origin = NEW_EXPORT
    LOGGER.info(
        "Stream %s: the changes from %s to %s, from incremental export %s (%s)",
        plan.stream_id,
        utc_text(start),
        utc_text(end),
        progress.export_arn,
        origin,
    )
    try:
        description, waited = exports.wait_for_export(
            api,
            plan.stream_id,
            progress.export_arn,
            ctx.config.export_poll_seconds,
            ctx.config.export_timeout_minutes,
            endpoint,
        )
    except exports.ExportFailed:
        # Nothing of it was read: forget the export and the window, so the next run asks anew for a
        # window to a later end, so with another ClientToken (AWS would answer the same token with
        # the same FAILED export). A catch-up's end is fixed again too (replication/catch_up.py):
        # any moment after its noted stream position will do.
        bookmark.export, bookmark.windows.window_to, bookmark.windows.catch_up_until = ExportProgress(), None, None
        ctx.save_state()
        raise
    count = write_export(ctx, plan, description, progress, LINE_KIND, bookmark.version, end, origin, waited)
    bookmark.export = ExportProgress()
    return count


def export_windows(
    ctx: SyncContext, plan: StreamPlan, table: dict[str, Any], end: dt.datetime, to_the_end: bool = False
) -> int:
    """Read windows from `exported_until` on, oldest first; the records written.

    INCREMENTAL stops when less than 15 minutes are left before `end`; a catch-up (`to_the_end`)
    reads up to `end` itself. A window bookmarked as in progress is read first, as it was requested.
    """
    windows = ctx.state.bookmark(plan.stream_id).windows
    longest = dt.timedelta(hours=ctx.config.incremental_window_hours)
    count = 0
    while True:
        assert windows.exported_until is not None
        exported_until = utc_moment(windows.exported_until)
        if windows.window_to is None:
            window_to: Optional[dt.datetime]
            if to_the_end:
                window_to = min(end, exported_until + min(longest, LONGEST_WINDOW)) if exported_until < end else None
            else:
                window_to = window_after(exported_until, end, longest)
            if window_to is None:
                return count
            windows.window_to = utc_text(window_to)
            ctx.save_state()  # before the request: a repeat of it is the same window, the same ClientToken
        window_to = utc_moment(windows.window_to)
        count += export_window(ctx, plan, table, window_start(exported_until, window_to), window_to)
        windows.exported_until, windows.window_to = windows.window_to, None
        ctx.save_state()


def _initial_load(ctx: SyncContext, plan: StreamPlan, table: dict[str, Any]) -> int:
    """The first run's full read; `exported_until` then marks where the first window starts."""
    bookmark = ctx.state.bookmark(plan.stream_id)
    if full_table_source(ctx, plan) == EXPORT:
        count = sync_full_table(ctx, plan, table)
        bookmark.windows.exported_until = bookmark.last_export_time
    else:
        if bookmark.windows.exported_until is None:  # a resumed scan keeps the time its first run noted
            latest = pitr_window(ctx, plan).latest
            assert latest is not None
            bookmark.windows.exported_until = utc_text(latest)
            ctx.save_state()
        count = sync_full_table(ctx, plan, table)
    ctx.save_state()
    return count


def _lost(ctx: SyncContext, plan: StreamPlan, table: dict[str, Any], earliest: dt.datetime) -> int:
    """Point-in-time recovery no longer reaches back to the bookmark (PITR keeps 35 days, or was turned
    off and on): by on_stream_gap, read the table again (its version kept until the new copy is
    complete, as LOG_BASED's re-replication) or stop."""
    bookmark = ctx.state.bookmark(plan.stream_id)
    reason = (
        f"its changes since {bookmark.windows.exported_until} are no longer all in point-in-time recovery, which "
        f"reaches back to {utc_text(earliest)}"
    )
    if ctx.config.on_stream_gap == "fail":
        raise TapError(
            f"stream {plan.stream_id} (table {plan.table_name}): {reason}. on_stream_gap is fail, so nothing was "
            f"read: set on_stream_gap to resync to read the whole table again, or remove bookmarks.{plan.stream_id} "
            "from the state"
        )
    LOGGER.warning("Stream %s: %s. Resetting its bookmarks and reading the whole table again", plan.stream_id, reason)
    ctx.report.reset(plan.name)
    ctx.state.reset(plan.stream_id, keep_version=True)
    ctx.save_state()
    return _initial_load(ctx, plan, table)


def sync_incremental(ctx: SyncContext, plan: StreamPlan, table: dict[str, Any]) -> int:
    """One INCREMENTAL run of a stream; returns the number of records written."""
    count = 0
    if not ctx.state.bookmark(plan.stream_id).initial_full_table_complete:
        count += _initial_load(ctx, plan, table)
    bookmark = ctx.state.bookmark(plan.stream_id)
    windows = bookmark.windows
    if windows.exported_until is None:
        raise TapError(
            f"stream {plan.stream_id}: the state's bookmark says the table was read in full but not from when its "
            f"changes are due ({EXPORTED_UNTIL}); remove bookmarks.{plan.stream_id} from the state to read the "
            "table again"
        )
    window = pitr_window(ctx, plan)
    if bookmark.export.export_arn is None and window.earliest and utc_moment(windows.exported_until) < window.earliest:
        return count + _lost(ctx, plan, table, window.earliest)  # the next run reads the windows after it
    latest = window.latest
    assert latest is not None
    end = latest - dt.timedelta(minutes=ctx.config.incremental_safety_margin_minutes)
    with aws_errors(f"reading incremental exports of table {plan.table_name}", ctx.config.endpoint_url):
        count += export_windows(ctx, plan, table, end)
    left = max(dt.timedelta(0), end - utc_moment(windows.exported_until))
    LOGGER.info(
        "Stream %s: changes written up to %s; the %.1f minutes after it, up to AWS's restorable time %s less the "
        "%g-minute safety margin, are less than the shortest incremental export (15 minutes) and wait for the "
        "next run",
        plan.stream_id,
        windows.exported_until,
        left.total_seconds() / 60,
        utc_text(latest),
        ctx.config.incremental_safety_margin_minutes,
    )
    return count
