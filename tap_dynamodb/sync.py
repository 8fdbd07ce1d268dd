"""The sync run: every selected stream in catalog order, resuming the one a run stopped in.

Before any output, every selected table is described, so that a table that is gone or
unreadable fails the run at once with its name. A stream whose replication method changed
since the last run is reset (table-level reset) and replicated from scratch.
"""

from __future__ import annotations

import logging
import time

from botocore.exceptions import BotoCoreError, ClientError

from . import state as st
from .aws import describe_aws_error, error_code
from .catalog import FULL_TABLE, LOG_BASED, StreamPlan, selected_streams
from .context import SyncContext
from .errors import TapError
from .full_table import sync_full_table
from .log_based import check_table, output_schema, sync_log_based
from .output import utc_now_iso
from .report import start_origin

LOGGER = logging.getLogger("tap_dynamodb")


def _describe_selected(ctx: SyncContext, plans: list) -> dict:
    tables = {}
    for plan in plans:
        if plan.table_name in tables:
            continue
        try:
            tables[plan.table_name] = ctx.clients.dynamodb.describe_table(TableName=plan.table_name)["Table"]
        except ClientError as exc:
            code = error_code(exc)
            if code == "ResourceNotFoundException":
                raise TapError(f"selected table {plan.table_name} does not exist in {ctx.config.region_name}; "
                               "deselect it or run --discover again") from None
            if code in ("AccessDeniedException", "AccessDenied"):
                raise TapError(f"the credentials may not read selected table {plan.table_name} ({code}); grant "
                               "dynamodb:DescribeTable and dynamodb:Scan or deselect it") from None
            raise describe_aws_error(exc, f"describing table {plan.table_name}") from None
        except BotoCoreError as exc:
            raise describe_aws_error(exc, f"describing table {plan.table_name}", ctx.config.endpoint_url) from None
    for plan in plans:
        if plan.method == LOG_BASED:
            check_table(plan, tables[plan.table_name])  # refuse before any output
    return tables


def _resume_order(plans: list, currently_syncing) -> list:
    """Put the stream an interrupted run was syncing first, the rest in catalog order."""
    if not currently_syncing:
        return plans
    first = [p for p in plans if p.tap_stream_id == currently_syncing]
    return first + [p for p in plans if p.tap_stream_id != currently_syncing]


def _reset_if_method_changed(ctx: SyncContext, plan: StreamPlan) -> bool:
    """Reset the stream's bookmarks when its replication method changed; True when it did."""
    previous = st.get_bookmark(ctx.state, plan.bookmark_key, "last_replication_method")
    changed = bool(previous and previous != plan.method)
    if changed:
        LOGGER.info("Replication method of %s changed from %s to %s: resetting its bookmarks (table-level reset)",
                    plan.tap_stream_id, previous, plan.method)
        st.reset_table(ctx.state, plan.bookmark_key)
    st.write_bookmark(ctx.state, plan.bookmark_key, "last_replication_method", plan.method)
    return changed


def sync_stream(ctx: SyncContext, plan: StreamPlan, table: dict) -> int:
    """Sync one stream by its replication method; returns the number of records written."""
    if plan.method == FULL_TABLE:
        return sync_full_table(ctx, plan, table)
    if plan.method == LOG_BASED:
        return sync_log_based(ctx, plan, table)
    raise TapError(f"stream {plan.tap_stream_id}: unknown replication method {plan.method}")


def sync(ctx: SyncContext, catalog: dict) -> None:
    """Sync every selected stream of the catalog."""
    plans = selected_streams(catalog)
    if not plans:
        LOGGER.warning("No streams are selected in the catalog: nothing to sync. Set \"selected\": true in a "
                       "stream's top-level metadata")
        return
    tables = _describe_selected(ctx, plans)
    try:
        for plan in _resume_order(plans, ctx.state.get("currently_syncing")):
            _sync_one(ctx, plan, tables[plan.table_name])
    finally:
        ctx.report.log_summary()  # also after a failure: what was done before it
    st.set_currently_syncing(ctx.state, None)
    ctx.save_state()


def _sync_one(ctx: SyncContext, plan: StreamPlan, table: dict) -> None:
    started = time.monotonic()
    st.set_currently_syncing(ctx.state, plan.tap_stream_id)
    was_reset = _reset_if_method_changed(ctx, plan)
    origin = start_origin(st.table_bookmark(ctx.state, plan.bookmark_key), plan.method, was_reset)
    LOGGER.info("Starting %s sync of %s (%s)", plan.method, plan.tap_stream_id, origin)
    ctx.report.start(plan.stream, plan.method, origin)
    ctx.save_state()
    if plan.method == LOG_BASED:
        plan.schema = output_schema(plan.schema)  # deletes carry _sdc_deleted_at; widening keeps it
    ctx.writer.schema(plan.stream, plan.schema, plan.key_properties)
    count = sync_stream(ctx, plan, table)
    ctx.report.finish(plan.stream, count)
    st.write_bookmark(ctx.state, plan.bookmark_key, "success_timestamp", utc_now_iso())
    ctx.save_state()
    LOGGER.info("Finished %s sync of %s: %d records in %.1f s", plan.method, plan.tap_stream_id, count,
                time.monotonic() - started)
