"""DynamoDB's exports to S3, the control plane: point-in-time recovery, requesting, waiting, reusing.

An export runs on AWS's fleet and reads no capacity, but it needs point-in-time recovery (PITR)
on the table; that is checked before any output (`check_pitr`), with the two ways out in one
line. Times come from AWS's own clock: the export time of a new export is DescribeContinuousBackups'
LatestRestorableDateTime, never the machine's clock, so a skewed client cannot ask for a time
AWS refuses (InvalidExportTimeException) or one it has not reached.

The ClientToken is a hash of everything the request says (table, type, times, bucket, prefix,
format): a retried or resumed request with the bookmarked export time is the same request and
AWS answers with the same export instead of starting a second one, while a request that differs
in anything gets its own token (AWS would refuse a reused token with other parameters).

Waiting polls DescribeExport from `export_poll_seconds`, backing off to at most a minute between
calls (exports take minutes to hours), logging the status and the time waited; past
`export_timeout_minutes` the run stops and the next run (the export's ARN is in the bookmark)
continues waiting for the same export.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import TapError
from ..settings import Config
from ..timestamps import iso_utc
from .api import DynamoDB
from .errors import describe_aws_error, error_code, error_message
from .pitr import window_of

LOGGER = logging.getLogger("tap_dynamodb")

FULL_EXPORT = "FULL_EXPORT"
INCREMENTAL_EXPORT = "INCREMENTAL_EXPORT"
COMPLETED = "COMPLETED"
FAILED = "FAILED"
PITR_UNAVAILABLE = "PointInTimeRecoveryUnavailableException"
INVALID_EXPORT_TIME = "InvalidExportTimeException"
EXPORT_CONFLICT = "ExportConflictException"
EXPORT_NOT_FOUND = "ExportNotFoundException"
MAX_POLL_SECONDS = 60.0
BACKOFF = 1.5


class ExportFailed(TapError):
    """The export ended FAILED: no record of it was read, so the caller may forget it."""


@dataclass(frozen=True)
class ExportTarget:
    """Where and how exports are written: the config's export_* keys."""

    bucket: str
    prefix: Optional[str]
    owner: Optional[str]
    sse_algorithm: Optional[str]
    kms_key_id: Optional[str]
    export_format: str

    @classmethod
    def from_config(cls, config: Config) -> ExportTarget:
        if not config.export_s3_bucket:
            raise TapError("config key export_s3_bucket is missing; it is required when a stream reads from exports")
        return cls(
            config.export_s3_bucket,
            config.export_s3_prefix,
            config.export_s3_bucket_owner,
            config.export_s3_sse_algorithm,
            config.export_s3_kms_key_id,
            config.export_format,
        )


def iso(moment: dt.datetime) -> str:
    """A UTC time as the bookmark keeps it: ISO 8601 with microseconds and Z."""
    return iso_utc(moment.astimezone(dt.timezone.utc))


def as_utc(value: Any) -> dt.datetime:
    """botocore's datetimes (or epoch seconds) as aware UTC datetimes."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)
    return dt.datetime.fromtimestamp(float(value), dt.timezone.utc)


def _pitr_line(stream_id: str, table_name: str) -> str:
    return (
        f"stream {stream_id}: reading table {table_name} from an export needs point-in-time recovery, which is off; "
        f"enable it (aws dynamodb update-continuous-backups --table-name {table_name} "
        "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true) or set "
        "tap-dynamodb.full-table-source (or config key full_table_source) to scan"
    )


def check_pitr(api: DynamoDB, stream_id: str, table_name: str, endpoint: Optional[str] = None) -> dt.datetime:
    """AWS's present restorable time of the table (LatestRestorableDateTime); TapError when PITR is off."""
    try:
        window = window_of(api.describe_continuous_backups(table_name))
    except (ClientError, BotoCoreError) as exc:
        raise describe_aws_error(exc, f"checking point-in-time recovery of table {table_name}", endpoint) from None
    if not window.enabled or window.latest is None:
        raise TapError(_pitr_line(stream_id, table_name))
    return window.latest


