"""The sync run: every selected stream in catalog order, resuming the one a run stopped in.

Before any output, every selected stream's bookmark is checked and every selected table is
described (and, for streams read from exports, the bucket and point-in-time recovery checked), so that a bad bookmark or a table that is gone or unreadable fails the run at once
with its name. A stream whose replication method changed since the last run is reset
(table-level reset) and replicated from scratch. SCHEMA, STATE and the report are written
here; the methods (full_table, log_based, incremental) write records and bookmarks.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any, Optional

from botocore.exceptions import BotoCoreError, ClientError

from ..aws.api import TableAccessDenied, TableNotFound
from ..aws.errors import describe_aws_error
from ..catalog.plan import FULL_TABLE, INCREMENTAL, LOG_BASED, StreamPlan, selected_streams
from ..errors import TapError
from ..output.batch import BatchStorage
from ..output.report import item_count, start_origin
from ..timestamps import utc_now_iso
from ..values.changes import with_deleted_at
from .context import SyncContext
from .exports import check_exports
from .full_table import check_filter, sync_full_table
from .incremental import check_incremental, sync_incremental
from .log_based import check_table, sync_log_based
from .records import CHANGE_METHODS, first_schema

LOGGER = logging.getLogger("tap_dynamodb")


def _describe_selected(ctx: SyncContext, plans: list[StreamPlan]) -> dict[str, dict[str, Any]]:
    tables: dict[str, dict[str, Any]] = {}
    for plan in plans:
        if plan.table_name in tables:
            continue
        try:
            tables[plan.table_name] = ctx.clients.dynamodb.describe_table(plan.table_name)
        except TableNotFound:
            raise TapError(
                f"selected table {plan.table_name} does not exist in {ctx.config.region_name}; "
                "deselect it or run --discover again"
            ) from None
        except TableAccessDenied as exc:
            if exc.access_denied:
                raise TapError(
                    f"the credentials may not read selected table {plan.table_name} ({exc.code}); grant "
                    "dynamodb:DescribeTable and dynamodb:Scan or deselect it"
                ) from None
            raise TapError(
                f"AWS refused the credentials while describing table {plan.table_name} ({exc.code}); "
                "check the access keys, profile or role in the config and the IAM policy"
            ) from None
        except (ClientError, BotoCoreError) as exc:
            raise describe_aws_error(exc, f"describing table {plan.table_name}", ctx.config.endpoint_url) from None
    for plan in plans:
        if plan.method == LOG_BASED:
            check_table(plan, tables[plan.table_name])  # refuse before any output
        if plan.method == INCREMENTAL:
            check_incremental(ctx, plan)  # an export bucket, point-in-time recovery on
    for plan in plans:
        check_filter(ctx, plan)  # a Limit-1 Scan: DynamoDB's verdict on the filter expression
    check_exports(ctx, plans)  # bucket, HeadBucket, point-in-time recovery
    return tables


def _check_bookmarks(ctx: SyncContext, plans: list[StreamPlan]) -> None:
    """Every selected stream's bookmark, checked before anything is read (unless a method change resets it)."""
    for plan in plans:
        if ctx.state.raw_method(plan.stream_id) in (None, plan.method):
            ctx.state.bookmark(plan.stream_id)


def _resume_order(plans: list[StreamPlan], currently_syncing: Optional[str]) -> list[StreamPlan]:
    """Put the stream an interrupted run was syncing first, the rest in catalog order."""
    if not currently_syncing:
        return plans
    first = [p for p in plans if p.stream_id == currently_syncing]
    return first + [p for p in plans if p.stream_id != currently_syncing]


