"""LOG_BASED: bridge a DynamoDB stream that can no longer continue from its bookmarks with incremental exports.

A DynamoDB stream keeps 24 hours. When its bookmarks point at records that are gone (a sync
that did not run for a day, or an initial load that lasted longer than that) or the stream was
replaced (disabled and enabled again), the changes in between are no longer in any stream. They
are in the table's point-in-time recovery (PITR), kept up to 35 days, which incremental exports
read. So rather than re-replicate the whole table, the tap:

1. takes the time up to which every change has been written: `stream_read_until` (AWS's
   restorable time read at the start of the last run whose stream reads all completed, or just
   before the initial load's stream position was noted) or `last_export_time` (the initial
   load's export), the later of the two;
2. checks that PITR reaches back to it; otherwise the full re-replication (or `on_stream_gap:
   fail`) follows as before;
3. notes the stream's present position anew (bookmarked with `exported_until`, the start, in
   the same STATE, so a run killed after it still catches up), then fixes `catch_up_until`
   just after that moment on AWS's clock (the Date header of a DescribeContinuousBackups answer);
4. waits until the table's LatestRestorableDateTime has reached `catch_up_until` (it trails
   AWS's present by a few minutes), then reads incremental exports of `[start, catch_up_until)`
   in windows of at most 24 hours (replication/incremental.py; the last piece, when shorter than
   AWS's 15-minute minimum, starts earlier: overlapping windows repeat records, they lose none);
5. clears the catch-up bookmarks and reads the stream from the newly noted position.

Every change is then written at least once: those before the new position by the exports,
those after it by the stream (a change near the position may come twice). Each key's changes
stay in order: the exports' records (each key's state at a window's end) come before the
stream's newer ones. The path taken is logged either way. It is on by default wherever exports
are configured (`export_s3_bucket`), off with `stream_gap_export_recovery: false`.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any, Callable, Optional

from botocore.exceptions import BotoCoreError, ClientError

from ..aws.errors import describe_aws_error, error_code
from ..aws.pitr import read_window, server_clock
from ..catalog.plan import StreamPlan
from ..errors import TapError
from .bookmarks import ExportProgress, utc_moment, utc_text
from .context import SyncContext
from .incremental import SHORTEST_WINDOW, export_windows

LOGGER = logging.getLogger("tap_dynamodb")

CLOCK_SECOND = dt.timedelta(seconds=1)  # the Date header is whole seconds, truncated


def enabled(ctx: SyncContext) -> bool:
    """Whether gaps may be bridged by export at all: exports configured and the setting on."""
    return bool(ctx.config.export_s3_bucket) and ctx.config.stream_gap_export_recovery


def restorable_now(ctx: SyncContext, plan: StreamPlan) -> Optional[dt.datetime]:
    """The table's LatestRestorableDateTime when a catch-up could use it later, else None (never an error).

    Read at the start of a LOG_BASED run: once the run's stream reads complete, every change
    before it has been written (`stream_read_until`).
    """
    if not enabled(ctx):
        return None
    try:
        window = read_window(ctx.clients.dynamodb, plan.table_name)
    except (ClientError, BotoCoreError) as exc:
        LOGGER.info(
            "Stream %s: cannot read the point-in-time recovery window of %s (%s): a stream gap could not be "
            "bridged by export",
            plan.stream_id,
            plan.table_name,
            error_code(exc) or type(exc).__name__,
        )
        return None
    return window.latest if window is not None and window.enabled else None


def stream_read(ctx: SyncContext, plan: StreamPlan, moment: Optional[dt.datetime]) -> None:
    """Every change before `moment` has been written (bookmarked as `stream_read_until`, never moved back)."""
    if moment is None:
        return
    windows = ctx.state.bookmark(plan.stream_id).windows
    if windows.stream_read_until is None or utc_moment(windows.stream_read_until) < moment:
        windows.stream_read_until = utc_text(moment)


def _changes_written_until(ctx: SyncContext, plan: StreamPlan) -> Optional[dt.datetime]:
    bookmark = ctx.state.bookmark(plan.stream_id)
    times = [utc_moment(t) for t in (bookmark.windows.stream_read_until, bookmark.last_export_time) if t]
    return max(times) if times else None


def _not_by_export(plan: StreamPlan, reason: str, why_not: str) -> bool:
    LOGGER.warning("Stream %s: %s; not bridged by incremental export: %s", plan.stream_id, reason, why_not)
    return False


def start(ctx: SyncContext, plan: StreamPlan, reason: str, note_position: Callable[[], object]) -> bool:
    """Begin bridging a gap by export (True, the new stream position noted), or say why not (False).

    `note_position` bookmarks the stream's present end (log_based's) and saves the state.
    """
    if not ctx.config.export_s3_bucket:
        return _not_by_export(plan, reason, "config key export_s3_bucket is not set")
    if not ctx.config.stream_gap_export_recovery:
        return _not_by_export(plan, reason, "config key stream_gap_export_recovery is false")
    since = _changes_written_until(ctx, plan)
    if since is None:
        return _not_by_export(plan, reason, "the state records no time up to which changes were written")
    try:
        window = read_window(ctx.clients.dynamodb, plan.table_name)
    except (ClientError, BotoCoreError) as exc:
        return _not_by_export(
            plan, reason, f"cannot read the point-in-time recovery window ({describe_aws_error(exc, 'reading it')})"
        )
    if window is None or not window.enabled:
        what = "the endpoint has no point-in-time recovery" if window is None else "point-in-time recovery is off"
        return _not_by_export(plan, reason, f"{what} on table {plan.table_name}")
    # An incremental export covers at least 15 minutes: a gap shorter than that is exported from earlier.
    first = min(since, window.latest - SHORTEST_WINDOW) if window.latest else since
    if not window.covers(first):
        reach = utc_text(window.earliest) if window.earliest else "nowhere"
        needed = f"the unread changes start at {utc_text(since)}"
        if first < since:
            needed += f" and the shortest incremental export (15 minutes) reaches back to {utc_text(first)}"
        return _not_by_export(plan, reason, f"point-in-time recovery reaches back to {reach}, {needed}")
    LOGGER.warning(
        "Stream %s: %s. Bridging the gap by incremental export from %s (point-in-time recovery reaches back to %s) "
        "instead of re-replicating the table",
        plan.stream_id,
        reason,
        utc_text(since),
        utc_text(window.earliest) if window.earliest else "?",
    )
    bookmark = ctx.state.bookmark(plan.stream_id)
    bookmark.windows.exported_until, bookmark.windows.window_to = utc_text(since), None
    bookmark.windows.catch_up_until = None
    bookmark.export = ExportProgress()  # an export a killed catch-up was reading covers another window
    note_position()  # saves the state: the new position together with the catch-up's start
    _fix_end(ctx, plan)
    return True


def _fix_end(ctx: SyncContext, plan: StreamPlan) -> None:
    """Bookmark `catch_up_until`: just after now on AWS's clock, so past the (already noted) stream position."""
    windows = ctx.state.bookmark(plan.stream_id).windows
    try:
        window, now = server_clock(ctx.clients.dynamodb, plan.table_name)
    except (ClientError, BotoCoreError) as exc:
        raise describe_aws_error(
            exc, f"reading AWS's time for table {plan.table_name}", ctx.config.endpoint_url
        ) from None
    if now is None:  # no Date header: the machine's clock, later than the restorable time
        now = max(window.latest or dt.datetime.now(dt.timezone.utc), dt.datetime.now(dt.timezone.utc))
    windows.catch_up_until = utc_text(now + CLOCK_SECOND)
    ctx.save_state()