def client_token(
    table_arn: str,
    export_type: str,
    export_time: Optional[str],
    window: Optional[tuple[str, str]],
    target: ExportTarget,
) -> str:
    """The same text for the same request, whichever run makes it."""
    parts = [
        table_arn,
        export_type,
        export_time or "",
        *(window or ("", "")),
        target.bucket,
        target.prefix or "",
        target.export_format,
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def request_export(
    api: DynamoDB,
    stream_id: str,
    table_name: str,
    table_arn: str,
    target: ExportTarget,
    export_time: Optional[dt.datetime],
    incremental: Optional[dict[str, Any]] = None,
    endpoint: Optional[str] = None,
) -> dict[str, Any]:
    """Request an export (FULL_EXPORT at `export_time`, or INCREMENTAL_EXPORT with `incremental`, the
    IncrementalExportSpecification); its ExportDescription. The ClientToken makes a repeat harmless."""
    export_type = INCREMENTAL_EXPORT if incremental else FULL_EXPORT
    window = None
    if incremental:
        window = (iso(as_utc(incremental["ExportFromTime"])), iso(as_utc(incremental["ExportToTime"])))
    params: dict[str, Any] = {
        "TableArn": table_arn,
        "S3Bucket": target.bucket,
        "ExportFormat": target.export_format,
        "ExportType": export_type,
        "ClientToken": client_token(table_arn, export_type, iso(export_time) if export_time else None, window, target),
    }
    if export_time is not None:
        params["ExportTime"] = export_time
    if incremental:
        params["IncrementalExportSpecification"] = incremental
    for key, value in (
        ("S3Prefix", target.prefix),
        ("S3BucketOwner", target.owner),
        ("S3SseAlgorithm", target.sse_algorithm),
        ("S3SseKmsKeyId", target.kms_key_id),
    ):
        if value:
            params[key] = value
    try:
        description = api.export_table_to_point_in_time(params)
    except ClientError as exc:
        code = error_code(exc)
        if code == PITR_UNAVAILABLE:
            raise TapError(_pitr_line(stream_id, table_name)) from None
        if code == INVALID_EXPORT_TIME:
            raise TapError(
                f"stream {stream_id}: AWS refused the export time of table {table_name} ({error_message(exc)}); "
                f"it must lie in the point-in-time recovery window: remove the export's bookmarks.{stream_id} "
                "entry from the state to request a new export"
            ) from None
        if code == EXPORT_CONFLICT:
            raise TapError(
                f"stream {stream_id}: AWS reports a conflicting export of table {table_name} "
                f"({error_message(exc)}); run again once it has finished"
            ) from None
        raise describe_aws_error(exc, f"requesting an export of table {table_name}", endpoint) from None
    except BotoCoreError as exc:
        raise describe_aws_error(exc, f"requesting an export of table {table_name}", endpoint) from None
    LOGGER.info(
        "Requested %s of table %s at %s: %s",
        export_type,
        table_name,
        iso(export_time) if export_time else "AWS's present time",
        description.get("ExportArn"),
    )
    return description


def describe_export(api: DynamoDB, stream_id: str, export_arn: str, endpoint: Optional[str] = None) -> dict[str, Any]:
    try:
        return api.describe_export(export_arn)
    except ClientError as exc:
        if error_code(exc) == EXPORT_NOT_FOUND:
            raise TapError(
                f"stream {stream_id}: the export {export_arn} in the state's bookmark no longer exists; remove "
                f"bookmarks.{stream_id} from the state to read the table again"
            ) from None
        raise describe_aws_error(exc, f"describing export {export_arn}", endpoint) from None
    except BotoCoreError as exc:
        raise describe_aws_error(exc, f"describing export {export_arn}", endpoint) from None


def wait_for_export(
    api: DynamoDB,
    stream_id: str,
    export_arn: str,
    poll_seconds: float,
    timeout_minutes: float,
    endpoint: Optional[str] = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[dict[str, Any], float]:
    """(the COMPLETED ExportDescription, seconds waited); TapError when it FAILED or took too long."""
    started = clock()
    delay = poll_seconds
    while True:
        description = describe_export(api, stream_id, export_arn, endpoint)
        status = description.get("ExportStatus")
        waited = clock() - started
        if status == COMPLETED:
            LOGGER.info("Export %s is COMPLETED (waited %.1f s)", export_arn, waited)
            return description, waited
        if status == FAILED:
            raise ExportFailed(
                f"stream {stream_id}: export {export_arn} FAILED ({description.get('FailureCode') or 'no code'}: "
                f"{description.get('FailureMessage') or 'no message'}); fix the cause (often the bucket's policy "
                "or KMS key) and run again: the next run requests a new export"
            )
        if waited >= timeout_minutes * 60:
            raise TapError(
                f"stream {stream_id}: export {export_arn} is still {status} after {waited / 60:.1f} minutes "
                "(config key export_timeout_minutes); run again later (the next run keeps waiting for the same "
                "export) or raise export_timeout_minutes"
            )
        LOGGER.info("Export %s is %s (waited %.1f s)", export_arn, status, waited)
        sleep(min(delay, max(0.0, timeout_minutes * 60 - waited)) or delay)
        delay = min(delay * BACKOFF, max(poll_seconds, MAX_POLL_SECONDS))


def _requested_at(export_arn: str) -> Optional[int]:
    """The ms epoch in an ExportArn (`.../export/01700000000000-1a2b3c4d`), None when it has none."""
    tail = export_arn.rsplit("/", 1)[-1].split("-", 1)[0]
    return int(tail) if tail.isdigit() else None


def find_reusable(
    api: DynamoDB,
    table_arn: str,
    max_age_minutes: float,
    now: dt.datetime,
    export_format: str,
    endpoint: Optional[str] = None,
) -> Optional[dict[str, Any]]:
    """The newest COMPLETED full export of the table whose ExportTime is within `max_age_minutes` of
    AWS's `now`, in the format the tap reads; None when there is none (or reuse is off)."""
    if max_age_minutes <= 0:
        return None
    oldest = now - dt.timedelta(minutes=max_age_minutes)
    try:
        summaries = api.list_exports(table_arn)
    except (ClientError, BotoCoreError) as exc:
        raise describe_aws_error(exc, f"listing the exports of {table_arn}", endpoint) from None
    candidates = [
        s for s in summaries if s.get("ExportStatus") == COMPLETED and s.get("ExportType", FULL_EXPORT) == FULL_EXPORT
    ]
    # Newest request first; an export requested before the cut-off has an ExportTime before it too.
    candidates.sort(key=lambda s: _requested_at(s["ExportArn"]) or 0, reverse=True)
    best: Optional[dict[str, Any]] = None
    for summary in candidates:
        requested = _requested_at(summary["ExportArn"])
        if requested is not None and requested < oldest.timestamp() * 1000:
            break
        try:
            description = api.describe_export(summary["ExportArn"])
        except (ClientError, BotoCoreError) as exc:
            raise describe_aws_error(exc, f"describing export {summary['ExportArn']}", endpoint) from None
        export_time = description.get("ExportTime")
        if description.get("ExportStatus") != COMPLETED or export_time is None:
            continue
        if description.get("ExportFormat", export_format) != export_format:
            continue
        if as_utc(export_time) < oldest:
            continue
        if best is None or as_utc(export_time) > as_utc(best["ExportTime"]):
            best = description
    return best
