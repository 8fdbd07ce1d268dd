"""A full read of a table from a DynamoDB export (full_table_source export), with its bookmarks.

Where a stream's full reads come from: its metadata `tap-dynamodb.full-table-source`, else the
config's `full_table_source`. Index views cannot be exported (an export holds the table): with
the config's default they scan, with explicit metadata the catalog is refused (catalog/plan.py).

Before any output (`check_exports`, from sync): export_s3_bucket is set, the bucket answers
HeadBucket, and every table about to be exported has point-in-time recovery on.

The read (`export_to_output`), bookmarked in bookmarks.ExportProgress:
1. AWS's present time is bookmarked as the export time, then the export is requested (or the
   newest COMPLETED one within export_reuse_max_age_minutes is reused) and its ARN bookmarked.
   A run killed in between asks again with the same ClientToken: the same export, not a second.
2. DescribeExport is polled until COMPLETED (aws/exports.py).
3. The manifests are read and every data file not done yet is handed to the reader processes
   (readers/export_files.py), a file in progress from the line its bookmark reached.
4. Each chunk that comes back: SCHEMA when it widened the stream's schema, its RECORD lines,
   then a STATE moving that file's line (or marking the file done). Chunks of different files
   interleave; the bookmark keeps each file's progress, so a resumed run loses nothing and
   repeats at most the records after the last STATE.

With batch_config, a full load's workers write the records into batch files themselves (one
part per data file per batch_size records) and a chunk carries the closed part instead of
RECORD lines: the records never cross the one stdout pipe. The parent then makes the part
readable (S3: uploads it), writes SCHEMA if it widened, the BATCH message, and moves the
file's bookmark (its line and `file_parts`) before the STATE, as a scan does
(replication/batches.py). Incremental windows stay RECORDs, like a stream's changes.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import sys
import time
from dataclasses import replace
from typing import Any, Optional

from botocore.exceptions import BotoCoreError, ClientError

from ..aws import exports
from ..aws.errors import describe_aws_error, error_code
from ..catalog.plan import EXPORT, FULL_TABLE, INCREMENTAL, SCAN, StreamPlan
from ..errors import TapError
from ..output.batch import BatchStorage
from ..output.report import NEW_EXPORT, RESUMED_EXPORT, REUSED_EXPORT
from ..readers.export_files import FULL, ReadSpec, read_files, read_manifest, worker_config
from ..timestamps import iso_utc
from ..values.schema import widen_properties
from .bookmarks import ExportProgress, utc_moment
from .context import SyncContext
from .records import first_schema, record_format

LOGGER = logging.getLogger("tap_dynamodb")

_logged_views: set[str] = set()


def full_table_source(ctx: SyncContext, plan: StreamPlan) -> str:
    """scan or export: the stream's metadata, else the config's (index views always scan)."""
    if plan.full_table_source is not None:
        return plan.full_table_source
    if plan.method == INCREMENTAL:  # its changes come from exports anyway: so does its first full read
        return EXPORT
    if ctx.config.full_table_source == EXPORT and plan.index_name:
        if plan.stream_id not in _logged_views:
            _logged_views.add(plan.stream_id)
            LOGGER.info(
                "Stream %s reads index %s, which DynamoDB cannot export: it is scanned (full_table_source is export)",
                plan.stream_id,
                plan.index_name,
            )
        return SCAN
    return ctx.config.full_table_source


def check_exports(ctx: SyncContext, plans: list[StreamPlan]) -> None:
    """Refuse before any output what would stop an export read: no bucket, a bucket that does not
    answer, a table without point-in-time recovery. Only streams with a full read due are looked at
    (FULL_TABLE and INCREMENTAL, or LOG_BASED before its initial load is complete)."""
    due = [
        plan
        for plan in plans
        if full_table_source(ctx, plan) == EXPORT
        and (
            plan.method in (FULL_TABLE, INCREMENTAL)  # INCREMENTAL reads exports every run
            or not ctx.state.bookmark(plan.stream_id).initial_full_table_complete
        )
    ]
    if not due:
        return
    target = exports.ExportTarget.from_config(ctx.config)
    try:
        ctx.clients.s3.head_bucket(target.bucket, target.owner)
    except ClientError as exc:
        code = error_code(exc)
        if code in ("404", "NoSuchBucket"):
            raise TapError(f"export bucket {target.bucket} (config key export_s3_bucket) does not exist") from None
        if code in ("403", "AccessDenied"):
            raise TapError(
                f"the credentials may not use export bucket {target.bucket} (config key export_s3_bucket): grant "
                "s3:ListBucket and s3:GetObject on it (see the README's IAM section)"
            ) from None
        raise describe_aws_error(exc, f"checking export bucket {target.bucket}", ctx.config.s3_endpoint_url) from None
    except BotoCoreError as exc:
        raise describe_aws_error(exc, f"checking export bucket {target.bucket}", ctx.config.s3_endpoint_url) from None
    # INCREMENTAL tables had theirs checked already (incremental.check_incremental, run first).
    first_stream: dict[str, str] = {}
    for plan in due:
        if plan.method != INCREMENTAL:
            first_stream.setdefault(plan.table_name, plan.stream_id)
    for table_name, stream_id in first_stream.items():
        exports.check_pitr(ctx.clients.dynamodb, stream_id, table_name, ctx.config.endpoint_url)


def _parts_announced(progress: ExportProgress, segment: str) -> int:
    """Parts of the data file named `segment` the bookmark counts as announced: all of a file done."""
    if not segment.isdigit():
        return 0
    index = int(segment)
    return sys.maxsize if progress.is_done(index) else progress.parts_announced(index)


def _start_export(
    ctx: SyncContext, plan: StreamPlan, table: dict[str, Any], progress: ExportProgress, fresh_after: Optional[float]
) -> str:
    """Bookmark the export this read uses (reused, or requested at AWS's present time); its origin."""
    api, endpoint = ctx.clients.dynamodb, ctx.config.endpoint_url
    target = exports.ExportTarget.from_config(ctx.config)
    origin = RESUMED_EXPORT if progress.in_progress else NEW_EXPORT
    if progress.export_time is None and progress.export_arn is None:
        now = _restorable_after(ctx, plan, fresh_after)
        reusable = None
        if fresh_after is None:  # LOG_BASED needs an export at or after its noted stream position
            reusable = exports.find_reusable(
                api, table["TableArn"], ctx.config.export_reuse_max_age_minutes, now, target.export_format, endpoint
            )
        if reusable is not None:
            progress.export_arn = reusable["ExportArn"]
            progress.export_time = exports.iso(exports.as_utc(reusable["ExportTime"]))
            origin = REUSED_EXPORT
            LOGGER.info(
                "Reusing export %s of table %s (ExportTime %s, within export_reuse_max_age_minutes)",
                progress.export_arn,
                plan.table_name,
                progress.export_time,
            )
        else:
            progress.export_time = exports.iso(now)
        ctx.save_state()  # before the request: a repeat of it carries the same ClientToken
    if progress.export_arn is None:
        assert progress.export_time is not None
        description = exports.request_export(
            api,
            plan.stream_id,
            plan.table_name,
            table["TableArn"],
            target,
            utc_moment(progress.export_time),
            endpoint=endpoint,
        )
        progress.export_arn = description["ExportArn"]
        ctx.save_state()
    return origin


def _restorable_after(ctx: SyncContext, plan: StreamPlan, after: Optional[float]) -> dt.datetime:
    """AWS's LatestRestorableDateTime for the table, once it has passed `after` (epoch seconds) when given.

    LOG_BASED: the export must not be older than the newest change its noted stream position
    covers, or the changes between them would be in neither; AWS's restorable time may lag a
    few minutes behind the stream, so it is polled until it has caught up.
    """
    api, endpoint = ctx.clients.dynamodb, ctx.config.endpoint_url
    started = time.monotonic()
    while True:
        latest = exports.check_pitr(api, plan.stream_id, plan.table_name, endpoint)
        if after is None or latest.timestamp() >= after:
            return latest
        if time.monotonic() - started > ctx.config.export_timeout_minutes * 60:
            raise TapError(
                f"stream {plan.stream_id}: the point-in-time recovery window of table {plan.table_name} did not reach "
                "the noted stream position within export_timeout_minutes; run again later"
            )
        LOGGER.info(
            "Waiting for the restorable time of %s (%s) to pass the noted stream position",
            plan.table_name,
            exports.iso(latest),
        )
        time.sleep(ctx.config.export_poll_seconds)


def export_to_output(
    ctx: SyncContext,
    plan: StreamPlan,
    table: dict[str, Any],
    version: Optional[int],
    fresh_after: Optional[float] = None,
) -> int:
    """Write every item of the table from an export as RECORDs (or batch files with batch_config),
    bookmarking after each chunk; the count.

    `fresh_after` (LOG_BASED's initial load): epoch seconds of the newest change the noted stream
    position covers; the export is then a new one, at an AWS time not before it.
    """
    bookmark = ctx.state.bookmark(plan.stream_id)
    progress = bookmark.export
    origin = _start_export(ctx, plan, table, progress, fresh_after)
    assert progress.export_arn is not None
    try:
        description, waited = exports.wait_for_export(
            ctx.clients.dynamodb,
            plan.stream_id,
            progress.export_arn,
            ctx.config.export_poll_seconds,
            ctx.config.export_timeout_minutes,
            ctx.config.endpoint_url,
        )
    except exports.ExportFailed:
        bookmark.export = ExportProgress()  # nothing of it was read: the next run asks for a new one
        ctx.save_state()
        raise
    export_time = exports.as_utc(description.get("ExportTime") or utc_moment(progress.export_time or ""))
    count = write_export(ctx, plan, description, progress, FULL, version, export_time, origin, waited, ctx.batches)
    bookmark.export = ExportProgress()
    bookmark.last_export_time = exports.iso(export_time)
    return count


def write_export(
    ctx: SyncContext,
    plan: StreamPlan,
    description: dict[str, Any],
    progress: ExportProgress,
    kind: str,
    version: Optional[int],
    time_extracted: dt.datetime,
    origin: str,
    waited: float,
    batches: Optional[BatchStorage] = None,
) -> int:
    """Write the records of a COMPLETED export's data files not done in `progress`, lines of `kind`
    (readers/export_files.LINE_KINDS), moving `progress` and writing a STATE after every chunk; the count.

    SCHEMA comes first whenever a chunk widened the stream's schema. `progress` is left with every
    file done: the caller clears it (or moves on) once what it covers is complete.

    `batches` (full loads with batch_config): the workers write batch parts, and each part is
    published, announced (BATCH) and counted in `progress` before the STATE. Parts a killed run
    wrote but never announced are removed first, before any worker writes.
    """
    manifest = read_manifest(ctx.clients.s3, description)
    ctx.report.export_started(plan.name, manifest.export_arn, origin, waited, len(manifest.files))
    todo = [(f, progress.lines_done(f.index)) for f in manifest.files if not progress.is_done(f.index)]
    LOGGER.info(
        "Reading export %s of %s: %d data files (%d to read), %d items",
        manifest.export_arn,
        plan.stream_id,
        len(manifest.files),
        len(todo),
        manifest.item_count,
    )
    spec = ReadSpec(kind, worker_config(ctx.config), plan, version, iso_utc(time_extracted))
    if batches is not None:
        batches.remove_unannounced(plan.name, version, lambda index: _parts_announced(progress, index))
        spec = replace(spec, batch=batches.config, staging_dir=batches.staging_dir)
    s3 = ctx.clients.s3
    columns = record_format(ctx.config, plan) != "packed"
    written = copy.deepcopy(first_schema(ctx.config, plan))
    count = 0
    for chunk in read_files(
        spec,
        todo,
        lambda f: s3.presigned_get(manifest.bucket, f.key),
        ctx.config.export_workers,
        progress.parts_announced,
    ):
        if chunk.schema is not None and columns and widen_properties(plan.schema, chunk.schema):
            schema = first_schema(ctx.config, plan)  # the records' schema of the widened plan.schema
            if schema != written:
                ctx.writer.schema(plan.name, schema, plan.key_properties)
                written = copy.deepcopy(schema)
        if batches is not None:  # the part is complete; its BATCH comes before the bookmark moves past it
            for part in chunk.parts:
                url = batches.publish(part)
                ctx.writer.batch(plan.name, batches.encoding, [url], version, part.records)
                count += part.records
        else:
            count += ctx.writer.raw(chunk.data, chunk.count)
        progress.chunk_written(chunk.index, chunk.line, chunk.done, len(chunk.parts))
        ctx.report.export_records(plan.name, chunk.count)
        if chunk.done:
            ctx.report.export_file(plan.name, chunk.file_bytes)
        ctx.save_state()
    ctx.report.export_finished(plan.name)
    return count