def _reset_if_method_changed(ctx: SyncContext, plan: StreamPlan) -> bool:
    """Reset the stream's bookmarks when its replication method changed; True when it did."""
    previous = ctx.state.raw_method(plan.stream_id)
    changed = bool(previous and previous != plan.method)
    if changed:
        LOGGER.info(
            "Replication method of %s changed from %s to %s: resetting its bookmarks (table-level reset)",
            plan.stream_id,
            previous,
            plan.method,
        )
        ctx.state.reset(plan.stream_id)
    ctx.state.bookmark(plan.stream_id).last_replication_method = plan.method
    return changed


def sync_stream(ctx: SyncContext, plan: StreamPlan, table: dict[str, Any]) -> int:
    """Sync one stream by its replication method; returns the number of records written."""
    if plan.method == FULL_TABLE:
        return sync_full_table(ctx, plan, table)
    if plan.method == LOG_BASED:
        return sync_log_based(ctx, plan, table)
    if plan.method == INCREMENTAL:
        return sync_incremental(ctx, plan, table)
    raise TapError(f"stream {plan.stream_id}: unknown replication method {plan.method}")


def sync(ctx: SyncContext, catalog: Any) -> None:
    """Sync every selected stream of the catalog."""
    plans = selected_streams(catalog, ctx.config.default_replication_method)
    if not plans:  # a catalog without streams (one that has streams but selects none is an error)
        LOGGER.warning("The catalog has no streams: nothing to sync. Run --discover to list the tables")
        return
    _check_bookmarks(ctx, plans)
    tables = _describe_selected(ctx, plans)
    _open_batch_storage(ctx)
    try:
        for plan in _resume_order(plans, ctx.state.currently_syncing):
            _sync_one(ctx, plan, tables[plan.table_name])
    finally:
        ctx.report.log_summary()  # also after a failure: what was done before it
        if ctx.batches is not None:
            ctx.batches.close()
    ctx.state.currently_syncing = None
    ctx.save_state()


def _open_batch_storage(ctx: SyncContext) -> None:
    """With batch_config: the run's BatchStorage, checked (writable directory, bucket, credentials) before any
    table is read."""
    batch_config = ctx.config.batch_config
    if batch_config is None:
        return
    if ctx.batches is None:
        ctx.batches = BatchStorage(batch_config, lambda: ctx.clients.s3)
    ctx.batches.check()
    LOGGER.info("Full loads go to batch files under %s (%s)", batch_config.root, batch_config.compression)


def _log_last_success(plan: StreamPlan, last: Optional[dt.datetime]) -> None:
    if last is None:
        return
    if last.tzinfo is None:
        last = last.replace(tzinfo=dt.timezone.utc)
    hours = (dt.datetime.now(dt.timezone.utc) - last).total_seconds() / 3600
    LOGGER.info("Last successful sync of %s finished %.1f hours ago", plan.stream_id, hours)


def _sync_one(ctx: SyncContext, plan: StreamPlan, table: dict[str, Any]) -> None:
    started = time.monotonic()
    ctx.state.currently_syncing = plan.stream_id
    was_reset = _reset_if_method_changed(ctx, plan)
    bookmark = ctx.state.bookmark(plan.stream_id)
    origin = start_origin(bookmark, plan.method, was_reset)
    LOGGER.info("Starting %s sync of %s (%s)", plan.method, plan.stream_id, origin)
    _log_last_success(plan, bookmark.last_success())
    ctx.report.start(plan.name, plan.method, origin, item_count(table, plan.index_name))
    ctx.save_state()
    if plan.method in CHANGE_METHODS:
        plan.schema = with_deleted_at(plan.schema)  # deletes carry _sdc_deleted_at; widening keeps it
    ctx.writer.schema(plan.name, first_schema(ctx.config, plan), plan.key_properties)
    count = sync_stream(ctx, plan, table)
    ctx.report.finish(plan.name, count)
    ctx.state.bookmark(plan.stream_id).success_timestamp = utc_now_iso()
    ctx.save_state()
    LOGGER.info(
        "Finished %s sync of %s: %d records in %.1f s", plan.method, plan.stream_id, count, time.monotonic() - started
    )