def in_progress(ctx: SyncContext, plan: StreamPlan) -> bool:
    """A catch-up was begun (by this run or a killed one) and has not finished."""
    return ctx.state.bookmark(plan.stream_id).windows.exported_until is not None


def _wait_until_restorable(ctx: SyncContext, plan: StreamPlan, until: dt.datetime) -> None:
    """Poll until the table's LatestRestorableDateTime has reached `until` (an export may not end later)."""
    started = time.monotonic()
    logged = False
    while True:
        try:
            window = read_window(ctx.clients.dynamodb, plan.table_name)
        except (ClientError, BotoCoreError) as exc:
            raise describe_aws_error(
                exc, f"reading the point-in-time recovery window of {plan.table_name}", ctx.config.endpoint_url
            ) from None
        if window is None or not window.enabled or window.latest is None:
            raise TapError(
                f"stream {plan.stream_id}: point-in-time recovery of table {plan.table_name} went off while a stream "
                "gap was being bridged by export; enable it again and run again, or remove "
                f"bookmarks.{plan.stream_id} from the state to re-replicate the table"
            )
        if window.latest >= until:
            return
        waited = time.monotonic() - started
        if waited > ctx.config.export_timeout_minutes * 60:
            raise TapError(
                f"stream {plan.stream_id}: the restorable time of table {plan.table_name} did not reach "
                f"{utc_text(until)} within export_timeout_minutes; run again later (the catch-up continues)"
            )
        if not logged:
            LOGGER.info(
                "Stream %s: waiting for the restorable time of %s (%s) to reach %s, where the exports end",
                plan.stream_id,
                plan.table_name,
                utc_text(window.latest),
                utc_text(until),
            )
            logged = True
        time.sleep(ctx.config.export_poll_seconds)


def finish(ctx: SyncContext, plan: StreamPlan, table: dict[str, Any]) -> int:
    """Read the catch-up's exports up to `catch_up_until`, then clear its bookmarks; the records written."""
    windows = ctx.state.bookmark(plan.stream_id).windows
    if windows.catch_up_until is None:  # killed between noting the position and fixing the end
        _fix_end(ctx, plan)
    assert windows.catch_up_until is not None and windows.exported_until is not None
    until = utc_moment(windows.catch_up_until)
    since = windows.exported_until
    _wait_until_restorable(ctx, plan, until)
    count = export_windows(ctx, plan, table, until, to_the_end=True)
    windows.exported_until = windows.window_to = windows.catch_up_until = None
    ctx.save_state()
    LOGGER.info(
        "Stream %s: bridged %s to %s by incremental export (%d records); reading the stream from the position noted",
        plan.stream_id,
        since,
        utc_text(until),
        count,
    )
    return count
