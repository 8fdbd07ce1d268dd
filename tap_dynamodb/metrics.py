"""Singer metrics on stderr, in singer-python's format (`METRIC: {"type": "counter", ...}`).

They are logged through our own logger rather than singer-python's Counter/Timer classes,
because those call `singer.get_logger()`, which re-reads singer's logging.conf and would
replace the handler that masks secrets.

- `record_count` counter points are increments: the records of a stream since its last point
  (as singer-python's Counter writes them), so a runner sums them; one every few seconds per
  stream and one when the stream ends (output/report.py).
- `http_request_duration` timer points, one per Scan or GetRecords call (aws/timers.py), are
  logged at DEBUG when the call succeeded and at INFO when it failed: one per page made most of
  a long sync's stderr (docs/running.md).
- `change_lag` and `retention_margin` points, one each per LOG_BASED stream at the end of its
  change reading (output/report.py): seconds, as `timer` points. Singer's metrics have only
  `counter` and `timer` types and runners sum counters (they are increments), while a timer's
  value is a duration in seconds taken as it is, which a lag and a margin are. singer-python's
  `metrics.parse` would take an invented `gauge` too, but a tool that knows only the spec's two
  types (Meltano relays the lines as they are) may not. `change_lag` is omitted when the run read
  no change.
- `export_wait` (a timer, seconds waited for the export) and `export_files`, `export_bytes`,
  `export_items` counters, once per export read (output/report.py), tagged with the export's ARN.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Optional, Union

from singer.metrics import Metric, Status, Tag

METRICS_LOGGER = logging.getLogger("tap_dynamodb.metrics")

SUCCEEDED = Status.succeeded
FAILED = Status.failed


def _point(level: int, metric_type: str, metric: str, value: Union[int, float], tags: dict[str, Any]) -> None:
    if METRICS_LOGGER.isEnabledFor(level):
        point = {"type": metric_type, "metric": metric, "value": value, "tags": tags}
        METRICS_LOGGER.log(level, "METRIC: %s", json.dumps(point))


def record_count(stream: str, increment: int) -> None:
    """A record_count counter point: `increment` records of `stream` since its last point."""
    _point(logging.INFO, "counter", Metric.record_count, increment, {Tag.endpoint: stream})


def request_duration(
    operation: str, seconds: float, status: str, http_status: Optional[int], table: Optional[str]
) -> None:
    """An http_request_duration timer point for one AWS call (botocore's retries included):
    DEBUG when it succeeded, INFO when it failed."""
    tags: dict[str, Union[str, int]] = {Tag.endpoint: operation, Tag.status: status}
    if http_status is not None:
        tags[Tag.http_status_code] = http_status
    if table:
        tags["table"] = table
    level = logging.DEBUG if status == SUCCEEDED else logging.INFO
    _point(level, "timer", Metric.http_request_duration, round(seconds, 6), tags)


def change_lag(stream: str, seconds: float) -> None:
    """A change_lag timer point: how old the newest change read in this run was when reading ended."""
    _point(logging.INFO, "timer", "change_lag", round(seconds, 3), {Tag.endpoint: stream})


def retention_margin(stream: str, seconds: float) -> None:
    """A retention_margin timer point: the 24 hours of stream retention minus the age, at the run's
    start, of the oldest change unread then (the full 24 hours when none was)."""
    _point(logging.INFO, "timer", "retention_margin", round(seconds, 3), {Tag.endpoint: stream})


def export_wait(stream: str, export_arn: str, origin: str, seconds: float) -> None:
    """An export_wait timer point: how long the run waited for the stream's export (new, reused or resumed)."""
    _point(
        logging.INFO,
        "timer",
        "export_wait",
        round(seconds, 3),
        {Tag.endpoint: stream, "export_arn": export_arn, "origin": origin},
    )


def export_read(stream: str, export_arn: str, files: int, file_bytes: int, items: int) -> None:
    """Counter points of an export read: data files, their gzip bytes and the records written, in this run."""
    tags = {Tag.endpoint: stream, "export_arn": export_arn}
    _point(logging.INFO, "counter", "export_files", files, tags)
    _point(logging.INFO, "counter", "export_bytes", file_bytes, tags)
    _point(logging.INFO, "counter", "export_items", items, tags)
